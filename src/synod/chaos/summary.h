#pragma once

// The end of a run in numbers and words: operations, errors by kind,
// availability during each kind of fault (and while healthy), the checkers'
// verdicts, and for a failed check the nemesis events around its window.

#include <string>
#include <vector>

#include "synod/chaos/nemesis.h"
#include "synod/chaos/workload.h"

namespace synod::chaos {

struct Availability {
  std::string phase;  // a fault kind, or "healthy"
  double seconds = 0;
  uint64_t ops = 0, ok = 0, unknown = 0;
  int64_t longest_outage_ns = 0;  // the longest time without a successful operation
};

// Per phase, in the order: healthy, then fault kinds as they first occurred.
// An operation counts for the phase active when it was called.
// [start_ns, end_ns]: from the workloads' start to the end of the run.
std::vector<Availability> availability(const std::vector<OpRecord>& records,
                                       const std::vector<NemesisEvent>& events, int64_t start_ns,
                                       int64_t end_ns);

// Events whose span meets [from - 10 s, to + 2 s], one per line.
std::string events_near(const std::vector<NemesisEvent>& events, int64_t from, int64_t to);

// The whole summary.
std::string summarize(const std::vector<OpRecord>& records, const std::vector<NemesisEvent>& events,
                      const std::vector<CheckResult>& checks, int64_t start_ns, int64_t end_ns);

// "12.345s"
std::string seconds_text(int64_t ns);

}  // namespace synod::chaos
