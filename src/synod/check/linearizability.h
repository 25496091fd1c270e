#pragma once

// Linearizability checker for histories of a key-value store.
//
// Model: a map of independent registers. get returns the current value or
// absent; put sets; delete removes; cas(expected, value) sets value iff the
// key exists and holds expected, and swapped tells whether it did. A failed
// operation is ignored. An operation with an unknown outcome may have taken
// effect at any point after its call, or never (an unknown get tells nothing
// and is dropped). One operation precedes another in real time when it
// returned strictly before the other was called; operations that overlap, or
// touch at one instant, are concurrent.
//
// Algorithm: the keys are independent registers, so the history is
// linearizable iff each key's sub-history is (Herlihy & Wing's locality,
// "P-compositionality" in Horn & Kroening). Each key is checked by Wing &
// Gong's backtracking search with Lowe's just-in-time linearization and his
// memo of (set of linearized operations, model state) pairs already explored
// ("Testing for linearizability", 2017), the approach of the Porcupine
// checker. Deterministic: the verdict and the window depend only on the
// history.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "synod/check/history.h"

namespace synod::check {

// The search for one key gives up after this many attempts to linearize an
// operation and reports "could not decide". Each attempt costs well under a
// microsecond and at most one memo entry (tens of bytes), so this bounds a
// key's time to seconds and its memory to a few hundred MB. Linearizable
// histories from real clients need a few attempts per operation.
inline constexpr uint64_t kMaxSearchStepsPerKey = 5'000'000;

struct CheckOptions {
  uint64_t max_search_steps_per_key = kMaxSearchStepsPerKey;
  // Shrink a failing key's history to a minimal window and explain it. Off
  // only for callers that want the bare verdict fast.
  bool minimize = true;
};

struct Verdict {
  bool linearizable = true;
  // The search hit max_search_steps_per_key on `key` and neither found a
  // linearization nor ruled one out; linearizable is false then, because it
  // was not shown. A key proven non-linearizable is reported in preference.
  bool undecided = false;
  std::string key;                  // on failure: the key whose history fails
  std::vector<Operation> window;    // on failure: a minimal set of conflicting operations
  std::string explanation;          // on failure: human-readable, multi-line
  size_t keys = 0, operations = 0;  // what was checked
  uint64_t search_steps = 0;        // attempts to linearize an operation, all keys
};

Verdict check_linearizable(const History& history, const CheckOptions& options);
inline Verdict check_linearizable(const History& history) {
  return check_linearizable(history, CheckOptions{});
}

// Whether a history in which every operation has the same key is
// linearizable: nullopt when the search hit max_steps.
std::optional<bool> is_linearizable_key(const History& one_key,
                                        uint64_t max_steps = kMaxSearchStepsPerKey);

// The window: greedily removes operations from a non-linearizable history of
// one key while it stays non-linearizable, until no single operation can be
// removed (1-minimal). Never removes an operation that another remaining one
// depends on for its result, which would leave an artificial violation (see
// removal_allowed). Operations come back sorted by call time.
History minimal_window(const History& one_key, uint64_t max_steps = kMaxSearchStepsPerKey);

// Whether removing history[index] keeps the others' results meaningful: a
// write is kept while a remaining operation observed its value (a get that
// read it, a cas that expected it), a delete while a remaining get read
// "absent", and any write or delete while a remaining cas reported that it
// did not swap (the write may be what made it fail). Exposed for tests.
bool removal_allowed(const History& one_key, size_t index);

// Plain words for a window: the operations with their times, then what
// conflicts.
std::string explain_window(const History& window);

}  // namespace synod::check
