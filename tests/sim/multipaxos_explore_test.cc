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

using std::chrono::milliseconds;
using std::chrono::seconds;

SimConfig multipaxos(int nodes, std::string nemesis) {
  SimConfig c;
  c.protocol = "multipaxos";
  c.nodes = nodes;
  c.duration = seconds(30);
  c.nemesis = *NemesisConfig::parse(nemesis);
  return c;
}

// Faults every 200 ms aimed at whoever leads, over slow links: leaders die
// with slots accepted by some acceptors and not others, so every new leader
// has undecided slots to recover.
SimConfig leader_hunt(std::string bug = "") {
  SimConfig c = multipaxos(3, "crash-leader,pause-leader,partition-leader");
  c.nemesis.mean_interval = milliseconds(200);
  c.nemesis.min_fault = milliseconds(50);
  c.nemesis.max_fault = milliseconds(300);
  c.network.model = NetworkConfig::Model::kReliable;
  c.network.model_given = true;
  c.network.delay = *DelayModel::parse("uniform:10ms,50ms");
  c.bug = std::move(bug);
  return c;
}

// ---- Multi-Paxos passes ---------------------------------------------------

TEST(MultiPaxosExplore, FiveNodesPassSwarmSeeds) {
  expect_every_seed_passes(multipaxos(5, "swarm"), 150);
}

TEST(MultiPaxosExplore, ThreeNodesPassSwarmSeeds) {
  expect_every_seed_passes(multipaxos(3, "swarm"), 150);
}

TEST(MultiPaxosExplore, PassesEveryFaultOnEveryNetworkModel) {
  const std::string every_fault =
      "partition-symmetric,partition-oneway,partition-majority,partition-bridge,crash,"
      "crash-stop,pause,skew,crash-leader,pause-leader,partition-leader";
  for (auto model : {NetworkConfig::Model::kReliable, NetworkConfig::Model::kFairLoss,
                     NetworkConfig::Model::kArbitrary}) {
    for (int nodes : {3, 5}) {
      SimConfig c = multipaxos(nodes, every_fault);
      c.network.model = model;
      c.network.model_given = true;
      c.network.loss = 0.1;
      c.network.duplicate = 0.05;
      c.clock.max_drift = 1e-3;
      SCOPED_TRACE(std::string(NetworkConfig::model_name(model)) + ", " + std::to_string(nodes) +
                   " nodes");
      expect_every_seed_passes(c, 25);
    }
  }
}

TEST(MultiPaxosExplore, PassesTheLeaderHunt) {
  expect_every_seed_passes(leader_hunt(), 300);
}

TEST(MultiPaxosExplore, ASeedReplaysToTheSameTrace) {
  expect_seeds_replay(multipaxos(5, "swarm"), {3, 17});
}

// ---- each bug is found, by the check meant for it -------------------------

TEST(MultiPaxosExplore, AProposerIgnoringPromisedValuesIsFound) {
  auto failure = first_failure(leader_hunt("ignore-promised-values"), 200);
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
