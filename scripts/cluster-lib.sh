# Shell helpers for a local synod cluster on loopback, sourced by
# scripts/demo-cluster.sh and bench/serve_throughput.sh. Expects $synod (the
# binary) and $dir (a scratch directory); SERVE_FLAGS adds flags to every
# member. cluster_setup N picks free ports for members n1..nN. With
# SERVE_BINARY=etcd the same flags start a real etcd instead.

names=()
declare -A pid peer client metrics

cleanup() {
  for n in "${names[@]}"; do
    [ -n "${pid[$n]:-}" ] && { kill -9 "${pid[$n]}"; wait "${pid[$n]}"; } 2>/dev/null || true
  done
  rm -rf "$dir"
}

# A free loopback port: nothing answers on it, and not handed out before.
# Below Linux's ephemeral range (32768 and up), so that no outgoing
# connection can take it between being picked and being bound.
used_ports=" "
free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 12000))
    case "$used_ports" in *" $p "*) continue ;; esac
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
}
# One value of a member's /metrics, by plain HTTP over bash's /dev/tcp.
metric() {
  local port=$1 name=$2
  (exec 3<>"/dev/tcp/127.0.0.1/$port" && printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3 && cat <&3) \
    2>/dev/null | awk -v n="$name" '$1 == n { print $2 }' || true
}
leader() {
  for n in "${names[@]}"; do
    [ -n "${pid[$n]:-}" ] || continue
    [ "$(metric "${metrics[$n]}" 'synod_raft_role{role="leader"}')" = 1 ] && { echo "$n"; return; }
  done
  return 0
}
wait_for_leader() {
  for _ in $(seq 1 100); do
    l=$(leader); [ -n "$l" ] && { echo "$l"; return; }
    sleep 0.1
  done
  echo "no leader after 10 s" >&2; exit 1
}

cluster_setup() {
  names=()
  for i in $(seq 1 "$1"); do names+=("n$i"); done
  cluster=""
  for n in "${names[@]}"; do
    peer[$n]=$(free_port); used_ports+="${peer[$n]} "
    client[$n]=$(free_port); used_ports+="${client[$n]} "
    metrics[$n]=$(free_port); used_ports+="${metrics[$n]} "
    cluster+="${cluster:+,}$n=http://127.0.0.1:${peer[$n]}"
  done
  endpoints=$(for n in "${names[@]}"; do printf '127.0.0.1:%s,' "${client[$n]}"; done)
  endpoints=${endpoints%,}
}

start() {
  local n=$1
  local serve=("$synod" serve)
  [ -n "${SERVE_BINARY:-}" ] && serve=("$SERVE_BINARY")
  "${serve[@]}" --name "$n" --data-dir "$dir/$n" \
    --listen-peer-urls "http://127.0.0.1:${peer[$n]}" \
    --initial-advertise-peer-urls "http://127.0.0.1:${peer[$n]}" \
    --listen-client-urls "http://127.0.0.1:${client[$n]}" \
    --advertise-client-urls "http://127.0.0.1:${client[$n]}" \
    --listen-metrics-urls "http://127.0.0.1:${metrics[$n]}" \
    --initial-cluster "$cluster" --initial-cluster-token demo \
    --heartbeat-interval 50 --election-timeout 500 ${SERVE_FLAGS:-} 2>>"$dir/$n.log" &
  pid[$n]=$!
}

