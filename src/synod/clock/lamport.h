#pragma once

#include <algorithm>
#include <cstdint>

#include "synod/base/assert.h"

namespace synod {

// Lamport's logical clock (Lamport 1978, "Time, clocks, and the ordering of
// events in a distributed system").
//
// Guarantee: if event a happened before event b, then L(a) < L(b). Each event
// is stamped past its process's previous event (tick, receive) and, on a
// receive, past the send it depends on (receive); happened-before is the
// transitive closure of exactly those two relations, so the stamps climb along
// every causal chain.
//
// The converse does not hold: concurrent events are ordered too, arbitrarily,
// so L(a) < L(b) says nothing about causality (a VectorClock does). Ordering
// events by (L, process id) gives a total order that extends happened-before.
class LamportClock {
 public:
  uint64_t time() const { return time_; }

  // A local event or a send: advances and returns the new time.
  uint64_t tick() {
    SYNOD_ASSERT(time_ < UINT64_MAX);  // wrapping would send time back to 0
    return ++time_;
  }

  // On delivery of a message stamped `remote`: max(local, remote) + 1, returned.
  uint64_t receive(uint64_t remote) {
    uint64_t before = time_;
    SYNOD_ASSERT(before < UINT64_MAX && remote < UINT64_MAX);
    time_ = std::max(before, remote) + 1;
    SYNOD_ASSERT(time_ > before && time_ > remote);  // past both predecessors
    return time_;
  }

 private:
  uint64_t time_ = 0;
};

}  // namespace synod
