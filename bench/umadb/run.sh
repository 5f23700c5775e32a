#!/usr/bin/env bash
# The UmaDB peer benchmark: UmaDB 0.7.8 (embedded through its writer
# thread, with its default reads and with mmap and a page cache, and its
# gRPC server) and disco's SQLite, redb and PostgreSQL stores on the same
# workloads (src/main.rs and disco-bench/src/umadb_workload.rs say which),
# each on a fresh store, alternating side by side, ROUNDS times; prints one
# table of event rates and ratios (min-max over the rounds). Beside each
# disco store runs its ceiling: the same work on the raw engine with
# disco's table shape and keys and none of its checks (`disco-bench
# --raw`), so a goal above what the engine itself does shows as such.
#
# Durability, both sides: every acknowledged append is on disk (UmaDB
# fsyncs its pages and then its header per commit; disco's SQLite store
# runs synchronous=FULL in WAL mode, its redb store redb's immediate commit,
# PostgreSQL its default synchronous_commit=on).
#
#   bench/umadb/run.sh [postgres://postgres@127.0.0.1:5432/test]
#   ROUNDS=5 PEERS_SCALE=0.5 bench/umadb/run.sh
#
# Needs protoc to build UmaDB's client (Debian: protobuf-compiler); the
# server comes from PyPI into the project's .venv.
set -euo pipefail
url=${1:-postgres://postgres@127.0.0.1:5432/test}
rounds=${ROUNDS:-3}
scale=${PEERS_SCALE:-1}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
port=50151

if ! command -v protoc >/dev/null 2>&1; then
    echo "bench/umadb needs protoc to build UmaDB's gRPC client: apt-get install protobuf-compiler" >&2
    exit 2
fi
venv="$root/.venv"
if ! "$venv/bin/umadb" --version 2>/dev/null | grep -q "0.7.8"; then
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    "$venv/bin/pip" install -q "umadb==0.7.8"
fi
cargo build --release --quiet --manifest-path "$here/Cargo.toml"
cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p disco-bench
peer="$here/target/release/disco-umadb-peer"
disco="$root/target/release/disco-bench"

work=$(mktemp -d)
results="$work/results"
server=""
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

fresh() { rm -rf "$work/store" && mkdir "$work/store"; }

for round in $(seq "$rounds"); do
    for case in append-8x1 append-1x100 reads cond-8x1 seat-race; do
        echo "round $round: $case" >&2
        fresh; PEERS_SCALE=$scale "$peer" embedded "$work/store" "$case" | grep '^{' >>"$results"
        fresh; PEERS_SCALE=$scale "$peer" embedded "$work/store" "$case" mmap | grep '^{' >>"$results"
        fresh; "$disco" --store "sqlite:$work/store/disco.db" --scale "$scale" --umadb-workload "$case" >>"$results"
        fresh; "$disco" --store "sqlite:$work/store/disco.db" --scale "$scale" --umadb-workload "$case" --raw >>"$results"
        fresh; "$disco" --store "redb:$work/store/disco.redb" --scale "$scale" --umadb-workload "$case" >>"$results"
        fresh; "$disco" --store "redb:$work/store/disco.redb" --scale "$scale" --umadb-workload "$case" --raw >>"$results"
        fresh
        "$venv/bin/umadb" --listen "127.0.0.1:$port" --db-path "$work/store" \
            --read-method mmap --page-cache-max-mb 256 >"$work/server.log" 2>&1 &
        server=$!
        for _ in $(seq 100); do
            (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
            sleep 0.1
        done
        PEERS_SCALE=$scale "$peer" server "http://127.0.0.1:$port" "$case" | grep '^{' >>"$results"
        kill "$server" && wait "$server" 2>/dev/null || true
        server=""
        schema="umadb_peer_${round}_${case//-/_}"
        "$disco" --store "$url?schema=$schema" --scale "$scale" --umadb-workload "$case" >>"$results"
        psql -q "$url" -c "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1
        "$disco" --store "$url" --scale "$scale" --umadb-workload "$case" --raw >>"$results"
    done
done
python3 "$here/table.py" "$results"
