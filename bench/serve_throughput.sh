#!/usr/bin/env bash
# Raw throughput of a real 3-node synod cluster on loopback, fsync on:
# closed-loop puts of 256-byte values through `synod kv load` at 1, 16, 64
# and 256 concurrent clients, each for DURATION seconds (default 10) on a
# fresh cluster. Prints one line per client count, for bench/RESULTS.md.
#   bench/serve_throughput.sh [DURATION] [CLIENT COUNTS...]
set -euo pipefail
cd "$(dirname "$0")/.."
synod=${SYNOD:-build/src/synod/synod}
duration=${1:-10}
shift || true
counts=("${@:-1 16 64 256}")
# shellcheck disable=SC2206
counts=(${counts[*]})
dir=$(mktemp -d "${TMPDIR:-/tmp}/synod-bench.XXXXXX")
# shellcheck source=scripts/cluster-lib.sh
source scripts/cluster-lib.sh
trap cleanup EXIT

for c in "${counts[@]}"; do
  cluster_setup 3
  for n in "${names[@]}"; do start "$n"; done
  wait_for_leader >/dev/null
  $synod kv --endpoints "$endpoints" load --clients "$c" --duration "$duration" --value-size 256 \
    --keys 100000 2>/dev/null
  for n in "${names[@]}"; do kill -TERM "${pid[$n]}"; wait "${pid[$n]}" || true; pid[$n]=""; done
  rm -rf "${dir:?}"/n*
done
