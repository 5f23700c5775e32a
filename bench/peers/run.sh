#!/usr/bin/env bash
# The peer benchmark: cqrs-es 0.5 + postgres-es 0.5 and disco on the same
# bank-account workload on the same PostgreSQL, alternating case by case,
# ROUNDS times; prints one table of command rates and ratios (min-max over
# the rounds).
#
#   bench/peers/run.sh [postgres://postgres@127.0.0.1:5432/test]
#   ROUNDS=5 PEERS_SCALE=0.5 bench/peers/run.sh
set -euo pipefail
url=${1:-postgres://postgres@127.0.0.1:5432/test}
rounds=${ROUNDS:-3}
scale=${PEERS_SCALE:-1}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

cargo build --release --quiet --manifest-path "$here/Cargo.toml"
cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p disco-bench
peers="$here/target/release/disco-peers"
disco="$root/target/release/disco-bench"

results=$(mktemp)
trap 'rm -f "$results"' EXIT
for round in $(seq "$rounds"); do
    for case in new-1 new-8 own-8; do
        echo "round $round: $case" >&2
        PEERS_SCALE=$scale "$peers" "$url" "$case" >>"$results"
        "$disco" --store "$url" --scale "$scale" --peer-workload "$case" >>"$results"
    done
done
python3 "$here/table.py" "$results"
