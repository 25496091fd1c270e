#include "synod/sim/sim_disk.h"

#include <gtest/gtest.h>

#include "synod/base/record.h"

namespace synod::sim {
namespace {

TEST(SimDisk, WritesAreVisibleAtOnceAndDurableOnlyAfterSync) {
  SimDisk disk;
  std::vector<SyncId> requested;
  disk.set_sync_requested([&](SyncId id) { requested.push_back(id); });
  disk.append("log", "a");
  SyncId first = disk.sync();
  disk.append("log", "b");
  EXPECT_EQ(disk.read("log"), "ab");
  EXPECT_EQ(requested, std::vector<SyncId>{first});

  disk.complete(first);
  Rng rng(1);
  disk.crash(rng, /*torn_tail=*/0);  // no unsynced bytes survive
  EXPECT_EQ(disk.read("log"), "a");
}

TEST(SimDisk, AnUncompletedSyncProtectsNothing) {
  SimDisk disk;
  disk.append("log", "a");
  disk.sync();
  Rng rng(1);
  disk.crash(rng, 0);
  EXPECT_EQ(disk.read("log"), std::nullopt);
}

TEST(SimDisk, OverwriteIsAllOrNothing) {
  SimDisk disk;
  disk.overwrite("state", "old");
  disk.complete(disk.sync());
  disk.overwrite("state", "new");
  Rng rng(1);
  disk.crash(rng, 1.0);
  EXPECT_EQ(disk.read("state"), "old");
}

TEST(SimDisk, ATornTailIsAPrefixOfTheUnsyncedAppends) {
  // Over many crashes, survivors are always the synced part plus a strict
  // prefix of the unsynced bytes, and sometimes a torn record.
  bool saw_torn = false, saw_clean = false;
  for (uint64_t seed = 0; seed < 200; ++seed) {
    SimDisk disk;
    std::string synced, unsynced;
    append_record(synced, "durable record");
    disk.append("log", synced);
    disk.complete(disk.sync());
    append_record(unsynced, "first unsynced");
    append_record(unsynced, "second unsynced");
    disk.append("log", unsynced);
    Rng rng(seed);
    disk.crash(rng, 1.0);
    std::string after = *disk.read("log");
    ASSERT_GE(after.size(), synced.size());
    ASSERT_LT(after.size(), synced.size() + unsynced.size());
    ASSERT_EQ(after, (synced + unsynced).substr(0, after.size()));
    RecordReader reader(after);
    while (reader.next()) {
    }
    ASSERT_NE(reader.stop(), RecordReader::Stop::kCorrupt);
    (reader.stop() == RecordReader::Stop::kTornTail ? saw_torn : saw_clean) = true;
  }
  EXPECT_TRUE(saw_torn);
  EXPECT_TRUE(saw_clean);
}

TEST(SimDisk, RemoveBecomesDurableWithASync) {
  SimDisk disk;
  disk.append("f", "x");
  disk.complete(disk.sync());
  disk.remove("f");
  EXPECT_EQ(disk.read("f"), std::nullopt);
  Rng rng(1);
  disk.crash(rng, 0);
  EXPECT_EQ(disk.read("f"), "x");  // the remove was never synced
  disk.remove("f");
  disk.complete(disk.sync());
  disk.crash(rng, 0);
  EXPECT_EQ(disk.read("f"), std::nullopt);
  EXPECT_TRUE(disk.list().empty());
}

TEST(SimDisk, AnEmptyUnsyncedAppendSurvivesACrash) {
  SimDisk disk;
  disk.append("log", "");
  Rng rng(1);
  disk.crash(rng, 1.0);
  EXPECT_EQ(disk.read("log").value_or(""), "");
}

}  // namespace
}  // namespace synod::sim
