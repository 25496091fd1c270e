// LogStore on the simulator's disk: what survives a crash, what a torn or
// lost write does to recovery, and what damage stops a node.

#include "synod/raft/log_store.h"

#include <gtest/gtest.h>

#include "raft/cluster.h"
#include "synod/sim/sim_disk.h"

namespace synod::raft {
namespace {

using testing::entry;

// A Ready points into a node's log; here, into the test's own entries.
std::vector<const Entry*> pointers(const std::vector<Entry>& entries) {
  std::vector<const Entry*> out;
  for (const Entry& e : entries)
    out.push_back(&e);
  return out;
}

struct Node {
  sim::SimDisk disk;
  LogStore store{LogStore::Options{.segment_bytes = 1 << 20}};

  void write(const std::vector<Entry>& entries, std::optional<HardState> hs = std::nullopt) {
    Ready rd;
    rd.entries = pointers(entries);
    rd.hard_state = std::move(hs);
    store.write(disk, rd);
  }
  // Syncs and completes the sync (durable).
  void sync() {
    SyncId id = store.sync(disk);
    disk.complete(id);
    store.on_synced(disk, id);
  }
  void crash(double torn_tail, uint64_t seed = 1) {
    Rng rng(seed);
    disk.crash(rng, torn_tail);
  }
  Recovered recover() {
    store = LogStore(LogStore::Options{.segment_bytes = 1 << 20});
    auto r = store.recover(disk);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : Recovered{};
  }
};

HardState hard_state(Term term, Index commit, std::optional<NodeId> vote = std::nullopt) {
  HardState hs;
  hs.set_term(term);
  hs.set_commit(commit);
  if (vote) hs.set_vote(*vote);
  return hs;
}

std::vector<std::pair<Index, Term>> ids(const std::vector<Entry>& entries) {
  std::vector<std::pair<Index, Term>> out;
  for (const Entry& e : entries)
    out.emplace_back(e.index(), e.term());
  return out;
}

Snapshot snapshot_at(Index index, Term term, std::string data) {
  Snapshot s;
  s.meta.set_index(index);
  s.meta.set_term(term);
  s.meta.mutable_membership()->add_voters(0);
  s.data = std::make_shared<const std::string>(std::move(data));
  return s;
}

TEST(LogStore, WhatWasSyncedSurvivesACrash) {
  Node n;
  n.write({entry(1, 1, "a"), entry(2, 1, "b")}, hard_state(1, 2, 0));
  n.sync();
  n.crash(0);
  Recovered r = n.recover();
  EXPECT_EQ(ids(r.entries), (std::vector<std::pair<Index, Term>>{{1, 1}, {2, 1}}));
  EXPECT_EQ(r.entries[1].data(), "b");
  EXPECT_EQ(r.hard_state.term(), 1u);
  EXPECT_EQ(r.hard_state.vote(), 0u);
  EXPECT_EQ(r.hard_state.commit(), 2u);
  EXPECT_FALSE(r.snapshot.has_value());
}

TEST(LogStore, WhatWasNotSyncedIsLost) {
  Node n;
  n.write({entry(1, 1)}, hard_state(1, 0));
  n.sync();
  n.write({entry(2, 1), entry(3, 1)}, hard_state(1, 1));
  n.crash(0);  // no torn tails: the unsynced append is gone entirely
  Recovered r = n.recover();
  EXPECT_EQ(ids(r.entries), (std::vector<std::pair<Index, Term>>{{1, 1}}));
  EXPECT_EQ(r.hard_state.commit(), 0u);
}

TEST(LogStore, AnEntryAtOrBelowTheLastReplacesTheSuffix) {
  Node n;
  n.write({entry(1, 1), entry(2, 1), entry(3, 1), entry(4, 1)});
  n.write({entry(3, 2), entry(4, 2), entry(5, 2)}, hard_state(2, 0));
  n.sync();
  EXPECT_EQ(ids(n.recover().entries),
            (std::vector<std::pair<Index, Term>>{{1, 1}, {2, 1}, {3, 2}, {4, 2}, {5, 2}}));
}

TEST(LogStore, ATornTailIsCutOffAndTheLogGoesOn) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    Node n;
    n.write({entry(1, 1, "synced")}, hard_state(1, 1));
    n.sync();
    n.write({entry(2, 1, std::string(300, 'x')), entry(3, 1, std::string(300, 'y'))});
    n.crash(1.0, seed);  // a prefix of the unsynced bytes survives
    Recovered r = n.recover();
    ASSERT_GE(r.entries.size(), 1u);
    ASSERT_LE(r.entries.size(), 3u);
    // The repaired log takes appends again and reads back whole.
    Index next = r.entries.back().index() + 1;
    n.write({entry(next, 1, "after")});
    n.sync();
    Recovered again = n.recover();
    ASSERT_EQ(again.entries.size(), r.entries.size() + 1) << "seed " << seed;
    EXPECT_EQ(again.entries.back().data(), "after");
  }
}

TEST(LogStore, DamageBeforeTheTailIsRefused) {
  Node n;
  n.write({entry(1, 1, "one"), entry(2, 1, "two"), entry(3, 1, "three")}, hard_state(1, 3));
  n.sync();
  std::vector<std::string> files = n.disk.list();
  std::string segment;
  for (const auto& f : files)
    if (f.rfind(LogStore::kSegmentPrefix, 0) == 0) segment = f;
  ASSERT_FALSE(segment.empty());
  std::string bytes = *n.disk.read(segment);
  bytes[bytes.size() / 3] ^= 0x40;  // a flipped bit in the middle
  n.disk.overwrite(segment, bytes);
  LogStore store({});
  auto r = store.recover(n.disk);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(r.status().message().find("corrupt"), std::string_view::npos) << r.status();
}

TEST(LogStore, AnInstalledSnapshotStartsTheLogAgain) {
  Node n;
  n.write({entry(1, 1), entry(2, 1)}, hard_state(1, 2));
  n.sync();
  Ready rd;
  rd.snapshot = snapshot_at(100, 3, "state@100");
  std::vector<Entry> entries = {entry(101, 3)};
  rd.entries = pointers(entries);
  rd.hard_state = hard_state(3, 100);
  n.store.write(n.disk, rd);
  n.sync();
  Recovered r = n.recover();
  ASSERT_TRUE(r.snapshot.has_value());
  EXPECT_EQ(r.snapshot->meta.index(), 100u);
  EXPECT_EQ(*r.snapshot->data, "state@100");
  EXPECT_EQ(ids(r.entries), (std::vector<std::pair<Index, Term>>{{101, 3}}));
  EXPECT_EQ(n.store.segment_count(), 1u) << "the old segments went once the snapshot was durable";
}

// A snapshot interrupted by a crash: the snapshot's write is lost, but part
// of the log after its restart marker survives. Recovery must not see a gap:
// it cuts at the marker and keeps the old log.
TEST(LogStore, ASnapshotInstallInterruptedByACrashLeavesTheOldLog) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    Node n;
    n.write({entry(1, 1), entry(2, 1)}, hard_state(1, 2));
    n.sync();
    Ready rd;
    rd.snapshot = snapshot_at(100, 3, "state@100");
    std::vector<Entry> entries = {entry(101, 3), entry(102, 3)};
    rd.entries = pointers(entries);
    rd.hard_state = hard_state(3, 100);
    n.store.write(n.disk, rd);
    n.crash(1.0, seed);
    Recovered r = n.recover();
    EXPECT_FALSE(r.snapshot.has_value()) << "seed " << seed;
    EXPECT_EQ(ids(r.entries), (std::vector<std::pair<Index, Term>>{{1, 1}, {2, 1}}));
    EXPECT_EQ(r.hard_state.term(), 1u);
  }
}

TEST(LogStore, AnOwnSnapshotInterruptedByACrashLeavesTheWholeLog) {
  Node n;
  std::vector<Entry> entries;
  for (Index i = 1; i <= 50; ++i)
    entries.push_back(entry(i, 1, "v" + std::to_string(i)));
  n.write(entries, hard_state(1, 50));
  n.sync();
  n.store.save_snapshot(n.disk, snapshot_at(40, 1, "state@40"), 40);
  n.crash(0.5);  // before any sync: the snapshot is lost
  Recovered r = n.recover();
  EXPECT_FALSE(r.snapshot.has_value());
  EXPECT_EQ(r.entries.size(), 50u);
}

TEST(LogStore, CompactionRemovesOnlyCoveredSegmentsAndOnlyOnceDurable) {
  Node n;
  n.store = LogStore(LogStore::Options{.segment_bytes = 256});
  for (Index i = 1; i <= 60; ++i)
    n.write({entry(i, 1, std::string(40, 'x'))}, hard_state(1, i));
  n.sync();
  size_t before = n.store.segment_count();
  ASSERT_GT(before, 5u);
  n.store.save_snapshot(n.disk, snapshot_at(50, 1, "state@50"), 45);
  EXPECT_EQ(n.store.segment_count(), before) << "nothing goes before the snapshot is durable";
  n.sync();
  EXPECT_LT(n.store.segment_count(), before);
  LogStore fresh(LogStore::Options{.segment_bytes = 256});
  auto r = fresh.recover(n.disk);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE(r->snapshot.has_value());
  EXPECT_EQ(r->snapshot->meta.index(), 50u);
  ASSERT_FALSE(r->entries.empty());
  EXPECT_EQ(r->entries.front().index(), 51u);
  EXPECT_EQ(r->entries.back().index(), 60u);
  EXPECT_EQ(r->hard_state.commit(), 60u) << "each segment starts with the current hard state";
}

TEST(LogStore, ATruncationBelowTheSnapshotDropsWhatItReplaced) {
  // Entries 1..8 of term 1, then a new leader replaces 4.. with 4..6 of term
  // 2, and later a snapshot covers 6: the stale term-1 entries 7 and 8 must
  // not come back after recovery.
  Node n;
  std::vector<Entry> old;
  for (Index i = 1; i <= 8; ++i)
    old.push_back(entry(i, 1));
  n.write(old);
  n.write({entry(4, 2), entry(5, 2), entry(6, 2)}, hard_state(2, 6));
  n.sync();
  n.store.save_snapshot(n.disk, snapshot_at(6, 2, "state@6"), 6);
  n.sync();
  Recovered r = n.recover();
  EXPECT_TRUE(r.entries.empty()) << "stale entries came back: " << r.entries.size();
}

}  // namespace
}  // namespace synod::raft
