#!/usr/bin/env bash
# synod against etcd, same machine, same run: a fresh 3-member cluster of
# each (fsync on, heartbeat 50 ms, election 500 ms, the same flags), loaded
# by `synod bench` over gRPC with 256-byte values. Puts at 1, 64 and 256
# clients; linearizable and serializable ranges and txns at 64. Prints one
# line per row with the members' CPU time per operation (user + system of
# the three member processes, from /proc, over the run, divided by the
# operations done: what the server spends, whatever the load generator
# beside it takes of the two cores) and their peak resident memory, for
# bench/RESULTS.md.
#   bench/etcd_compare.sh [DURATION]
#   ROWS="put:64:16 txn:64:16" SYSTEMS=synod bench/etcd_compare.sh 10   # some rows
set -euo pipefail
cd "$(dirname "$0")/.."
synod=${SYNOD:-build/src/synod/synod}
duration=${1:-10}
dir=$(mktemp -d "${TMPDIR:-/tmp}/synod-vs-etcd.XXXXXX")
# shellcheck source=scripts/cluster-lib.sh
source scripts/cluster-lib.sh
trap cleanup EXIT
command -v etcd >/dev/null || { echo "etcd is not installed (Debian: etcd-server)" >&2; exit 1; }

peak_rss_mb() {  # the largest VmHWM among the members, in MiB
  local worst=0 kb
  for n in "${names[@]}"; do
    kb=$(awk '/VmHWM/ { print $2 }' "/proc/${pid[$n]}/status" 2>/dev/null || echo 0)
    [ "${kb:-0}" -gt "$worst" ] && worst=$kb
  done
  echo $((worst / 1024))
}

clock_ticks=$(getconf CLK_TCK)
members_cpu_ticks() {  # utime + stime of every member, in clock ticks
  local total=0 fields
  for n in "${names[@]}"; do
    # Fields 14 and 15 of /proc/PID/stat, counted after the command's ")".
    fields=$(sed 's/^.*) //' "/proc/${pid[$n]}/stat" 2>/dev/null | awk '{ print $12 + $13 }')
    total=$((total + ${fields:-0}))
  done
  echo "$total"
}

row() {  # system op clients conns
  local system=$1 op=$2 clients=$3 conns=$4
  cluster_setup 3
  for n in "${names[@]}"; do start "$n"; done
  for _ in $(seq 1 100); do
    etcdctl --endpoints="$endpoints" endpoint health >/dev/null 2>&1 && break
    sleep 0.1
  done
  printf '%-6s ' "$system"
  local cpu_before line ok cpu_ticks
  cpu_before=$(members_cpu_ticks)
  line=$($synod bench --endpoints "$endpoints" --op "$op" --clients "$clients" --conns "$conns" \
    --duration "$duration" --value-size 256 --keys 100000 2>/dev/null | tr -d '\n')
  cpu_ticks=$(($(members_cpu_ticks) - cpu_before))
  ok=$(sed -n 's/.* ok \([0-9]*\) .*/\1/p' <<<"$line")
  printf '%s  server cpu %s us/op  peak rss %s MiB\n' "$line" \
    "$(awk -v t="$cpu_ticks" -v hz="$clock_ticks" -v n="${ok:-0}" \
      'BEGIN { if (n > 0) printf "%.1f", t / hz * 1e6 / n; else printf "n/a" }')" "$(peak_rss_mb)"
  local gone=0
  for n in "${names[@]}"; do
    if kill -0 "${pid[$n]}" 2>/dev/null; then
      kill -TERM "${pid[$n]}"
      wait "${pid[$n]}" || true
    else
      wait "${pid[$n]}" && status=0 || status=$?
      echo "  member $n was gone (exit status $status)" >&2
      gone=1
    fi
    pid[$n]=""
  done
  if [ "$gone" = 1 ]; then  # keep the logs of the row that failed
    local kept
    kept=$(mktemp -d "${TMPDIR:-/tmp}/etcd-compare-failed.XXXXXX")
    cp "$dir"/n*.log "$kept"/
    echo "  logs kept in $kept; the last lines:" >&2
    for n in "${names[@]}"; do tail -n 5 "$dir/$n.log" | sed "s/^/  $n: /" >&2; done
  fi
  rm -rf "${dir:?}"/n*
}

# ROWS picks rows, as op:clients:conns words (default: all of them).
rows=${ROWS:-"put:1:1 put:64:16 put:256:16 range:64:16 range-serializable:64:16 txn:64:16"}
for system in ${SYSTEMS:-synod etcd}; do
  if [ "$system" = etcd ]; then export SERVE_BINARY=etcd; else unset SERVE_BINARY; fi
  for r in $rows; do
    IFS=: read -r op clients conns <<<"$r"
    row "$system" "$op" "$clients" "$conns"
  done
done
