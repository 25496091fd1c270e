// Single-decree Paxos in the simulator: agreement and termination under every
// fault, each injected bug found by the check meant for it, and the
// termination check shown able to fail.

#include <gtest/gtest.h>

#include "explore_helpers.h"
#include "synod/sim/simulation.h"

namespace synod::sim {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

SimConfig paxos(int nodes, std::string nemesis) {
  SimConfig c;
  c.protocol = "paxos";
  c.nodes = nodes;
  c.duration = seconds(20);
  c.nemesis = *NemesisConfig::parse(nemesis);
  return c;
}

// Crashes and pauses every 100 ms over slow links, while the proposers duel.
SimConfig storm(std::string bug = "") {
  SimConfig c = paxos(3, "crash,pause");
  c.duration = seconds(10);
  c.nemesis.mean_interval = milliseconds(100);
  c.nemesis.min_fault = milliseconds(20);
  c.nemesis.max_fault = milliseconds(200);
  c.network.model = NetworkConfig::Model::kReliable;
  c.network.model_given = true;
  c.network.delay = *DelayModel::parse("uniform:10ms,50ms");
  c.bug = std::move(bug);
  return c;
}

TEST(PaxosExplore, FiveNodesPassSwarmSeeds) {
  expect_every_seed_passes(paxos(5, "swarm"), 200);
}

TEST(PaxosExplore, ThreeNodesPassSwarmSeeds) {
  expect_every_seed_passes(paxos(3, "swarm"), 200);
}

TEST(PaxosExplore, PassesTheStorm) {
  expect_every_seed_passes(storm(), 200);
}

TEST(PaxosExplore, ASeedReplaysToTheSameTrace) {
  expect_seeds_replay(storm(), {4, 9});
}

TEST(PaxosExplore, AProposerIgnoringPromisedValuesIsFound) {
  auto failure = first_failure(storm("ignore-promised-values"), 100);
  ASSERT_TRUE(failure.has_value()) << "not found in 100 seeds";
  EXPECT_TRUE(broke(*failure, "one-value-per-slot")) << failure->failure_details();
}

TEST(PaxosExplore, AnAcceptorForgettingPromisesIsFound) {
  auto failure = first_failure(storm("forget-promises"), 100);
  ASSERT_TRUE(failure.has_value()) << "not found in 100 seeds";
  EXPECT_TRUE(broke(*failure, "durability")) << failure->failure_details();
}

TEST(PaxosExplore, TerminationFailsWithoutAMajority) {
  // Two of three nodes stopped for good before anything is decided: the
  // third can never decide, and the check says so.
  SimConfig c = paxos(3, "none");
  for (NodeId n : {0u, 1u})
    c.nemesis.script.push_back(
        {.at = seconds(0), .action = ScriptedFault::Action::kStop, .node = n});
  c.seed = 1;
  auto report = run_simulation(c);
  ASSERT_TRUE(report.ok());
  EXPECT_FALSE(report->passed());
  EXPECT_TRUE(broke(*report, "termination")) << report->failure_details();
}

}  // namespace
}  // namespace synod::sim
