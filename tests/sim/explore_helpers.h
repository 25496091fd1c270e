#pragma once

// Helpers for the tests that explore seeds of one protocol: every seed
// passes, or the first failure and which check caught it.

#include <gtest/gtest.h>

#include <optional>
#include <string_view>

#include "synod/sim/simulation.h"

namespace synod::sim {

inline void expect_every_seed_passes(SimConfig c, uint64_t seeds) {
  for (uint64_t seed = 1; seed <= seeds; ++seed) {
    c.seed = seed;
    auto report = run_simulation(c);
    ASSERT_TRUE(report.ok()) << report.status();
    ASSERT_TRUE(report->passed()) << report->summary_line() << "\n"
                                  << report->failure_details() << "replay: synod sim run "
                                  << report->flags;
  }
}

// The first failing report in seeds [1, seeds], if any.
inline std::optional<RunReport> first_failure(SimConfig c, uint64_t seeds) {
  for (uint64_t seed = 1; seed <= seeds; ++seed) {
    c.seed = seed;
    auto report = run_simulation(c);
    EXPECT_TRUE(report.ok());
    if (report.ok() && !report->passed()) return *report;
  }
  return std::nullopt;
}

inline bool broke(const RunReport& report, std::string_view invariant) {
  for (const auto& f : report.invariant_failures)
    if (f.invariant == invariant) return true;
  return false;
}

inline bool not_linearizable(const RunReport& report) {
  return report.linearizability && !report.linearizability->linearizable &&
         !report.linearizability->undecided;
}

inline void expect_seeds_replay(SimConfig c, std::initializer_list<uint64_t> seeds) {
  for (uint64_t seed : seeds) {
    c.seed = seed;
    auto a = run_simulation(c);
    auto b = run_simulation(c);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(a->trace_hash, b->trace_hash);
    EXPECT_EQ(a->summary_line(), b->summary_line());
  }
}

}  // namespace synod::sim
