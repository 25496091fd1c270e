#include "synod/hash/rendezvous.h"

#include <algorithm>
#include <cmath>

#include "synod/base/assert.h"
#include "synod/base/hash64.h"

namespace synod {

void Rendezvous::add(NodeId node, double weight) {
  SYNOD_ASSERT(weight > 0);
  weights_[node] = weight;
}

double Rendezvous::score(NodeId node, double weight, uint64_t key_hash) const {
  uint64_t h = Hasher(key_hash).add(node).digest();
  // u in (0, 1): 53 random bits, never 0 or 1.
  double u = (static_cast<double>(h >> 11) + 0.5) * 0x1.0p-53;
  return -weight / std::log(u);
}

NodeId Rendezvous::lookup_hash(uint64_t key_hash) const {
  SYNOD_ASSERT(!weights_.empty());
  NodeId best = 0;
  double best_score = -1;
  for (const auto& [node, weight] : weights_) {
    double s = score(node, weight, key_hash);
    if (s > best_score) {  // ties go to the lower id: the map is ordered
      best_score = s;
      best = node;
    }
  }
  return best;
}

NodeId Rendezvous::lookup(std::string_view key) const {
  return lookup_hash(hash64(key));
}

std::vector<NodeId> Rendezvous::top(std::string_view key, size_t count) const {
  uint64_t key_hash = hash64(key);
  std::vector<std::pair<double, NodeId>> scored;
  for (const auto& [node, weight] : weights_)
    scored.emplace_back(score(node, weight, key_hash), node);
  count = std::min(count, scored.size());
  std::partial_sort(scored.begin(), scored.begin() + static_cast<ptrdiff_t>(count), scored.end(),
                    [](const auto& a, const auto& b) {
                      return a.first != b.first ? a.first > b.first : a.second < b.second;
                    });
  std::vector<NodeId> nodes;
  for (size_t i = 0; i < count; ++i)
    nodes.push_back(scored[i].second);
  return nodes;
}

}  // namespace synod
