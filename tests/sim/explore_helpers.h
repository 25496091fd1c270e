#pragma once

// Helpers for the tests that explore seeds of one protocol: every seed
// passes, or the first failure and which check caught it.

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <string_view>

#include "synod/sim/simulation.h"

namespace synod::sim {

inline SimConfig explore_config(std::string protocol, int nodes, std::string_view nemesis) {
  SimConfig c;
  c.protocol = std::move(protocol);
  c.nodes = nodes;
  c.duration = std::chrono::seconds(30);
  c.nemesis = *NemesisConfig::parse(nemesis);
  return c;
}

// Faults every 200 ms aimed at whoever leads, over slow links: leaders die
// or are cut off right after they take over, with entries or slots accepted
// by some nodes and not others.
inline SimConfig leader_hunt(std::string protocol, std::string bug = "") {
  SimConfig c =
      explore_config(std::move(protocol), 3, "crash-leader,pause-leader,partition-leader");
  c.nemesis.mean_interval = std::chrono::milliseconds(200);
  c.nemesis.min_fault = std::chrono::milliseconds(50);
  c.nemesis.max_fault = std::chrono::milliseconds(300);
  c.network.model = NetworkConfig::Model::kReliable;
  c.network.model_given = true;
  c.network.delay = *DelayModel::parse("uniform:10ms,50ms");
  c.bug = std::move(bug);
  return c;
}

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

// `faults` on each network model (10% loss, 5% duplication, clocks drifting
// up to 1e-3), with 3 and 5 nodes.
inline void expect_every_network_passes(const std::string& protocol, std::string_view faults,
                                        uint64_t seeds) {
  for (auto model : {NetworkConfig::Model::kReliable, NetworkConfig::Model::kFairLoss,
                     NetworkConfig::Model::kArbitrary}) {
    for (int nodes : {3, 5}) {
      SimConfig c = explore_config(protocol, nodes, faults);
      c.network.model = model;
      c.network.model_given = true;
      c.network.loss = 0.1;
      c.network.duplicate = 0.05;
      c.clock.max_drift = 1e-3;
      SCOPED_TRACE(std::string(NetworkConfig::model_name(model)) + ", " + std::to_string(nodes) +
                   " nodes");
      expect_every_seed_passes(c, seeds);
    }
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
