// What the foundation issue asks of the two small protocols, as explore would
// run them: the register passes every seed under swarm faults; the naive
// primary-backup is caught within 100 seeds under partitions, and under
// crashes. CI runs these seed counts; `synod sim explore --seeds 10000` runs
// more by hand.

#include <gtest/gtest.h>

#include "synod/sim/simulation.h"

namespace synod::sim {
namespace {

using std::chrono::seconds;

SimConfig config(std::string protocol, std::string nemesis) {
  SimConfig c;
  c.protocol = std::move(protocol);
  c.duration = seconds(20);
  c.nemesis = *NemesisConfig::parse(nemesis);
  return c;
}

// The first failing seed in [1, seeds], or 0.
uint64_t first_failure(SimConfig c, uint64_t seeds) {
  for (uint64_t seed = 1; seed <= seeds; ++seed) {
    c.seed = seed;
    auto report = run_simulation(c);
    EXPECT_TRUE(report.ok());
    if (report.ok() && !report->passed()) return seed;
  }
  return 0;
}

TEST(Explore, TheRegisterPassesEverySwarmSeed) {
  SimConfig c = config("register", "swarm");
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    c.seed = seed;
    auto report = run_simulation(c);
    ASSERT_TRUE(report.ok());
    ASSERT_TRUE(report->passed()) << report->summary_line() << "\n" << report->failure_details();
  }
}

TEST(Explore, TheNaivePrimaryBackupIsCaughtUnderPartitions) {
  EXPECT_NE(first_failure(config("naive-primary-backup", "partition"), 100), 0u);
}

TEST(Explore, TheNaivePrimaryBackupIsCaughtUnderCrashes) {
  EXPECT_NE(first_failure(config("naive-primary-backup", "crash"), 100), 0u);
}

TEST(Explore, TheRegistersAckBeforeSyncBugIsCaughtUnderCrashes) {
  SimConfig c = config("register", "crash");
  c.bug = "ack-before-sync";
  EXPECT_NE(first_failure(c, 100), 0u);
}

}  // namespace
}  // namespace synod::sim
