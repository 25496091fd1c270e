#include "synod/raft/membership_target.h"

#include <gtest/gtest.h>

#include "raft/cluster.h"

namespace synod::raft {
namespace {

using Kind = MembershipChange::Kind;
using testing::Cluster;

// Carries out every change the target asks for; the list says which.
std::vector<std::string> follow(Cluster& c, NodeId leader, const WantedMembership& wanted) {
  std::vector<std::string> made;
  for (int i = 0; i < 10; ++i) {
    auto change = next_change_toward(wanted, c.node(leader));
    if (!change) break;
    made.push_back(change->to_string());
    EXPECT_TRUE(std::holds_alternative<Proposed>(c.node(leader).propose_membership(*change)));
    c.deliver_all();
  }
  return made;
}

TEST(MembershipTarget, RemovesFirstThenAddsThenPromotesOnceCaughtUp) {
  Cluster c(4, testing::scenario_options());  // node 3 starts as a voter, to be removed
  c.campaign(0);
  c.deliver_all();
  ASSERT_EQ(c.node(0).role(), Role::kLeader);
  EXPECT_EQ(follow(c, 0, {{0, false}, {1, false}, {2, false}}).size(), 1u);
  EXPECT_FALSE(c.node(0).membership().contains(3));

  // Back as a learner that falls behind: no promotion while it is behind.
  follow(c, 0, {{0, false}, {1, false}, {2, false}, {3, true}});
  ASSERT_TRUE(c.node(0).membership().is_learner(3));
  c.cut(0, 3);
  for (int i = 0; i < 20; ++i)
    c.propose(0, "x");
  c.deliver_all();
  WantedMembership promoted = {{0, false}, {1, false}, {2, false}, {3, false}};
  EXPECT_EQ(next_change_toward(promoted, c.node(0)), std::nullopt) << "promoted while behind";
  c.heal();
  c.run(5);  // the learner catches up
  auto change = next_change_toward(promoted, c.node(0));
  ASSERT_TRUE(change.has_value());
  EXPECT_EQ(change->kind, Kind::kAddVoter);
  EXPECT_EQ(change->node, 3u);
}

TEST(MembershipTarget, AMemberMissingFromRaftIsAddedAndOnlyTheLeaderActs) {
  Cluster c(3, testing::scenario_options());
  c.campaign(0);
  c.deliver_all();
  WantedMembership wanted = {{0, false}, {1, false}, {2, false}, {5, false}};
  EXPECT_EQ(next_change_toward(wanted, c.node(1)), std::nullopt) << "a follower acted";
  auto change = next_change_toward(wanted, c.node(0));
  ASSERT_TRUE(change.has_value());
  EXPECT_EQ(change->kind, Kind::kAddVoter);
  EXPECT_EQ(change->node, 5u);
  // Agreement: nothing to do.
  EXPECT_EQ(next_change_toward({{0, false}, {1, false}, {2, false}}, c.node(0)), std::nullopt);
}

}  // namespace
}  // namespace synod::raft
