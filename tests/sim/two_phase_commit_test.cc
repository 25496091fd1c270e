// Two-phase commit in the simulator: atomicity and conservation under
// crashes of coordinator and participants at every step, partitions and
// loss; the blocking window made visible; and every check shown able to fail
// by a bug injected for it.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "explore_helpers.h"
#include "synod/sim/simulation.h"

namespace synod::sim {
namespace {

SimConfig two_pc(int nodes, std::string_view nemesis, std::string bug = "",
                 std::string protocol = "2pc") {
  SimConfig c = explore_config(std::move(protocol), nodes, nemesis);
  c.bug = std::move(bug);
  return c;
}

SimConfig replicated(int nodes, std::string_view nemesis, std::string bug = "") {
  return two_pc(nodes, nemesis, std::move(bug), "2pc-replicated");
}

std::string field(const RunReport& report, std::string_view name) {
  for (const auto& [key, value] : report.fields)
    if (key == name) return value;
  return "";
}

TEST(TwoPhaseCommit, PassesSwarmSeeds) {
  for (int nodes : {3, 4, 5}) {
    SCOPED_TRACE(std::to_string(nodes) + " nodes");
    expect_every_seed_passes(two_pc(nodes, "swarm"), 100);
  }
}

TEST(TwoPhaseCommit, PassesCrashesOfEveryNodePartitionsAndLoss) {
  expect_every_network_passes("2pc", "crash,crash-leader,partition,pause", 25);
}

TEST(TwoPhaseCommit, ASeedReplaysToTheSameTrace) {
  expect_seeds_replay(two_pc(4, "swarm"), {5, 11});
}

TEST(TwoPhaseCommit, ACoordinatorCrashLeavesPreparedParticipantsBlocked) {
  // Without faults a participant is in doubt for a round trip. When the
  // coordinator crashes after every participant voted commit, they wait
  // until it is back: nobody else knows the outcome. (If one had not voted
  // yet, the cooperative termination protocol lets them abort.)
  SimConfig calm = two_pc(4, "none");
  SimConfig crashes = two_pc(4, "crash-leader");
  long long calm_max = 0, crash_max = 0;
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    calm.seed = crashes.seed = seed;
    auto a = run_simulation(calm);
    auto b = run_simulation(crashes);
    ASSERT_TRUE(a.ok() && b.ok());
    ASSERT_TRUE(a->passed() && b->passed()) << b->failure_details();
    calm_max = std::max(calm_max, std::stoll(field(*a, "blocked_max")));  // "NNNms"
    crash_max = std::max(crash_max, std::stoll(field(*b, "blocked_max")));
  }
  EXPECT_LT(calm_max, 100);
  EXPECT_GE(crash_max, 1000);
}

// ---- each check catches the bug meant for it ------------------------------

TEST(TwoPhaseCommit, CommitSentBeforeItIsDurableIsFound) {
  auto failure = first_failure(two_pc(4, "crash-leader", "commit-before-persist"), 100);
  ASSERT_TRUE(failure.has_value()) << "not found in 100 seeds";
  EXPECT_TRUE(broke(*failure, "durability")) << failure->failure_details();
}

TEST(TwoPhaseCommit, AVoteBeforeThePreparedRecordIsDurableIsFound) {
  auto failure = first_failure(two_pc(4, "crash", "vote-without-persist"), 100);
  ASSERT_TRUE(failure.has_value()) << "not found in 100 seeds";
  EXPECT_TRUE(broke(*failure, "atomicity") || broke(*failure, "conservation"))
      << failure->failure_details();
}

TEST(TwoPhaseCommit, ACommitWithoutEveryVoteIsFound) {
  auto failure = first_failure(two_pc(4, "partition,crash", "commit-on-timeout"), 20);
  ASSERT_TRUE(failure.has_value()) << "not found in 20 seeds";
  EXPECT_TRUE(broke(*failure, "commit-needs-every-yes")) << failure->failure_details();
}

TEST(TwoPhaseCommit, NeverRetryingLeavesLocksHeld) {
  SimConfig c = two_pc(4, "none", "no-retry");
  c.network.model = NetworkConfig::Model::kFairLoss;
  c.network.model_given = true;
  c.network.loss = 0.1;
  auto failure = first_failure(c, 20);
  ASSERT_TRUE(failure.has_value()) << "not found in 20 seeds";
  EXPECT_TRUE(broke(*failure, "locks-released")) << failure->failure_details();
}

// ---- the replicated coordinator ------------------------------------------

TEST(TwoPhaseCommitReplicated, PassesSwarmSeeds) {
  for (int nodes : {5, 6}) {
    SCOPED_TRACE(std::to_string(nodes) + " nodes");
    expect_every_seed_passes(replicated(nodes, "swarm"), 100);
  }
}

TEST(TwoPhaseCommitReplicated, TheBlockingWindowShrinksToAFailover) {
  // The coordinator's leader crashes for 2 s every 4 s or so. Plain 2PC:
  // participants that voted commit just before wait out the whole crash.
  // Replicated: another replica takes over and answers within a failover.
  // One crash at a time: two would take two of the three coordinator
  // replicas, and without a majority the replicated coordinator blocks too.
  long long plain_max = 0, replicated_max = 0;
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    SimConfig c = two_pc(5, "crash-leader");
    c.nemesis.mean_interval = std::chrono::seconds(4);
    c.nemesis.min_fault = c.nemesis.max_fault = std::chrono::seconds(2);
    c.nemesis.max_down = 1;
    c.seed = seed;
    auto plain = run_simulation(c);
    c.protocol = "2pc-replicated";
    auto replicated = run_simulation(c);
    ASSERT_TRUE(plain.ok() && replicated.ok());
    ASSERT_TRUE(plain->passed() && replicated->passed()) << replicated->failure_details();
    plain_max = std::max(plain_max, std::stoll(field(*plain, "blocked_max")));
    replicated_max = std::max(replicated_max, std::stoll(field(*replicated, "blocked_max")));
  }
  EXPECT_GE(plain_max, 1500);
  EXPECT_LT(replicated_max, 1000);
}

TEST(TwoPhaseCommitReplicated, EachBugIsFound) {
  struct Case {
    std::string bug, nemesis;
    std::vector<std::string> checks;
  };
  for (const Case& k : {Case{"commit-before-persist", "crash-leader", {"durability", "atomicity"}},
                        Case{"vote-without-persist", "crash", {"atomicity", "conservation"}},
                        Case{"commit-on-timeout", "partition,crash", {"commit-needs-every-yes"}}}) {
    SCOPED_TRACE(k.bug);
    auto failure = first_failure(replicated(5, k.nemesis, k.bug), 100);
    ASSERT_TRUE(failure.has_value()) << "not found in 100 seeds";
    bool caught = false;
    for (const std::string& check : k.checks)
      caught |= broke(*failure, check);
    EXPECT_TRUE(caught) << failure->failure_details();
  }
}

}  // namespace
}  // namespace synod::sim
