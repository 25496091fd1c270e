#include "synod/hash/ring.h"

#include <algorithm>

#include "synod/base/assert.h"
#include "synod/base/hash64.h"

namespace synod {
namespace {

// Seeds the hash of virtual node positions, so they are unrelated to the
// hashes of keys.
constexpr uint64_t kPointSeed = 0x51a3;

uint64_t point_position(NodeId node, uint64_t index) {
  return Hasher(kPointSeed).add(node).add(index).digest();
}

}  // namespace

HashRing::HashRing(uint32_t vnodes_per_weight) : vnodes_per_weight_(vnodes_per_weight) {
  SYNOD_ASSERT(vnodes_per_weight >= 1);
  SYNOD_ASSERT(vnodes_per_weight <= kMaxVnodesPerNode);
}

uint64_t HashRing::key_hash(std::string_view key) {
  return hash64(key);
}

void HashRing::add(NodeId node, uint32_t weight) {
  SYNOD_ASSERT(weight >= 1);
  const uint64_t count = uint64_t{weight} * vnodes_per_weight_;
  SYNOD_ASSERT_MSG(count <= kMaxVnodesPerNode, "weight * vnodes_per_weight too large");
  if (contains(node)) std::erase_if(points_, [node](const Point& p) { return p.node == node; });
  SYNOD_ASSERT_MSG(points_.size() + count <= kMaxRingPoints, "ring is full");

  // Point i of a node sits at hash(node, i) whatever its weight, so raising a
  // weight only adds points and lowering it only takes some away.
  const size_t old_size = points_.size();
  for (uint64_t i = 0; i < count; ++i)
    points_.push_back({point_position(node, i), node});
  const auto middle = points_.begin() + static_cast<ptrdiff_t>(old_size);
  std::sort(middle, points_.end());
  std::inplace_merge(points_.begin(), middle, points_.end());
  weights_[node] = weight;
  check_invariants();
}

void HashRing::remove(NodeId node) {
  SYNOD_ASSERT_MSG(contains(node), "removing a node that is not on the ring");
  std::erase_if(points_, [node](const Point& p) { return p.node == node; });
  weights_.erase(node);
  check_invariants();
}

void HashRing::check_invariants() const {
  uint64_t expected = 0;
  for (const auto& [node, weight] : weights_)
    expected += uint64_t{weight} * vnodes_per_weight_;
  SYNOD_ASSERT(points_.size() == expected);
  SYNOD_ASSERT(std::is_sorted(points_.begin(), points_.end()));
}

size_t HashRing::first_at_or_after(uint64_t position) const {
  auto it = std::lower_bound(points_.begin(), points_.end(), position,
                             [](const Point& p, uint64_t pos) { return p.position < pos; });
  if (it == points_.end()) return 0;  // past the last point: wrap around to the first
  return static_cast<size_t>(it - points_.begin());
}

NodeId HashRing::lookup_hash(uint64_t key_hash) const {
  SYNOD_ASSERT_MSG(!points_.empty(), "lookup on an empty ring");
  return points_[first_at_or_after(key_hash)].node;
}

std::vector<NodeId> HashRing::replicas_hash(uint64_t key_hash, size_t count) const {
  std::vector<NodeId> nodes;
  if (points_.empty()) return nodes;
  count = std::min(count, weights_.size());
  nodes.reserve(count);
  const size_t start = first_at_or_after(key_hash);
  // Every node owns a point, so a full turn finds all of them.
  for (size_t step = 0; nodes.size() < count; ++step) {
    SYNOD_ASSERT(step < points_.size());
    const NodeId node = points_[(start + step) % points_.size()].node;
    if (std::find(nodes.begin(), nodes.end(), node) == nodes.end()) nodes.push_back(node);
  }
  return nodes;
}

}  // namespace synod
