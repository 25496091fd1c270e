#include "synod/sim/nemesis.h"

#include <algorithm>

namespace synod::sim {

int max_nodes_down(int nodes) {
  return std::max(1, (nodes - 1) / 2);
}
int max_byzantine(int nodes) {
  return std::max(1, (nodes - 1) / 3);
}

Nemesis::Nemesis(FaultHost& host, const NemesisConfig& config, const ClockConfig& clock, int nodes,
                 int64_t quiet_from_ns, Rng rng)
    : host_(host),
      config_(config),
      clock_(clock),
      nodes_(nodes),
      quiet_from_(quiet_from_ns),
      rng_(std::move(rng)) {}

void Nemesis::start() {
  for (FaultKind kind : config_.faults)
    schedule_next_injection(kind);
  for (size_t i = 0; i < config_.script.size(); ++i)
    schedule(config_.script[i].at.count(), {Action::kScripted, FaultKind::kCrash, 0, i});
  schedule(quiet_from_, {Action::kQuiet, FaultKind::kPartition});
}

void Nemesis::schedule(int64_t at, Pending pending) {
  uint64_t token = next_token_++;
  pending_[token] = pending;
  host_.schedule_nemesis(at, token);
}

void Nemesis::schedule_next_injection(FaultKind kind) {
  int64_t at = host_.now_ns() + rng_.exponential_duration(config_.mean_interval).count();
  if (at < quiet_from_) schedule(at, {Action::kInject, kind});
}

Duration Nemesis::fault_length() {
  return rng_.uniform_duration(config_.min_fault, config_.max_fault);
}

void Nemesis::fire(uint64_t token) {
  auto it = pending_.find(token);
  SYNOD_ASSERT(it != pending_.end());
  Pending p = it->second;
  pending_.erase(it);
  switch (p.action) {
    case Action::kQuiet:
      quiet_ = true;
      heal_everything();
      return;
    case Action::kHeal:
      if (!quiet_) heal(p);
      return;
    case Action::kInject:
      if (quiet_) return;
      inject(p.kind);
      schedule_next_injection(p.kind);
      return;
    case Action::kScripted:
      run_script_step(config_.script[p.step]);
      return;
  }
}

void Nemesis::run_script_step(const ScriptedFault& step) {
  using A = ScriptedFault::Action;
  NodeId node = step.node;
  if (node >= static_cast<NodeId>(nodes_)) return;
  bool up = host_.node_up(node), paused = host_.node_paused(node);
  switch (step.action) {
    case A::kCrash:
    case A::kStop:
      if (up && !paused) host_.crash(node, step.action == A::kStop);
      return;
    case A::kRestart:
      host_.restart(node);
      return;
    case A::kPause:
      if (up && !paused) host_.pause(node);
      return;
    case A::kResume:
      host_.resume(node);
      return;
    case A::kPartition: {
      std::vector<NodeId> rest;
      for (NodeId n = 0; n < static_cast<NodeId>(nodes_); ++n)
        if (std::find(step.side.begin(), step.side.end(), n) == step.side.end()) rest.push_back(n);
      host_.partition(Partition::between(nodes_, step.side, rest, true));
      return;
    }
    case A::kHeal:
      host_.heal_partition();
      return;
    case A::kSkew:
      host_.skew(node, step.drift, step.jump);
      return;
    case A::kByzantine:
      host_.byzantine(node, step.mode);
      return;
    case A::kHonest:
      host_.byzantine(node, std::nullopt);
      return;
  }
}

std::optional<NodeId> Nemesis::pick(bool (Nemesis::*eligible)(NodeId) const) {
  std::vector<NodeId> candidates;
  for (NodeId n = 0; n < static_cast<NodeId>(nodes_); ++n)
    if ((this->*eligible)(n)) candidates.push_back(n);
  if (candidates.empty()) return std::nullopt;
  return candidates[rng_.uniform(candidates.size())];
}

std::optional<NodeId> Nemesis::pick_leader(bool (Nemesis::*eligible)(NodeId) const) {
  auto leader = host_.leader();
  if (leader && *leader < static_cast<NodeId>(nodes_) && (this->*eligible)(*leader)) return leader;
  return pick(eligible);
}

int Nemesis::max_down() const {
  int minority = max_nodes_down(nodes_);
  return config_.max_down > 0 ? std::min(config_.max_down, minority) : minority;
}

bool Nemesis::can_crash(NodeId node) const {
  return host_.node_up(node) && !paused_.count(node) &&
         static_cast<int>(crashed_.size() + stopped_.size()) < max_down();
}
bool Nemesis::can_pause(NodeId node) const {
  return host_.node_up(node) && !paused_.count(node);
}
bool Nemesis::can_turn(NodeId node) const {
  return host_.node_up(node) && !byzantine_.count(node) &&
         static_cast<int>(byzantine_.size()) < max_byzantine(nodes_);
}

bool Nemesis::inject(FaultKind kind) {
  int64_t heal_at = host_.now_ns() + fault_length().count();
  switch (kind) {
    case FaultKind::kPartition:
    case FaultKind::kPartitionSymmetric:
    case FaultKind::kPartitionOneWay:
    case FaultKind::kPartitionMajority:
    case FaultKind::kPartitionBridge:
    case FaultKind::kPartitionLeader: {
      if (partitioned_ || nodes_ < 2) return false;
      FaultKind shape = kind;
      if (kind == FaultKind::kPartition) {
        static constexpr FaultKind kShapes[] = {
            FaultKind::kPartitionSymmetric, FaultKind::kPartitionOneWay,
            FaultKind::kPartitionMajority, FaultKind::kPartitionBridge};
        shape = kShapes[rng_.uniform(nodes_ >= 3 ? 4 : 3)];
      }
      if (shape == FaultKind::kPartitionBridge && nodes_ < 3) return false;
      if (shape == FaultKind::kPartitionLeader) {
        NodeId alone = *pick_leader(&Nemesis::any_node);
        std::vector<NodeId> rest;
        for (NodeId n = 0; n < static_cast<NodeId>(nodes_); ++n)
          if (n != alone) rest.push_back(n);
        partitioned_ = true;
        host_.partition(Partition::between(nodes_, {alone}, rest, true));
        schedule(heal_at, {Action::kHeal, kind});
        return true;
      }
      Partition p = shape == FaultKind::kPartitionSymmetric  ? Partition::symmetric(nodes_, rng_)
                    : shape == FaultKind::kPartitionOneWay   ? Partition::one_way(nodes_, rng_)
                    : shape == FaultKind::kPartitionMajority ? Partition::majority(nodes_, rng_)
                                                             : Partition::bridge(nodes_, rng_);
      partitioned_ = true;
      host_.partition(p);
      schedule(heal_at, {Action::kHeal, kind});
      return true;
    }
    case FaultKind::kCrash:
    case FaultKind::kCrashStop:
    case FaultKind::kCrashLeader: {
      bool forever = kind == FaultKind::kCrashStop;
      auto node = kind == FaultKind::kCrashLeader ? pick_leader(&Nemesis::can_crash)
                                                  : pick(&Nemesis::can_crash);
      if (!node) return false;
      if (forever && static_cast<int>(stopped_.size()) >= max_down()) return false;
      host_.crash(*node, forever);
      if (forever) {
        stopped_.insert(*node);
      } else {
        crashed_.insert(*node);
        schedule(heal_at, {Action::kHeal, kind, *node});
      }
      return true;
    }
    case FaultKind::kPause:
    case FaultKind::kPauseLeader: {
      auto node = kind == FaultKind::kPauseLeader ? pick_leader(&Nemesis::can_pause)
                                                  : pick(&Nemesis::can_pause);
      if (!node) return false;
      paused_.insert(*node);
      host_.pause(*node);
      schedule(heal_at, {Action::kHeal, kind, *node});
      return true;
    }
    case FaultKind::kSkew: {
      auto node = pick(&Nemesis::any_node);
      double drift = (rng_.uniform_real() * 2 - 1) * clock_.skew_drift();
      host_.skew(*node, drift, rng_.uniform_duration(Duration(0), clock_.skew_jump()));
      return true;
    }
    case FaultKind::kMembership:
    case FaultKind::kTransfer:
      return host_.operator_action(kind, rng_.next());
    case FaultKind::kByzantine: {
      auto node = pick(&Nemesis::can_turn);
      if (!node) return false;
      static constexpr ByzantineMode kModes[] = {ByzantineMode::kSilent, ByzantineMode::kAlter,
                                                 ByzantineMode::kEquivocate, ByzantineMode::kForge};
      byzantine_.insert(*node);
      host_.byzantine(*node, kModes[rng_.uniform(4)]);
      schedule(heal_at, {Action::kHeal, kind, *node});
      return true;
    }
  }
  SYNOD_UNREACHABLE();
}

void Nemesis::heal(const Pending& p) {
  switch (p.kind) {
    case FaultKind::kPartition:
    case FaultKind::kPartitionSymmetric:
    case FaultKind::kPartitionOneWay:
    case FaultKind::kPartitionMajority:
    case FaultKind::kPartitionBridge:
    case FaultKind::kPartitionLeader:
      partitioned_ = false;
      host_.heal_partition();
      return;
    case FaultKind::kCrash:
    case FaultKind::kCrashLeader:
      crashed_.erase(p.node);
      host_.restart(p.node);
      return;
    case FaultKind::kPause:
    case FaultKind::kPauseLeader:
      paused_.erase(p.node);
      host_.resume(p.node);
      return;
    case FaultKind::kByzantine:
      byzantine_.erase(p.node);
      host_.byzantine(p.node, std::nullopt);
      return;
    case FaultKind::kCrashStop:
    case FaultKind::kSkew:
    case FaultKind::kMembership:
    case FaultKind::kTransfer:
      return;  // never healed
  }
}

void Nemesis::heal_everything() {
  if (partitioned_) host_.heal_partition();
  partitioned_ = false;
  for (NodeId n : crashed_)
    host_.restart(n);
  for (NodeId n : paused_)
    host_.resume(n);
  for (NodeId n : byzantine_)
    host_.byzantine(n, std::nullopt);
  crashed_.clear();
  paused_.clear();
  byzantine_.clear();
}

}  // namespace synod::sim
