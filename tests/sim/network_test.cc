#include "synod/sim/network.h"

#include <gtest/gtest.h>

#include "synod/sim/config.h"

namespace synod::sim {
namespace {

int blocked_links(const Partition& p, int nodes) {
  int count = 0;
  for (NodeId a = 0; a < static_cast<NodeId>(nodes); ++a)
    for (NodeId b = 0; b < static_cast<NodeId>(nodes); ++b)
      count += p.blocked(a, b);
  return count;
}

TEST(Partition, SymmetricCutsBothWays) {
  Rng rng(3);
  Partition p = Partition::symmetric(5, rng);
  EXPECT_EQ(blocked_links(p, 5), 2 * 2 * 3);  // halves of 2 and 3
  for (NodeId a = 0; a < 5; ++a)
    for (NodeId b = 0; b < 5; ++b)
      EXPECT_EQ(p.blocked(a, b), p.blocked(b, a));
}

TEST(Partition, OneWayCutsOneDirection) {
  Rng rng(4);
  Partition p = Partition::one_way(5, rng);
  EXPECT_GT(blocked_links(p, 5), 0);
  for (NodeId a = 0; a < 5; ++a)
    for (NodeId b = 0; b < 5; ++b)
      EXPECT_FALSE(p.blocked(a, b) && p.blocked(b, a));
}

TEST(Partition, MajorityIsolatesAMinority) {
  for (uint64_t seed = 0; seed < 50; ++seed) {
    Rng rng(seed);
    Partition p = Partition::majority(5, rng);
    int cut_off = 0;
    for (NodeId a = 0; a < 5; ++a)
      cut_off += p.blocked(a, (a + 1) % 5) || p.blocked(a, (a + 2) % 5) ||
                 p.blocked(a, (a + 3) % 5) || p.blocked(a, (a + 4) % 5);
    // Every node has someone it cannot reach; the minority has 1 or 2 nodes.
    EXPECT_EQ(cut_off, 5);
    int links = blocked_links(p, 5);
    EXPECT_TRUE(links == 2 * 1 * 4 || links == 2 * 2 * 3) << links;
  }
}

TEST(Partition, BridgeNodeSeesBothSides) {
  Rng rng(5);
  Partition p = Partition::bridge(5, rng);
  int bridges = 0;
  for (NodeId a = 0; a < 5; ++a) {
    bool sees_all = true;
    for (NodeId b = 0; b < 5; ++b)
      sees_all &= !p.blocked(a, b) && !p.blocked(b, a);
    bridges += sees_all;
  }
  EXPECT_EQ(bridges, 1);
  EXPECT_EQ(blocked_links(p, 5), 2 * 2 * 2);
}

TEST(NetworkModel, ReliableNeverLosesOrDuplicates) {
  NetworkConfig config;
  config.model = NetworkConfig::Model::kReliable;
  config.loss = 0.9;
  config.duplicate = 0.9;
  NetworkModel model(config, Rng(1));
  for (int i = 0; i < 1000; ++i) {
    EXPECT_FALSE(model.lose());
    EXPECT_FALSE(model.duplicate());
  }
  EXPECT_TRUE(model.fifo());
}

TEST(NetworkModel, ArbitraryLosesDuplicatesAndReorders) {
  NetworkConfig config;
  config.model = NetworkConfig::Model::kArbitrary;
  config.loss = 0.2;
  config.duplicate = 0.1;
  NetworkModel model(config, Rng(1));
  int lost = 0, duplicated = 0;
  for (int i = 0; i < 10000; ++i) {
    lost += model.lose();
    duplicated += model.duplicate();
  }
  EXPECT_NEAR(lost, 2000, 200);
  EXPECT_NEAR(duplicated, 1000, 150);
  EXPECT_FALSE(model.fifo());
}

TEST(DelayModel, ParsesEveryForm) {
  auto fixed = DelayModel::parse("fixed:2ms");
  ASSERT_TRUE(fixed.ok());
  EXPECT_EQ(fixed->low, std::chrono::milliseconds(2));
  auto uniform = DelayModel::parse("uniform:1ms,3ms");
  ASSERT_TRUE(uniform.ok());
  EXPECT_EQ(uniform->high, std::chrono::milliseconds(3));
  auto exp = DelayModel::parse("exp:1ms,4ms");
  ASSERT_TRUE(exp.ok());
  EXPECT_EQ(exp->to_string(), "exp:1ms,4ms");
  EXPECT_FALSE(DelayModel::parse("uniform:3ms,1ms").ok());
  EXPECT_FALSE(DelayModel::parse("gauss:1ms").ok());
  EXPECT_FALSE(DelayModel::parse("fixed:soon").ok());
}

TEST(NemesisConfig, ParsesListsAndRejectsUnknownFaults) {
  auto list = NemesisConfig::parse("crash,partition-bridge,crash");
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->faults.size(), 2u);
  EXPECT_EQ(list->to_string(), "crash,partition-bridge");
  EXPECT_TRUE(NemesisConfig::parse("swarm")->swarm);
  EXPECT_TRUE(NemesisConfig::parse("none")->faults.empty());
  auto bad = NemesisConfig::parse("crash,meteor");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("meteor"), std::string::npos);
}

}  // namespace
}  // namespace synod::sim
