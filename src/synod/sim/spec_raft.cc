// How the simulator runs Raft (src/synod/raft) replicating the key-value
// store, and what it checks after every step of every node:
//
//   election-safety       at most one leader per term
//   log-matching          entries with the same index and term are the same
//                         entry, after the same prefix
//   leader-completeness   a new leader holds every entry committed before
//   state-machine-safety  no two nodes commit, or apply, different commands
//                         at one index (applied state compared by digest)
//   durability            a restarted node still honours every vote and
//                         acknowledgement it sent before it crashed

#include <map>
#include <set>
#include <vector>

#include "synod/base/hash64.h"
#include "synod/kv/kv_state_machine.h"
#include "synod/protocol/message.h"
#include "synod/raft/lease.h"
#include "synod/raft/raft_engine.h"
#include "synod/replication/replica_message.h"
#include "synod/replication/replica_node.h"
#include "synod/sim/nemesis.h"
#include "synod/sim/replica_agreement.h"
#include "synod/sim/replicas.h"
#include "synod/sim/report.h"
#include "synod/sim/specs.h"

namespace synod::sim {
namespace {

using raft::Index;
using raft::Term;

void pick_options(const SimConfig& config, raft::RaftEngineOptions& o);

// Timing for the simulator's networks (0.05 to 25 ms per message): a 10 ms
// tick, heartbeats every 20 to 50 ms, elections after 200 to 1000 ms of
// silence. Like swarm testing for faults, each seed picks Raft's own limits
// too, so runs cover appends of one entry and of thousands, pipelines one
// deep and sixty-four deep, frequent and rare snapshots. With fixed options:
// the engine's defaults, heartbeats every 50 ms, elections after 300 ms.
raft::RaftEngineOptions engine_options(const SimConfig& config) {
  raft::RaftEngineOptions o;
  o.tick = std::chrono::milliseconds(10);
  o.raft.heartbeat_ticks = 5;
  o.raft.election_ticks = 30;
  o.snapshot_every = 1000;
  o.snapshot_keep = 250;
  if (!config.fixed_options) pick_options(config, o);
  o.raft.bugs.commit_earlier_term = config.bug == "commit-earlier-term";
  o.raft.bugs.vote_without_persist = config.bug == "vote-without-persist";
  o.bug_stale_reads = config.bug == "stale-read";
  return o;
}

void pick_options(const SimConfig& config, raft::RaftEngineOptions& o) {
  Rng rng = Rng(config.seed).split("raft-options");
  auto pick = [&rng](std::initializer_list<uint64_t> choices) {
    return *(choices.begin() + rng.uniform(choices.size()));
  };
  o.raft.heartbeat_ticks = static_cast<int>(pick({2, 5}));
  o.raft.election_ticks = static_cast<int>(pick({20, 30, 50}));
  o.raft.max_entries_per_append = pick({1, 4, 64, 4096});
  o.raft.max_inflight_appends = pick({1, 4, 64});
  o.snapshot_every = pick({50, 200, 1000});
  o.snapshot_keep = o.snapshot_every / 4;
  o.store.segment_bytes = pick({4 << 10, 16 << 10, 1 << 20});
  o.batch = rng.chance(0.8);
  // Half the seeds serve reads by lease, as long as the simulator's worst
  // clocks allow (the drift and jumps of its skew fault).
  if (rng.chance(0.5)) {
    raft::ClockBound clocks{config.clock.skew_drift(), config.clock.skew_jump()};
    o.raft.lease_ticks = raft::max_safe_lease_ticks(o.raft.election_ticks, o.tick, clocks);
  }
}

std::string describe_options(const raft::RaftEngineOptions& o) {
  return "raft heartbeat " + std::to_string(o.raft.heartbeat_ticks) + " ticks, election " +
         std::to_string(o.raft.election_ticks) + " ticks, " +
         std::to_string(o.raft.max_entries_per_append) + " entries per append, " +
         std::to_string(o.raft.max_inflight_appends) + " in flight, snapshot every " +
         std::to_string(o.snapshot_every) + ", segments of " +
         std::to_string(o.store.segment_bytes) + " bytes, batching " + (o.batch ? "on" : "off") +
         ", lease " +
         (o.raft.lease_ticks > 0 ? std::to_string(o.raft.lease_ticks) + " ticks" : "off");
}

uint64_t entry_digest(const raft::Entry& e) {
  return hash64(e.data(), static_cast<uint64_t>(e.type()));
}

class RaftSpec final : public ProtocolSpec {
 public:
  RaftSpec(const SimConfig& config, SimContext& context)
      : options_(engine_options(config)),
        context_(context),
        nodes_(static_cast<size_t>(config.nodes)),
        agreement_(context),
        drain_(config, context) {
    replica_options_ = replica_options(config);
    for (FaultKind kind : config.nemesis.faults)
      crash_stop_ |= kind == FaultKind::kCrashStop;
  }

  std::unique_ptr<Protocol> make_node(NodeId id) override {
    auto engine = std::make_unique<raft::RaftEngine>(options_);
    NodeState& node = nodes_[id];
    node.engine = engine.get();
    node.checked = {};
    auto replica = std::make_unique<replication::ReplicaNode>(
        std::move(engine), std::make_unique<KvStateMachine>(), replica_options_, &agreement_);
    drain_.started(id, replica.get());
    return replica;
  }

  void on_crash(NodeId id) override {
    drain_.crashed(id);
    NodeState& node = nodes_[id];
    if (node.engine && node.engine->started()) {
      merge(node.promises, node.engine->promises());
      snapshots_ += node.engine->snapshots_taken();
    }
    node.engine = nullptr;
    node.restarted = true;
  }

  void after_step(NodeId id) override {
    NodeState& node = nodes_[id];
    if (!node.engine || !node.engine->started()) return;
    const raft::RaftNode& raft = node.engine->node();
    if (node.restarted) {
      node.restarted = false;
      check_promises(id, node.promises, raft);
    }
    if (raft.role() == raft::Role::kLeader) {
      auto [leader, fresh] = leaders_.emplace(raft.term(), id);
      if (leader->second != id)
        fail("election-safety", "nodes " + std::to_string(leader->second) + " and " +
                                    std::to_string(id) + " both lead term " +
                                    std::to_string(raft.term()));
      else if (fresh)
        check_completeness(id, raft);
    }
    check_log(id, raft.log(), node.checked);
    check_commits(id, raft, node.checked);
  }

  // The leader of the highest term among the nodes that are up.
  std::optional<NodeId> leader() const override {
    std::optional<NodeId> best;
    raft::Term best_term = 0;
    for (NodeId id = 0; id < nodes_.size(); ++id) {
      const raft::RaftEngine* engine = nodes_[id].engine;
      if (!engine || !engine->started() || engine->node().role() != raft::Role::kLeader) continue;
      if (!best || engine->node().term() > best_term) {
        best = id;
        best_term = engine->node().term();
      }
    }
    return best;
  }

  void on_fault(const FaultEvent& fault) override {
    if (fault.kind == FaultEvent::Kind::kStop) stopped_.insert(fault.node);
  }

  // Operator actions, through the leader, as an administrator would.
  bool operator_action(FaultKind kind, uint64_t choice) override {
    auto leader = this->leader();
    if (!leader) return false;
    raft::RaftEngine* engine = nodes_[*leader].engine;
    const raft::Membership& m = engine->node().membership();
    if (kind == FaultKind::kTransfer) {
      std::vector<NodeId> others;
      for (NodeId v : m.voters())
        if (v != *leader) others.push_back(v);
      if (others.empty()) return false;
      NodeId to = others[choice % others.size()];
      return context_.operate(*leader, [&](Env& env) { engine->transfer_leadership(env, to); });
    }
    auto change = pick_change(engine->node(), choice);
    if (!change) return false;
    return context_.operate(*leader, [&](Env& env) {
      if (!engine->change_membership(env, *change)) ++membership_changes_;  // proposed
    });
  }

  std::string describe(std::string_view payload) const override {
    if (replication::is_replica_message(payload))
      return replication::describe_replica_message(payload);
    auto m = parse_message<raft::Message>(payload);
    if (!m) return "malformed";
    std::string t = " t" + std::to_string(m->term());
    switch (m->body_case()) {
      case raft::Message::kAppend: {
        const auto& a = m->append();
        std::string range = a.entries().empty()
                                ? "[]"
                                : "[" + std::to_string(a.entries(0).index()) + ".." +
                                      std::to_string(a.entries(a.entries_size() - 1).index()) + "]";
        return "append" + t + " prev " + std::to_string(a.prev_index()) + " " + range + " commit " +
               std::to_string(a.commit());
      }
      case raft::Message::kAppendResponse:
        return std::string(m->append_response().success() ? "ack" : "nack") + t + " " +
               std::to_string(m->append_response().index());
      case raft::Message::kVote:
        return std::string(m->vote().pre() ? "pre-vote" : "vote") + t;
      case raft::Message::kVoteResponse:
        return std::string(m->vote_response().pre() ? "pre-vote " : "vote ") +
               (m->vote_response().granted() ? "granted" : "refused") + t;
      case raft::Message::kHeartbeat:
        return "heartbeat" + t;
      case raft::Message::kHeartbeatResponse:
        return "heartbeat ok" + t;
      case raft::Message::kInstallSnapshot:
        return "snapshot" + t + " at " + std::to_string(m->install_snapshot().meta().index());
      case raft::Message::kTimeoutNow:
        return "timeout-now" + t;
      case raft::Message::BODY_NOT_SET:
        break;
    }
    return "empty";
  }

  void finish(RunReport& report) override {
    drain_.finish();
    uint64_t snapshots = snapshots_;
    for (const NodeState& node : nodes_)
      if (node.engine && node.engine->started()) snapshots += node.engine->snapshots_taken();
    report.fields.emplace_back("terms",
                               std::to_string(leaders_.empty() ? 0 : leaders_.rbegin()->first));
    report.fields.emplace_back("leaders", std::to_string(leaders_.size()));
    report.fields.emplace_back("commit", std::to_string(max_commit_));
    report.fields.emplace_back("snapshots", std::to_string(snapshots));
    if (membership_changes_ > 0)
      report.fields.emplace_back("reconfigurations", std::to_string(membership_changes_));
    report.faults += "; " + describe_options(options_);
  }

 private:
  // How far the checks of one incarnation of a node have got.
  struct Checked {
    Index log = 0;  // entries up to here are recorded in entries_
    Term log_term = 0;
    Index commit = 0;
  };
  struct NodeState {
    raft::RaftEngine* engine = nullptr;
    Checked checked;
    raft::Promises promises;  // over every incarnation
    bool restarted = false;
  };
  struct EntryFact {
    uint64_t digest;
    Term prev_term;
  };
  struct CommitFact {
    Term term;
    uint64_t digest;
    // The lowest term of a node seen holding it committed: the leader that
    // commits it does so in its own term, before anyone else learns of it.
    Term committed_in;
  };

  // A change that keeps the cluster able to make progress: promote a learner
  // that has caught up, add back a node that was removed, or remove a voter
  // if a majority of the voters left would survive every crash-stop fault
  // still to come.
  std::optional<raft::MembershipChange> pick_change(const raft::RaftNode& leader,
                                                    uint64_t choice) const {
    using Kind = raft::MembershipChange::Kind;
    const raft::Membership& m = leader.membership();
    for (NodeId learner : m.learners()) {
      const raft::Progress* pr = leader.progress(learner);
      if (pr && pr->match >= leader.log().commit())
        return raft::MembershipChange{Kind::kAddVoter, learner};
    }
    std::vector<NodeId> outside;
    for (NodeId n = 0; n < nodes_.size(); ++n)
      if (!m.contains(n) && !stopped_.count(n)) outside.push_back(n);
    if (!outside.empty() && (choice & 1))
      return raft::MembershipChange{Kind::kAddLearner, outside[(choice >> 1) % outside.size()]};
    int stops_to_come = crash_stop_ ? std::max(0, max_nodes_down(static_cast<int>(nodes_.size())) -
                                                      static_cast<int>(stopped_.size()))
                                    : 0;
    int stopped_voters = 0;
    for (NodeId v : m.voters())
      stopped_voters += static_cast<int>(stopped_.count(v));
    int left = static_cast<int>(m.voters().size()) - 1;  // voters after the removal
    std::vector<NodeId> removable;
    for (NodeId v : m.voters()) {
      int alive_left = left - (stopped_voters - static_cast<int>(stopped_.count(v)));
      if (left >= 1 && alive_left - stops_to_come >= left / 2 + 1) removable.push_back(v);
    }
    if (removable.empty()) return std::nullopt;
    return raft::MembershipChange{Kind::kRemove, removable[(choice >> 1) % removable.size()]};
  }

  void fail(std::string_view invariant, std::string detail) {
    context_.invariant_failed(invariant, std::move(detail));
  }

  static void merge(raft::Promises& into, const raft::Promises& from) {
    if (from.vote && (!into.vote || from.vote->term >= into.vote->term)) into.vote = from.vote;
    if (from.ack && (!into.ack || from.ack->term > into.ack->term ||
                     (from.ack->term == into.ack->term && from.ack->index >= into.ack->index)))
      into.ack = from.ack;
  }

  void check_promises(NodeId id, const raft::Promises& promises, const raft::RaftNode& raft) {
    const std::string node = "node " + std::to_string(id);
    if (const auto& vote = promises.vote) {
      if (raft.term() < vote->term)
        fail("durability", node + " voted in term " + std::to_string(vote->term) +
                               " but restarted at term " + std::to_string(raft.term()));
      else if (raft.term() == vote->term && raft.status().vote != vote->candidate)
        fail("durability", node + " voted for " + std::to_string(vote->candidate) + " in term " +
                               std::to_string(vote->term) + " and forgot it in a restart");
    }
    if (const auto& ack = promises.ack) {
      const raft::RaftLog& log = raft.log();
      if (raft.term() < ack->term)
        fail("durability", node + " acknowledged entries in term " + std::to_string(ack->term) +
                               " but restarted at term " + std::to_string(raft.term()));
      else if (raft.term() == ack->term && ack->index > log.snapshot_index() &&
               !log.matches(ack->index, ack->entry_term))
        fail("durability", node + " acknowledged entry " + std::to_string(ack->index) + " (term " +
                               std::to_string(ack->entry_term) + ") and lost it in a restart");
    }
  }

  // Leader Completeness: an entry committed in term c is in the log of every
  // leader of a term after c. (A candidate paused in an old term may still
  // win that old term later, without entries committed since.)
  void check_completeness(NodeId id, const raft::RaftNode& raft) {
    const raft::RaftLog& log = raft.log();
    for (auto it = committed_.lower_bound(log.first_index()); it != committed_.end(); ++it) {
      Index i = it->first;
      if (it->second.committed_in >= raft.term()) continue;
      if (!log.matches(i, it->second.term)) {
        fail("leader-completeness", "node " + std::to_string(id) + " leads term " +
                                        std::to_string(raft.term()) + " without committed entry " +
                                        std::to_string(i) + " (term " +
                                        std::to_string(it->second.term) + ")");
        return;
      }
    }
  }

  void check_log(NodeId id, const raft::RaftLog& log, Checked& checked) {
    Index from = checked.log;
    if (from < log.snapshot_index()) {
      from = log.snapshot_index();
    } else if (from > log.last_index() || !log.matches(from, checked.log_term)) {
      // Truncated since: entries above the commit index may have changed.
      from = std::min(from, std::max(log.commit(), log.snapshot_index()));
    }
    for (Index i = from + 1; i <= log.last_index(); ++i) {
      const raft::Entry& e = log.at(i);
      EntryFact fact{entry_digest(e), *log.term(i - 1)};
      auto [known, fresh] = entries_.emplace(std::make_pair(i, e.term()), fact);
      if (!fresh &&
          (known->second.digest != fact.digest || known->second.prev_term != fact.prev_term))
        fail("log-matching", "node " + std::to_string(id) + " holds a different entry " +
                                 std::to_string(i) + " of term " + std::to_string(e.term()) +
                                 " than another node");
    }
    checked.log = log.last_index();
    checked.log_term = log.last_term();
  }

  void check_commits(NodeId id, const raft::RaftNode& raft, Checked& checked) {
    const raft::RaftLog& log = raft.log();
    for (Index i = std::max(checked.commit, log.snapshot_index()) + 1; i <= log.commit(); ++i) {
      const raft::Entry& e = log.at(i);
      CommitFact fact{e.term(), entry_digest(e), raft.term()};
      auto [known, fresh] = committed_.emplace(i, fact);
      if (!fresh) known->second.committed_in = std::min(known->second.committed_in, raft.term());
      if (!fresh && (known->second.term != fact.term || known->second.digest != fact.digest))
        fail("state-machine-safety",
             "node " + std::to_string(id) + " committed entry " + std::to_string(i) + " of term " +
                 std::to_string(fact.term) + " where entry " + std::to_string(i) + " of term " +
                 std::to_string(known->second.term) + " was committed before");
    }
    checked.commit = std::max(checked.commit, log.commit());
    max_commit_ = std::max(max_commit_, log.commit());
  }

  raft::RaftEngineOptions options_;
  replication::ReplicaOptions replica_options_;
  SimContext& context_;
  std::vector<NodeState> nodes_;
  std::map<Term, NodeId> leaders_;
  std::map<std::pair<Index, Term>, EntryFact> entries_;
  std::map<Index, CommitFact> committed_;
  ReplicaAgreement agreement_;
  ReplicaDrain drain_;
  Index max_commit_ = 0;
  uint64_t snapshots_ = 0;
  std::set<NodeId> stopped_;
  bool crash_stop_ = false;  // the nemesis may still stop nodes for good
  uint64_t membership_changes_ = 0;
};

}  // namespace

ProtocolInfo raft_protocol() {
  return {
      .name = "raft",
      .summary =
          "Raft replicating the key-value store: pre-vote, check-quorum, ReadIndex "
          "and lease reads, snapshots, membership changes, client sessions",
      .bugs = {"commit-earlier-term", "vote-without-persist", "stale-read", "apply-twice",
               "retry-under-new-number", "requests-wait-forever"},
      .member_requests = true,
      .check_liveness = true,
      .make = [](const SimConfig& c,
                 SimContext& context) { return std::make_unique<RaftSpec>(c, context); },
  };
}

}  // namespace synod::sim
