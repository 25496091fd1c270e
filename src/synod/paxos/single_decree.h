#pragma once

#include <deque>
#include <map>
#include <optional>

#include "synod/paxos/ballot.h"
#include "synod/paxos/outbox.h"
#include "synod/paxos/paxos_store.h"
#include "synod/protocol/protocol.h"

namespace synod::paxos {

struct SingleDecreeOptions {
  // Before each attempt a proposer waits a random time below this, doubled
  // after every failed attempt (up to 32 times): duelling proposers do not
  // livelock.
  Duration backoff = std::chrono::milliseconds(50);
  // An attempt not decided within this is abandoned (lost messages, a
  // majority down) and tried again.
  Duration attempt_timeout = std::chrono::milliseconds(300);
  PaxosObserver* observer = nullptr;
  struct Bugs {
    // The proposer proposes its own value whatever the promises report.
    bool ignore_promised_values = false;
    // Acceptors keep promises only in memory and answer at once.
    bool forget_promises = false;
  } bugs;
};

// Single-decree Paxos, the Synod protocol of "The Part-Time Parliament" as
// "Paxos Made Simple" tells it: every node is a proposer of its own value,
// an acceptor and a learner, and they agree on one value.
//
//   phase 1  a proposer picks a ballot above any it has seen and asks every
//            acceptor to promise to ignore lower ones; each promise reports
//            the value the acceptor accepted last, if any;
//   phase 2  with a majority of promises the proposer asks them to accept the
//            value of the highest ballot reported (its own if none was);
//   chosen   a majority accepting one ballot chooses its value; the proposer,
//            as distinguished learner, tells every node. A node that knows
//            the decision answers any Paxos message with it.
//
// Acceptors sync their promise and accepted value before replying (to
// PaxosStore, slot 1). Proposers retry until they learn the decision.
class SingleDecreeNode final : public Protocol {
 public:
  static constexpr Slot kSlot = 1;

  SingleDecreeNode(SingleDecreeOptions options, Value proposal);

  void start(Env& env) override;
  void on_message(Env& env, const Incoming& message) override;
  void on_timer(Env& env, uint64_t tag) override;
  void on_synced(Env& env, SyncId id) override;

  bool started() const { return started_; }
  const std::optional<Value>& decided() const { return decided_; }
  Ballot promised() const { return promised_; }
  const SlotState* accepted() const { return accepted_ ? &*accepted_ : nullptr; }
  uint64_t attempts() const { return attempts_; }

 private:
  using Message = wire::PaxosMessage;
  enum class Phase { kIdle, kPreparing, kAccepting };
  static constexpr uint64_t kAttemptTimer = 1;
  // Timeout tags carry the attempt number above this, so stale ones are ignored.
  static constexpr uint64_t kTimeoutTag = 1 << 16;

  void schedule_attempt(Env& env);
  void attempt(Env& env);
  void give_up(Env& env);
  void handle(Env& env, NodeId from, const Message& m);
  void on_prepare(Env& env, NodeId from, const Message& m);
  void on_promise(Env& env, NodeId from, const Message& m);
  void on_accept(Env& env, NodeId from, const Message& m);
  void on_accepted(Env& env, NodeId from, const Message& m);
  void decide(Env& env, const SlotState& state);
  bool answer_with_decision(Env& env, NodeId to);
  void raise_promise(Ballot ballot);
  void send(Env& env, Reply reply) { outbox_.send(env, std::move(reply)); }
  void broadcast(Env& env, const Message& m);
  void settle(Env& env);
  bool is_majority(uint64_t mask) const;

  SingleDecreeOptions options_;
  Value proposal_;
  PaxosStore store_;
  NodeId self_ = 0;
  size_t cluster_size_ = 0;
  Rng rng_{0};
  bool started_ = false;

  // Acceptor and learner.
  Ballot promised_;
  std::optional<SlotState> accepted_;
  std::optional<Value> decided_;

  // Proposer.
  Phase phase_ = Phase::kIdle;
  Ballot ballot_;
  uint64_t max_round_seen_ = 0;
  uint64_t attempts_ = 0;
  int failures_ = 0;
  std::map<NodeId, std::optional<SlotState>> promises_;
  uint64_t accepts_ = 0;  // a bit per acceptor
  Value proposing_;

  Outbox outbox_;
  bool sync_wanted_ = false;  // this input wrote something
};

}  // namespace synod::paxos
