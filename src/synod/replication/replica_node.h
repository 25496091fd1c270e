#pragma once

#include <map>
#include <memory>

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
  // Bug: a retried request is applied again instead of answered from its
  // session, so a write that timed out and was retried can take effect twice.
  bool apply_retries_twice = false;
  // Client requests waiting for their command to commit, or for a read
  // barrier, at most.
  size_t max_waiting = 65'536;
};

// One replica of a replicated service: the Protocol the runtime drives. It
// hands client writes to consensus as commands and answers each client once
// its command is applied; reads wait for a read barrier. Commands apply
// through the session table, so a retried request is never applied twice.
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

  // A snapshot of a replica with no client sessions at `index`, holding the
  // service's `state`: how a store made elsewhere (a restored backup) enters
  // a new log.
  static std::string fresh_snapshot(uint64_t index, std::string state);

 private:
  // Applier
  void apply(Env& env, uint64_t index, std::string_view command) override;
  void read_ready(Env& env, uint64_t read) override;
  void read_refused(Env& env, uint64_t read, const Refused& why) override;
  std::string take_snapshot() override;
  void restore_snapshot(Env& env, uint64_t index, std::string_view snapshot) override;

  void refuse(Env& env, ProcessId client, uint64_t seq, const Refused& why);

  struct WaitingWrite {
    ProcessId reply_to;
    uint64_t seq;
  };
  struct WaitingRead {
    ProcessId reply_to;
    wire::ClientRequest request;
  };

  std::unique_ptr<Replicator> engine_;
  std::unique_ptr<StateMachine> machine_;
  ReplicaOptions options_;
  ApplyListener* listener_;
  SessionTable sessions_;
  uint64_t applied_index_ = 0;
  uint64_t digest_ = 0;
  std::map<uint64_t, WaitingWrite> writes_;  // by client id
  std::map<uint64_t, WaitingRead> reads_;    // by read id
  uint64_t next_read_ = 1;
};

}  // namespace synod::replication
