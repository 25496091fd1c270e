#pragma once

#include <map>
#include <optional>
#include <string>

#include "synod/base/rng.h"
#include "synod/check/linearizability.h"
#include "synod/sim/config.h"
#include "synod/wire/client.pb.h"

namespace synod::sim {

// What a simulated client needs from the simulator.
class ClientHost {
 public:
  virtual ~ClientHost() = default;
  virtual int64_t now_ns() const = 0;
  virtual void client_send(ProcessId client, NodeId to, const wire::ClientRequest& request) = 0;
  // Calls SimClient::on_timer(seq, attempt) after `after`.
  virtual void client_timer(ProcessId client, Duration after, uint64_t seq, uint32_t attempt) = 0;
  virtual void record(const check::Operation& op) = 0;
};

// A closed-loop client of the key-value workload: one operation at a time,
// each retried on timeout (to another node) up to a limit, after which its
// outcome is unknown. It records every operation for the checker.
class SimClient {
 public:
  // `duplicates`: the network may deliver a request twice, so a refusal does
  // not prove that no copy of it will ever be applied.
  // `through_member`: the client behaves as etcd's clients do with synod
  // serve: it leaves each request to one member (ClientRequest's
  // through_member), never sends a copy, and takes a timeout as an unknown
  // outcome; it moves to another member only after one timed out.
  SimClient(ProcessId id, int nodes, const WorkloadConfig& config, bool spread_reads,
            bool duplicates, bool through_member, Rng rng);

  void start(ClientHost& host);
  void on_reply(ClientHost& host, const wire::ClientReply& reply);
  // send 0 wakes the client to (re)send; other values time out that send.
  void on_timer(ClientHost& host, uint64_t seq, uint32_t send);
  // No new operation from now on; the one under way goes on.
  void stop() { stopped_ = true; }
  // The run is over: an operation still waiting has an unknown outcome.
  void finish(ClientHost& host);

  ProcessId id() const { return id_; }
  bool through_member() const { return through_member_; }

 private:
  struct InFlight {
    wire::ClientRequest request;
    check::Operation op;
    uint32_t sends = 0;     // names the newest send; older sends' timeouts are stale
    uint32_t timeouts = 0;  // sends that got no answer in time
    uint32_t redirects = 0;
    bool maybe_applied = false;  // some attempt timed out: it may have taken effect
    NodeId target = 0;
  };

  wire::KvOp next_op();
  void begin_op(ClientHost& host);
  void send(ClientHost& host, NodeId to);
  void complete(ClientHost& host, check::Outcome outcome);
  // Refused, so not applied by the node that answered; but if an earlier send
  // timed out, or the network may duplicate, some copy may still apply.
  check::Outcome refused_outcome() const;
  void think(ClientHost& host);
  NodeId random_node();
  NodeId other_node(NodeId than);

  ProcessId id_;
  int nodes_;
  WorkloadConfig config_;
  bool spread_reads_;
  bool duplicates_;
  bool through_member_;
  Rng rng_;
  NodeId member_ = 0;  // through_member: the member this client talks to
  uint64_t seq_ = 0;
  std::optional<InFlight> in_flight_;
  std::optional<NodeId> leader_hint_;
  std::map<std::string, std::string> last_seen_;  // key -> last value read or written
  bool finished_ = false;
  bool stopped_ = false;
};

// Redirects followed for one operation before giving up on it.
inline constexpr uint32_t kMaxRedirectsPerOp = 16;

}  // namespace synod::sim
