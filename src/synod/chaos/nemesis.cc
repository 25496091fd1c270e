#include "synod/chaos/nemesis.h"

#include <algorithm>
#include <map>

#include "synod/base/assert.h"
#include "synod/base/rng.h"
#include "synod/chaos/delayer.h"

namespace synod::chaos {
namespace {

using namespace std::chrono_literals;

// The NFQUEUE number the delay faults use (inside the run's own namespaces).
constexpr int kDelayQueue = 7;

const std::map<FaultKind, std::string>& names() {
  static const std::map<FaultKind, std::string> kNames = {
      {FaultKind::kPartitionMajority, "partition-majority"},
      {FaultKind::kPartitionLeader, "partition-leader"},
      {FaultKind::kPartitionBridge, "partition-bridge"},
      {FaultKind::kPartitionOneway, "partition-oneway"},
      {FaultKind::kLatency, "latency"},
      {FaultKind::kLoss, "loss"},
      {FaultKind::kDuplicate, "duplicate"},
      {FaultKind::kReorder, "reorder"},
      {FaultKind::kPause, "pause"},
      {FaultKind::kPauseLeader, "pause-leader"},
      {FaultKind::kKill, "kill"},
      {FaultKind::kKillLeader, "kill-leader"},
      {FaultKind::kClock, "clock"},
      {FaultKind::kDisk, "disk"},
      {FaultKind::kMembership, "membership"},
  };
  return kNames;
}

std::string members_text(const Cluster& cluster, const std::vector<int>& members) {
  std::string out = "{";
  for (size_t k = 0; k < members.size(); ++k)
    out += (k ? "," : "") + cluster.name(members[k]);
  return out + "}";
}

}  // namespace

std::string fault_name(FaultKind kind) {
  return names().at(kind);
}

std::optional<FaultKind> parse_fault(const std::string& name) {
  for (const auto& [kind, n] : names())
    if (n == name) return kind;
  return std::nullopt;
}

std::vector<FaultKind> all_faults() {
  std::vector<FaultKind> out;
  for (const auto& [kind, n] : names())
    out.push_back(kind);
  return out;
}

bool needs_preload(FaultKind kind) {
  return kind == FaultKind::kClock || kind == FaultKind::kDisk;
}

absl::StatusOr<std::vector<FaultKind>> parse_nemesis(const std::string& text) {
  static const std::map<std::string, std::vector<FaultKind>> kGroups = {
      {"partition",
       {FaultKind::kPartitionMajority, FaultKind::kPartitionLeader, FaultKind::kPartitionBridge,
        FaultKind::kPartitionOneway}},
      {"net", {FaultKind::kLatency, FaultKind::kLoss, FaultKind::kDuplicate, FaultKind::kReorder}},
      {"pauses", {FaultKind::kPause, FaultKind::kPauseLeader}},
      {"kills", {FaultKind::kKill, FaultKind::kKillLeader}},
  };
  std::vector<FaultKind> out;
  if (text == "none") return out;
  if (text == "all") return all_faults();
  size_t at = 0;
  while (at <= text.size()) {
    size_t comma = std::min(text.find(',', at), text.size());
    std::string word = text.substr(at, comma - at);
    at = comma + 1;
    if (word.empty()) continue;
    if (auto group = kGroups.find(word); group != kGroups.end()) {
      out.insert(out.end(), group->second.begin(), group->second.end());
    } else if (auto kind = parse_fault(word)) {
      out.push_back(*kind);
    } else {
      return absl::InvalidArgumentError("unknown fault '" + word + "'");
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<PlannedFault> plan_faults(const NemesisPlanOptions& o) {
  SYNOD_ASSERT(o.length_min_ms > 0);
  SYNOD_ASSERT(o.length_min_ms <= o.length_max_ms);
  SYNOD_ASSERT(o.gap_min_ms <= o.gap_max_ms);
  std::vector<PlannedFault> plan;
  if (o.mix.empty()) return plan;
  Rng rng = Rng(o.seed).split("nemesis");
  std::vector<FaultKind> first_round = o.mix;
  rng.shuffle(std::span<FaultKind>(first_round));
  int64_t t = o.first_ms;
  for (size_t n = 0;; ++n) {
    int64_t length = rng.uniform_int(o.length_min_ms, o.length_max_ms);
    if (t + length > o.last_ms) break;
    FaultKind kind = n < first_round.size() ? first_round[n] : o.mix[rng.uniform(o.mix.size())];
    plan.push_back({.start_ms = t, .length_ms = length, .kind = kind, .choice = rng.next()});
    t += length + rng.uniform_int(o.gap_min_ms, o.gap_max_ms);
    SYNOD_ASSERT(t >= plan.back().start_ms + plan.back().length_ms);  // one at a time
  }
  return plan;
}

std::optional<std::string> Nemesis::unsupported(FaultKind kind, System system) {
  if (system == System::kEtcd && needs_preload(kind))
    return "etcd (Go) reads its clocks and calls fsync without going through libc, so neither "
           "libfaketime nor the fsync shim can reach it";
  return std::nullopt;
}

Nemesis::Nemesis(Cluster& cluster, Network& network, std::function<int64_t()> now,
                 std::function<void(const std::string&)> log)
    : cluster_(cluster), network_(network), now_(std::move(now)), log_(std::move(log)) {}

Nemesis::~Nemesis() {
  heal();
}

std::vector<int> Nemesis::live_members() {
  std::vector<int> out;
  for (int i = 0; i < cluster_.size(); ++i)
    if (cluster_.in_cluster(i) && cluster_.running(i)) out.push_back(i);
  return out;
}

int Nemesis::pick(uint64_t choice, const std::vector<int>& among) const {
  return among.empty() ? 0 : among[choice % among.size()];
}

std::string Nemesis::partition(const PlannedFault& f) {
  Rng rng(f.choice);
  std::vector<int> members = live_members();
  rng.shuffle(std::span<int>(members));
  auto cut = [&](const std::vector<int>& a, const std::vector<int>& b, bool both_ways) {
    for (int x : a)
      for (int y : b) {
        network_.block(x, y).IgnoreError();
        if (both_ways) network_.block(y, x).IgnoreError();
      }
  };
  if (f.kind == FaultKind::kPartitionMajority) {
    size_t minority = (members.size() - 1) / 2;
    std::vector<int> small(members.begin(), members.begin() + minority);
    std::vector<int> rest(members.begin() + minority, members.end());
    cut(small, rest, true);
    return "cut " + members_text(cluster_, small) + " off from " + members_text(cluster_, rest);
  }
  std::optional<int> leader = cluster_.leader();
  if (f.kind == FaultKind::kPartitionLeader || f.kind == FaultKind::kPartitionOneway) {
    int target = leader.value_or(pick(f.choice, members));
    // A one-way partition aims at the leader most of the time, sometimes at
    // a follower.
    if (f.kind == FaultKind::kPartitionOneway && rng.chance(0.3))
      target = pick(rng.next(), members);
    std::vector<int> others;
    for (int m : members)
      if (m != target) others.push_back(m);
    std::string who = cluster_.name(target) + (leader == target ? " (the leader)" : "");
    if (f.kind == FaultKind::kPartitionLeader) {
      cut({target}, others, true);
      return "cut " + who + " off from " + members_text(cluster_, others);
    }
    cut(others, {target}, false);
    return who + " hears nothing from " + members_text(cluster_, others) + "; they hear it";
  }
  // Bridge: two halves, and one member that both see.
  int bridge = members.back();
  members.pop_back();
  std::vector<int> a(members.begin(), members.begin() + members.size() / 2);
  std::vector<int> b(members.begin() + members.size() / 2, members.end());
  cut(a, b, true);
  return members_text(cluster_, a) + " and " + members_text(cluster_, b) +
         " cut apart, both still reach " + cluster_.name(bridge);
}

std::string Nemesis::network_fault(const PlannedFault& f) {
  if (f.kind == FaultKind::kLoss) {
    network_.loss(0.2).IgnoreError();
    return "every member loses 20% of the packets it sends";
  }
  if (f.kind == FaultKind::kDuplicate) {
    network_.duplicate(0.2).IgnoreError();
    return "every member sends 20% of its packets twice";
  }
  if (!delayer_) {
    auto d = Delayer::create(network_, kDelayQueue, f.choice);
    if (!d.ok()) return "skipped: " + std::string(d.status().message());
    delayer_ = std::move(*d);
  }
  if (f.kind == FaultKind::kLatency) {
    delayer_->set(50ms, 25ms);
  } else {
    delayer_->set(0ms, 20ms);
  }
  if (absl::Status s = network_.queue_output(kDelayQueue); !s.ok())
    return "skipped: " + std::string(s.message());
  return f.kind == FaultKind::kLatency ? "every member's packets delayed 50 ms + 0-25 ms jitter"
                                       : "every member's packets delayed 0-20 ms at random "
                                         "(reordered)";
}

std::string Nemesis::process_fault(const PlannedFault& f, std::optional<int>& target) {
  std::vector<int> members = live_members();
  bool at_leader = f.kind == FaultKind::kPauseLeader || f.kind == FaultKind::kKillLeader;
  std::optional<int> leader = cluster_.leader();
  int t = at_leader && leader ? *leader : pick(f.choice, members);
  target = t;
  std::string who = cluster_.name(t) + (leader == t ? " (the leader)" : "");
  if (f.kind == FaultKind::kPause || f.kind == FaultKind::kPauseLeader) {
    cluster_.pause(t);
    return "paused " + who + " (SIGSTOP)";
  }
  cluster_.kill(t);
  return "killed " + who + " (SIGKILL)";
}

std::string Nemesis::clock_disk_or_membership(const PlannedFault& f, std::optional<int>& target) {
  Rng rng(f.choice);
  std::vector<int> members = live_members();
  std::optional<int> leader = cluster_.leader();
  int t = leader && rng.chance(0.5) ? *leader : pick(rng.next(), members);
  std::string who = cluster_.name(t) + (leader == t ? " (the leader)" : "");
  if (f.kind == FaultKind::kClock) {
    double jump = static_cast<double>(rng.uniform_int(2, 10));
    cluster_.set_clock_offset(t, cluster_.clock_offset(t) + jump);
    target = t;
    clock_running_ = true;
    return who + "'s clock jumps " + std::to_string(static_cast<int>(jump)) +
           " s ahead, then runs at double speed";
  }
  if (f.kind == FaultKind::kDisk) {
    // One member's disk, or a majority's (the leader's among them): then no
    // write can become durable on a quorum until the heal.
    disk_stalled_ = {t};
    if (rng.chance(0.5)) {
      for (int m : members)
        if (m != t && disk_stalled_.size() < members.size() / 2 + 1) disk_stalled_.push_back(m);
    }
    for (int m : disk_stalled_)
      cluster_.stall_disk(m, true);
    target = t;
    return "the fsyncs of " + members_text(cluster_, disk_stalled_) + " stall" +
           (leader == t ? " (" + cluster_.name(t) + " leads)" : "");
  }
  absl::Status s = cluster_.remove_member(t, 10s);
  if (!s.ok()) return "skipped: " + std::string(s.message());
  target = t;
  return "removed " + who + " from the cluster (data wiped)";
}

void Nemesis::start(const PlannedFault& fault) {
  heal();
  std::optional<int> target;
  std::string detail;
  switch (fault.kind) {
    case FaultKind::kPartitionMajority:
    case FaultKind::kPartitionLeader:
    case FaultKind::kPartitionBridge:
    case FaultKind::kPartitionOneway:
      detail = partition(fault);
      break;
    case FaultKind::kLatency:
    case FaultKind::kLoss:
    case FaultKind::kDuplicate:
    case FaultKind::kReorder:
      detail = network_fault(fault);
      break;
    case FaultKind::kPause:
    case FaultKind::kPauseLeader:
    case FaultKind::kKill:
    case FaultKind::kKillLeader:
      detail = process_fault(fault, target);
      break;
    case FaultKind::kClock:
    case FaultKind::kDisk:
    case FaultKind::kMembership:
      detail = clock_disk_or_membership(fault, target);
      break;
  }
  active_ = fault;
  target_ = target;
  events_.push_back({.kind = fault.kind, .start_ns = now(), .detail = detail});
  log_("start " + fault_name(fault.kind) + ": " + detail);
}

void Nemesis::tick() {
  if (!active_ || !clock_running_ || !target_) return;
  cluster_.set_clock_offset(*target_, cluster_.clock_offset(*target_) + 1.0);
}

void Nemesis::heal() {
  if (!active_) return;
  FaultKind kind = active_->kind;
  std::string detail = "healed";
  if (target_) {
    int t = *target_;
    switch (kind) {
      case FaultKind::kPause:
      case FaultKind::kPauseLeader:
        cluster_.resume(t);
        detail = "resumed " + cluster_.name(t);
        break;
      case FaultKind::kKill:
      case FaultKind::kKillLeader: {
        absl::Status s = cluster_.restart(t, 30s);
        detail = s.ok() ? "restarted " + cluster_.name(t)
                        : "restart of " + cluster_.name(t) + " FAILED: " + std::string(s.message());
        break;
      }
      case FaultKind::kClock:
        clock_running_ = false;
        detail = cluster_.name(t) + "'s clock back to normal speed, " +
                 std::to_string(static_cast<int>(cluster_.clock_offset(t))) + " s ahead";
        break;
      case FaultKind::kDisk:
        for (int m : disk_stalled_)
          cluster_.stall_disk(m, false);
        detail = "the fsyncs of " + members_text(cluster_, disk_stalled_) + " go through";
        disk_stalled_.clear();
        break;
      case FaultKind::kMembership: {
        absl::Status s = cluster_.add_member(t, 30s);
        detail = s.ok()
                     ? "added " + cluster_.name(t) + " back, empty"
                     : "adding " + cluster_.name(t) + " back FAILED: " + std::string(s.message());
        break;
      }
      default:
        break;
    }
  }
  network_.heal().IgnoreError();
  if (delayer_) delayer_->set(0ms, 0ms);
  SYNOD_ASSERT(!events_.empty());
  SYNOD_ASSERT(events_.back().heal_ns < 0);  // the active fault is the last one started
  events_.back().heal_ns = now();
  events_.back().heal_detail = detail;
  log_("heal " + fault_name(kind) + ": " + detail);
  active_.reset();
  target_.reset();
}

}  // namespace synod::chaos
