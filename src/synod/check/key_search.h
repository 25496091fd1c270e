#pragma once

// The search for one key's history: Wing & Gong's backtracking with Lowe's
// just-in-time linearization and memo (see linearizability.h). Internal to
// the checker; linearizability.h is the interface.

#include <cstdint>
#include <span>

#include "synod/check/history.h"

namespace synod::check {

enum class KeyVerdict { kLinearizable, kNotLinearizable, kUndecided };

struct KeySearchResult {
  KeyVerdict verdict = KeyVerdict::kLinearizable;
  uint64_t steps = 0;  // attempts to linearize an operation
};

// ops: every operation of one key, in any order (failed operations and gets
// of unknown outcome are skipped). Gives up after max_steps attempts.
KeySearchResult search_key(std::span<const Operation* const> ops, uint64_t max_steps);

}  // namespace synod::check
