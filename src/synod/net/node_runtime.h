#pragma once

#include <asio.hpp>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "synod/base/rng.h"
#include "synod/net/client_server.h"
#include "synod/net/peer_transport.h"
#include "synod/protocol/protocol.h"

namespace synod::net {

struct NodeRuntimeOptions {
  PeerTransportOptions peers;  // self, cluster id and every other node
  ClientServer::Options clients;
  asio::ip::tcp::endpoint listen_peers;
  asio::ip::tcp::endpoint listen_clients;
  uint64_t seed = 0;  // the node's Rng: randomized timeouts, backoff
  // Prefixes every line the protocol notes ("n1 term 4"); called on the loop.
  std::function<std::string()> describe;
};

// Runs one protocol object on a real machine: the Env of protocol.h over an
// Asio event loop. Time is the monotonic clock, timers are one Asio timer
// over a queue of deadlines, peers are TCP (PeerTransport), clients come
// through the client port (ClientServer) and storage is whatever Storage
// the caller gives (storage/FileStorage on a real disk).
//
// Every input reaches the protocol on the loop's thread, one at a time, as
// in the simulator. The caller delivers storage completions with synced(),
// on that thread too.
class NodeRuntime final : private Env {
 public:
  NodeRuntime(asio::io_context& io, NodeRuntimeOptions options, Storage& storage,
              Protocol& protocol);
  ~NodeRuntime() override;

  // Listens on both ports, starts the protocol and dials the peers.
  absl::Status start();
  // Closes every connection and timer; the protocol gets no more input.
  void stop();
  void synced(SyncId id);

  // Hands `request` to the protocol as a client of this node would, on the
  // loop's thread; `done` gets the reply, on the loop too. The request is
  // left to the member (through_member: ReplicaNode numbers it in its own
  // session, passes it on to the leader, tries again while no leader is
  // known, and answers by `timeout`). Should a protocol never answer, `done`
  // gets TimedOut a little after `timeout`.
  using ReplyHandler = std::function<void(const wire::ClientReply& reply)>;
  void submit(wire::ClientRequest request, Duration timeout, ReplyHandler done);

  // An operator's action on the protocol (a membership change, a leadership
  // transfer), with this runtime as its Env. On the loop; not after stop().
  void operate(const std::function<void(Env&)>& action) {
    if (stopped_) return;
    action(*this);
    after_input();
  }

  const PeerTransport& transport() const { return transport_; }
  PeerTransport& transport() { return transport_; }
  uint64_t client_requests() const { return client_requests_; }
  uint64_t client_replies() const { return client_replies_; }
  const ClientServer& client_server() const { return clients_; }
  ClientServer& client_server() { return clients_; }
  asio::ip::tcp::endpoint peer_endpoint() const { return transport_.local_endpoint(); }
  asio::ip::tcp::endpoint client_endpoint() const { return clients_.local_endpoint(); }

 private:
  // Env
  NodeId self() const override { return options_.peers.self; }
  std::span<const NodeId> nodes() const override { return nodes_; }
  Time now() const override;
  Rng& rng() override { return rng_; }
  Storage& storage() override { return storage_; }
  void send(ProcessId to, Bytes payload) override;
  CallId call(ProcessId to, Bytes payload, Duration timeout) override;
  void respond(const Incoming& request, Bytes payload) override;
  void reply(ProcessId client, const wire::ClientReply& reply) override;
  TimerId set_timer(Duration after, uint64_t tag) override;
  void cancel_timer(TimerId timer) override;
  bool tracing() const override { return true; }
  void note(std::string_view text) override;

  void after_input() const;
  // To a peer over TCP, or to this node through the loop.
  void route(ProcessId to, wire::PeerMessage message);
  void deliver(NodeId from, wire::PeerMessage& message);
  void arm_timer();
  void fire_timers();

  // A timer is the protocol's (tag), a call's deadline, or the last-resort
  // deadline of a submitted request.
  struct Timer {
    uint64_t tag = 0;
    std::optional<CallId> call;
    std::optional<uint64_t> submitted;
  };
  // The final answer to a submitted request.
  void answer(uint64_t id, const wire::ClientReply& reply);

  asio::io_context& io_;
  NodeRuntimeOptions options_;
  Storage& storage_;
  Protocol& protocol_;
  std::vector<NodeId> nodes_;
  Rng rng_;
  std::chrono::steady_clock::time_point epoch_;
  PeerTransport transport_;
  ClientServer clients_;

  asio::steady_timer alarm_;
  Time armed_for_ = Time::max();
  bool fire_posted_ = false;
  std::map<std::pair<Time, TimerId>, Timer> deadlines_;
  std::map<TimerId, Time> timers_;
  TimerId next_timer_ = 1;
  std::map<CallId, TimerId> calls_;  // waiting for a response
  CallId next_call_ = 1;
  // Requests submitted here, waiting for their reply (by local id).
  struct Local {
    ReplyHandler done;
    TimerId deadline = 0;
  };
  std::map<uint64_t, Local> local_;
  uint64_t next_local_ = 1;
  uint64_t client_requests_ = 0;
  uint64_t client_replies_ = 0;
  bool stopped_ = false;
};

}  // namespace synod::net
