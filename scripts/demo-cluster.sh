#!/usr/bin/env bash
# A real 3-node synod cluster on loopback, in a temporary directory: writes
# through it, kills the leader with SIGKILL, shows a new leader and every
# acknowledged write still readable, restarts the dead member, shows it catch
# up, and stops everything. Run by scripts/demo.sh; runs alone after a build.
set -euo pipefail
cd "$(dirname "$0")/.."
synod=${SYNOD:-build/src/synod/synod}
dir=$(mktemp -d "${TMPDIR:-/tmp}/synod-cluster.XXXXXX")
# shellcheck source=scripts/cluster-lib.sh
source scripts/cluster-lib.sh
trap cleanup EXIT
cluster_setup 3

echo "Starting 3 members (fsync on) in $dir:"
for n in "${names[@]}"; do
  start "$n"
  echo "  $n: peers 127.0.0.1:${peer[$n]}, clients 127.0.0.1:${client[$n]}, metrics 127.0.0.1:${metrics[$n]}"
done
first=$(wait_for_leader)
echo "Leader: $first (term $(metric "${metrics[$first]}" synod_raft_term))"

echo
echo "\$ synod kv --endpoints $endpoints put greeting hello"
$synod kv --endpoints "$endpoints" put greeting hello
echo "Writing 2000 more keys with 16 clients, recording what they saw:"
$synod kv --endpoints "$endpoints" load --clients 16 --requests 2000 --keys 500 \
  --reads 0.2 --value-size 0 --history "$dir/before.jsonl" 2>/dev/null

echo
echo "Killing the leader $first with SIGKILL while 8 clients keep writing..."
$synod kv --endpoints "$endpoints" load --clients 8 --duration 4 --keys 500 --reads 0.2 \
  --value-size 0 --key-prefix during/ --history "$dir/during.jsonl" 2>/dev/null &
load=$!
sleep 1
kill -9 "${pid[$first]}"; wait "${pid[$first]}" 2>/dev/null || true; pid[$first]=""
second=$(wait_for_leader)
echo "New leader: $second (term $(metric "${metrics[$second]}" synod_raft_term))"
wait $load

echo
echo "Every acknowledged write is still there:"
echo "\$ synod kv get greeting"
$synod kv --endpoints "$endpoints" get greeting
cat "$dir/before.jsonl" "$dir/during.jsonl" > "$dir/history.jsonl"
echo "\$ synod check history (both workloads, $(grep -c '"ok":true' "$dir/history.jsonl") acknowledged operations)"
$synod check history "$dir/history.jsonl"

echo
echo "Restarting $first; it catches up from the others:"
start "$first"
for _ in $(seq 1 100); do
  applied=$(metric "${metrics[$first]}" synod_raft_applied_index)
  commit=$(metric "${metrics[$second]}" synod_raft_commit_index)
  [ -n "$applied" ] && [ -n "$commit" ] && [ "$applied" -ge "$commit" ] && break
  sleep 0.1
done
echo "  $first applied index $applied, leader $second commit index $commit"
echo "\$ synod kv --endpoints 127.0.0.1:${client[$first]},... get greeting"
$synod kv --endpoints "$endpoints" get greeting

if command -v etcdctl >/dev/null; then
  echo
  echo "The same cluster speaks etcd's v3 API (Debian's etcdctl, unchanged):"
  for args in "put tool etcdctl" "get tool -w json" "get greeting" "member list" \
    "endpoint status"; do
    echo "\$ etcdctl $args"
    # shellcheck disable=SC2086
    etcdctl --endpoints="$endpoints" $args 2>&1 | sed 's/^/  /'
  done
fi

echo
echo "Stopping every member with SIGTERM."
for n in "${names[@]}"; do kill -TERM "${pid[$n]}"; done
for n in "${names[@]}"; do wait "${pid[$n]}"; pid[$n]=""; done
echo "What $first logged:"
sed 's/^/  /' "$dir/$first.log" | grep -v "not reachable yet" | tail -n 12
