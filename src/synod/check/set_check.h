#pragma once

// The set check: clients add unique elements and read the whole set (each a
// linearizable read); elements are never removed. So every read must contain
// every add acknowledged before the read was called, an element once read
// must be in every read called after that read returned, no read may contain
// an element nobody tried to add, and the final read (after every fault
// healed) must contain every acknowledged add. Adds of unknown outcome may
// be there or not; how many are is counted.

#include <cstdint>
#include <string>
#include <vector>

#include "synod/check/history.h"

namespace synod::check {

struct SetAdd {
  uint64_t element = 0;
  int64_t call = 0, ret = -1;  // ret -1: outcome unknown
  Outcome outcome = Outcome::kOk;
};

struct SetRead {
  int64_t call = 0, ret = 0;
  std::vector<uint64_t> elements;
};

struct SetVerdict {
  bool ok = true;
  size_t acknowledged = 0, unknown = 0, unknown_present = 0, lost = 0, stale_reads = 0,
         unexpected = 0;
  std::string explanation;  // the first violation, in words
  int64_t window_from = -1, window_to = -1;
};

// `final_read` is the last read, made once the cluster healed.
SetVerdict check_set(const std::vector<SetAdd>& adds, const std::vector<SetRead>& reads,
                     const SetRead& final_read);

}  // namespace synod::check
