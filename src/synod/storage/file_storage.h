#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "synod/base/types.h"
#include "synod/protocol/storage.h"

namespace synod::storage {

struct FileStorageOptions {
  // false skips fdatasync/fsync (tests, benchmarks); everything else is the same.
  bool fsync = true;
};

// Syncs waiting for the sync thread: past this the disk is hopelessly behind.
inline constexpr size_t kMaxPendingSyncs = 1 << 20;
// New files and overwrites are written as "<name>.tmp.<n>" and renamed when
// synced; names ending so are reserved, and deleted on open (crash leftovers).
inline constexpr std::string_view kTempMarker = ".tmp.";
// The DirLock file (dir_lock.h), which FileStorage never lists or touches.
inline constexpr std::string_view kLockFileName = "LOCK";

// True for names of the reserved "<anything>.tmp.<digits>" form.
bool is_temporary_name(std::string_view name);

// Storage on real files in one directory: names are paths relative to it
// ("raft/log.000000000001"). Called from one thread (the node's loop):
// writes go to the page cache at once (write(2)), so read() sees them, and
// nothing on that thread ever waits for the disk. sync() hands the work to
// one background thread that makes it durable:
//
//   1. fdatasync every file written since the previous round (group commit:
//      a round serves every sync() issued while the previous one ran);
//   2. run the queued renames (temporary -> name) and unlinks, in call order;
//   3. fsync the directories they touched;
//   4. on_synced(highest id of the round, time the round took), from the sync
//      thread: the caller posts it to its loop.
//
// New files and overwrites are written to a temporary and renamed only after
// their data is synced, so after a crash a file holds its old or its new
// contents (overwrite's contract) and a new file appears whole or not at all.
//
// An I/O error while writing or syncing stops the process: after a failed
// fsync the page cache no longer says what is on disk ("fsyncgate").
class FileStorage final : public Storage {
 public:
  using OnSynced = std::function<void(SyncId, Duration)>;

  // Creates `dir` if missing, opens every file in it and deletes leftover
  // temporaries. Errors name the path and the cause.
  static absl::StatusOr<std::unique_ptr<FileStorage>> open(const std::filesystem::path& dir,
                                                           FileStorageOptions options,
                                                           OnSynced on_synced);
  // Drains, then stops the sync thread. Writes after the last sync() are not
  // made durable (and a new file not yet synced is deleted on the next open).
  ~FileStorage() override;

  void append(std::string_view file, std::string_view bytes) override;
  void overwrite(std::string_view file, std::string_view bytes) override;
  void remove(std::string_view file) override;
  SyncId sync() override;
  std::optional<std::string> read(std::string_view file) const override;
  std::vector<std::string> list() const override;

  // Blocks until every sync issued so far has completed and its on_synced has
  // returned. Not from inside on_synced (it runs on the sync thread).
  void drain();

  // Thread-safe counters for metrics and tests.
  uint64_t syncs_completed() const { return completed_.load(); }
  uint64_t rounds() const { return rounds_.load(); }

 private:
  struct File;  // an open fd, shared with the sync thread
  // rename(from, to), or unlink(to) when from is empty; absolute paths.
  struct Op {
    std::string from;
    std::string to;
  };
  struct Batch {
    SyncId id = 0;
    std::vector<std::shared_ptr<File>> files;  // written since the previous sync()
    std::vector<Op> ops;                       // queued since, in call order
    std::set<std::string> dirs;                // to fsync after the ops
  };

  FileStorage(std::filesystem::path dir, FileStorageOptions options, OnSynced on_synced,
              std::map<std::string, std::shared_ptr<File>, std::less<>> files,
              std::set<std::string, std::less<>> known_dirs);

  std::shared_ptr<File> create_temporary(std::string_view name);
  void ensure_parent_dirs(std::string_view name);
  void mark_written(const std::shared_ptr<File>& file);
  std::string path_of(std::string_view name) const;
  void run();  // the sync thread
  void execute(const std::deque<Batch>& round) const;

  const std::filesystem::path dir_;
  const FileStorageOptions options_;
  const OnSynced on_synced_;

  // Loop thread only.
  std::map<std::string, std::shared_ptr<File>, std::less<>> files_;
  std::set<std::string, std::less<>> known_dirs_;  // relative, known to exist
  Batch next_;                                     // what the next sync() hands over
  SyncId last_issued_ = 0;
  uint64_t temp_counter_ = 0;

  // Shared with the sync thread.
  std::mutex mu_;
  std::condition_variable work_cv_;  // a batch queued, or stopping
  std::condition_variable done_cv_;  // a round completed
  std::deque<Batch> queue_;
  bool stopping_ = false;
  bool sync_thread_idle_ = false;       // waiting on work_cv_ (guarded by mu_)
  std::atomic<uint64_t> completed_{0};  // highest id completed (= count: ids are 1, 2, ...)
  std::atomic<uint64_t> rounds_{0};

  std::thread thread_;  // last: starts once everything above exists
};

}  // namespace synod::storage
