#pragma once

#include <cstdint>
#include <map>
#include <string_view>
#include <vector>

#include "synod/base/types.h"

namespace synod {

// A consistent-hash ring with virtual nodes and weights (Karger et al., 1997).
// Each node owns `weight * vnodes_per_weight` points on a 64-bit ring; a key
// belongs to the first point at or after its hash. Adding or removing a node
// moves only the keys of the arcs it gains or loses (about 1/n of them).
// More virtual nodes even out the load (standard deviation roughly
// 1/sqrt(vnodes) of the mean) at the cost of memory and lookup time
// (O(log(total points))).
class HashRing {
 public:
  explicit HashRing(int vnodes_per_weight) : vnodes_per_weight_(vnodes_per_weight) {}

  void add(NodeId node, int weight = 1);
  void remove(NodeId node);
  bool contains(NodeId node) const { return weights_.count(node) > 0; }
  size_t size() const { return weights_.size(); }

  NodeId lookup(std::string_view key) const;
  NodeId lookup_hash(uint64_t key_hash) const;
  // The first `count` distinct nodes clockwise from the key: where a
  // replicated store puts its copies. Fewer when the ring has fewer nodes.
  std::vector<NodeId> replicas(std::string_view key, size_t count) const;

 private:
  struct Point {
    uint64_t position;
    NodeId node;
    friend bool operator<(const Point& a, const Point& b) {
      return a.position != b.position ? a.position < b.position : a.node < b.node;
    }
  };
  void rebuild();
  size_t first_at_or_after(uint64_t position) const;

  int vnodes_per_weight_;
  std::map<NodeId, int> weights_;
  std::vector<Point> points_;  // sorted by position
};

// Virtual nodes a ring may hold in all: a bound on memory.
inline constexpr size_t kMaxRingPoints = 10'000'000;

}  // namespace synod
