#!/usr/bin/env bash
# Runs every fuzz target for longer than CI does (default 300 s each; pass
# the seconds as the first argument). A finding fails with the shrunk input
# and its seed: replay it with DISCO_FUZZ_SEED=<seed> and the same command.
# The targets need the PostgreSQL test server (see README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-300}"
export DISCO_FUZZ_SECONDS="$seconds"
export RUST_BACKTRACE=0
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
failed=0
run() {
  echo "==> $*"
  if cargo test --all-features "$@" -- --nocapture --test-threads 1 >"$log" 2>&1; then
    grep -oE 'fuzz [^:]+: [0-9]+ (cases in [0-9.]+ s, nothing found|rows damaged)' "$log" || true
  else
    grep -E '^fuzz |failed after|minimal input|replay with|test result|error' "$log" || tail -n 20 "$log"
    failed=1
  fi
}
run -p disco-conformance --test fuzz_inputs
run -p disco-cqrs --test fuzz_params
run -p disco-cli --test fuzz_args
run -p disco-store-sqlite --test fuzz_stored
run -p disco-store-redb --test fuzz_stored
exit "$failed"
