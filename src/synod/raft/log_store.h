#pragma once

#include <deque>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "synod/protocol/storage.h"
#include "synod/raft/raft_node.h"

namespace synod::raft {

// Raft's durable state on a Storage (the simulated disk, or real files):
//
//   raft/snapshot          the latest snapshot, replaced atomically
//   raft/log.000000000001  log segments, appended in order: framed records
//   raft/log.000000000002  (base/record.h) of entries, hard states and
//   ...                    restart markers (wire::RaftLogRecord)
//
// One append-only stream keeps order across record kinds, so whatever a crash
// leaves is a prefix of what was written. Replaying it rebuilds the node:
//   - an entry whose index is at or below the last one replaces the log from
//     there (a truncated suffix needs no record of its own);
//   - the last hard state wins (each new segment begins with the current one,
//     so removing old segments never loses it);
//   - a restart marker says the log begins again after an installed snapshot.
//
// Recovery repairs what a crash can do and refuses what it cannot:
//   - a torn or half-written tail is cut off (and any later segment, which
//     cannot have been synced if an earlier one was not);
//   - a restart marker for a snapshot newer than the one on disk means the
//     snapshot's write was lost with everything after the marker: cut there;
//   - a bad record with valid data after it is damage: refuse to start.
class LogStore {
 public:
  static constexpr std::string_view kSnapshotFile = "raft/snapshot";
  static constexpr std::string_view kSegmentPrefix = "raft/log.";

  struct Options {
    // A segment is closed, and a new one begun, past this size.
    size_t segment_bytes = 1 << 20;
  };

  explicit LogStore(Options options) : options_(options) {}

  // What survived: the snapshot (with its data), the entries after it and the
  // hard state. Repairs a torn tail in place. An error names the damage.
  absl::StatusOr<Recovered> recover(Storage& storage);

  // Writes a Ready's snapshot, entries and hard state, in that order.
  void write(Storage& storage, const Ready& ready);
  // Saves this node's own snapshot; the log up to compact_to is dropped from
  // disk once the snapshot is durable (on_synced).
  void save_snapshot(Storage& storage, const Snapshot& snapshot, Index compact_to);

  // storage.sync(), remembering which deferred removals it makes safe.
  SyncId sync(Storage& storage);
  void on_synced(Storage& storage, SyncId id);

  size_t segment_count() const { return segments_.size(); }

 private:
  static std::string snapshot_file(const Snapshot& snapshot);
  struct Segment {
    uint64_t number = 0;
    size_t bytes = 0;
    Index max_index = 0;  // highest entry index written to it (0: none)
  };
  // Segments to remove once a sync makes what replaces them durable: those
  // numbered below `before` that hold no entry above `up_to`.
  struct Removal {
    SyncId after = 0;
    uint64_t before = 0;
    Index up_to = 0;
  };

  static std::string segment_name(uint64_t number);
  void append_records(Storage& storage, const std::string& framed, Index max_index);
  void start_segment(Storage& storage, const std::string& first_records);

  Options options_;
  std::vector<Segment> segments_;  // oldest first; back() is written to
  HardState hard_state_;           // the latest written
  std::vector<Removal> wanted_;    // waiting for the next sync to be issued
  std::deque<Removal> removals_;   // waiting for their sync to complete
};

}  // namespace synod::raft
