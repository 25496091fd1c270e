#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string_view>
#include <vector>

#include "synod/base/types.h"

namespace synod {

// Virtual nodes one node may own (weight * vnodes_per_weight): a bound on what
// one add() can make the ring allocate. 1000 already gives a load within about
// 3% of the mean.
inline constexpr uint64_t kMaxVnodesPerNode = 100'000;
// Points a ring may hold in all (16 bytes each): a bound on memory.
inline constexpr size_t kMaxRingPoints = 10'000'000;

// A consistent-hash ring with virtual nodes and weights (Karger et al., 1997).
//
// Each node owns weight * vnodes_per_weight points on a 64-bit ring; a key
// belongs to the first point at or after hash64(key), wrapping around.
//
// Guarantees:
// - Placement is a pure function of the set of (node, weight) pairs: the
//   order of add() and remove() calls does not matter, and a point's position
//   depends only on (node, index), never on the other nodes.
// - Adding a node (or raising its weight) moves keys only to that node;
//   removing one (or lowering its weight) moves only keys it owned. Either way
//   about weight/total_weight of the keys move.
// - replicas(key, n) is the first n distinct nodes clockwise from the key; a
//   node's removal only drops it from the list (and brings in the next one).
//
// Costs: the load is uneven: its standard deviation is roughly
// 1/sqrt(vnodes per node) of the mean (about 10% at 100, 3% at 1000), so more
// virtual nodes cost memory (16 bytes each) and lookup time, O(log points).
// add() and remove() are O(points).
class HashRing {
 public:
  explicit HashRing(uint32_t vnodes_per_weight);

  // Adds a node, or changes its weight (weight >= 1).
  void add(NodeId node, uint32_t weight = 1);
  // Removes a node that is on the ring.
  void remove(NodeId node);
  bool contains(NodeId node) const { return weights_.contains(node); }
  size_t size() const { return weights_.size(); }
  size_t points() const { return points_.size(); }

  // The owner of a key. The ring must not be empty.
  NodeId lookup(std::string_view key) const { return lookup_hash(key_hash(key)); }
  NodeId lookup_hash(uint64_t key_hash) const;

  // The first `count` distinct nodes clockwise from the key, owner first:
  // where a replicated store puts its copies. min(count, size()) of them.
  std::vector<NodeId> replicas(std::string_view key, size_t count) const {
    return replicas_hash(key_hash(key), count);
  }
  std::vector<NodeId> replicas_hash(uint64_t key_hash, size_t count) const;

  // Where a key sits on the ring: hash64(key).
  static uint64_t key_hash(std::string_view key);

 private:
  struct Point {
    uint64_t position;
    NodeId node;
    // Equal positions (a 64-bit collision) are ordered by node, so the ring
    // still does not depend on the order nodes were added.
    friend auto operator<=>(const Point&, const Point&) = default;
  };
  size_t first_at_or_after(uint64_t position) const;
  void check_invariants() const;

  uint32_t vnodes_per_weight_;
  std::map<NodeId, uint32_t> weights_;
  std::vector<Point> points_;  // sorted
};

}  // namespace synod
