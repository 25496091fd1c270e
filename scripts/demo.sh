#!/usr/bin/env bash
# The project's main job on an embedded default: a real 3-node cluster on
# loopback whose leader is killed (scripts/demo-cluster.sh), then simulated
# 5-node clusters (a register, Raft, Multi-Paxos, single-decree Paxos,
# two-phase commit) under faults, checked, compared, with what happened
# printed. Installs what is missing and builds first.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
scripts/build.sh >/dev/null
synod=build/src/synod/synod
out=$(mktemp -d "${TMPDIR:-/tmp}/synod-demo.XXXXXX")

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@" || true; }

say "1. A real 3-node cluster (synod serve): writes, the leader killed with SIGKILL, nothing acknowledged lost"
SYNOD=$synod scripts/demo-cluster.sh

say "2. A durable single-node register, 5 simulated nodes, under crashes (with torn writes), partitions and pauses"
show $synod sim run --protocol register --nodes 5 --seed 7 --duration 30s \
  --nemesis crash,partition,pause --diagram "$out/register.html" --history "$out/register.jsonl"
echo "(space-time diagram: $out/register.html; client history: $out/register.jsonl)"
show $synod check history "$out/register.jsonl"

say "3. The same register with a bug: it acknowledges writes before syncing them"
printf '$ %s\n' "$synod sim explore --protocol register --bug ack-before-sync --nodes 5 --duration 60s --nemesis crash --seeds 30 --jobs 2"
found=$($synod sim explore --protocol register --bug ack-before-sync --nodes 5 --duration 60s \
  --nemesis crash --seeds 30 --jobs 2 2>/dev/null || true)
printf '%s\n' "$found"
replay=$(printf '%s\n' "$found" | sed -n 's/^  replay: synod //p' | head -n 1)
if [ -n "$replay" ]; then
  echo "Replaying the first failure, exactly:"
  # shellcheck disable=SC2086
  show $synod $replay
fi

say "4. Raft replicating the key-value store, 5 nodes, under crashes, partitions, pauses, membership changes and leadership transfers"
show $synod sim run --protocol raft --nodes 5 --seed 42 --duration 30s \
  --nemesis crash,partition,pause,membership,transfer -v --diagram "$out/raft.html"
echo "(space-time diagram: $out/raft.html)"

say "5. Raft with a bug: votes granted without being persisted. Explore finds it; the replay says what broke"
printf '$ %s\n' "$synod sim explore --protocol raft --bug vote-without-persist --nodes 5 --nemesis swarm --seeds 20 --jobs 2"
found=$($synod sim explore --protocol raft --bug vote-without-persist --nodes 5 --nemesis swarm \
  --seeds 20 --jobs 2 2>/dev/null || true)
printf '%s\n' "$found" | grep -A1 -m1 '^FAIL' || true
printf '%s\n' "$found" | tail -n 1
replay=$(printf '%s\n' "$found" | sed -n 's/^  replay: synod //p' | head -n 1)
if [ -n "$replay" ]; then
  echo "Replaying the first failure, with its diagram:"
  # shellcheck disable=SC2086
  show $synod $replay -v --diagram "$out/raft-bug.html"
  echo "(space-time diagram: $out/raft-bug.html)"
fi

say "6. Multi-Paxos replicating the same store, 5 nodes, while its leader is crashed, paused and cut off"
show $synod sim run --protocol multipaxos --nodes 5 --seed 42 --duration 30s \
  --nemesis crash-leader,pause-leader,partition-leader,crash -v --diagram "$out/multipaxos.html"
echo "(space-time diagram: $out/multipaxos.html)"

say "7. Multi-Paxos with a bug: a new leader ignores the values the promises report"
printf '$ %s\n' "$synod sim explore --protocol multipaxos --bug ignore-promised-values --nodes 3 --nemesis crash-leader,partition-leader --seeds 20 --jobs 2"
found=$($synod sim explore --protocol multipaxos --bug ignore-promised-values --nodes 3 \
  --nemesis crash-leader,partition-leader --seeds 20 --jobs 2 2>/dev/null || true)
printf '%s\n' "$found" | grep -A1 -m1 '^FAIL' || true
printf '%s\n' "$found" | tail -n 1
replay=$(printf '%s\n' "$found" | sed -n 's/^  replay: synod //p' | head -n 1)
if [ -n "$replay" ]; then
  echo "Replaying the first failure:"
  # shellcheck disable=SC2086
  show $synod $replay -v
fi

say "8. Single-decree Paxos: five proposers duel for one value over slow links while nodes crash and pause"
show $synod sim run --protocol paxos --nodes 5 --seed 3 --duration 5s --network reliable \
  --delay uniform:10ms,50ms --nemesis crash,pause --fault-every 100ms --fault-length 20ms,200ms \
  --diagram "$out/paxos.html"
echo "(space-time diagram: $out/paxos.html)"

say "9. Raft and Multi-Paxos side by side: the same seeds, workload and leader crashes (times are virtual)"
show $synod sim compare --protocols raft,multipaxos --nodes 5 --seeds 10 --clients 32 --jobs 2

say "10. Two-phase commit and the blocking problem: the coordinator's leader crashed for 2 s at a time"
echo "Plain 2PC: participants that voted commit wait out the whole crash (blocked_max)."
show $synod sim run --protocol 2pc --nodes 5 --seed 2 --duration 30s --nemesis crash-leader \
  --fault-every 4s --fault-length 2s,2s
echo "The coordinator replicated on three nodes through Raft: a crash costs a failover."
show $synod sim run --protocol 2pc-replicated --nodes 5 --seed 2 --duration 30s --nemesis crash-leader \
  --fault-every 4s --fault-length 2s,2s

say "11. A naive asynchronous primary-backup (acks before replicating, reads anywhere) under partitions and crashes"
show $synod sim run --protocol naive-primary-backup --nodes 5 --seed 3 --duration 20s \
  --nemesis partition,crash --diagram "$out/naive.html" --verbose

say "12. Failure detectors on the same cluster: real crashes vs false suspicions, 20% message loss"
for detector in detector-heartbeat detector-phi; do
  show $synod sim run --protocol $detector --nodes 5 --seed 11 --duration 60s \
    --network fair-loss --loss 0.2 --nemesis crash,pause
done

say "13. Swarm testing: 50 seeds, each with its own mix of faults and network, for the register, Raft and Multi-Paxos"
show $synod sim explore --protocol register --nodes 5 --duration 20s --nemesis swarm --seeds 50 --jobs 2
show $synod sim explore --protocol raft --nodes 5 --duration 20s --nemesis swarm --seeds 50 --jobs 2
show $synod sim explore --protocol multipaxos --nodes 5 --duration 20s --nemesis swarm --seeds 50 --jobs 2

say "Done. Diagrams and histories are in $out"
