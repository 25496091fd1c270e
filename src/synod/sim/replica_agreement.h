#pragma once

#include <map>
#include <string>

#include "synod/replication/replica_node.h"
#include "synod/sim/protocol_spec.h"

namespace synod::sim {

// state-machine-safety for any replicated service: every replica applies the
// same commands in the same order, so at each index the digest chain of
// everything applied so far is the same on every node.
class ReplicaAgreement final : public replication::ApplyListener {
 public:
  explicit ReplicaAgreement(SimContext& context) : context_(context) {}

  void applied(NodeId node, uint64_t index, uint64_t digest) override {
    auto [it, fresh] = digests_.emplace(index, digest);
    if (!fresh && it->second != digest)
      context_.invariant_failed("state-machine-safety",
                                "node " + std::to_string(node) + " applied index " +
                                    std::to_string(index) +
                                    " over a different history than another node");
  }

 private:
  SimContext& context_;
  std::map<uint64_t, uint64_t> digests_;  // index -> digest of everything applied up to it
};

}  // namespace synod::sim
