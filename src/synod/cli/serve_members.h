#pragma once

#include <asio.hpp>
#include <functional>
#include <optional>

#include "absl/status/status.h"
#include "synod/cli/serve_config.h"
#include "synod/cli/serve_identity.h"
#include "synod/kv/etcd_state_machine.h"
#include "synod/net/node_runtime.h"
#include "synod/raft/raft_engine.h"

namespace synod::cli {

// The members to dial at start, from the identity (a member whose address
// does not resolve is logged and left out).
std::map<NodeId, net::PeerAddress> peers_to_dial(asio::io_context& io, const Identity& identity);

// The cluster's membership, as one running member keeps it:
//   - its peer links follow the replicated registry as changes apply, and
//     close only once a member is gone from the registry and from Raft, so
//     a member being removed (the leader, even) can commit its removal;
//   - as leader, it makes Raft's voters and learners follow the registry,
//     one change at a time, whenever the registry changes and every 100 ms;
//   - removed itself, it stops once Raft has let it go;
//   - for the etcd API, it checks member changes (--strict-reconfig-check)
//     and moves the leadership (MoveLeader).
// Everything runs on the member's loop.
class ServeMembers {
 public:
  ServeMembers(asio::io_context& io, const ServeConfig& config, const Identity& identity,
               EtcdStateMachine& machine, raft::RaftEngine& engine, net::NodeRuntime& runtime,
               std::function<void()> shut_down);
  ~ServeMembers();

  // Once the runtime has started: the 100 ms tick. stop() ends it.
  void start();
  void stop();
  // True once this member applied its own removal: serve exits with 1.
  bool removed() const { return removed_at_.has_value(); }

  absl::Status check_change(const wire::EtcdRequest& change) const;
  using Done = std::function<void(absl::Status)>;
  void move_leader(uint64_t target, Done done);
  uint64_t member_id(NodeId node) const;

 private:
  void changed(const wire::EtcdMember& member, bool gone);
  void sync_raft();
  void tick();
  void await_leader(NodeId node, std::chrono::steady_clock::time_point deadline, Done done);

  asio::io_context& io_;
  const ServeConfig& config_;
  const Identity& identity_;
  EtcdStateMachine& machine_;
  raft::RaftEngine& engine_;
  net::NodeRuntime& runtime_;
  std::function<void()> shut_down_;
  asio::steady_timer timer_;
  std::optional<std::chrono::steady_clock::time_point> removed_at_;
};

}  // namespace synod::cli
