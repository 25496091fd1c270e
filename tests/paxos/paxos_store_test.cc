// PaxosStore on the simulator's disk: what survives a crash, how a torn tail
// and a compaction interrupted by a crash recover, and what damage stops a
// node.

#include "synod/paxos/paxos_store.h"

#include <gtest/gtest.h>

#include "synod/sim/sim_disk.h"

namespace synod::paxos {
namespace {

SlotState accepted(Slot s, Ballot b, std::string command, bool chosen = false) {
  SlotState state;
  state.set_slot(s);
  *state.mutable_ballot() = b.to_wire();
  state.mutable_value()->set_command(std::move(command));
  state.set_chosen(chosen);
  return state;
}

struct Node {
  sim::SimDisk disk;
  PaxosStore store;

  SyncId sync() {
    SyncId id = store.sync(disk);
    disk.complete(id);
    return id;
  }
  void crash(double torn_tail, uint64_t seed = 1) {
    Rng rng(seed);
    disk.crash(rng, torn_tail);
  }
  Recovered recover() {
    store = PaxosStore();
    auto r = store.recover(disk);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : Recovered{};
  }
};

TEST(PaxosStore, KeepsWhatWasSynced) {
  Node n;
  n.store.promise({3, 1});
  n.store.slot(accepted(1, {3, 1}, "a"));
  n.store.slot(accepted(2, {3, 1}, "b"));
  n.store.chosen_upto(1);
  n.sync();
  n.store.slot(accepted(3, {3, 1}, "lost"));
  n.store.write(n.disk);
  n.crash(0);
  Recovered r = n.recover();
  EXPECT_EQ(r.promised, (Ballot{3, 1}));
  ASSERT_EQ(r.slots.size(), 2u);
  EXPECT_TRUE(r.slots.at(1).chosen());
  EXPECT_FALSE(r.slots.at(2).chosen());
  EXPECT_EQ(r.slots.at(2).value().command(), "b");
}

TEST(PaxosStore, ALaterRecordOfASlotReplacesTheEarlierOne) {
  Node n;
  n.store.slot(accepted(1, {1, 0}, "old"));
  n.store.slot(accepted(1, {2, 1}, "new"));
  n.sync();
  Recovered r = n.recover();
  EXPECT_EQ(r.slots.at(1).value().command(), "new");
  // Accepting in a ballot promises it too.
  EXPECT_EQ(r.promised, (Ballot{2, 1}));
}

TEST(PaxosStore, AChosenSlotKeepsItsValueWhenAcceptedAgain) {
  Node n;
  n.store.slot(accepted(1, {1, 0}, "v", /*chosen=*/true));
  n.store.slot(accepted(1, {4, 2}, "v"));
  n.sync();
  Recovered r = n.recover();
  EXPECT_TRUE(r.slots.at(1).chosen());
  EXPECT_EQ(ballot_of(r.slots.at(1)), (Ballot{4, 2}));
}

TEST(PaxosStore, ATornTailIsCutOffAndTheRestKept) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    Node n;
    n.store.slot(accepted(1, {1, 0}, "kept"));
    n.sync();
    n.store.slot(accepted(2, {1, 0}, std::string(200, 'x')));
    n.store.write(n.disk);
    n.crash(1.0, seed);
    Recovered r = n.recover();
    ASSERT_TRUE(r.slots.count(1)) << "seed " << seed;
    EXPECT_EQ(r.slots.at(1).value().command(), "kept");
    // Recovery repaired the file: appending after it works.
    n.store.slot(accepted(3, {1, 0}, "after"));
    n.sync();
    EXPECT_TRUE(n.recover().slots.count(3)) << "seed " << seed;
  }
}

TEST(PaxosStore, DamageInTheMiddleIsRefused) {
  Node n;
  n.store.slot(accepted(1, {1, 0}, "first"));
  n.store.slot(accepted(2, {1, 0}, "second"));
  n.sync();
  std::string log = *n.disk.read(PaxosStore::kLogFile);
  log[10] ^= 0x40;  // inside the first record
  n.disk.overwrite(PaxosStore::kLogFile, log);
  n.store = PaxosStore();
  auto r = n.store.recover(n.disk);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("corrupt"), std::string_view::npos) << r.status();
}

TEST(PaxosStore, ADamagedSnapshotIsRefused) {
  Node n;
  n.store.save_snapshot(n.disk, 10, "state");
  n.sync();
  std::string file = *n.disk.read(PaxosStore::kSnapshotFile);
  file.back() ^= 1;
  n.disk.overwrite(PaxosStore::kSnapshotFile, file);
  n.store = PaxosStore();
  EXPECT_FALSE(n.store.recover(n.disk).ok());
}

TEST(PaxosStore, CompactionWaitsForTheSnapshotToBeDurable) {
  Node n;
  for (Slot s = 1; s <= 10; ++s)
    n.store.slot(accepted(s, {1, 0}, "v" + std::to_string(s), true));
  n.sync();
  n.store.save_snapshot(n.disk, 8, "state at 8");
  SyncId id = n.store.sync(n.disk);
  EXPECT_FALSE(n.store.compaction_due(id - 1));
  // The sync has not completed: a crash keeps the old snapshot (none) and
  // the whole log.
  n.crash(0);
  Recovered before = n.recover();
  EXPECT_EQ(before.snapshot, nullptr);
  EXPECT_EQ(before.slots.size(), 10u);
}

TEST(PaxosStore, ARewriteKeepsOnlyWhatItIsGivenAndSurvivesACrash) {
  Node n;
  for (Slot s = 1; s <= 10; ++s)
    n.store.slot(accepted(s, {1, 0}, "v" + std::to_string(s), true));
  n.store.save_snapshot(n.disk, 8, "state at 8");
  SyncId id = n.sync();
  ASSERT_TRUE(n.store.compaction_due(id));
  EXPECT_FALSE(n.store.compaction_due(id));  // once
  std::map<Slot, SlotState> kept;
  for (Slot s = 7; s <= 10; ++s)
    kept[s] = accepted(s, {1, 0}, "v" + std::to_string(s), true);
  n.store.rewrite(n.disk, {5, 2}, kept, 10);
  n.sync();
  n.crash(0);
  Recovered r = n.recover();
  ASSERT_NE(r.snapshot, nullptr);
  EXPECT_EQ(*r.snapshot, "state at 8");
  EXPECT_EQ(r.snapshot_slot, 8u);
  EXPECT_EQ(r.promised, (Ballot{5, 2}));
  // Slots the snapshot covers are not handed back.
  ASSERT_EQ(r.slots.size(), 2u);
  EXPECT_TRUE(r.slots.count(9) && r.slots.count(10));
}

TEST(PaxosStore, AnUnsyncedRewriteLeavesTheOldLog) {
  Node n;
  n.store.slot(accepted(1, {1, 0}, "a"));
  n.store.slot(accepted(2, {1, 0}, "b"));
  n.sync();
  n.store.rewrite(n.disk, {1, 0}, {}, 0);
  n.crash(0);
  EXPECT_EQ(n.recover().slots.size(), 2u);
}

}  // namespace
}  // namespace synod::paxos
