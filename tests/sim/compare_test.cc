// synod sim compare: the same seeds through each protocol, figures that
// hold together, and the same figures whatever the thread count.

#include "synod/sim/compare.h"

#include <gtest/gtest.h>

namespace synod::sim {
namespace {

SimConfig crash_leaders() {
  SimConfig c;
  c.nodes = 3;
  c.duration = std::chrono::seconds(15);
  c.nemesis = *NemesisConfig::parse("crash-leader");
  c.nemesis.mean_interval = std::chrono::seconds(2);
  return c;
}

TEST(Compare, GivesEachProtocolItsFigures) {
  auto figures = compare_protocols(crash_leaders(), {"raft", "multipaxos"}, 1, 3, 2, nullptr);
  ASSERT_TRUE(figures.ok()) << figures.status();
  ASSERT_EQ(figures->size(), 2u);
  for (const ProtocolFigures& f : *figures) {
    SCOPED_TRACE(f.protocol);
    EXPECT_EQ(f.runs, 3u);
    EXPECT_TRUE(f.failed_seeds.empty());
    EXPECT_GT(f.ops_per_second, 0);
    EXPECT_GT(f.messages_per_op, 1);
    EXPECT_GT(f.p50_ns, 0);
    EXPECT_LE(f.p50_ns, f.p90_ns);
    EXPECT_LE(f.p90_ns, f.p99_ns);
    EXPECT_LE(f.p99_ns, f.max_ns);
    // Leaders were crashed, and the cluster found new ones.
    EXPECT_GT(f.leader_crashes, 0u);
    EXPECT_GT(f.failovers, 0u);
    EXPECT_LE(f.failovers, f.leader_crashes);
    EXPECT_GT(f.failover_p50_ns, 0);
    EXPECT_LE(f.failover_p50_ns, f.failover_max_ns);
  }
  std::string table = format_comparison(*figures);
  EXPECT_NE(table.find("raft"), std::string::npos) << table;
  EXPECT_NE(table.find("multipaxos"), std::string::npos) << table;
}

TEST(Compare, FiguresDoNotDependOnTheThreadCount) {
  auto one = compare_protocols(crash_leaders(), {"multipaxos"}, 5, 4, 1, nullptr);
  auto two = compare_protocols(crash_leaders(), {"multipaxos"}, 5, 4, 2, nullptr);
  ASSERT_TRUE(one.ok() && two.ok());
  EXPECT_EQ(format_comparison(*one), format_comparison(*two));
}

TEST(Compare, WithoutFaultsThereIsNoFailover) {
  SimConfig c = crash_leaders();
  c.nemesis = NemesisConfig{};
  auto figures = compare_protocols(c, {"raft"}, 1, 2, 1, nullptr);
  ASSERT_TRUE(figures.ok());
  EXPECT_EQ((*figures)[0].leader_crashes, 0u);
  EXPECT_EQ((*figures)[0].failovers, 0u);
}

TEST(Compare, RefusesWhatCannotBeCompared) {
  EXPECT_FALSE(compare_protocols(crash_leaders(), {"raft", "zab"}, 1, 1, 1, nullptr).ok());
  EXPECT_FALSE(compare_protocols(crash_leaders(), {}, 1, 1, 1, nullptr).ok());
  // A failure detector serves no clients: it has no throughput to compare.
  auto detector = compare_protocols(crash_leaders(), {"detector-heartbeat"}, 1, 1, 1, nullptr);
  ASSERT_FALSE(detector.ok());
  EXPECT_NE(detector.status().message().find("serves no clients"), std::string_view::npos)
      << detector.status();
}

}  // namespace
}  // namespace synod::sim
