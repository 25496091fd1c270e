// Each invariant RaftNode::check_invariants() states is shown to catch the
// corruption it is there for: a healthy cluster passes, then one field is
// damaged and the named invariant must be the one reported.

#include <gtest/gtest.h>

#include "raft/cluster.h"

namespace synod::raft {

// Reaches into a node the way a bug would.
struct RaftNodeCorruption {
  static void snapshot_past_commit(RaftNode& n) {
    Snapshot s;
    s.meta.set_index(n.log_.commit() + 1);
    n.snapshot_ = s;
  }
  static void applied_past_commit(RaftNode& n) { n.applied_ = n.log_.commit() + 1; }
  static void term_behind_log(RaftNode& n) { n.term_ = n.log_.last_term() - 1; }
  static void leader_not_self(RaftNode& n) { n.leader_ = n.options_.id + 1; }
  static void membership_not_the_logs(RaftNode& n) {
    n.membership_ = Membership::of_voters({7, 8, 9});
  }
  static void progress_while_following(RaftNode& n) {
    n.progress_.emplace(5, Progress(1, 4, 1 << 20));
  }
  static void match_at_next(RaftNode& n) {
    Progress& pr = n.progress_.begin()->second;
    pr.next = pr.match;
  }
  static void next_past_log(RaftNode& n) {
    n.progress_.begin()->second.next = n.log_.last_index() + 2;
  }
  static void durable_past_log(RaftNode& n) { n.durable_index_ = n.log_.last_index() + 1; }
};

namespace {

using testing::Cluster;
using testing::scenario_options;

struct Case {
  const char* invariant;
  bool on_leader;
  void (*corrupt)(RaftNode&);
};

class RaftInvariants : public ::testing::TestWithParam<Case> {};

TEST_P(RaftInvariants, CatchTheCorruptionTheyAreFor) {
  Cluster c(3, scenario_options());
  NodeId leader = c.elect_anyone();
  for (int i = 0; i < 5; ++i)
    c.propose(leader, "v" + std::to_string(i));
  c.deliver_all();
  NodeId target = GetParam().on_leader ? leader : (leader + 1) % 3;
  RaftNode& node = c.node(target);
  ASSERT_FALSE(node.check_invariants()) << "a healthy node";
  GetParam().corrupt(node);
  auto broken = node.check_invariants();
  ASSERT_TRUE(broken) << GetParam().invariant;
  EXPECT_EQ(broken->invariant, GetParam().invariant) << broken->detail;
}

INSTANTIATE_TEST_SUITE_P(
    EachInvariant, RaftInvariants,
    ::testing::Values(
        Case{"snapshot-within-commit", false, RaftNodeCorruption::snapshot_past_commit},
        Case{"applied-within-commit", false, RaftNodeCorruption::applied_past_commit},
        Case{"log-term-within-term", false, RaftNodeCorruption::term_behind_log},
        Case{"leader-is-self", true, RaftNodeCorruption::leader_not_self},
        Case{"membership-as-the-log-says", false, RaftNodeCorruption::membership_not_the_logs},
        Case{"progress-only-when-leading", false, RaftNodeCorruption::progress_while_following},
        Case{"match-before-next", true, RaftNodeCorruption::match_at_next},
        Case{"next-within-log", true, RaftNodeCorruption::next_past_log},
        Case{"durable-within-log", false, RaftNodeCorruption::durable_past_log}),
    [](const auto& info) {
      std::string name = info.param.invariant;
      std::erase(name, '-');
      return name;
    });

}  // namespace
}  // namespace synod::raft
