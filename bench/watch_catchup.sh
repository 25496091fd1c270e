#!/usr/bin/env bash
# What watchers far behind cost the writers: a 3-member synod cluster holds a
# history of HISTORY revisions (default 1,000,000 puts of 16 bytes over
# 1,000 keys), then 64 clients put for DURATION seconds twice: alone (the
# steady state), and while WATCHERS watch streams (default 100) each replay
# the whole history from revision 1. Prints both bench lines (write p99 and
# max) and what the watchers received, for bench/RESULTS.md.
#   bench/watch_catchup.sh [DURATION] [HISTORY] [WATCHERS]
# Snapshots are set apart (--snapshot-count past the history): a snapshot of
# the in-memory store stalls the loop on its own (the on-disk store's issue).
set -euo pipefail
cd "$(dirname "$0")/.."
synod=${SYNOD:-build/src/synod/synod}
duration=${1:-15}
history=${2:-1000000}
watchers=${3:-100}
dir=$(mktemp -d "${TMPDIR:-/tmp}/synod-watch-catchup.XXXXXX")
# shellcheck source=scripts/cluster-lib.sh
source scripts/cluster-lib.sh
trap cleanup EXIT
export SERVE_FLAGS="--snapshot-count $((history * 2))"
cluster_setup 3
for n in "${names[@]}"; do start "$n"; done
wait_for_leader >/dev/null
echo "loading $history revisions (16-byte values on 1,000 keys) ..." >&2
$synod bench --endpoints "$endpoints" --op put --clients 64 --conns 16 --count "$history" \
  --duration 3600 --value-size 16 --keys 1000 --key-prefix hist/ >/dev/null 2>&1
load() {
  $synod bench --endpoints "$endpoints" --op put --clients 64 --conns 16 --duration "$duration" \
    --value-size 256 --keys 100000 --key-prefix live/ "$@" 2>/dev/null
}
echo "steady state:"
load
echo "while $watchers watchers replay the history from revision 1:"
load --watchers "$watchers" --watch-prefix hist/ --watch-from 1
