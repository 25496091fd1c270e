#pragma once

// The watch check (Jepsen's for etcd): several watchers follow one prefix
// through faults, each resuming after an error from the revision after the
// last it saw. Every watcher must see every change, in revision order, once,
// with the same key, value and type as every other watcher; together they
// must contain every acknowledged write at the revision it was acknowledged
// with; and replaying a watcher's changes must give the final range.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace synod::check {

struct WatchEvent {
  int64_t revision = 0;
  std::string key;
  std::string value;  // empty for a delete
  bool is_delete = false;
  friend bool operator==(const WatchEvent&, const WatchEvent&) = default;
};

struct WatcherLog {
  int id = 0;
  int64_t start_revision = 0;  // the first revision it asked for
  // The highest revision it is known to have caught up to: the final
  // revision once it reached it, else its last event's.
  int64_t reached = 0;
  std::vector<WatchEvent> events;  // as received
};

struct AckedWrite {
  std::string key, value;
  int64_t revision = 0;
  bool is_delete = false;
};

struct WatchVerdict {
  bool ok = true;
  size_t events = 0;                  // distinct (revision, key) changes seen
  std::vector<std::string> problems;  // each violation, in words (the first few)
};

// `initial`: the prefix's contents at the watchers' common start revision;
// `final_state` and `final_revision`: the range read after every fault healed.
WatchVerdict check_watch(const std::vector<WatcherLog>& watchers,
                         const std::vector<AckedWrite>& acked,
                         const std::map<std::string, std::string>& initial,
                         const std::map<std::string, std::string>& final_state,
                         int64_t final_revision);

}  // namespace synod::check
