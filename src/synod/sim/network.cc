#include "synod/sim/network.h"

#include <algorithm>
#include <numeric>

namespace synod::sim {
namespace {

std::vector<NodeId> shuffled_nodes(int nodes, Rng& rng) {
  std::vector<NodeId> order(static_cast<size_t>(nodes));
  std::iota(order.begin(), order.end(), 0);
  rng.shuffle(std::span(order));
  return order;
}

std::string group_text(std::vector<NodeId> group) {
  std::sort(group.begin(), group.end());
  std::string text = "{";
  for (size_t i = 0; i < group.size(); ++i)
    text += (i ? "," : "") + std::to_string(group[i]);
  return text + "}";
}

}  // namespace

Partition Partition::between(int nodes, const std::vector<NodeId>& a, const std::vector<NodeId>& b,
                             bool both_ways) {
  Partition p(nodes);
  for (NodeId x : a)
    for (NodeId y : b) {
      p.block(x, y);
      if (both_ways) p.block(y, x);
    }
  p.description_ = group_text(a) + (both_ways ? " | " : " -/-> ") + group_text(b);
  return p;
}

Partition Partition::symmetric(int nodes, Rng& rng) {
  auto order = shuffled_nodes(nodes, rng);
  auto half = order.begin() + nodes / 2;
  return between(nodes, {order.begin(), half}, {half, order.end()}, true);
}

Partition Partition::one_way(int nodes, Rng& rng) {
  auto order = shuffled_nodes(nodes, rng);
  auto cut =
      order.begin() + static_cast<ptrdiff_t>(1 + rng.uniform(static_cast<uint64_t>(nodes - 1)));
  return between(nodes, {order.begin(), cut}, {cut, order.end()}, false);
}

Partition Partition::majority(int nodes, Rng& rng) {
  auto order = shuffled_nodes(nodes, rng);
  int minority =
      1 + static_cast<int>(rng.uniform(static_cast<uint64_t>(std::max(1, (nodes - 1) / 2))));
  auto cut = order.begin() + minority;
  Partition p = between(nodes, {order.begin(), cut}, {cut, order.end()}, true);
  return p;
}

Partition Partition::bridge(int nodes, Rng& rng) {
  auto order = shuffled_nodes(nodes, rng);
  NodeId bridge_node = order.back();
  order.pop_back();
  auto half = order.begin() + static_cast<ptrdiff_t>(order.size() / 2);
  Partition p = between(nodes, {order.begin(), half}, {half, order.end()}, true);
  p.description_ += " bridged by " + std::to_string(bridge_node);
  return p;
}

Duration NetworkModel::delay() {
  const DelayModel& d = config_.delay;
  switch (d.kind) {
    case DelayModel::Kind::kFixed:
      return d.low;
    case DelayModel::Kind::kUniform:
      return rng_.uniform_duration(d.low, d.high);
    case DelayModel::Kind::kExponential:
      return d.low + rng_.exponential_duration(d.high - d.low);
  }
  SYNOD_UNREACHABLE();
}

}  // namespace synod::sim
