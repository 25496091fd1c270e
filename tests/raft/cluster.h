#pragma once

// A harness for scenario tests of RaftNode alone: nodes in memory, a disk per
// node that is durable at once, and a network the test controls message by
// message (deliver everything, cut links, drop what is queued). No time, no
// threads: a scenario reads like the paper's figures.

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <vector>

#include "synod/raft/raft_node.h"

namespace synod::raft::testing {

// One node's durable state, as its Ready writes left it.
struct Disk {
  HardState hard_state;
  std::optional<Snapshot> snapshot;
  std::vector<Entry> entries;  // after the snapshot

  Recovered recover() const { return {hard_state, snapshot, entries}; }
};

// An entry for a hand-built log.
Entry entry(Index index, Term term, std::string data = "");

// Options for scenario tests: an election timeout of 10 ticks, a
// heartbeat every tick.
RaftOptions scenario_options();

class Cluster {
 public:
  // n voters 0..n-1, each starting empty.
  explicit Cluster(int n, RaftOptions options = {}, uint64_t seed = 1);
  // Nodes from hand-built disks (the scenario's starting logs).
  Cluster(std::vector<Disk> disks, RaftOptions options, uint64_t seed = 1);

  RaftNode& node(NodeId id) { return *nodes_.at(id); }
  int size() const { return static_cast<int>(nodes_.size()); }
  bool up(NodeId id) const { return nodes_.at(id) != nullptr; }
  const Disk& disk(NodeId id) const { return disks_.at(id); }
  // Commands applied by each node, by index (no-ops and membership entries
  // are recorded too, with their data).
  const std::map<Index, Entry>& applied(NodeId id) const { return applied_.at(id); }
  const std::vector<ReadState>& reads(NodeId id) const { return reads_.at(id); }
  const std::vector<uint64_t>& failed_reads(NodeId id) const { return failed_reads_.at(id); }

  // Carries out every node's Ready (persist, queue messages, apply).
  void process();
  // Delivers queued messages, processing after each, until none are left
  // (or `limit` deliveries). Messages over cut links are dropped.
  void deliver_all(size_t limit = 100000);
  // Delivers only the queued messages that `pick` accepts, once; the rest stay.
  void deliver_if(const std::function<bool(NodeId from, NodeId to, const Message&)>& pick);
  void drop_queued() { queue_.clear(); }
  size_t queued() const { return queue_.size(); }

  void tick(NodeId id, int times = 1);
  void tick_all(int times = 1);
  // Ticks `id` alone until it campaigns, then delivers everything.
  void campaign(NodeId id);
  // Ticks `id` alone until it campaigns; delivers only election messages
  // until the election is decided (appends stay queued).
  void elect_only(NodeId id);
  // Ticks and delivers, one tick at a time.
  void run(int ticks);
  // The one node that is leader of the highest term, if any.
  std::optional<NodeId> leader() const;
  // Ticks everyone until there is a leader (bounded).
  NodeId elect_anyone();

  Index propose(NodeId leader, std::string data);  // asserts accepted

  void cut(NodeId a, NodeId b);  // both ways
  void isolate(NodeId id);
  void heal() { cut_.clear(); }

  void crash(NodeId id);  // volatile state gone; the disk stays
  void restart(NodeId id);

  RaftOptions options_for(NodeId id) const;

 private:
  struct InFlight {
    NodeId from, to;
    Message message;
  };
  void handle_ready(NodeId id);
  bool blocked(NodeId from, NodeId to) const {
    return cut_.count({from, to}) > 0 || !up(to) || !up(from);
  }

  RaftOptions options_;
  uint64_t seed_;
  Membership membership_;
  std::vector<std::unique_ptr<RaftNode>> nodes_;
  std::vector<Disk> disks_;
  std::vector<std::map<Index, Entry>> applied_;
  std::vector<std::vector<ReadState>> reads_;
  std::vector<std::vector<uint64_t>> failed_reads_;
  std::vector<int> incarnation_;
  std::deque<InFlight> queue_;
  std::set<std::pair<NodeId, NodeId>> cut_;
};

}  // namespace synod::raft::testing
