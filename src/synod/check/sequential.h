#pragma once

// Histories that are linearizable by construction, for tests and benchmarks:
// plan when each operation takes effect, then let one copy of the store give
// every operation its result.

#include <cstdint>
#include <vector>

#include "synod/check/history.h"

namespace synod::check {

struct PlannedOperation {
  Operation op;
  int64_t point = -1;  // when it takes effect, between its call and return; -1: never
};

// Applies the operations that take effect in order of their points (ties in
// the given order) to a single register per key, and writes each one's result
// into it: what a get read, whether a cas swapped.
void apply_at_points(std::vector<PlannedOperation>& planned);

}  // namespace synod::check
