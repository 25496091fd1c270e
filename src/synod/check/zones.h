#pragma once

// A fast refutation for registers whose values are written once each (as
// synod chaos and the simulator write them): violations found in about
// O(n log n) without a search, by the zones of Gibbons and Korach
// ("Testing shared memories", 1997), carried over to unknown outcomes and
// compare-and-set.
//
// For a value v that exactly one operation w may write, let C(v) be w and
// every operation whose known result observed v (a get that read it, a cas
// that swapped from it). Once overwritten, v never returns, so in any
// linearization C(v) is one unbroken stretch: w first, then only operations
// that leave v in place, up to the last observer (which may be a cas that
// replaces v). C(v)'s forward zone is [the earliest return, the latest call]
// among its operations, when that is not empty; the stretch covers it.
// Three things then cannot happen in a linearizable history:
//   R1  an observer of v returned before w was called;
//   R2  a write that certainly took effect (outside C(v)) was called after
//       v's zone began and returned before it ended: it would overwrite v
//       inside its stretch;
//   R3  the forward zones of two such values overlap: their stretches would
//       interleave.
// An unknown write whose once-written value a known result observed must
// have taken effect before that observer returned, so it counts as a write
// that returned then.
//
// Finding nothing proves nothing: the search decides then. What is found is
// a small set of operations that is itself not linearizable by the same
// rules, closed under "observed a value written by", so the window it starts
// from is not a violation of its own making.

#include <optional>
#include <vector>

#include "synod/check/history.h"

namespace synod::check {

// Indexes into one_key (one key's operations) of a conflicting set, or
// nullopt when the rules find none.
std::optional<std::vector<size_t>> find_zone_conflict(const History& one_key);

}  // namespace synod::check
