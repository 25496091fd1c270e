#include "synod/hash/rendezvous.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "synod/base/assert.h"
#include "synod/base/hash64.h"

namespace synod {
namespace {

// Seeds the per-node hash, so node hashes are unrelated to key hashes.
constexpr uint64_t kNodeSeed = 0x4857;

}  // namespace

uint64_t Rendezvous::key_hash(std::string_view key) {
  return hash64(key);
}

double Rendezvous::score(const Member& m, uint64_t key_hash) {
  const uint64_t h = mix64(key_hash ^ m.node_hash);
  // u in (0, 1) from the top 53 bits, never 0 (ln 0 = -inf) nor 1 (ln 1 = 0).
  const double u = (static_cast<double>(h >> 11) + 0.5) * 0x1.0p-53;
  return -m.weight / std::log(u);
}

void Rendezvous::add(NodeId node, double weight) {
  SYNOD_ASSERT(std::isfinite(weight));
  SYNOD_ASSERT(weight > 0);
  auto it = std::lower_bound(members_.begin(), members_.end(), node,
                             [](const Member& m, NodeId n) { return m.node < n; });
  if (it != members_.end() && it->node == node) {
    it->weight = weight;
    return;
  }
  SYNOD_ASSERT_MSG(members_.size() < kMaxRendezvousNodes, "too many nodes for rendezvous");
  members_.insert(it, {node, weight, Hasher(kNodeSeed).add(node).digest()});
}

void Rendezvous::remove(NodeId node) {
  auto it = std::lower_bound(members_.begin(), members_.end(), node,
                             [](const Member& m, NodeId n) { return m.node < n; });
  SYNOD_ASSERT_MSG(it != members_.end() && it->node == node, "removing a node not in the set");
  members_.erase(it);
}

bool Rendezvous::contains(NodeId node) const {
  return std::binary_search(members_.begin(), members_.end(), Member{node, 0, 0},
                            [](const Member& a, const Member& b) { return a.node < b.node; });
}

NodeId Rendezvous::lookup_hash(uint64_t key_hash) const {
  SYNOD_ASSERT_MSG(!members_.empty(), "lookup on an empty set");
  NodeId best = members_.front().node;
  double best_score = score(members_.front(), key_hash);
  for (size_t i = 1; i < members_.size(); ++i) {
    const double s = score(members_[i], key_hash);
    if (s > best_score) {  // strict: an exact tie goes to the lower id
      best_score = s;
      best = members_[i].node;
    }
  }
  return best;
}

std::vector<NodeId> Rendezvous::top_hash(uint64_t key_hash, size_t count) const {
  count = std::min(count, members_.size());
  std::vector<std::pair<double, NodeId>> scored;
  scored.reserve(members_.size());
  for (const Member& m : members_)
    scored.emplace_back(score(m, key_hash), m.node);
  // Best score first; an exact tie goes to the lower id, as in lookup().
  std::partial_sort(scored.begin(), scored.begin() + static_cast<ptrdiff_t>(count), scored.end(),
                    [](const auto& a, const auto& b) {
                      return a.first != b.first ? a.first > b.first : a.second < b.second;
                    });
  std::vector<NodeId> nodes;
  nodes.reserve(count);
  for (size_t i = 0; i < count; ++i)
    nodes.push_back(scored[i].second);
  return nodes;
}

}  // namespace synod
