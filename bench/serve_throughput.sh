#!/usr/bin/env bash
# Raw throughput of a real 3-node synod cluster on loopback, fsync on:
# closed-loop puts of 256-byte values through `synod kv load` at 1, 16, 64
# and 256 concurrent clients, each for DURATION seconds (default 10) on a
# fresh cluster. Prints one line per client count, and how the leader's
# syncs shared fsync rounds, for bench/RESULTS.md.
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
  leader=$(wait_for_leader)
  $synod kv --endpoints "$endpoints" load --clients "$c" --duration "$duration" --value-size 256 \
    --keys 100000 2>/dev/null
  # Group commit, as the leader's /metrics saw it.
  m=${metrics[$leader]}
  syncs=$(metric "$m" synod_disk_syncs_total)
  rounds=$(metric "$m" synod_disk_fsync_rounds_total)
  took=$(metric "$m" synod_disk_wal_fsync_duration_seconds_sum)
  awk -v s="$syncs" -v r="$rounds" -v t="$took" 'BEGIN {
    printf "  leader: %d syncs in %d fsync rounds (%.1f per round), %.3f ms per round\n",
      s, r, s / r, 1000 * t / r }'
  for n in "${names[@]}"; do kill -TERM "${pid[$n]}"; wait "${pid[$n]}" || true; pid[$n]=""; done
  rm -rf "${dir:?}"/n*
done
