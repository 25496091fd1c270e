#pragma once

// The nemesis of a real cluster: faults planned from a seed, applied one at a
// time with quiet gaps between them, each healed before the next, every
// start and heal logged with what it did to whom.
//
// The plan (kinds, lengths, gaps, and the random choices of targets) is a
// pure function of the seed and the flags, printed before the run; what a
// leader-aimed fault hits is decided when it starts (the leader of that
// moment), and logged.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "synod/chaos/cluster.h"
#include "synod/chaos/network.h"

namespace synod::chaos {

class Delayer;

enum class FaultKind {
  kPartitionMajority,  // a random minority cut off from the majority, both ways
  kPartitionLeader,    // the leader cut off from every other member
  kPartitionBridge,    // two halves that cannot talk, and one member that talks to both
  kPartitionOneway,    // one member hears nothing from the others; they hear it (the leader, often)
  kLatency,            // every member's packets delayed (50 ms, jitter 25 ms)
  kLoss,               // every member loses 20% of the packets it sends
  kDuplicate,          // every member sends 20% of its packets twice
  kReorder,            // every member's packets delayed 0-20 ms at random: they overtake each other
  kPause,              // SIGSTOP a random member, SIGCONT at the heal
  kPauseLeader,        // SIGSTOP the leader
  kKill,               // SIGKILL a random member, restart it at the heal
  kKillLeader,         // SIGKILL the leader
  kClock,              // a member's clock jumps ahead, then runs at double speed (libfaketime)
  kDisk,               // one member's fsyncs, or a majority's, block until the heal
  kMembership,         // a member removed (its data wiped), added back empty at the heal
};

std::string fault_name(FaultKind kind);
std::optional<FaultKind> parse_fault(const std::string& name);
std::vector<FaultKind> all_faults();
// "all", "none", or a comma-separated list of fault names and the groups
// partition, net, pause, kill; an error names what it did not know.
absl::StatusOr<std::vector<FaultKind>> parse_nemesis(const std::string& text);
// Faults that need LD_PRELOAD into the server (libfaketime, the disk shim).
bool needs_preload(FaultKind kind);

struct PlannedFault {
  int64_t start_ms = 0;   // from the start of the run
  int64_t length_ms = 0;  // from its start to its heal
  FaultKind kind = FaultKind::kPause;
  uint64_t choice = 0;  // random bits for its targets
};

struct NemesisPlanOptions {
  uint64_t seed = 1;
  std::vector<FaultKind> mix;
  int64_t first_ms = 3000;  // nothing before this (the workloads warm up)
  int64_t last_ms = 0;      // every fault healed by this
  int64_t gap_min_ms = 2000, gap_max_ms = 5000;
  int64_t length_min_ms = 3000, length_max_ms = 8000;
};

// Faults one after another: kinds drawn at random from the mix, each kind in
// turn first so a short run has each at least once when it fits.
std::vector<PlannedFault> plan_faults(const NemesisPlanOptions& options);

// One logged fault: started, healed, what it hit.
struct NemesisEvent {
  FaultKind kind = FaultKind::kPause;
  int64_t start_ns = 0;
  int64_t heal_ns = -1;  // -1 while active
  std::string detail;    // "paused n2 (the leader)", ...
  std::string heal_detail;
};

class Nemesis {
 public:
  // `log` receives one line per action, at once.
  Nemesis(Cluster& cluster, Network& network, std::function<int64_t()> now,
          std::function<void(const std::string&)> log);
  ~Nemesis();

  // Starts a planned fault; the event is logged and kept.
  void start(const PlannedFault& fault);
  // Heals the active fault, if any.
  void heal();
  // Called about once a second: a clock fault moves its member's clock on.
  void tick();
  const std::vector<NemesisEvent>& events() const { return events_; }
  // Faults of the mix that this system cannot take, with the reason; they
  // are skipped (logged once each).
  static std::optional<std::string> unsupported(FaultKind kind, System system);

 private:
  std::string partition(const PlannedFault& fault);
  std::string network_fault(const PlannedFault& fault);
  std::string process_fault(const PlannedFault& fault, std::optional<int>& target);
  std::string clock_disk_or_membership(const PlannedFault& fault, std::optional<int>& target);
  int pick(uint64_t choice, const std::vector<int>& among) const;
  std::vector<int> live_members();
  int64_t now() const { return now_(); }

  Cluster& cluster_;
  Network& network_;
  std::function<int64_t()> now_;
  std::function<void(const std::string&)> log_;
  std::unique_ptr<Delayer> delayer_;
  std::vector<NemesisEvent> events_;
  std::optional<PlannedFault> active_;
  std::optional<int> target_;  // the member a process, clock, disk or membership fault hit
  bool clock_running_ = false;
  std::vector<int> disk_stalled_;
};

}  // namespace synod::chaos
