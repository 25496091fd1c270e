#include "synod/hash/ring.h"

#include <algorithm>

#include "synod/base/assert.h"
#include "synod/base/hash64.h"

namespace synod {

void HashRing::add(NodeId node, int weight) {
  SYNOD_ASSERT(weight > 0);
  weights_[node] = weight;
  rebuild();
}

void HashRing::remove(NodeId node) {
  weights_.erase(node);
  rebuild();
}

void HashRing::rebuild() {
  points_.clear();
  for (const auto& [node, weight] : weights_) {
    size_t count = static_cast<size_t>(weight) * static_cast<size_t>(vnodes_per_weight_);
    SYNOD_ASSERT(points_.size() + count <= kMaxRingPoints);
    // A point's place depends only on (node, index): it never moves when
    // other nodes come and go.
    for (size_t i = 0; i < count; ++i)
      points_.push_back({Hasher(0x51a3).add(node).add(i).digest(), node});
  }
  std::sort(points_.begin(), points_.end());
}

size_t HashRing::first_at_or_after(uint64_t position) const {
  auto it = std::lower_bound(points_.begin(), points_.end(), Point{position, 0});
  return it == points_.end() ? 0 : static_cast<size_t>(it - points_.begin());  // wrap around
}

NodeId HashRing::lookup_hash(uint64_t key_hash) const {
  SYNOD_ASSERT(!points_.empty());
  return points_[first_at_or_after(key_hash)].node;
}

NodeId HashRing::lookup(std::string_view key) const {
  return lookup_hash(hash64(key));
}

std::vector<NodeId> HashRing::replicas(std::string_view key, size_t count) const {
  std::vector<NodeId> nodes;
  if (points_.empty()) return nodes;
  count = std::min(count, weights_.size());
  size_t i = first_at_or_after(hash64(key));
  for (size_t seen = 0; nodes.size() < count && seen < points_.size(); ++seen) {
    NodeId node = points_[(i + seen) % points_.size()].node;
    if (std::find(nodes.begin(), nodes.end(), node) == nodes.end()) nodes.push_back(node);
  }
  return nodes;
}

}  // namespace synod
