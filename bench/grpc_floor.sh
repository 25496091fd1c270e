#!/usr/bin/env bash
# The gRPC floor: `synod bench` puts against bench/grpc_floor, three etcd KV
# servers that answer each Put after a fixed delay and do nothing else. Shows
# what the client and gRPC alone cost on this machine at a given latency:
# one line per (clients, delay) with throughput, p50 and the CPU that the
# servers and the client used, in µs per put.
#   bench/grpc_floor.sh [DURATION]
set -euo pipefail
cd "$(dirname "$0")/.."
synod=${SYNOD:-build/src/synod/synod}
floor=${FLOOR:-build/bench/grpc_floor}
duration=${1:-5}
[ -x "$floor" ] || { echo "$floor is missing: ninja -C build grpc_floor" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "needs GNU time (Debian: time)" >&2; exit 1; }
hz=$(getconf CLK_TCK)
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; true' EXIT

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

row() {  # clients delay_us
  local clients=$1 delay=$2 out ports
  out=$(mktemp)
  "$floor" --servers 3 --delay-us "$delay" >"$out" &
  server=$!
  for _ in $(seq 1 50); do [ "$(wc -l <"$out")" = 3 ] && break; sleep 0.1; done
  [ "$(wc -l <"$out")" = 3 ] || { echo "grpc_floor did not start its three servers" >&2; exit 1; }
  ports=$(paste -sd, "$out")
  local before result client_s ops
  before=$(cpu_ticks "$server")
  result=$( { /usr/bin/time -f "client_cpu %U %S" "$synod" bench --endpoints "$ports" --op put \
    --clients "$clients" --conns 16 --duration "$duration" --value-size 256; } 2>&1)
  local server_ticks=$(($(cpu_ticks "$server") - before))
  kill "$server"; wait "$server" 2>/dev/null || true; server=""
  rm -f "$out"
  ops=$(awk '/ ok / { for (i = 1; i <= NF; ++i) if ($i == "ok") print $(i + 1) }' <<<"$result")
  client_s=$(awk '/client_cpu/ { print $2 + $3 }' <<<"$result")
  awk -v c="$clients" -v d="$delay" -v ops="$ops" -v st="$server_ticks" -v cs="$client_s" \
    -v dur="$duration" -v r="$result" -v hz="$hz" 'BEGIN {
      match(r, /p50 [0-9.]+/); p50 = substr(r, RSTART + 4, RLENGTH - 4)
      srv = st / hz * 1e6 / ops; cli = cs * 1e6 / ops
      printf "clients %3d  delay %5d us  %7.0f ops/s  p50 %6s ms  server %5.1f us/put  client %5.1f us/put  cores used %.2f\n",
        c, d, ops / dur, p50, srv, cli, (st / hz + cs) / dur }'
}

for spec in "64 0" "64 1000" "64 2000" "64 3000" "256 0" "256 4000" "256 7000"; do
  # shellcheck disable=SC2086
  row $spec
done
