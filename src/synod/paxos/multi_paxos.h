#pragma once

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "synod/detect/phi_accrual.h"
#include "synod/paxos/ballot.h"
#include "synod/paxos/observer.h"
#include "synod/paxos/outbox.h"
#include "synod/paxos/paxos_store.h"
#include "synod/replication/replicator.h"

namespace synod::paxos {

struct MultiPaxosOptions {
  // The length of a tick, on the node's local clock.
  Duration tick = std::chrono::milliseconds(10);
  // The leader heartbeats every this many ticks.
  int heartbeat_ticks = 3;
  // A node that has heard no leader for this long tries to lead; it is also
  // the unit of the randomized backoff between attempts, and how long a
  // leader keeps leading without hearing from a majority.
  int election_ticks = 30;
  // How followers judge the leader: phi accrual on its heartbeats.
  PhiConfig detector;
  // Slots per accept message.
  size_t max_batch = 1024;
  // Slots proposed but not yet chosen, at most; proposals past it are
  // refused (retry later).
  size_t max_inflight = 4096;
  // A snapshot every this many applied slots (0: never), keeping this many
  // slots behind it for learners that are only a little behind.
  uint64_t snapshot_every = 10'000;
  uint64_t snapshot_keep = 1'000;
  // Batching: proposals and reads that arrive at the same instant share one
  // accept message per peer and one sync. Off: each is sent on its own.
  bool batch = true;
  PaxosObserver* observer = nullptr;

  struct Bugs {
    // A new leader ignores the values reported in promises and fills every
    // slot it recovers with a no-op, overwriting chosen commands.
    bool ignore_promised_values = false;
    // Acceptors keep promises only in memory and answer at once: after a
    // restart they forget them.
    bool forget_promises = false;
  } bugs;
};

// Multi-Paxos as a replication engine (Lamport's "Paxos Made Simple", part 3;
// van Renesse and Altinbuken's "Paxos Made Moderately Complex"). Every node
// is acceptor, learner and possible proposer:
//
//   - A node that suspects the leader (phi accrual on its heartbeats) runs
//     phase 1 once, for every slot it has not learned, with a ballot above
//     any it has seen; duelling proposers back off for a random, growing time.
//   - With promises from a majority the new leader re-proposes, in its own
//     ballot, the value of the highest ballot reported in every slot, fills
//     slots nobody reported with no-ops, and then serves: one phase 2 round
//     trip per batch of commands, many batches in flight.
//   - A slot is chosen once a majority accepts it; the leader's commit index
//     tells the others, and a learner missing values asks for them (catch-up),
//     or for a snapshot once they are compacted away.
//   - Reads: the leader notes the last slot proposed, confirms with a majority
//     that no higher ballot has been promised (a heartbeat round), waits until
//     that slot is applied and serves. No clock bound is assumed.
//
// Acceptors persist promises and accepted values and sync before replying.
// Membership is fixed: the nodes of the Env.
class MultiPaxosEngine final : public replication::Replicator {
 public:
  using Options = MultiPaxosOptions;
  explicit MultiPaxosEngine(MultiPaxosOptions options);

  void start(Env& env, replication::Applier& applier) override;
  void on_message(Env& env, const Incoming& message) override;
  void on_timer(Env& env, uint64_t tag) override;
  void on_synced(Env& env, SyncId id) override;
  std::optional<replication::Refused> propose(Env& env, std::string command) override;
  std::optional<replication::Refused> read(Env& env, uint64_t read) override;
  std::optional<NodeId> leader() const override;

  enum class Role { kFollower, kCandidate, kLeader };
  bool started() const { return applier_ != nullptr; }
  Role role() const { return role_; }
  Ballot ballot() const { return ballot_; }      // this node's, as candidate or leader
  Ballot promised() const { return promised_; }  // the highest it promised
  Slot chosen_upto() const { return chosen_upto_; }
  Slot snapshot_slot() const { return snapshot_slot_; }
  const SlotState* slot(Slot s) const;
  const std::map<Slot, SlotState>& slots() const { return slots_; }  // above the compaction point
  uint64_t snapshots_taken() const { return snapshots_taken_; }
  size_t in_flight() const { return inflight_.size(); }  // proposed, not yet chosen

  static constexpr uint64_t kTickTimer = 1;
  static constexpr uint64_t kFlushTimer = 2;
  static constexpr int kMaxCatchUpTicks = 10'000;
  // A catch-up reply carries at most this many slots, and stops once past
  // this many bytes of values.
  static constexpr size_t kMaxCatchUpSlots = 4096;
  static constexpr size_t kMaxCatchUpBytes = 1 << 20;

 private:
  using Message = wire::PaxosMessage;
  using Outgoing = Reply;

  // Ticks and timers.
  void catch_up_ticks(Env& env);
  void tick(Env& env);
  void schedule_flush(Env& env);

  // Sending goes through outbox_ (outbox.h).
  void send(Env& env, Outgoing out) { outbox_.send(env, std::move(out)); }
  void broadcast(Env& env, const Message& m, bool to_self);
  void send_proposals(Env& env);
  void persist(Env& env);
  // After each input: handle what this node sent itself, persist, and apply.
  void settle(Env& env);
  Message envelope(Ballot ballot) const;
  void record(const SlotState& state);

  void handle(Env& env, NodeId from, const Message& m);
  void on_reject(Env& env, const Message& m);
  // Acceptor.
  void on_prepare(Env& env, NodeId from, const Message& m);
  void on_accept(Env& env, NodeId from, const Message& m);
  void on_heartbeat(Env& env, NodeId from, const Message& m);
  bool outranked(Env& env, NodeId from, Ballot ballot);
  void raise_promise(Env& env, Ballot ballot);
  void follow(Env& env, Ballot ballot);
  // Proposer.
  void campaign(Env& env);
  void on_promise(Env& env, NodeId from, const Message& m);
  void become_leader(Env& env);
  void on_accepted(Env& env, NodeId from, const Message& m);
  void on_heartbeat_reply(Env& env, NodeId from, const Message& m);
  void step_down(Env& env, Ballot seen, std::string_view why);
  // To one node, or (nullopt) to every node, this one too.
  void send_accepts(Env& env, std::optional<NodeId> to, const std::vector<Slot>& slots);
  void heartbeat(Env& env);
  void retransmit(Env& env);
  // Learner.
  void learn(Env& env, Slot s, SlotState state);
  void mark_chosen_upto(Env& env, Slot commit, Ballot ballot);
  void advance(Env& env);
  void maybe_catch_up(Env& env, NodeId peer, Slot peer_chosen_upto);
  void on_catch_up(Env& env, NodeId from, const Message& m);
  void on_chosen(Env& env, NodeId from, const Message& m);
  void on_snapshot(Env& env, NodeId from, const Message& m);
  void serve_reads(Env& env);
  void maybe_snapshot(Env& env);
  void fail_reads(Env& env);

  replication::Refused not_leader() const;
  uint64_t node_bit(NodeId n) const { return uint64_t{1} << n; }
  bool is_majority(uint64_t mask) const;

  MultiPaxosOptions options_;
  PaxosStore store_;
  replication::Applier* applier_ = nullptr;
  NodeId self_ = 0;
  size_t cluster_size_ = 0;
  Rng rng_{0};

  // Acceptor and learner.
  Ballot promised_;
  std::map<Slot, SlotState> slots_;  // above the compaction point
  Slot chosen_upto_ = 0;             // every slot up to here is chosen and held (or snapshotted)
  Slot recorded_chosen_upto_ = 0;
  Slot applied_ = 0;
  Slot snapshot_slot_ = 0;
  std::shared_ptr<const std::string> snapshot_;
  uint64_t snapshots_taken_ = 0;
  struct CatchUp {
    NodeId peer = 0;
    int64_t asked_tick = 0;
  };
  std::optional<CatchUp> catching_up_;
  std::vector<Slot> peer_chosen_;  // the chosen prefix each peer last reported
  NodeId last_asked_ = 0;

  // Proposer.
  Role role_ = Role::kFollower;
  Ballot ballot_;
  uint64_t max_round_seen_ = 0;
  std::optional<NodeId> leader_;
  std::optional<PhiAccrual> detector_;  // on the leader's heartbeats
  int64_t ticks_ = 0;
  Time last_tick_{};
  int64_t last_leader_tick_ = 0;  // heard from a leader, or started waiting for one
  std::optional<int64_t> campaign_tick_;
  int failed_campaigns_ = 0;
  int64_t campaign_started_ = 0;
  Slot prepare_from_ = 0;
  std::map<NodeId, std::pair<Slot, std::vector<SlotState>>> promises_;  // chosen_upto, slots

  // Leader.
  struct InFlight {
    Value value;
    uint64_t acks = 0;  // nodes that accepted it in this ballot
    int64_t sent_tick = 0;
  };
  Slot next_slot_ = 1;
  Slot known_chosen_ = 0;  // chosen somewhere when it took over
  int64_t leader_since_ = 0;
  std::map<Slot, InFlight> inflight_;
  std::vector<Slot> unsent_;              // proposed, waiting for the flush
  std::map<NodeId, int64_t> last_heard_;  // tick of the latest reply in this ballot
  std::map<NodeId, uint64_t> confirmed_round_;
  uint64_t heartbeat_round_ = 0;
  bool round_wanted_ = false;
  struct Read {
    uint64_t id;
    Slot barrier;    // served once applied up to here
    uint64_t round;  // and once a majority confirmed this heartbeat round
  };
  std::deque<Read> reads_;
  bool flush_scheduled_ = false;

  Outbox outbox_;
  bool sync_wanted_ = false;        // this input wrote something
  std::optional<Slot> compact_to_;  // once the snapshot being saved is durable
  Slot compacted_upto_ = 0;         // slots at or below are gone from memory
};

std::string_view role_name(MultiPaxosEngine::Role role);

}  // namespace synod::paxos
