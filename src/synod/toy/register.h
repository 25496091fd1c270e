#pragma once

#include <deque>
#include <map>

#include "synod/kv/kv_map.h"
#include "synod/protocol/protocol.h"

namespace synod::toy {

// A single-node register store: node 0 holds every key and serves every
// request; the other nodes only redirect to it. It is linearizable by
// construction (one copy, requests applied one at a time) and durable: each
// write is appended to a log and synced before any reply that depends on it,
// and a restart replays the log. It proves the simulator and the checker: it
// must pass under every fault (`synod sim explore --protocol register`).
struct RegisterOptions {
  // Bug: acknowledge writes before their log record is synced, so a crash can
  // lose an acknowledged write.
  bool ack_before_sync = false;
};

class RegisterNode final : public Protocol {
 public:
  explicit RegisterNode(RegisterOptions options) : options_(options) {}

  void start(Env& env) override;
  void on_message(Env& env, const Incoming& message) override;
  void on_client_request(Env& env, ProcessId client, const wire::ClientRequest& request) override;
  void on_synced(Env& env, SyncId id) override;

  static constexpr NodeId kServer = 0;
  static constexpr std::string_view kLogFile = "register.log";

 private:
  struct Session {
    uint64_t seq = 0;
    wire::ClientReply reply;
  };
  // A reply held until the sync covering every write before it completes.
  struct Waiting {
    ProcessId client;
    wire::ClientReply reply;
    SyncId needs;
  };

  void answer(Env& env, ProcessId client, wire::ClientReply reply);

  RegisterOptions options_;
  KvMap map_;
  std::map<uint64_t, Session> sessions_;  // client -> last request applied
  std::deque<Waiting> waiting_;
  bool unsynced_writes_ = false;
  SyncId last_requested_ = 0;
  SyncId last_synced_ = 0;
};

}  // namespace synod::toy
