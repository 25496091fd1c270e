// What the Multi-Paxos issue asks of the simulator: Multi-Paxos passes every
// seed under every network model and fault, with 3 and 5 nodes; each
// injected bug is found within a bounded number of seeds, by the check meant
// to find it; and a seed replays exactly. `synod sim explore --protocol
// multipaxos --seeds 10000` runs more by hand.

#include <gtest/gtest.h>

#include "explore_helpers.h"
#include "synod/sim/simulation.h"

namespace synod::sim {
namespace {

SimConfig multipaxos(int nodes, std::string_view nemesis) {
  return explore_config("multipaxos", nodes, nemesis);
}

// ---- Multi-Paxos passes ---------------------------------------------------

TEST(MultiPaxosExplore, FiveNodesPassSwarmSeeds) {
  expect_every_seed_passes(multipaxos(5, "swarm"), 150);
}

// Seven nodes allow what five do not: two disjoint sets of acceptors, one
// accepting an old leader's value and a majority choosing another.
TEST(MultiPaxosExplore, SevenNodesPassSwarmSeeds) {
  expect_every_seed_passes(multipaxos(7, "swarm"), 50);
}

TEST(MultiPaxosExplore, ThreeNodesPassSwarmSeeds) {
  expect_every_seed_passes(multipaxos(3, "swarm"), 150);
}

TEST(MultiPaxosExplore, PassesEveryFaultOnEveryNetworkModel) {
  expect_every_network_passes(
      "multipaxos",
      "partition-symmetric,partition-oneway,partition-majority,partition-bridge,crash,"
      "crash-stop,pause,skew,crash-leader,pause-leader,partition-leader",
      25);
}

TEST(MultiPaxosExplore, PassesTheLeaderHunt) {
  expect_every_seed_passes(leader_hunt("multipaxos"), 300);
}

TEST(MultiPaxosExplore, ASeedReplaysToTheSameTrace) {
  expect_seeds_replay(multipaxos(5, "swarm"), {3, 17});
}

// ---- each bug is found, by the check meant for it -------------------------

TEST(MultiPaxosExplore, AProposerIgnoringPromisedValuesIsFound) {
  auto failure = first_failure(leader_hunt("multipaxos", "ignore-promised-values"), 200);
  ASSERT_TRUE(failure.has_value()) << "not found in 200 seeds";
  EXPECT_TRUE(broke(*failure, "one-value-per-slot")) << failure->failure_details();
}

TEST(MultiPaxosExplore, AnAcceptorForgettingPromisesIsFound) {
  SimConfig c = multipaxos(5, "swarm");
  c.bug = "forget-promises";
  auto failure = first_failure(c, 200);
  ASSERT_TRUE(failure.has_value()) << "not found in 200 seeds";
  EXPECT_TRUE(broke(*failure, "durability")) << failure->failure_details();
}

TEST(MultiPaxosExplore, ARetriedRequestAppliedTwiceIsFound) {
  SimConfig c = multipaxos(5, "swarm");
  c.bug = "apply-twice";
  auto failure = first_failure(c, 200);
  ASSERT_TRUE(failure.has_value()) << "not found in 200 seeds";
  EXPECT_TRUE(not_linearizable(*failure)) << failure->failure_details();
}

}  // namespace
}  // namespace synod::sim
