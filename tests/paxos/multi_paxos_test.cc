// Multi-Paxos scenarios driven by hand: each sets up, message by message, a
// situation the simulator's random schedules reach rarely or never (seven
// nodes, a crash between two particular writes), and checks that it ends
// safely and makes progress. Each failed before the fix it names.

#include <gtest/gtest.h>

#include "paxos/cluster.h"
#include "synod/paxos/paxos_store.h"

namespace synod::paxos::testing {
namespace {

using Role = MultiPaxosEngine::Role;

MultiPaxosOptions unbatched() {
  MultiPaxosOptions o;
  o.batch = false;  // the cluster does not run the engine's flush timer
  o.snapshot_every = 0;
  o.snapshot_keep = 0;
  return o;
}

// Fix: promises carry the values of slots the acceptor knows chosen. Before,
// they carried only the chosen prefix's end, and a new leader waited for a
// catch-up from that acceptor; when it died, the leader waited forever with
// a healthy majority. The read at the end also needs heartbeats to raise
// promises: node 2 never saw node 1's prepare, and only an acceptor that
// promised the leader's ballot confirms it.
TEST(MultiPaxos, ANewLeaderLearnsWhatOnlyADeadNodeKnewChosen) {
  Cluster c(3, unbatched());
  ASSERT_TRUE(c.elect(0));
  ASSERT_FALSE(c.e(0).propose(c.env(0), "a"));
  c.run_all();
  ASSERT_EQ(c.e(0).chosen_upto(), 1u);
  ASSERT_EQ(c.e(1).chosen_upto(), 0u);  // no heartbeat yet: only 0 knows
  // Node 1 takes over with node 0's promise (node 2's is lost), and learns
  // slot 1 from it at once; node 0 dies before any catch-up.
  ASSERT_TRUE(c.tick_until_candidate(1));
  c.run([](const Sent& m) {
    return within({0, 1})(m) && !m.parsed().has_catch_up() && !m.parsed().has_chosen();
  });
  ASSERT_EQ(c.e(1).role(), Role::kLeader);
  EXPECT_EQ(c.e(1).chosen_upto(), 1u);
  c.crash(0, 0.0, 1);
  ASSERT_FALSE(c.e(1).read(c.env(1), 77));
  for (int i = 0; i < 200; ++i) {
    c.tick(1);
    c.tick(2);
    c.run_all();
  }
  EXPECT_GE(c.e(1).chosen_upto(), 1u);
  EXPECT_EQ(c.applier(1).applied[1], "a");
  EXPECT_EQ(c.applier(1).reads_ready, std::vector<uint64_t>{77});
}

// Fix: a leader that cannot learn slots known chosen when it took over runs
// phase 1 again. Here the only node that knew them had compacted them into a
// snapshot (so its promise could not carry them) and died; the two left
// hold the values as accepted, which a new phase 1 recovers.
TEST(MultiPaxos, ALeaderThatCannotCatchUpRunsPhaseOneAgain) {
  MultiPaxosOptions o = unbatched();
  o.snapshot_every = 2;
  Cluster c(3, o);
  ASSERT_TRUE(c.elect(0));
  // Three commands accepted everywhere, their commit index never sent.
  for (std::string command : {"a", "b", "c"})
    ASSERT_FALSE(c.e(0).propose(c.env(0), command));
  c.run([](const Sent& m) { return !m.parsed().has_heartbeat(); });
  c.sync_all();  // node 0's snapshot is durable: it compacts
  ASSERT_EQ(c.e(0).chosen_upto(), 3u);
  ASSERT_GE(c.e(0).snapshot_slot(), 2u);
  ASSERT_EQ(c.e(1).chosen_upto(), 0u);
  ASSERT_EQ(c.e(2).chosen_upto(), 0u);
  // Node 1 takes over with node 0's promise (node 2's is lost); node 0 dies
  // before answering a catch-up.
  ASSERT_TRUE(c.tick_until_candidate(1));
  c.run([](const Sent& m) {
    return within({0, 1})(m) && !m.parsed().has_catch_up() && !m.parsed().has_chosen();
  });
  ASSERT_EQ(c.e(1).role(), Role::kLeader);
  c.crash(0, 0.0, 1);
  ASSERT_EQ(c.e(1).chosen_upto(), 0u);  // the values were compacted away at node 0
  for (int i = 0; i < 500 && c.e(1).chosen_upto() < 3; ++i) {
    c.tick(1);
    c.tick(2);
    c.run_all();
  }
  EXPECT_EQ(c.e(1).chosen_upto(), 3u);
  EXPECT_EQ(c.applier(1).applied[1], "a");
  EXPECT_EQ(c.applier(1).applied[3], "c");
}

// Fix: no chosen-prefix record while a snapshot is not durable. An installed
// snapshot moves the prefix past slots whose held values were never chosen;
// a crash could keep the record (appended to the log) and lose the snapshot
// (its own file), and recovery would then take such a value as chosen.
TEST(MultiPaxos, ACrashDuringASnapshotInstallNeverMakesAValueChosen) {
  MultiPaxosOptions o = unbatched();
  o.snapshot_every = 5;
  o.snapshot_keep = 1;
  Cluster c(5, o);
  ASSERT_TRUE(c.elect(0));
  ASSERT_FALSE(c.e(0).propose(c.env(0), "X"));
  c.run(within({0, 4}));  // X accepted by nodes 0 and 4 only: not chosen
  ASSERT_NE(c.e(4).slot(1), nullptr);
  c.crash(0, 0.0, 1);
  // Node 1 leads with 2 and 3 and chooses six commands, slot 1 among them.
  ASSERT_TRUE(c.tick_until_candidate(1));
  c.run(within({1, 2, 3}));
  ASSERT_EQ(c.e(1).role(), Role::kLeader);
  for (int i = 1; i <= 6; ++i) {
    ASSERT_FALSE(c.e(1).propose(c.env(1), "c" + std::to_string(i)));
    c.run(within({1, 2, 3}));
  }
  ASSERT_GE(c.e(1).snapshot_slot(), 5u);
  // Node 4 hears a heartbeat, asks for a catch-up and gets the snapshot.
  c.net.clear();
  for (int k = 0; k < 10 && c.net.empty(); ++k)
    c.tick(1);
  std::erase_if(c.net, [](const Sent& m) { return m.to != 4; });
  ASSERT_FALSE(c.net.empty());
  c.sync_all();
  c.deliver_at(0);  // heartbeat: node 4 asks node 1 for a catch-up
  c.sync(4);
  std::erase_if(c.net, [](const Sent& m) { return !m.parsed().has_catch_up(); });
  ASSERT_EQ(c.net.size(), 1u);
  c.deliver_at(0);  // node 1 answers with its snapshot
  std::erase_if(c.net, [](const Sent& m) { return !m.parsed().has_snapshot(); });
  ASSERT_EQ(c.net.size(), 1u);
  c.deliver_at(0);  // node 4 installs it; its sync is still pending
  ASSERT_GT(c.pending_syncs(4), 0u);
  // One more write reaches node 4's log before the sync completes.
  c.net.clear();
  ASSERT_FALSE(c.e(1).propose(c.env(1), "c7"));
  std::erase_if(c.net, [](const Sent& m) { return m.to != 4; });
  ASSERT_EQ(c.net.size(), 1u);
  c.deliver_at(0);
  // Whatever a crash keeps now, slot 1 must not come back chosen as X.
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    sim::SimDisk disk = c.disk(4);
    Rng rng(seed);
    disk.crash(rng, 1.0);
    PaxosStore store;
    auto recovered = store.recover(disk);
    ASSERT_TRUE(recovered.ok()) << recovered.status();
    auto slot = recovered->slots.find(1);
    EXPECT_FALSE(slot != recovered->slots.end() && slot->second.chosen() &&
                 slot->second.value().command() == "X")
        << "crash seed " << seed << ": X recovered as chosen for slot 1, where c1 was chosen";
  }
}

// A leader outranked in a slot it proposed must not tell acceptors holding its
// proposal that it is chosen. Seven nodes: 0 and 2 accept P while 3..6
// choose V. Two fixes guard it: heartbeats raise promises (node 1, having
// heard node 3, refuses node 0), and a leader that learns its slot chosen
// with another value steps down (the next test).
TEST(MultiPaxos, AStaleLeaderNeverTellsAnAcceptorItsOutrankedValueIsChosen) {
  Cluster c(7, unbatched());
  ASSERT_TRUE(c.elect(0));
  ASSERT_FALSE(c.e(0).propose(c.env(0), "P"));
  c.run(within({0, 2}));  // P accepted by 0 and 2 only
  // Node 3 leads a higher ballot with 4, 5 and 6 and chooses V for slot 1.
  ASSERT_TRUE(c.tick_until_candidate(3));
  c.run(within({3, 4, 5, 6}));
  ASSERT_EQ(c.e(3).role(), Role::kLeader);
  ASSERT_FALSE(c.e(3).propose(c.env(3), "V"));
  c.run(within({3, 4, 5, 6}));
  ASSERT_EQ(c.e(3).chosen_upto(), 1u);
  // Node 1 hears node 3 and catches up.
  c.net.clear();
  for (int k = 0; k < 10 && c.net.empty(); ++k)
    c.tick(3);
  std::erase_if(c.net, [](const Sent& m) { return m.to != 1; });
  c.run(within({1, 3}));
  ASSERT_EQ(c.e(1).chosen_upto(), 1u);
  // The old leader hears only node 1, and catches up from it.
  c.net.clear();
  for (int k = 0; k < 10 && c.net.empty(); ++k)
    c.tick(0);
  std::erase_if(c.net, [](const Sent& m) { return m.to != 1; });
  c.run(within({0, 1}));
  ASSERT_EQ(c.e(0).chosen_upto(), 1u);
  EXPECT_NE(c.e(0).role(), Role::kLeader);
  // Whatever node 0 sends node 2 now, node 2 must not take P as chosen.
  for (int k = 0; k < 10; ++k) {
    c.tick(0);
    c.run(within({0, 2}));
  }
  const SlotState* slot = c.e(2).slot(1);
  ASSERT_NE(slot, nullptr);
  EXPECT_FALSE(slot->chosen() && slot->value().command() == "P")
      << "node 2 learned P; V was chosen";
  EXPECT_NE(c.applier(2).applied[1], "P");
}

// Fix: a leader that learns a slot it proposed was chosen with another value
// (so a higher ballot has led) steps down. Before, it kept leading, and its
// commit index told an acceptor holding its outranked proposal that it was
// chosen. The news arrives here from an acceptor that learned V by catch-up
// without promising the higher ballot.
TEST(MultiPaxos, ALeaderThatLearnsItsSlotChosenOtherwiseStepsDown) {
  Cluster c(5, unbatched());
  ASSERT_TRUE(c.elect(0));
  ASSERT_FALSE(c.e(0).propose(c.env(0), "P"));
  c.run(within({0, 2}));  // P accepted by 0 and 2 only
  wire::PaxosMessage news;
  *news.mutable_ballot() = c.e(0).ballot().to_wire();
  news.set_chosen_upto(1);
  SlotState* v = news.mutable_chosen()->add_slots();
  v->set_slot(1);
  *v->mutable_ballot() = Ballot{c.e(0).ballot().round + 1, 3}.to_wire();
  v->mutable_value()->set_command("V");
  v->set_chosen(true);
  c.net.clear();
  c.net.push_back({1, 0, news.SerializeAsString()});
  c.deliver_at(0);
  EXPECT_NE(c.e(0).role(), Role::kLeader);
  for (int k = 0; k < 20; ++k) {
    c.tick(0);
    c.run(within({0, 2}));
  }
  const SlotState* slot = c.e(2).slot(1);
  ASSERT_NE(slot, nullptr);
  EXPECT_FALSE(slot->chosen() && slot->value().command() == "P")
      << "node 2 learned P; V was chosen";
}

}  // namespace
}  // namespace synod::paxos::testing
