#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "synod/sim/config.h"

namespace synod::sim {

// One protocol's figures over the seeds of a comparison, all in virtual time.
struct ProtocolFigures {
  std::string protocol;
  uint64_t runs = 0;
  std::vector<uint64_t> failed_seeds;  // runs where a check failed
  double ops_per_second = 0;           // successful operations: the median over seeds
  double messages_per_op = 0;          // messages sent per successful operation: the median
  // Latency of successful operations, retries included, over every seed.
  int64_t p50_ns = 0, p90_ns = 0, p99_ns = 0, max_ns = 0;
  // Crashes of the leader, and how long until another node led.
  uint64_t leader_crashes = 0;
  uint64_t failovers = 0;
  int64_t failover_p50_ns = 0, failover_max_ns = 0;
};

// Runs every protocol on the same seeds of `config` (so the same fault
// schedules, workload and network; faults aimed at the leader hit each
// protocol's own leader). `progress` is called after each run.
absl::StatusOr<std::vector<ProtocolFigures>> compare_protocols(
    const SimConfig& config, const std::vector<std::string>& protocols, uint64_t first,
    uint64_t seeds, unsigned jobs,
    const std::function<void(uint64_t done, uint64_t total)>& progress);

// A table of the figures, one protocol a row.
std::string format_comparison(const std::vector<ProtocolFigures>& figures);

}  // namespace synod::sim
