#include "synod/raft/log_store.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <limits>

#include "absl/status/status.h"
#include "synod/base/assert.h"
#include "synod/base/record.h"
#include "synod/protocol/message.h"

namespace synod::raft {
namespace {

void frame(std::string& out, const wire::RaftLogRecord& record) {
  append_record(out, record.SerializeAsString());
}

// The bytes of RaftLogRecord{entry: e}, encoded by hand so that the hot path
// (every entry of every Ready) does not copy each entry into a record first.
// Recovery parses them as a RaftLogRecord, so any mistake here is caught there.
void frame_entry(std::string& out, const Entry& e) {
  constexpr int kLengthDelimited = 2;
  std::string record;
  size_t size = e.ByteSizeLong();
  record.reserve(size + 11);
  record.push_back(
      static_cast<char>(wire::RaftLogRecord::kEntryFieldNumber << 3 | kLengthDelimited));
  uint64_t varint = size;
  for (; varint >= 0x80; varint >>= 7)
    record.push_back(static_cast<char>((varint & 0x7f) | 0x80));
  record.push_back(static_cast<char>(varint));
  e.AppendToString(&record);
  append_record(out, record);
}

std::string framed_hard_state(const HardState& hs) {
  wire::RaftLogRecord record;
  *record.mutable_hard_state() = hs;
  std::string out;
  frame(out, record);
  return out;
}

std::optional<uint64_t> segment_number(std::string_view name) {
  if (name.substr(0, LogStore::kSegmentPrefix.size()) != LogStore::kSegmentPrefix)
    return std::nullopt;
  std::string_view digits = name.substr(LogStore::kSegmentPrefix.size());
  if (digits.empty()) return std::nullopt;
  uint64_t n = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  return n;
}

}  // namespace

std::string LogStore::segment_name(uint64_t number) {
  char name[48];
  std::snprintf(name, sizeof name, "%s%012" PRIu64, std::string(kSegmentPrefix).c_str(), number);
  return name;
}

absl::StatusOr<Recovered> LogStore::recover(Storage& storage) {
  Recovered out;
  segments_.clear();
  removals_.clear();
  wanted_.clear();

  Index snapshot_index = 0;
  if (auto file = storage.read(kSnapshotFile)) {
    auto payload = single_record(*file);
    wire::RaftSnapshotRecord record;
    if (!payload || !record.ParseFromArray(payload->data(), static_cast<int>(payload->size())))
      return absl::DataLossError("raft snapshot file is damaged");
    snapshot_index = record.meta().index();
    out.snapshot = Snapshot{record.meta(), std::make_shared<const std::string>(record.data())};
  }

  std::vector<std::pair<uint64_t, std::string>> files;
  for (const std::string& name : storage.list())
    if (auto n = segment_number(name)) files.emplace_back(*n, name);
  std::sort(files.begin(), files.end());

  std::vector<Entry>& entries = out.entries;
  auto last_index = [&] { return entries.empty() ? snapshot_index : entries.back().index(); };
  // Where replay stopped early: the file to cut and how much of it to keep.
  std::optional<std::pair<size_t, size_t>> cut;

  for (size_t f = 0; f < files.size() && !cut; ++f) {
    const auto& [number, name] = files[f];
    std::string data = *storage.read(name);
    RecordReader reader(data);
    Segment segment{number, data.size(), 0};
    size_t record_start = 0;
    while (auto payload = reader.next()) {
      wire::RaftLogRecord record;
      if (!record.ParseFromArray(payload->data(), static_cast<int>(payload->size())))
        return absl::DataLossError("raft log " + name +
                                   ": a record with a valid checksum does "
                                   "not parse at offset " +
                                   std::to_string(record_start));
      switch (record.body_case()) {
        case wire::RaftLogRecord::kEntry: {
          Entry& e = *record.mutable_entry();
          segment.max_index = std::max(segment.max_index, static_cast<Index>(e.index()));
          if (e.index() <= snapshot_index) {
            entries.clear();  // a truncation below the snapshot: all after it goes
            break;
          }
          if (e.index() > last_index() + 1)
            return absl::DataLossError("raft log " + name + ": entry " + std::to_string(e.index()) +
                                       " follows entry " + std::to_string(last_index()));
          while (!entries.empty() && entries.back().index() >= e.index())
            entries.pop_back();
          entries.push_back(std::move(e));
          break;
        }
        case wire::RaftLogRecord::kHardState:
          out.hard_state = record.hard_state();
          break;
        case wire::RaftLogRecord::kRestart:
          if (record.restart().index() > snapshot_index) {
            // The snapshot this announces never became durable, so neither
            // did anything written after it.
            cut = {f, record_start};
            break;
          }
          entries.clear();
          break;
        case wire::RaftLogRecord::BODY_NOT_SET:
          return absl::DataLossError("raft log " + name + ": an empty record");
      }
      if (cut) break;
      record_start = reader.valid_bytes();
    }
    if (!cut) {
      if (reader.stop() == RecordReader::Stop::kCorrupt)
        return absl::DataLossError("raft log " + name + " is corrupt at offset " +
                                   std::to_string(reader.valid_bytes()) +
                                   " (a bad record with data after it)");
      if (reader.stop() == RecordReader::Stop::kTornTail) cut = {f, reader.valid_bytes()};
    }
    segments_.push_back(segment);
  }

  if (cut) {
    // Keep the valid prefix of that file; later files were never synced.
    auto [f, keep] = *cut;
    std::string data = *storage.read(files[f].second);
    storage.overwrite(files[f].second, std::string_view(data).substr(0, keep));
    segments_[f].bytes = keep;
    for (size_t later = f + 1; later < files.size(); ++later)
      storage.remove(files[later].second);
    segments_.resize(f + 1);
  }
  hard_state_ = out.hard_state;
  if (out.hard_state.commit() > last_index())
    return absl::DataLossError("raft log: the commit index " +
                               std::to_string(out.hard_state.commit()) +
                               " is past the last entry " + std::to_string(last_index()));
  return out;
}

void LogStore::start_segment(Storage& storage, const std::string& first_records) {
  uint64_t number = segments_.empty() ? 1 : segments_.back().number + 1;
  segments_.push_back({number, 0, 0});
  std::string records = framed_hard_state(hard_state_) + first_records;
  storage.append(segment_name(number), records);
  segments_.back().bytes = records.size();
}

void LogStore::append_records(Storage& storage, const std::string& framed, Index max_index) {
  if (segments_.empty() || segments_.back().bytes >= options_.segment_bytes)
    start_segment(storage, "");
  Segment& current = segments_.back();
  storage.append(segment_name(current.number), framed);
  current.bytes += framed.size();
  current.max_index = std::max(current.max_index, max_index);
}

// The snapshot file: one record of a wire::RaftSnapshotRecord, built in
// place, so the data (the big part) is copied once, into the file's bytes.
std::string LogStore::snapshot_file(const Snapshot& snapshot) {
  std::string file(kRecordHeaderBytes, '\0');
  wire::RaftSnapshotRecord head;
  *head.mutable_meta() = snapshot.meta;
  head.AppendToString(&file);
  size_t data_at = file.size();
  file.append(kFieldRoom, '\0');
  file.append(*snapshot.data);
  frame_field(&file, data_at, wire::RaftSnapshotRecord::kDataFieldNumber);
  frame_record(file, 0);
  return file;
}

void LogStore::write(Storage& storage, const Ready& ready) {
  if (ready.snapshot) {
    // The snapshot first (atomically), then a fresh segment that says the
    // log starts again after it; the old segments go once this is durable.
    storage.overwrite(kSnapshotFile, snapshot_file(*ready.snapshot));
    wire::RaftLogRecord restart;
    *restart.mutable_restart() = ready.snapshot->meta;
    std::string marker;
    frame(marker, restart);
    start_segment(storage, marker);
    wanted_.push_back({0, segments_.back().number, std::numeric_limits<Index>::max()});
  }
  std::string framed;
  Index max_index = 0;
  for (const Entry* e : ready.entries) {
    frame_entry(framed, *e);
    max_index = std::max(max_index, static_cast<Index>(e->index()));
  }
  if (ready.hard_state) {
    hard_state_ = *ready.hard_state;
    framed += framed_hard_state(hard_state_);
  }
  if (!framed.empty()) append_records(storage, framed, max_index);
}

void LogStore::save_snapshot(Storage& storage, const Snapshot& snapshot, Index compact_to) {
  storage.overwrite(kSnapshotFile, snapshot_file(snapshot));
  uint64_t current = segments_.empty() ? 0 : segments_.back().number;
  wanted_.push_back({0, current, compact_to});
}

SyncId LogStore::sync(Storage& storage) {
  SyncId id = storage.sync();
  for (Removal removal : wanted_) {
    removal.after = id;
    removals_.push_back(removal);
  }
  wanted_.clear();
  return id;
}

void LogStore::on_synced(Storage& storage, SyncId id) {
  while (!removals_.empty() && removals_.front().after <= id) {
    Removal removal = removals_.front();
    removals_.pop_front();
    // Oldest first, never the segment being written.
    while (segments_.size() > 1 && segments_.front().number < removal.before &&
           segments_.front().max_index <= removal.up_to) {
      storage.remove(segment_name(segments_.front().number));
      segments_.erase(segments_.begin());
    }
  }
}

}  // namespace synod::raft
