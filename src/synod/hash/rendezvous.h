#pragma once

#include <cstdint>
#include <map>
#include <string_view>
#include <vector>

#include "synod/base/types.h"

namespace synod {

// Rendezvous, or highest-random-weight, hashing (Thaler & Ravishankar,
// 1996): every node scores the key and the highest score wins. No ring and no
// virtual nodes; removing a node moves only its own keys, adding one moves
// only the keys it now wins, and the top-n scores give n replicas. Weights are
// exact with the logarithmic method (Schindelhauer & Schomaker): score =
// -weight / ln(u), u uniform in (0, 1) from hash(node, key). The price: a
// lookup scores every node, O(n).
class Rendezvous {
 public:
  void add(NodeId node, double weight = 1.0);
  void remove(NodeId node) { weights_.erase(node); }
  size_t size() const { return weights_.size(); }

  NodeId lookup(std::string_view key) const;
  NodeId lookup_hash(uint64_t key_hash) const;
  // The `count` highest-scoring nodes, best first.
  std::vector<NodeId> top(std::string_view key, size_t count) const;

 private:
  double score(NodeId node, double weight, uint64_t key_hash) const;

  std::map<NodeId, double> weights_;
};

}  // namespace synod
