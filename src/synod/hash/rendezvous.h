#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "synod/base/types.h"

namespace synod {

// Nodes a rendezvous set may hold: every lookup scores every node, so past
// this many a ring is the better tool.
inline constexpr size_t kMaxRendezvousNodes = 10'000;

// Rendezvous, or highest-random-weight, hashing (Thaler & Ravishankar, 1996):
// every node scores the key and the highest score wins.
//
// Weights are exact with the logarithmic method (Schindelhauer & Schomaker,
// 2005): score = -weight / ln(u), with u uniform in (0, 1) from hash(key,
// node). Then -1/score is exponentially distributed with rate weight, so a
// node wins with probability weight / total_weight, not just roughly.
//
// Guarantees:
// - Placement is a pure function of the set of (node, weight) pairs; a node's
//   score for a key depends on nothing else.
// - Adding a node (or raising its weight) moves keys only to that node;
//   removing one (or lowering its weight) moves only keys it owned; the moved
//   fraction is the weight's share of the total.
// - top(key, n), the n best scores, gives n distinct replicas; a node's
//   removal only drops it from every list.
// - The load is as even as independent random placement (binomial).
//
// Costs: no state beyond the node list, but a lookup scores every node: O(n)
// hashes and logarithms (about 1 us for 100 nodes).
class Rendezvous {
 public:
  // Adds a node, or changes its weight (finite, > 0).
  void add(NodeId node, double weight = 1.0);
  // Removes a node that is in the set.
  void remove(NodeId node);
  bool contains(NodeId node) const;
  size_t size() const { return members_.size(); }

  // The owner of a key. The set must not be empty.
  NodeId lookup(std::string_view key) const { return lookup_hash(key_hash(key)); }
  NodeId lookup_hash(uint64_t key_hash) const;

  // The `count` highest-scoring nodes, best first: min(count, size()) of them.
  std::vector<NodeId> top(std::string_view key, size_t count) const {
    return top_hash(key_hash(key), count);
  }
  std::vector<NodeId> top_hash(uint64_t key_hash, size_t count) const;

  // hash64(key), the same key hash the ring uses.
  static uint64_t key_hash(std::string_view key);

 private:
  struct Member {
    NodeId node;
    double weight;
    uint64_t node_hash;  // hash(node), computed once: a lookup then costs one mix per node
  };
  static double score(const Member& m, uint64_t key_hash);

  std::vector<Member> members_;  // sorted by node: ties and top() order never depend on history
};

}  // namespace synod
