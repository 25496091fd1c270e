#pragma once

#include <map>
#include <memory>
#include <set>
#include <vector>

#include "synod/raft/raft_engine.h"
#include "synod/txn/types.h"
#include "synod/txn/workload.h"

namespace synod::txn {

// A coordinator whose decisions are made through consensus, so that its
// crash does not block prepared participants (issue: the blocking problem).
// Nodes 0..replicas-1 run Raft (src/synod/raft, unchanged) over a small
// state machine: the decision of each transaction, the first one committed
// to the log winning. Whoever leads Raft coordinates:
//
//   - it runs the workload and collects votes, as the plain coordinator;
//   - a decision is proposed to Raft and sent to the participants only once
//     applied, so a majority of replicas holds it;
//   - asked about a transaction with no decision (its leader crashed while
//     collecting votes), it proposes abort; if the old leader's commit made
//     it into the log first, that commit is what applies, and is answered.
//
// A replica that is not leader answers queries from its state machine, so a
// participant in doubt needs a majority of replicas up, not one coordinator.
// Transaction ids carry the leader's term, so no two leaders share one.
class ReplicatedCoordinator final : public Protocol, private replication::Applier {
 public:
  ReplicatedCoordinator(TxnOptions options, raft::RaftEngineOptions raft);

  void start(Env& env) override;
  void on_message(Env& env, const Incoming& message) override;
  void on_timer(Env& env, uint64_t tag) override;
  void on_synced(Env& env, SyncId id) override;

  bool started() const { return engine_.started(); }
  bool leads() const;
  const raft::RaftEngine& engine() const { return engine_; }
  // The state machine: transaction -> commit?
  const std::map<TxnId, bool>& decisions() const { return decisions_; }
  uint64_t begun() const { return begun_; }

  static constexpr uint64_t kTickTimer = 100;  // Raft's engine uses 1 and 2

 private:
  struct Sending {
    std::vector<NodeId> participants;
    std::set<NodeId> acked;
    Time sent{};
  };

  // Applier: decisions committed by Raft.
  void apply(Env& env, uint64_t index, std::string_view command) override;
  void read_ready(Env&, uint64_t) override {}
  void read_refused(Env&, uint64_t, const replication::Refused&) override {}
  std::string take_snapshot() override;
  void restore_snapshot(Env& env, uint64_t index, std::string_view snapshot) override;

  void tick(Env& env);
  void begin(Env& env);
  void propose(Env& env, TxnId txn, bool commit, const std::vector<NodeId>& participants);
  void send_decision(Env& env, TxnId txn, NodeId to);
  void on_txn(Env& env, NodeId from, const wire::TxnMessage& m);
  void answer(Env& env, NodeId to, TxnId txn, bool commit);

  TxnOptions options_;
  raft::RaftEngine engine_;
  Rng rng_{0};
  NodeId self_ = 0;
  std::vector<NodeId> participants_;
  bool leading_ = false;
  uint64_t term_ = 0;  // of the leadership the workload runs under
  uint64_t seq_ = 0;
  uint64_t begun_ = 0;
  Time last_begin_{};

  std::map<TxnId, bool> decisions_;  // the state machine
  std::map<TxnId, std::vector<NodeId>> decision_participants_;
  // The leader's own books.
  std::map<TxnId, Voting> voting_;
  std::set<TxnId> proposed_;
  std::map<TxnId, Sending> sending_;
  std::map<TxnId, std::set<NodeId>> asking_;  // queries waiting for a decision
};

}  // namespace synod::txn
