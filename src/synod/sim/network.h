#pragma once

#include <string>
#include <vector>

#include "synod/base/rng.h"
#include "synod/sim/config.h"

namespace synod::sim {

// Which node-to-node links are cut. Clients are never partitioned: they stand
// for callers outside the cluster's network.
class Partition {
 public:
  Partition() = default;
  explicit Partition(int nodes) : nodes_(nodes), blocked_(static_cast<size_t>(nodes * nodes)) {}

  bool blocked(NodeId from, NodeId to) const {
    return !blocked_.empty() && blocked_[from * static_cast<size_t>(nodes_) + to];
  }
  void block(NodeId from, NodeId to) { blocked_[from * static_cast<size_t>(nodes_) + to] = true; }
  const std::string& description() const { return description_; }

  // The shapes the nemesis draws (all random within their shape).
  static Partition symmetric(int nodes, Rng& rng);  // two halves
  static Partition one_way(int nodes, Rng& rng);    // a group cannot send to the rest
  static Partition majority(int nodes, Rng& rng);   // a random minority cut off
  static Partition bridge(int nodes, Rng& rng);     // two sides, one node sees both
  // a cannot reach b (and, if both_ways, b cannot reach a).
  static Partition between(int nodes, const std::vector<NodeId>& a, const std::vector<NodeId>& b,
                           bool both_ways);

 private:
  int nodes_ = 0;
  std::vector<bool> blocked_;  // from * nodes + to
  std::string description_;
};

// Draws each message's fate under the network model: lost, or delivered after
// a delay, maybe twice.
class NetworkModel {
 public:
  NetworkModel(const NetworkConfig& config, Rng rng) : config_(config), rng_(std::move(rng)) {}

  bool lose() {
    return config_.model != NetworkConfig::Model::kReliable && rng_.chance(config_.loss);
  }
  bool duplicate() {
    return config_.model == NetworkConfig::Model::kArbitrary && rng_.chance(config_.duplicate);
  }
  // Reliable and fair-loss links deliver in order; arbitrary ones reorder.
  bool fifo() const { return config_.model != NetworkConfig::Model::kArbitrary; }
  Duration delay();

 private:
  NetworkConfig config_;
  Rng rng_;
};

}  // namespace synod::sim
