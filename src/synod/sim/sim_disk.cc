#include "synod/sim/sim_disk.h"

#include "synod/base/assert.h"

namespace synod::sim {

void SimDisk::append(std::string_view file, std::string_view bytes) {
  auto& f = files_[std::string(file)];
  f.exists = true;
  f.current.append(bytes);
  unsynced_.push_back({Write::Kind::kAppend, std::string(file), std::string(bytes)});
  ++writes_issued_;
}

void SimDisk::overwrite(std::string_view file, std::string_view bytes) {
  auto& f = files_[std::string(file)];
  f.exists = true;
  f.current.assign(bytes);
  unsynced_.push_back({Write::Kind::kOverwrite, std::string(file), std::string(bytes)});
  ++writes_issued_;
}

void SimDisk::remove(std::string_view file) {
  auto it = files_.find(file);
  if (it == files_.end() || !it->second.exists) return;
  it->second.exists = false;
  it->second.current.clear();
  unsynced_.push_back({Write::Kind::kRemove, std::string(file), {}});
  ++writes_issued_;
}

SyncId SimDisk::sync() {
  SyncId id = next_sync_++;
  sync_marks_[id] = writes_issued_;
  if (sync_requested_) sync_requested_(id);
  return id;
}

std::optional<std::string> SimDisk::read(std::string_view file) const {
  auto it = files_.find(file);
  if (it == files_.end() || !it->second.exists) return std::nullopt;
  return it->second.current;
}

std::vector<std::string> SimDisk::list() const {
  std::vector<std::string> names;
  for (const auto& [name, f] : files_)
    if (f.exists) names.push_back(name);
  return names;
}

void SimDisk::complete(SyncId id) {
  auto mark_it = sync_marks_.find(id);
  if (mark_it == sync_marks_.end()) return;  // already completed (or from before a crash)
  uint64_t mark = mark_it->second;
  sync_marks_.erase(sync_marks_.begin(), std::next(mark_it));
  SYNOD_ASSERT(mark >= writes_durable_);  // syncs complete in the order they were issued
  size_t count = mark - writes_durable_;
  SYNOD_ASSERT(count <= unsynced_.size());
  for (size_t i = 0; i < count; ++i) {
    Write& w = unsynced_.front();
    File& f = files_[w.file];
    switch (w.kind) {
      case Write::Kind::kAppend:
        f.durable.append(w.bytes);
        f.durable_exists = true;
        break;
      case Write::Kind::kOverwrite:
        f.durable = std::move(w.bytes);
        f.durable_exists = true;
        break;
      case Write::Kind::kRemove:
        f.durable.clear();
        f.durable_exists = false;
        break;
    }
    unsynced_.pop_front();
  }
  writes_durable_ += count;
}

void SimDisk::crash(Rng& rng, double torn_tail) {
  // Per file, the unsynced appends that follow its last unsynced overwrite or
  // remove can partly reach the platter; an unsynced overwrite or remove is
  // all-or-nothing (rename semantics) and is lost.
  std::map<std::string, std::string> tails;
  std::map<std::string, bool> replaced;
  for (const Write& w : unsynced_) {
    if (w.kind == Write::Kind::kAppend) {
      if (!replaced[w.file]) tails[w.file] += w.bytes;
    } else {
      replaced[w.file] = true;
      tails.erase(w.file);
    }
  }
  for (auto& [name, f] : files_) {
    f.current = f.durable;
    f.exists = f.durable_exists;
  }
  for (const auto& [name, tail] : tails) {
    if (tail.empty() || !rng.chance(torn_tail)) continue;
    File& f = files_[name];
    size_t keep = rng.uniform(tail.size());  // strictly less than the whole tail
    f.current.append(tail, 0, keep);
    f.durable = f.current;
    f.exists = f.durable_exists = true;
  }
  unsynced_.clear();
  sync_marks_.clear();
  writes_durable_ = writes_issued_;
}

}  // namespace synod::sim
