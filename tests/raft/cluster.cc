#include "raft/cluster.h"

#include <gtest/gtest.h>

namespace synod::raft::testing {

RaftOptions scenario_options() {
  RaftOptions o;
  o.election_ticks = 10;
  o.heartbeat_ticks = 1;
  return o;
}

Entry entry(Index index, Term term, std::string data) {
  Entry e;
  e.set_index(index);
  e.set_term(term);
  e.set_data(std::move(data));
  return e;
}

Cluster::Cluster(int n, RaftOptions options, uint64_t seed)
    : Cluster(std::vector<Disk>(static_cast<size_t>(n)), options, seed) {}

Cluster::Cluster(std::vector<Disk> disks, RaftOptions options, uint64_t seed)
    : options_(options), seed_(seed), disks_(std::move(disks)) {
  std::vector<NodeId> voters;
  for (size_t i = 0; i < disks_.size(); ++i)
    voters.push_back(static_cast<NodeId>(i));
  membership_ = Membership::of_voters(voters);
  nodes_.resize(disks_.size());
  applied_.resize(disks_.size());
  reads_.resize(disks_.size());
  failed_reads_.resize(disks_.size());
  incarnation_.assign(disks_.size(), 0);
  for (NodeId id = 0; id < disks_.size(); ++id)
    restart(id);
}

RaftOptions Cluster::options_for(NodeId id) const {
  RaftOptions o = options_;
  o.id = id;
  return o;
}

void Cluster::restart(NodeId id) {
  Disk& disk = disks_[id];
  nodes_[id] = std::make_unique<RaftNode>(
      options_for(id), disk.recover(), membership_,
      Rng(seed_).split(id).split(static_cast<uint64_t>(incarnation_[id]++)));
  applied_[id].clear();
}

void Cluster::crash(NodeId id) {
  nodes_[id].reset();
}

void Cluster::handle_ready(NodeId id) {
  RaftNode& n = *nodes_[id];
  while (n.has_ready()) {
    Ready rd = n.ready();
    Disk& disk = disks_[id];
    if (rd.snapshot) {
      disk.snapshot = rd.snapshot;
      disk.entries.clear();
      applied_[id].clear();
    }
    if (!rd.entries.empty()) {
      Index from = rd.entries.front()->index();
      while (!disk.entries.empty() && disk.entries.back().index() >= from)
        disk.entries.pop_back();
      for (const Entry* e : rd.entries)
        disk.entries.push_back(*e);
    }
    if (rd.hard_state) disk.hard_state = *rd.hard_state;
    for (auto& out : rd.messages)
      queue_.push_back({id, out.to, std::move(out.message)});
    for (auto& out : rd.messages_after_persist)
      queue_.push_back({id, out.to, std::move(out.message)});
    for (const Entry* e : rd.committed)
      applied_[id][e->index()] = *e;
    for (const ReadState& r : rd.reads)
      reads_[id].push_back(r);
    for (uint64_t r : rd.failed_reads)
      failed_reads_[id].push_back(r);
    bool wrote = rd.writes();
    n.advance(rd);
    // This disk is durable at once.
    if (wrote && !disk.entries.empty())
      n.on_persisted(disk.entries.back().index(), disk.entries.back().term());
  }
  // Every scenario checks each node's own invariants after each step.
  auto broken = n.check_invariants();
  EXPECT_FALSE(broken) << "node " << id << ": " << broken->invariant << ": " << broken->detail;
}

void Cluster::process() {
  for (NodeId id = 0; id < nodes_.size(); ++id)
    if (nodes_[id]) handle_ready(id);
}

void Cluster::deliver_all(size_t limit) {
  process();
  for (size_t n = 0; !queue_.empty() && n < limit; ++n) {
    InFlight m = std::move(queue_.front());
    queue_.pop_front();
    if (blocked(m.from, m.to)) continue;
    nodes_[m.to]->step(m.from, m.message);
    handle_ready(m.to);
  }
}

void Cluster::deliver_if(const std::function<bool(NodeId, NodeId, const Message&)>& pick) {
  process();
  std::deque<InFlight> keep;
  std::deque<InFlight> now = std::move(queue_);
  queue_.clear();
  for (auto& m : now) {
    if (!pick(m.from, m.to, m.message)) {
      keep.push_back(std::move(m));
      continue;
    }
    if (blocked(m.from, m.to)) continue;
    nodes_[m.to]->step(m.from, m.message);
    handle_ready(m.to);
  }
  // What the deliveries produced goes after what was kept.
  for (auto& m : queue_)
    keep.push_back(std::move(m));
  queue_ = std::move(keep);
}

void Cluster::tick(NodeId id, int times) {
  for (int i = 0; i < times; ++i) {
    nodes_[id]->tick();
    handle_ready(id);
  }
}

void Cluster::tick_all(int times) {
  for (int i = 0; i < times; ++i)
    for (NodeId id = 0; id < nodes_.size(); ++id)
      if (nodes_[id]) tick(id);
}

void Cluster::campaign(NodeId id) {
  Term before = nodes_[id]->term();
  for (int i = 0; i < 4 * options_.election_ticks; ++i) {
    tick(id);
    Role role = nodes_[id]->role();
    if (role == Role::kPreCandidate || role == Role::kCandidate || role == Role::kLeader ||
        nodes_[id]->term() != before)
      break;
  }
  deliver_all();
}

void Cluster::elect_only(NodeId id) {
  Term before = nodes_[id]->term();
  for (int i = 0; i < 4 * options_.election_ticks; ++i) {
    tick(id);
    if (nodes_[id]->role() != Role::kFollower || nodes_[id]->term() != before) break;
  }
  for (int round = 0; round < 8; ++round)
    deliver_if(
        [](NodeId, NodeId, const Message& m) { return m.has_vote() || m.has_vote_response(); });
}

void Cluster::run(int ticks) {
  for (int i = 0; i < ticks; ++i) {
    tick_all();
    deliver_all();
  }
}

std::optional<NodeId> Cluster::leader() const {
  std::optional<NodeId> best;
  for (NodeId id = 0; id < nodes_.size(); ++id) {
    if (!nodes_[id] || nodes_[id]->role() != Role::kLeader) continue;
    if (!best || nodes_[id]->term() > nodes_[*best]->term()) best = id;
  }
  return best;
}

NodeId Cluster::elect_anyone() {
  for (int i = 0; i < 100 * options_.election_ticks; ++i) {
    tick_all();
    deliver_all();
    if (auto l = leader()) return *l;
  }
  ADD_FAILURE() << "no leader elected";
  return 0;
}

Index Cluster::propose(NodeId leader, std::string data) {
  auto result = nodes_[leader]->propose(std::move(data));
  EXPECT_TRUE(std::holds_alternative<Proposed>(result));
  return std::holds_alternative<Proposed>(result) ? std::get<Proposed>(result).index : 0;
}

void Cluster::cut(NodeId a, NodeId b) {
  cut_.insert({a, b});
  cut_.insert({b, a});
}

void Cluster::isolate(NodeId id) {
  for (NodeId other = 0; other < nodes_.size(); ++other)
    if (other != id) cut(id, other);
}

}  // namespace synod::raft::testing
