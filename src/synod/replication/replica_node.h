#pragma once

#include <map>
#include <memory>
#include <optional>
#include <utility>

#include "synod/protocol/protocol.h"
#include "synod/replication/replicator.h"
#include "synod/replication/session_table.h"
#include "synod/replication/state_machine.h"

namespace synod::replication {

// Told of every command a replica applies: how the simulator checks that
// replicas agree (the same command at the same index, the same state after).
class ApplyListener {
 public:
  virtual ~ApplyListener() = default;
  // `digest` chains every command applied up to and including `index`.
  virtual void applied(NodeId node, uint64_t index, uint64_t digest) = 0;
};

struct ReplicaOptions {
  // Bug: a copy of a request is applied again instead of answered from its
  // session, so a write that timed out and was sent again can take effect
  // twice.
  bool apply_retries_twice = false;
  // Bug: a member tries a request left to it again under a new number, so
  // the session cannot tell the copy from a new request (what one-shot
  // requests, with no session at all, once did).
  bool retry_under_new_number = false;
  // Bug: requests have no deadline, so one whose proposal a leader change
  // dropped, or that a member cut off from the leader keeps trying, waits
  // forever (what every write once did): the replica holds more and more,
  // and in the end refuses everything.
  bool requests_wait_forever = false;
  // Client requests waiting here at most: for their command to apply, for a
  // read barrier, or to be tried again. Past it a request is refused.
  size_t max_waiting = 65'536;
  // Every request waiting here is answered by this deadline at the latest
  // (TimedOut: its outcome is unknown), and forgotten.
  Duration request_timeout = std::chrono::seconds(5);
  // A request not taken (no leader known, leadership moving) is tried again
  // after this, until its deadline: etcd waits for a leader rather than fail.
  Duration retry_after = std::chrono::milliseconds(20);
  // A request taken but not applied here after this (its message lost, its
  // proposal dropped by a leader change) is sent again: the session makes
  // the copy harmless.
  Duration resend_after = std::chrono::seconds(1);
};

// One replica of a replicated service: the Protocol the runtime drives. It
// hands client writes to consensus as commands and answers each client once
// its command is applied; reads wait for a read barrier. Commands apply
// through the session table, so a copy of a request is never applied twice.
//
// Two kinds of client:
//  - a client with a session numbers its requests and sends a copy to any
//    replica until one answers (the simulator's clients, `synod kv`). A
//    replica that does not lead redirects it.
//  - a request left to the member (through_member: the etcd API's, whose
//    clients never resend a write) is the member's to finish. It numbers the
//    request in a session of its own, proposes it when it leads or passes it
//    on to the leader (ReplicaMessage), tries again while no leader is known,
//    sends it again when the leader changes or nothing came of it, and
//    answers when it applies the command itself (or at the deadline).
//    Reads are passed on to the leader, which answers them.
class ReplicaNode final : public Protocol, private Applier {
 public:
  ReplicaNode(std::unique_ptr<Replicator> engine, std::unique_ptr<StateMachine> machine,
              ReplicaOptions options = {}, ApplyListener* listener = nullptr);

  void start(Env& env) override;
  void on_message(Env& env, const Incoming& message) override;
  void on_client_request(Env& env, ProcessId client, const wire::ClientRequest& request) override;
  void on_timer(Env& env, uint64_t tag) override;
  void on_synced(Env& env, SyncId id) override;
  std::optional<BrokenInvariant> check_invariants() const override;

  Replicator& engine() { return *engine_; }
  const Replicator& engine() const { return *engine_; }
  const StateMachine& machine() const { return *machine_; }
  uint64_t applied_index() const { return applied_index_; }
  uint64_t digest() const { return digest_; }

  // Client requests waiting here now (a metric: it must fall back to zero
  // once clients stop).
  size_t waiting() const { return writes_.size() + reads_.size(); }
  struct Counters {
    uint64_t retries = 0;       // requests left to this member, tried again
    uint64_t timed_out = 0;     // answered at their deadline
    uint64_t duplicates = 0;    // copies answered from the session, not applied
    uint64_t stale = 0;         // late copies skipped: their client moved on
    uint64_t forwarded_in = 0;  // requests other members passed on to this one
  };
  const Counters& counters() const { return counters_; }

  // A snapshot of a replica with no client sessions at `index`, holding the
  // service's `state`: how a store made elsewhere (a restored backup) enters
  // a new log.
  static std::string fresh_snapshot(uint64_t index, std::string state);

  // Timer tags the engine never uses.
  static constexpr uint64_t kSweepTimer = uint64_t{1} << 63;

 private:
  // Applier
  void apply(Env& env, uint64_t index, std::string_view command) override;
  void read_ready(Env& env, uint64_t read) override;
  void read_refused(Env& env, uint64_t read, const Refused& why) override;
  std::string take_snapshot() override;
  void restore_snapshot(Env& env, uint64_t index, std::string_view snapshot) override;

  // Where an answer goes: a client of this member, or a member that passed
  // the request on (a read: its id there).
  struct Route {
    ProcessId client = 0;
    std::optional<NodeId> member;
    uint64_t remote_read = 0;
  };
  using WriteKey = std::pair<uint64_t, uint64_t>;  // (client, seq) in the session that numbers it
  struct WaitingWrite {
    ProcessId reply_to = 0;
    uint64_t reply_seq = 0;  // the caller's own number, for the reply
    Time deadline{};
    // Left to this member: it tries again until the deadline.
    bool owned = false;
    wire::ClientRequest request;          // owned: the command, numbered in this member's session
    std::optional<NodeId> sent_to;        // owned: where it went last; none: waiting to try again
    bool earlier_copy_may_apply = false;  // owned: a copy sent before the last may be in a log
    Time next_try{};
  };
  struct WaitingRead {
    Route route;
    wire::ClientRequest request;
    Time deadline{};
    bool owned = false;
    std::optional<NodeId> sent_to;  // owned: passed on to (self: a barrier here)
    Time next_try{};
  };

  // Client requests (replica_node.cc).
  void client_write(Env& env, ProcessId client, const wire::ClientRequest& request);
  void client_read(Env& env, ProcessId client, const wire::ClientRequest& request, bool owned);
  void refuse(Env& env, ProcessId client, uint64_t seq, const Refused& why);

  // Requests left to this member (replica_requests.cc).
  void take_over_write(Env& env, ProcessId client, const wire::ClientRequest& request);
  void try_write(Env& env, WriteKey key);
  void try_read(Env& env, uint64_t id);
  // Proposes here a write this member leads for: nullopt when taken, else
  // whether it may be tried again (true) or the reply that ends it.
  std::optional<std::pair<bool, wire::ClientReply>> propose_here(
      Env& env, const wire::ClientRequest& request);
  void on_replica_message(Env& env, NodeId from, std::string_view payload);
  void on_forwarded(Env& env, NodeId from, const wire::ForwardedRequest& forwarded);
  void on_answer(Env& env, NodeId from, const wire::ForwardedAnswer& answer);
  void not_taken(WaitingWrite& w, Time now);
  void refused_for_good(Env& env, WriteKey key, const wire::ClientReply& refusal);
  void end_write(Env& env, WriteKey key, wire::ClientReply reply);
  void end_read(Env& env, uint64_t id, wire::ClientReply reply);
  void answer(Env& env, const Route& route, uint64_t seq, wire::ClientReply reply);
  uint64_t first_unanswered() const;
  // After every input: a leader that changed gets what was sent elsewhere;
  // the sweep timer runs while anything waits.
  void after_input(Env& env);
  void sweep(Env& env);
  void settle_after_restore(Env& env);
  static wire::ClientReply known(wire::ClientReply reply);

  std::unique_ptr<Replicator> engine_;
  std::unique_ptr<StateMachine> machine_;
  ReplicaOptions options_;
  ApplyListener* listener_;
  SessionTable sessions_;
  uint64_t applied_index_ = 0;
  uint64_t digest_ = 0;
  std::map<WriteKey, WaitingWrite> writes_;
  std::map<uint64_t, WaitingRead> reads_;  // by read id
  uint64_t next_read_ = 1;
  // This member's own session, for the requests left to it: a new id each
  // incarnation, so a restarted member never reuses a number.
  uint64_t session_ = 0;
  uint64_t next_seq_ = 1;
  std::optional<NodeId> leader_seen_;
  bool sweep_armed_ = false;  // the sweep timer is set
  Counters counters_;
};

}  // namespace synod::replication
