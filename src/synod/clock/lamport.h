#pragma once

#include <algorithm>
#include <cstdint>

#include "synod/base/assert.h"

namespace synod {

// Lamport's logical clock (1978). If event a happened before event b, then
// L(a) < L(b). The converse does not hold: L orders concurrent events too,
// arbitrarily. Ties between processes are broken by process id when a total
// order is wanted.
class LamportClock {
 public:
  uint64_t time() const { return time_; }

  // A local event or a send: advances and returns the new time.
  uint64_t tick() { return ++time_; }

  // On delivery of a message stamped `remote`: past both, returned.
  uint64_t receive(uint64_t remote) {
    uint64_t before = time_;
    time_ = std::max(time_, remote) + 1;
    SYNOD_ASSERT(time_ > before && time_ > remote);
    return time_;
  }

 private:
  uint64_t time_ = 0;
};

}  // namespace synod
