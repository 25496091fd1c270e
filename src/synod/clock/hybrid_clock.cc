#include "synod/clock/hybrid_clock.h"

#include <algorithm>
#include <limits>

#include "synod/base/assert.h"

namespace synod {

HlcTimestamp HybridClock::now(int64_t physical_ns) {
  HlcTimestamp before = last_;
  if (physical_ns > last_.wall) {
    last_ = {physical_ns, 0};
  } else {
    SYNOD_ASSERT(last_.logical < std::numeric_limits<uint32_t>::max());
    ++last_.logical;
  }
  SYNOD_ASSERT(last_ > before);
  return last_;
}

HlcTimestamp HybridClock::update(int64_t physical_ns, HlcTimestamp remote) {
  HlcTimestamp before = last_;
  int64_t wall = std::max({last_.wall, remote.wall, physical_ns});
  uint32_t logical;
  if (wall == last_.wall && wall == remote.wall)
    logical = std::max(last_.logical, remote.logical) + 1;
  else if (wall == last_.wall)
    logical = last_.logical + 1;
  else if (wall == remote.wall)
    logical = remote.logical + 1;
  else
    logical = 0;  // physical time is ahead of both
  last_ = {wall, logical};
  SYNOD_ASSERT(last_ > before && last_ > remote);
  return last_;
}

}  // namespace synod
