#pragma once

#include <map>
#include <string>

#include "synod/replication/replica_node.h"
#include "synod/sim/config.h"
#include "synod/sim/protocol_spec.h"

// What the simulator's replicated key-value stores (ReplicaNode over Raft or
// Multi-Paxos) share.
namespace synod::sim {

// How a replica runs in the simulator: a member answers a request left to
// it before its client gives up on the member, and sends a copy after a
// third of that.
inline replication::ReplicaOptions replica_options(const SimConfig& config) {
  replication::ReplicaOptions o;
  o.apply_retries_twice = config.bug == "apply-twice";
  o.retry_under_new_number = config.bug == "retry-under-new-number";
  o.requests_wait_forever = config.bug == "requests-wait-forever";
  o.request_timeout = config.workload.timeout * config.workload.attempts * 2 / 3;
  o.resend_after = std::max(o.retry_after, o.request_timeout / 3);
  return o;
}

// waiting-drained: once clients stop, every replica's requests are answered
// and forgotten (none waits forever). Checked at the end of a run whose
// clients stopped long enough before it (WorkloadConfig::stop_before_end).
class ReplicaDrain {
 public:
  ReplicaDrain(const SimConfig& config, SimContext& context)
      : options_(replica_options(config)),
        stop_before_end_(config.workload.stop_before_end),
        context_(context) {}

  void started(NodeId node, const replication::ReplicaNode* replica) { live_[node] = replica; }
  void crashed(NodeId node) { live_.erase(node); }

  void finish() {
    // The last requests end by their deadline; a sweep or two after it.
    if (stop_before_end_ < options_.request_timeout + 4 * options_.retry_after) return;
    for (const auto& [node, replica] : live_)
      if (replica->waiting() > 0)
        context_.invariant_failed("waiting-drained",
                                  "node " + std::to_string(node) + " still holds " +
                                      std::to_string(replica->waiting()) + " requests " +
                                      std::to_string(stop_before_end_.count() / 1'000'000) +
                                      " ms after its clients stopped");
  }

 private:
  replication::ReplicaOptions options_;
  Duration stop_before_end_;
  SimContext& context_;
  std::map<NodeId, const replication::ReplicaNode*> live_;
};

}  // namespace synod::sim
