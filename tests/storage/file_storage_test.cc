// FileStorage on real files: the Storage contract (visible at once, durable
// after on_synced), what a reopen finds, group commit, and Raft's log on top.

#include "synod/storage/file_storage.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <mutex>

#include "synod/base/record.h"
#include "synod/raft/log_store.h"
#include "synod/storage/dir_lock.h"

namespace synod::storage {
namespace {

namespace fs = std::filesystem;

// A fresh directory per test, removed at the end.
class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = ::testing::TempDir() + "synod_storage_XXXXXX";
    char* made = ::mkdtemp(pattern.data());
    EXPECT_NE(made, nullptr);
    path_ = pattern;
  }
  ~ScratchDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// What on_synced reported; it runs on the sync thread.
struct SyncLog {
  std::mutex mu;
  std::vector<SyncId> ids;

  FileStorage::OnSynced callback() {
    return [this](SyncId id, Duration) {
      std::lock_guard lock(mu);
      ids.push_back(id);
    };
  }
  std::vector<SyncId> snapshot() {
    std::lock_guard lock(mu);
    return ids;
  }
};

std::unique_ptr<FileStorage> open_storage(const fs::path& dir, SyncLog* log = nullptr,
                                          FileStorageOptions options = {}) {
  auto storage = FileStorage::open(dir, options, log ? log->callback() : nullptr);
  EXPECT_TRUE(storage.ok()) << storage.status();
  return storage.ok() ? std::move(*storage) : nullptr;
}

void write_file(const fs::path& path, const std::string& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
}

using Names = std::vector<std::string>;

TEST(FileStorage, WritesAreVisibleAtOnce) {
  ScratchDir dir;
  auto s = open_storage(dir.path());
  EXPECT_EQ(s->list(), Names{});
  EXPECT_EQ(s->read("a"), std::nullopt);

  s->append("a", "xy");
  s->append("a", "z");
  EXPECT_EQ(s->read("a"), "xyz");
  s->overwrite("a", "new");
  EXPECT_EQ(s->read("a"), "new");
  s->append("a", "+");
  EXPECT_EQ(s->read("a"), "new+");

  s->append("raft/log.000000000001", "one");
  s->overwrite("raft/deep/snapshot", "snap");
  s->append("b", "");
  EXPECT_EQ(s->list(), (Names{"a", "b", "raft/deep/snapshot", "raft/log.000000000001"}));
  EXPECT_EQ(s->read("raft/log.000000000001"), "one");
  EXPECT_EQ(s->read("b"), "");

  s->remove("a");
  s->remove("never-was");  // no such file: nothing happens
  EXPECT_EQ(s->read("a"), std::nullopt);
  EXPECT_EQ(s->list(), (Names{"b", "raft/deep/snapshot", "raft/log.000000000001"}));
}

TEST(FileStorage, SyncedStateIsBackAfterReopenAndTemporariesAreGone) {
  ScratchDir dir;
  {
    auto s = open_storage(dir.path());
    s->append("raft/log.000000000001", "entries");
    s->overwrite("raft/snapshot", "v1");
    s->overwrite("raft/snapshot", "v2");
    s->append("meta", "m");
    s->sync();
    s->drain();
    s->remove("meta");
    s->append("raft/log.000000000001", "+more");
    s->sync();
    s->drain();
    s->append("unsynced", "lost");  // never synced: its rename never ran
  }
  // What a crash mid-overwrite leaves behind.
  write_file(dir.path() / "x.tmp.7", "garbage");
  write_file(dir.path() / "raft/snapshot.tmp.12", "garbage");

  auto s = open_storage(dir.path());
  EXPECT_EQ(s->list(), (Names{"raft/log.000000000001", "raft/snapshot"}));
  EXPECT_EQ(s->read("raft/log.000000000001"), "entries+more");
  EXPECT_EQ(s->read("raft/snapshot"), "v2");
  EXPECT_FALSE(fs::exists(dir.path() / "x.tmp.7"));
  EXPECT_FALSE(fs::exists(dir.path() / "raft/snapshot.tmp.12"));
  EXPECT_FALSE(fs::exists(dir.path() / "unsynced"));
}

TEST(FileStorage, ManyChangesToOneNameBeforeOneSync) {
  ScratchDir dir;
  {
    auto s = open_storage(dir.path());
    s->append("f", "old");
    s->append("g", "old");
    s->sync();
    s->drain();

    s->overwrite("f", "new");
    s->append("f", "+");
    s->remove("f");
    s->append("f", "again");
    s->append("f", "!");

    s->overwrite("g", "new");
    s->append("g", "+");

    s->append("h", "born");
    s->remove("h");  // created and gone within one sync
    EXPECT_EQ(s->read("f"), "again!");
    s->sync();
    s->drain();
  }
  auto s = open_storage(dir.path());
  EXPECT_EQ(s->list(), (Names{"f", "g"}));
  EXPECT_EQ(s->read("f"), "again!");
  EXPECT_EQ(s->read("g"), "new+");
}

TEST(FileStorage, GroupCommitCompletesEveryIdInOrder) {
  ScratchDir dir;
  SyncLog log;
  auto s = open_storage(dir.path(), &log);
  constexpr int kSyncs = 500;
  SyncId last = 0;
  for (int i = 0; i < kSyncs; ++i) {
    s->append("log", "record " + std::to_string(i) + "\n");
    if (i % 50 == 0) s->overwrite("snapshot", std::to_string(i));
    SyncId id = s->sync();
    EXPECT_EQ(id, last + 1);
    last = id;
  }
  s->drain();
  EXPECT_EQ(s->syncs_completed(), static_cast<uint64_t>(kSyncs));
  EXPECT_GE(s->rounds(), 1u);
  EXPECT_LE(s->rounds(), s->syncs_completed());
  std::vector<SyncId> ids = log.snapshot();
  ASSERT_FALSE(ids.empty());
  EXPECT_EQ(ids.size(), s->rounds());  // one report per round, for its highest id
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
  EXPECT_EQ(std::adjacent_find(ids.begin(), ids.end()), ids.end());  // strictly increasing
  EXPECT_EQ(ids.back(), last);
}

TEST(FileStorage, WithoutFsyncTheContentsAreTheSame) {
  ScratchDir dir;
  SyncLog log;
  FileStorageOptions no_fsync{.fsync = false};
  {
    auto s = open_storage(dir.path(), &log, no_fsync);
    s->append("a/b", "1");
    s->overwrite("c", "2");
    SyncId id = s->sync();
    s->drain();
    EXPECT_EQ(log.snapshot().back(), id);
  }
  auto s = open_storage(dir.path(), nullptr, no_fsync);
  EXPECT_EQ(s->list(), (Names{"a/b", "c"}));
  EXPECT_EQ(s->read("a/b"), "1");
  EXPECT_EQ(s->read("c"), "2");
}

TEST(FileStorage, OpenReportsAPathThatIsNotADirectory) {
  ScratchDir dir;
  write_file(dir.path() / "plain", "x");
  auto s = FileStorage::open(dir.path() / "plain", {}, nullptr);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("plain"), std::string_view::npos) << s.status();
}

TEST(FileStorageDeathTest, ReservedNamesAreRefused) {
  // "fast" forks before the statement opens the storage (and starts its
  // thread), and lets the child use this test's directory.
  GTEST_FLAG_SET(death_test_style, "fast");
  ScratchDir dir;
  EXPECT_DEATH(open_storage(dir.path())->append("x.tmp.3", "a"), "valid_name");
  EXPECT_DEATH(open_storage(dir.path())->overwrite("LOCK", "a"), "valid_name");
  EXPECT_DEATH(open_storage(dir.path())->append("../escape", "a"), "valid_name");
}

// ---- Raft's log on real files ----------------------------------------------

raft::Entry entry(raft::Index index, raft::Term term, std::string data) {
  raft::Entry e;
  e.set_index(index);
  e.set_term(term);
  e.set_data(std::move(data));
  return e;
}

raft::LogStore log_store() {
  return raft::LogStore(raft::LogStore::Options{.segment_bytes = 256});  // several segments
}

Names segments(const Storage& s) {
  Names out;
  for (const std::string& name : s.list())
    if (name.starts_with(raft::LogStore::kSegmentPrefix)) out.push_back(name);
  return out;
}

absl::StatusOr<raft::Recovered> reopen_and_recover(const fs::path& dir) {
  auto s = open_storage(dir);
  raft::LogStore store = log_store();
  auto recovered = store.recover(*s);
  s->sync();  // make a repair durable
  return recovered;
}

TEST(FileStorage, RaftLogSurvivesReopenAndRepairsATornTail) {
  ScratchDir dir;
  constexpr raft::Index kEntries = 20;
  {
    SyncLog log;
    auto s = open_storage(dir.path(), &log);
    raft::LogStore store = log_store();
    ASSERT_TRUE(store.recover(*s).ok());
    for (raft::Index i = 1; i <= kEntries; ++i) {
      raft::Entry e = entry(i, 1, std::string(40, static_cast<char>('a' + i % 26)));
      raft::Ready rd;
      rd.entries = {&e};
      if (i == 1) {  // only here, so that every segment ends with an entry
        raft::HardState hs;
        hs.set_term(1);
        hs.set_vote(0);
        rd.hard_state = hs;
      }
      store.write(*s, rd);
      SyncId id = store.sync(*s);
      s->drain();
      store.on_synced(*s, id);
    }
    EXPECT_GT(store.segment_count(), 2u);
    EXPECT_EQ(log.snapshot().back(), s->syncs_completed());
  }

  auto whole = reopen_and_recover(dir.path());
  ASSERT_TRUE(whole.ok()) << whole.status();
  ASSERT_EQ(whole->entries.size(), kEntries);
  EXPECT_EQ(whole->entries.back().index(), kEntries);
  EXPECT_EQ(whole->entries[4].data(), std::string(40, 'f'));
  EXPECT_EQ(whole->hard_state.term(), 1u);

  // A crash mid-append: the last record of the last segment is cut short.
  Names files = segments(*open_storage(dir.path()));
  fs::path last = dir.path() / files.back();
  ASSERT_EQ(::truncate(last.c_str(), static_cast<off_t>(fs::file_size(last) - 3)), 0);
  auto torn = reopen_and_recover(dir.path());
  ASSERT_TRUE(torn.ok()) << torn.status();
  EXPECT_EQ(torn->entries.size(), kEntries - 1);
  // The repair (an overwrite of the segment) was made durable.
  auto repaired = reopen_and_recover(dir.path());
  ASSERT_TRUE(repaired.ok()) << repaired.status();
  EXPECT_EQ(repaired->entries.size(), kEntries - 1);

  // Damage with valid records after it is not a crash: refuse to start.
  fs::path first = dir.path() / files.front();
  std::string bytes;
  {
    auto s = open_storage(dir.path());
    bytes = *s->read(files.front());
  }
  RecordReader reader(bytes);
  ASSERT_TRUE(reader.next());  // the hard state
  size_t second = reader.valid_bytes();
  auto payload = reader.next();
  ASSERT_TRUE(payload);
  ASSERT_TRUE(reader.next());  // more after the one we damage
  bytes[second + kRecordHeaderBytes + payload->size() / 2] ^= 0x40;
  write_file(first, bytes);
  auto corrupt = reopen_and_recover(dir.path());
  ASSERT_FALSE(corrupt.ok());
  EXPECT_EQ(corrupt.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(corrupt.status().message().find("corrupt"), std::string_view::npos) << corrupt.status();
}

// ---- DirLock ----------------------------------------------------------------

TEST(DirLock, ASecondHolderIsRefusedUntilTheFirstLetsGo) {
  ScratchDir dir;
  fs::path data = dir.path() / "data";  // created by acquire
  {
    auto first = DirLock::acquire(data);
    ASSERT_TRUE(first.ok()) << first.status();
    // flock belongs to the open file description, so this conflicts even in
    // the same process.
    auto second = DirLock::acquire(data);
    ASSERT_FALSE(second.ok());
    EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_NE(second.status().message().find("in use"), std::string_view::npos) << second.status();
    EXPECT_NE(second.status().message().find(std::to_string(::getpid())), std::string_view::npos)
        << second.status();

    // FileStorage shares the directory and leaves the lock file alone.
    auto s = open_storage(data);
    s->append("x", "1");
    EXPECT_EQ(s->list(), Names{"x"});

    DirLock moved = std::move(*first);  // still held
    EXPECT_FALSE(DirLock::acquire(data).ok());
  }
  EXPECT_TRUE(DirLock::acquire(data).ok());
}

}  // namespace
}  // namespace synod::storage
