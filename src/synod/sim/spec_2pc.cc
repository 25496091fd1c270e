// How the simulator runs two-phase commit (src/synod/txn): node 0
// coordinates and runs a workload of bank transfers; nodes 1.. hold the
// accounts. In 2pc-replicated, nodes 0..2 are the coordinator, its decisions
// made through Raft, and nodes 3.. hold the accounts. What it checks:
//
//   atomicity                 the participants of a transaction all commit
//                             or all abort (as they act, and at the end),
//                             and commit only what the coordinator decided
//   commit-needs-every-yes    commit is decided only after every vote is yes
//   durability                a restarted coordinator still knows every
//                             commit a participant acted on (an abort it
//                             forgets is presumed again); replicated: the
//                             leader's state machine does, at the end
//   conservation              at the end, the money in all accounts is what
//                             it was (a participant still in doubt counted
//                             as the others' outcome will leave it)
//   locks-released            at the end, if the coordinator is up (a
//                             majority of its replicas), nobody is in doubt
//                             about a transaction it prepared 5 s before
//                             (faults heal 10 s before the end; the
//                             workload runs on to the end)
//
// The summary reports the blocking window: how long prepared participants
// waited for an outcome, and how many still wait at the end.

#include <algorithm>
#include <array>
#include <map>
#include <set>

#include "synod/protocol/message.h"
#include "synod/sim/report.h"
#include "synod/sim/specs.h"
#include "synod/txn/coordinator.h"
#include "synod/txn/participant.h"
#include "synod/txn/replicated_coordinator.h"

namespace synod::sim {
namespace {

using txn::TxnId;

std::string ms(Duration d) {
  return std::to_string(d.count() / 1'000'000) + "ms";
}

class TwoPhaseSpec final : public ProtocolSpec, public txn::TxnObserver {
 public:
  TwoPhaseSpec(const SimConfig& config, SimContext& context, bool replicated)
      : replicated_(replicated),
        first_participant_(replicated ? kReplicas : 1),
        context_(context),
        nodes_(static_cast<size_t>(config.nodes)),
        settled_before_ns_(
            std::chrono::duration_cast<std::chrono::nanoseconds>(config.duration - kSettle)
                .count()) {
    options_.observer = this;
    options_.bugs.commit_before_persist = config.bug == "commit-before-persist";
    options_.bugs.vote_without_persist = config.bug == "vote-without-persist";
    options_.bugs.commit_on_timeout = config.bug == "commit-on-timeout";
    options_.bugs.no_retry = config.bug == "no-retry";
    if (replicated_) {
      options_.coordinators.clear();
      for (NodeId r = 0; r < kReplicas; ++r)
        options_.coordinators.push_back(r);
      raft_.tick = std::chrono::milliseconds(10);
      raft_.raft.heartbeat_ticks = 5;
      raft_.raft.election_ticks = 30;
      raft_.snapshot_every = 1000;
      raft_.snapshot_keep = 250;
    }
  }

  std::unique_ptr<Protocol> make_node(NodeId id) override {
    if (replicated_ && id < kReplicas) {
      auto c = std::make_unique<txn::ReplicatedCoordinator>(options_, raft_);
      replicas_[id] = c.get();
      return c;
    }
    if (!replicated_ && id == txn::kCoordinator) {
      auto c = std::make_unique<txn::Coordinator>(options_);
      coordinator_ = c.get();
      coordinator_restarted_ = coordinator_made_;
      coordinator_made_ = true;
      return c;
    }
    auto p = std::make_unique<txn::Participant>(options_);
    nodes_[id] = p.get();
    return p;
  }

  void on_crash(NodeId id) override {
    if (replicated_ && id < kReplicas) {
      if (replicas_[id]) begun_ += replicas_[id]->begun();
      replicas_[id] = nullptr;
    } else if (id == txn::kCoordinator) {
      if (coordinator_) begun_ += coordinator_->begun();
      coordinator_ = nullptr;
    } else {
      nodes_[id] = nullptr;
    }
  }

  std::optional<NodeId> leader() const override {
    if (!replicated_) return txn::kCoordinator;
    std::optional<NodeId> best;
    uint64_t best_term = 0;
    for (NodeId r = 0; r < kReplicas; ++r) {
      const txn::ReplicatedCoordinator* c = replicas_[r];
      if (!c || !c->leads()) continue;
      if (!best || c->engine().node().term() > best_term) {
        best = r;
        best_term = c->engine().node().term();
      }
    }
    return best;
  }

  void after_step(NodeId id) override {
    if (id != txn::kCoordinator || !coordinator_restarted_ || !coordinator_ ||
        !coordinator_->started())
      return;
    coordinator_restarted_ = false;
    for (const auto& [t, commit] : acted_on_) {
      auto d = coordinator_->decisions().find(t);
      if (commit && (d == coordinator_->decisions().end() || !d->second.commit))
        fail("durability", "the coordinator restarted without its commit of transaction " +
                               std::to_string(t) + ", which a participant had applied");
    }
  }

  // TxnObserver
  void voted(NodeId participant, TxnId t, bool commit) override {
    votes_[t][participant] = commit;
    if (commit) prepared_at_[{t, participant}] = context_.now_ns();
  }

  void decided(TxnId t, bool commit, const std::vector<NodeId>& participants) override {
    if (!commit) return;
    committed_.insert(t);
    for (NodeId p : participants) {
      auto v = votes_[t].find(p);
      if (v == votes_[t].end() || !v->second)
        fail("commit-needs-every-yes", "transaction " + std::to_string(t) +
                                           " committed without a commit vote from node " +
                                           std::to_string(p));
    }
  }

  void applied(NodeId participant, TxnId t, bool commit) override {
    auto [it, fresh] = acted_on_.emplace(t, commit);
    if (!fresh && it->second != commit)
      fail("atomicity", "node " + std::to_string(participant) + " " +
                            (commit ? "committed" : "aborted") + " transaction " +
                            std::to_string(t) + ", which another participant " +
                            (commit ? "aborted" : "committed"));
    if (commit && !committed_.count(t))
      fail("atomicity", "node " + std::to_string(participant) + " committed transaction " +
                            std::to_string(t) + ", which the coordinator never decided to commit");
  }

  void unblocked(NodeId, TxnId, Duration waited) override { waits_.push_back(waited); }

  std::string describe(std::string_view payload) const override {
    auto m = parse_message<wire::TxnMessage>(payload);
    if (!m) return "malformed";
    std::string id =
        " " + std::to_string(m->txn() >> 32) + ":" + std::to_string(m->txn() & 0xffffffff);
    switch (m->body_case()) {
      case wire::TxnMessage::kPrepare:
        return "prepare" + id;
      case wire::TxnMessage::kVote:
        return std::string(m->vote().commit() ? "vote commit" : "vote abort") + id;
      case wire::TxnMessage::kDecision:
        return std::string(m->decision().commit() ? "commit" : "abort") + id;
      case wire::TxnMessage::kAck:
        return "ack" + id;
      case wire::TxnMessage::kQuery:
        return "query" + id;
      case wire::TxnMessage::kState:
        return "state " + wire::TxnState::State_Name(m->state().state()) + id;
      default:
        return "empty";
    }
  }

  void finish(RunReport& report) override {
    size_t in_doubt = 0, stuck = 0, committed = 0, aborted = 0;
    bool all_up = true;
    int64_t money = 0, expected = 0;
    for (NodeId id = first_participant_; id < nodes_.size(); ++id) {
      const txn::Participant* p = nodes_[id];
      expected += options_.accounts_per_participant * txn::kInitialBalance;
      if (!p || !p->started()) {
        all_up = false;
        continue;
      }
      for (const auto& [account, balance] : p->balances())
        money += balance;
      for (const auto& [t, state] : p->txns()) {
        using State = txn::Participant::State;
        auto acted = acted_on_.find(t);
        bool committed_somewhere = acted != acted_on_.end() && acted->second;
        if (state.state == State::kPrepared) {
          ++in_doubt;
          auto at = prepared_at_.find({t, id});
          if (at == prepared_at_.end() || at->second < settled_before_ns_) ++stuck;
          // Counted as the others' outcome will leave it.
          if (committed_somewhere)
            for (const wire::TxnOp& op : state.ops)
              money += op.delta();
        } else if (committed_somewhere && state.state != State::kCommitted) {
          fail("atomicity", "transaction " + std::to_string(t) + " was committed but node " +
                                std::to_string(id) + " aborted it");
        }
      }
      // A participant that acknowledged a commit it never prepared (it lost
      // its prepared record) holds no entry at all for it.
      for (const auto& [t, commit] : acted_on_) {
        if (!commit || p->txns().count(t)) continue;
        auto v = votes_.find(t);
        if (v != votes_.end() && v->second.count(id))
          fail("atomicity", "transaction " + std::to_string(t) + " was committed but node " +
                                std::to_string(id) + ", which voted on it, has no record of it");
      }
    }
    for (const auto& [t, commit] : acted_on_)
      (commit ? committed : aborted)++;
    if (all_up && money != expected)
      fail("conservation", "the accounts hold " + std::to_string(money) + " where " +
                               std::to_string(expected) + " was put in");
    bool coordinator_up = coordinator_ && coordinator_->started();
    if (replicated_) {
      int up = 0;
      for (const txn::ReplicatedCoordinator* c : replicas_)
        if (c && c->started()) {
          ++up;
          begun_ += c->begun();
        }
      coordinator_up = up > static_cast<int>(kReplicas) / 2;
      // Every commit a participant applied is on record at some live
      // replica (a new leader may not have applied its predecessor's
      // entries yet, so not necessarily at the leader).
      if (coordinator_up)
        for (const auto& [t, commit] : acted_on_) {
          bool recorded = false;
          for (const txn::ReplicatedCoordinator* c : replicas_)
            recorded |= c && c->started() && c->decisions().count(t);
          if (commit && !recorded)
            fail("durability", "no replica of the coordinator has a record of transaction " +
                                   std::to_string(t) + ", which a participant committed");
        }
    }
    if (coordinator_up && all_up && stuck > 0)
      fail("locks-released", std::to_string(stuck) +
                                 " participants still in doubt at the end about transactions "
                                 "they prepared 5 s before, the coordinator up");
    Duration longest{0}, total{0};
    for (Duration w : waits_) {
      longest = std::max(longest, w);
      total += w;
    }
    if (coordinator_) begun_ += coordinator_->begun();
    report.fields.emplace_back("txns", std::to_string(begun_));
    report.fields.emplace_back("committed", std::to_string(committed));
    report.fields.emplace_back("aborted", std::to_string(aborted));
    report.fields.emplace_back("in_doubt_at_end", std::to_string(in_doubt));
    report.fields.emplace_back(
        "blocked_mean", waits_.empty() ? "0ms" : ms(total / static_cast<int64_t>(waits_.size())));
    report.fields.emplace_back("blocked_max", ms(longest));
  }

 private:
  void fail(std::string_view invariant, std::string detail) {
    context_.invariant_failed(invariant, std::move(detail));
  }

  static constexpr Duration kSettle = std::chrono::seconds(5);

  static constexpr NodeId kReplicas = 3;

  bool replicated_;
  NodeId first_participant_;
  txn::TxnOptions options_;
  raft::RaftEngineOptions raft_;
  std::array<txn::ReplicatedCoordinator*, kReplicas> replicas_{};
  SimContext& context_;
  std::vector<txn::Participant*> nodes_;  // index 0 unused
  txn::Coordinator* coordinator_ = nullptr;
  bool coordinator_made_ = false;  // once: any later one is a restart
  bool coordinator_restarted_ = false;
  std::map<TxnId, std::map<NodeId, bool>> votes_;
  std::set<TxnId> committed_;       // the coordinator decided commit (at some time)
  std::map<TxnId, bool> acted_on_;  // as participants applied
  std::vector<Duration> waits_;
  uint64_t begun_ = 0;
  int64_t settled_before_ns_;
  std::map<std::pair<TxnId, NodeId>, int64_t> prepared_at_;  // virtual time of each commit vote
};

}  // namespace

namespace {

ProtocolInfo two_pc_info(std::string name, std::string summary, bool replicated) {
  return {
      .name = std::move(name),
      .summary = std::move(summary),
      .bugs = {"commit-before-persist", "vote-without-persist", "commit-on-timeout", "no-retry"},
      .serves_clients = false,
      .make =
          [replicated](const SimConfig& c, SimContext& context) {
            return std::make_unique<TwoPhaseSpec>(c, context, replicated);
          },
  };
}

}  // namespace

ProtocolInfo two_phase_commit_protocol() {
  return two_pc_info("2pc",
                     "two-phase commit: node 0 coordinates bank transfers between accounts held "
                     "on nodes 1..; recovery, presumed abort, cooperative termination; reports "
                     "the blocking window",
                     false);
}

ProtocolInfo replicated_two_phase_commit_protocol() {
  return two_pc_info("2pc-replicated",
                     "two-phase commit whose coordinator is nodes 0..2, its decisions made "
                     "through Raft, so its crash does not block; nodes 3.. hold the accounts "
                     "(5 nodes or more)",
                     true);
}

}  // namespace synod::sim
