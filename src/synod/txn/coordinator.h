#pragma once

#include <map>
#include <optional>
#include <vector>

#include "synod/protocol/protocol.h"
#include "synod/txn/log.h"
#include "synod/txn/types.h"
#include "synod/txn/workload.h"

namespace synod::txn {

// The coordinator of two-phase commit, node 0, which also runs the workload:
// transfers of a random amount between accounts on two different
// participants, a new one every `interval` while fewer than `max_in_flight`
// are undecided.
//
//   phase 1  send each participant its operations; collect votes. All
//            commit: decide commit. Any abort, or a vote missing after the
//            timeout: decide abort.
//   phase 2  write the decision and sync it, then send it; send it again to
//            whoever has not acknowledged, every timeout; once all have,
//            record the transaction done.
//   restart  a new epoch (durable before any transaction of it), and every
//            decision not yet done is sent again. A query about a
//            transaction it has no decision for (begun before a crash) is
//            answered abort, recorded first: presumed abort.
class Coordinator final : public Protocol {
 public:
  explicit Coordinator(TxnOptions options) : options_(std::move(options)) {}

  void start(Env& env) override;
  void on_message(Env& env, const Incoming& message) override;
  void on_timer(Env& env, uint64_t tag) override;
  void on_synced(Env& env, SyncId id) override;

  struct Decision {
    bool commit = false;
    std::vector<NodeId> participants;
    std::vector<NodeId> acked;
    bool done = false;
    Time sent{};
  };
  bool started() const { return started_; }
  const std::map<TxnId, Decision>& decisions() const { return decisions_; }
  uint64_t begun() const { return begun_; }

 private:
  static constexpr uint64_t kTickTimer = 1;

  void begin(Env& env);
  void decide(Env& env, TxnId txn, bool commit, std::vector<NodeId> participants);
  void send_decision(Env& env, TxnId txn, Decision& d, NodeId to);
  void on_vote(Env& env, NodeId from, TxnId txn, bool commit);
  void on_ack(Env& env, NodeId from, TxnId txn);
  void on_query(Env& env, NodeId from, TxnId txn);

  TxnOptions options_;
  TxnLog log_;
  Rng rng_{0};
  size_t cluster_size_ = 0;
  std::vector<NodeId> participants_;  // every node but this one
  bool started_ = false;
  bool ready_ = false;  // the epoch is durable
  SyncId epoch_sync_ = 0;
  uint64_t epoch_ = 0;
  uint64_t seq_ = 0;
  uint64_t begun_ = 0;
  Time last_begin_{};
  std::map<TxnId, Voting> voting_;
  std::map<TxnId, Decision> decisions_;
};

}  // namespace synod::txn
