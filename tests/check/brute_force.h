#pragma once

// A linearizability checker written to be obviously right rather than fast:
// it tries every order of the whole history (all keys at once) that respects
// real time, with each operation of unknown outcome either placed somewhere
// after its call or left out. For histories of a handful of operations only.

#include "synod/check/history.h"

namespace synod::check::testing {

// Refuses histories above this: the search is factorial.
inline constexpr size_t kMaxBruteForceOps = 10;

bool brute_force_linearizable(const History& history);

}  // namespace synod::check::testing
