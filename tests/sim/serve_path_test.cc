// The path synod serve's requests take, run by the simulator: clients that
// leave each request to one member (as etcd's clients do), members that pass
// writes on to the leader, try them again while no leader is known, and send
// them again when the leader changes. A copy may reach the log twice; the
// member's session applies it once. And every request a member holds is
// answered by its deadline, however many leaders come and go.

#include <gtest/gtest.h>

#include "explore_helpers.h"
#include "synod/sim/simulation.h"

namespace synod::sim {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// The faults that make a member try a write again: the leader deaf (a
// one-way partition), cut off, paused or crashed, every 300 ms on average,
// over slow links, so a leader often falls after its followers took a write
// and before they learned it committed.
SimConfig retries(std::string protocol) {
  SimConfig c = explore_config(std::move(protocol), 5,
                               "partition-oneway,partition-leader,pause-leader,crash-leader");
  c.nemesis.mean_interval = milliseconds(300);
  c.nemesis.min_fault = milliseconds(50);
  c.nemesis.max_fault = milliseconds(500);
  c.network.model = NetworkConfig::Model::kReliable;
  c.network.model_given = true;
  c.network.delay = *DelayModel::parse("uniform:10ms,50ms");
  c.workload.through_member = 1;
  c.workload.clients = 12;
  c.workload.keys = 1;
  return c;
}

TEST(ServePath, RaftAppliesEveryRetriedWriteOnce) {
  expect_every_seed_passes(retries("raft"), 50);
}

TEST(ServePath, MultiPaxosAppliesEveryRetriedWriteOnce) {
  expect_every_seed_passes(retries("multipaxos"), 50);
}

// The bug: a member's copy goes out under a new number, so the session
// cannot tell it from a new write (what a request with no session was).
TEST(ServePath, ARetryUnderANewNumberIsFoundAppliedTwice) {
  for (std::string protocol : {"raft", "multipaxos"}) {
    SimConfig c = retries(protocol);
    c.bug = "retry-under-new-number";
    auto failure = first_failure(c, 150);
    ASSERT_TRUE(failure.has_value()) << protocol << ": not found in 150 seeds";
    EXPECT_TRUE(not_linearizable(*failure)) << protocol << "\n" << failure->failure_details();
  }
}

// Leadership handed over, leaders crashed and cut off, seven times a second,
// under load: every request each member held is answered and forgotten once
// the clients stop.
SimConfig leader_churn() {
  SimConfig c = explore_config("raft", 3, "transfer,crash-leader,partition-leader");
  c.duration = seconds(360);
  c.nemesis.mean_interval = milliseconds(150);
  c.nemesis.min_fault = milliseconds(50);
  c.nemesis.max_fault = milliseconds(300);
  c.workload.clients = 20;
  c.workload.stop_before_end = seconds(5);
  return c;
}

TEST(ServePath, ThousandsOfLeaderChangesLeaveNothingWaiting) {
  SimConfig c = leader_churn();
  c.seed = 1;
  auto report = run_simulation(c);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->passed()) << report->summary_line() << "\n" << report->failure_details();
  uint64_t leaders = 0;
  for (const auto& [name, value] : report->fields)
    if (name == "leaders") leaders = std::stoull(value);
  EXPECT_GE(leaders, 1000u) << report->summary_line();
  EXPECT_GT(report->ops_ok, 10'000u) << report->summary_line();
}

TEST(ServePath, RequestsWithNoDeadlineAreFoundWaiting) {
  SimConfig c = explore_config("raft", 5, "transfer,crash-leader,partition-leader,membership");
  c.workload.clients = 20;
  c.workload.stop_before_end = seconds(5);
  c.bug = "requests-wait-forever";
  auto failure = first_failure(c, 20);
  ASSERT_TRUE(failure.has_value()) << "not found in 20 seeds";
  EXPECT_TRUE(broke(*failure, "waiting-drained")) << failure->failure_details();
  c.bug.clear();
  expect_every_seed_passes(c, 10);
}

}  // namespace
}  // namespace synod::sim
