#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "synod/protocol/protocol.h"
#include "synod/txn/log.h"
#include "synod/txn/types.h"

namespace synod::txn {

// A participant of two-phase commit: it holds some accounts.
//
//   prepare   validate (accounts exist, none locked, no balance below 0),
//             lock, write a prepared record and sync, then vote commit;
//             otherwise vote abort and forget the transaction.
//   decision  apply (commit) or drop (abort) the operations, release the
//             locks, write the outcome and sync, then acknowledge.
//   in doubt  prepared and no decision after a timeout: ask the coordinator,
//             and (cooperative termination) the other participants, again
//             every timeout. This is the blocking window: a prepared
//             participant may not decide alone.
//
// A peer asked about a transaction it never prepared aborts it on the spot
// (recorded, so it votes abort if the prepare comes later) and says so.
class Participant final : public Protocol {
 public:
  explicit Participant(TxnOptions options) : options_(std::move(options)) {}

  void start(Env& env) override;
  void on_message(Env& env, const Incoming& message) override;
  void on_timer(Env& env, uint64_t tag) override;
  void on_synced(Env& env, SyncId id) override;

  enum class State { kPrepared, kCommitted, kAborted };
  struct Txn {
    State state = State::kPrepared;
    std::vector<wire::TxnOp> ops;
    std::vector<NodeId> participants;
    Time in_doubt_since{};  // prepared: since when
    Time asked{};           // prepared: when it last asked
  };
  bool started() const { return started_; }
  const std::map<std::string, int64_t>& balances() const { return balances_; }
  const std::map<TxnId, Txn>& txns() const { return txns_; }
  size_t in_doubt() const;

 private:
  static constexpr uint64_t kTickTimer = 1;

  void on_prepare(Env& env, NodeId from, TxnId txn, const wire::TxnPrepare& p);
  void on_decision(Env& env, NodeId from, TxnId txn, bool commit);
  void on_query(NodeId from, TxnId txn);
  void on_state(Env& env, TxnId txn, wire::TxnState::State state);
  // Applies or drops a prepared transaction's operations and records it.
  void finish(Env& env, TxnId txn, Txn& t, bool commit);
  void ask(Env& env, TxnId txn, Txn& t);

  TxnOptions options_;
  TxnLog log_;
  NodeId self_ = 0;
  bool started_ = false;
  std::map<std::string, int64_t> balances_;
  std::map<std::string, TxnId> locks_;
  std::map<TxnId, Txn> txns_;  // prepared, and outcomes (kept: a late decision is acked)
};

}  // namespace synod::txn
