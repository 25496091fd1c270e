#pragma once

#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "synod/base/rng.h"
#include "synod/protocol/storage.h"

namespace synod::sim {

// A node's simulated disk. Writes are visible at once and durable only when a
// sync that covers them completes; the simulator decides when (a latency
// drawn per sync) and tells the disk with complete(). On a crash the disk
// keeps what was durable, and each file's unsynced appended tail may partly
// survive: a prefix of it, possibly ending mid-record (a torn write).
class SimDisk final : public Storage {
 public:
  // Called with each new sync id; the simulator schedules its completion.
  using SyncRequested = std::function<void(SyncId)>;

  void set_sync_requested(SyncRequested callback) { sync_requested_ = std::move(callback); }

  void append(std::string_view file, std::string_view bytes) override;
  void overwrite(std::string_view file, std::string_view bytes) override;
  void remove(std::string_view file) override;
  SyncId sync() override;
  std::optional<std::string> read(std::string_view file) const override;
  std::vector<std::string> list() const override;

  // Every write issued before sync `id` is now durable. Idempotent.
  void complete(SyncId id);

  // The power went out: keep the durable state and, with probability
  // `torn_tail` per file, a random prefix of its unsynced appends.
  void crash(Rng& rng, double torn_tail);

 private:
  struct File {
    std::string current;
    std::string durable;
    bool exists = false;          // currently
    bool durable_exists = false;  // as of the last completed sync
  };
  // A write waiting for a sync: its index in writes_ decides which sync covers it.
  struct Write {
    enum class Kind { kAppend, kOverwrite, kRemove } kind;
    std::string file;
    std::string bytes;
  };

  std::map<std::string, File, std::less<>> files_;
  std::deque<Write> unsynced_;             // in issue order
  uint64_t writes_issued_ = 0;             // total writes ever issued
  uint64_t writes_durable_ = 0;            // writes [0, writes_durable_) are durable
  std::map<SyncId, uint64_t> sync_marks_;  // sync id -> writes issued before it
  SyncId next_sync_ = 1;
  SyncRequested sync_requested_;
};

}  // namespace synod::sim
