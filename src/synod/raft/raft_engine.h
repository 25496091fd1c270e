#pragma once

#include <deque>
#include <map>
#include <memory>
#include <optional>

#include "synod/base/record.h"
#include "synod/raft/log_store.h"
#include "synod/raft/raft_node.h"
#include "synod/replication/replicator.h"

namespace synod::raft {

struct RaftEngineOptions {
  RaftOptions raft;  // raft.id is taken from the Env
  // The length of a tick, on the node's local clock.
  Duration tick = std::chrono::milliseconds(10);
  // Who a brand-new cluster starts with; empty: every node of the Env, voting.
  Membership bootstrap;
  LogStore::Options store;
  // A snapshot every this many applied entries (0: never), keeping this many
  // entries behind it for followers that are only a little behind.
  uint64_t snapshot_every = 10'000;
  uint64_t snapshot_keep = 1'000;
  // Batching: proposals and reads that arrive while an input is handled, or
  // at the same instant, share one round of appends and one sync. Off: each
  // is sent on its own (for comparison).
  bool batch = true;
  // Bug: the leader answers reads from its own state at once, without
  // ReadIndex or a lease, so a deposed leader can serve stale data.
  bool bug_stale_reads = false;
};

// What a node told its peers that its disk must keep: the latest vote it sent
// and the latest entry it acknowledged. A restarted node must still honour
// them (the simulator checks it: "durability").
struct Promises {
  struct Vote {
    Term term;
    NodeId candidate;
  };
  struct Ack {
    Term term;        // the message's term
    Index index;      // acknowledged up to here
    Term entry_term;  // the term of the entry at index
  };
  std::optional<Vote> vote;
  std::optional<Ack> ack;
};

// Raft as a replication engine: drives a RaftNode with what the runtime
// supplies through Env (ticks from the local clock, peer messages, syncs),
// keeps its log in a LogStore, and carries out each Ready in the order the
// contract says: persist, send, sync-dependent sends once durable, apply.
class RaftEngine final : public replication::Replicator {
 public:
  using Options = RaftEngineOptions;
  explicit RaftEngine(RaftEngineOptions options);

  void start(Env& env, replication::Applier& applier) override;
  void on_message(Env& env, const Incoming& message) override;
  void on_timer(Env& env, uint64_t tag) override;
  void on_synced(Env& env, SyncId id) override;
  std::optional<replication::Refused> propose(Env& env, std::string command) override;
  std::optional<replication::Refused> read(Env& env, uint64_t read) override;
  std::optional<NodeId> leader() const override;
  std::optional<BrokenInvariant> check_invariants() const override;

  // Operator actions.
  std::optional<Refusal> change_membership(Env& env, const MembershipChange& change);
  std::optional<Refusal> transfer_leadership(Env& env, NodeId to);

  const RaftNode& node() const { return *node_; }
  bool started() const { return node_ != nullptr; }
  const Promises& promises() const { return promises_; }
  uint64_t snapshots_taken() const { return snapshots_taken_; }

  static constexpr uint64_t kTickTimer = 1;
  static constexpr uint64_t kFlushTimer = 2;
  // After a long pause, at most this many ticks are replayed at once; the
  // rest are skipped (every timeout has long expired by then anyway).
  static constexpr int kMaxCatchUpTicks = 10'000;
  // A snapshot is one log record: room for its metadata under the bound.
  static constexpr size_t kMaxSnapshotBytes = kMaxRecordBytes - (1 << 20);

 private:
  void catch_up_ticks(Env& env);
  void schedule_tick(Env& env);
  void schedule_flush(Env& env);
  void flush(Env& env);
  void handle(Env& env, Ready ready);
  void send(Env& env, const Outgoing& out);
  void serve_reads(Env& env);
  void maybe_snapshot(Env& env);
  replication::Refused refused(Refusal refusal) const;

  RaftEngineOptions options_;
  LogStore store_;
  std::unique_ptr<RaftNode> node_;
  replication::Applier* applier_ = nullptr;

  Time last_tick_{};
  bool flush_scheduled_ = false;
  Index applied_ = 0;
  Index last_snapshot_ = 0;
  uint64_t snapshots_taken_ = 0;

  // Messages that wait for a sync: everything written before it was issued.
  struct Held {
    SyncId sync;
    std::optional<std::pair<Index, Term>> last_entry;  // reported to the node once durable
    std::vector<Outgoing> messages;
  };
  std::deque<Held> held_;
  std::multimap<Index, uint64_t> reads_;  // passed the barrier, waiting to apply index
  Promises promises_;
};

}  // namespace synod::raft
