#pragma once

#include <chrono>
#include <cstdio>
#include <optional>
#include <string>

#include "synod/sim/simulation.h"

namespace synod::bench {

struct TimedRun {
  sim::RunReport report;
  double wall_seconds = 0;
};

// Runs one simulation and measures it on the wall clock (benchmarks only:
// nothing the simulation decides ever reads it). nullopt, with the reason
// printed, if the simulator refused the configuration.
inline std::optional<TimedRun> timed_run(const sim::SimConfig& config,
                                         const sim::ProtocolInfo& info) {
  auto start = std::chrono::steady_clock::now();
  auto report = sim::run_simulation(config, info);
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!report.ok()) {
    std::fprintf(stderr, "%s\n", std::string(report.status().message()).c_str());
    return std::nullopt;
  }
  return TimedRun{*std::move(report), wall};
}

}  // namespace synod::bench
