#include "synod/clock/hybrid_clock.h"

#include <algorithm>
#include <limits>

#include "synod/base/assert.h"

namespace synod {
namespace {

// The counter only grows while physical time stays at or behind wall, which
// lasts at most epsilon: 2^32 events in that window is not load but a broken
// clock input or a forged remote stamp, and wrapping would send time back.
constexpr uint64_t kMaxLogical = std::numeric_limits<uint32_t>::max();

}  // namespace

HlcTimestamp HybridClock::now(int64_t physical_ns) {
  const HlcTimestamp before = last_;
  if (physical_ns > before.wall) {
    last_ = {physical_ns, 0};
  } else {
    SYNOD_ASSERT_MSG(before.logical < kMaxLogical, "HLC counter overflow");
    last_.logical = before.logical + 1;
  }
  SYNOD_ASSERT(last_ > before);  // stamps never go back
  SYNOD_ASSERT(last_.wall >= physical_ns);
  return last_;
}

HlcTimestamp HybridClock::update(int64_t physical_ns, HlcTimestamp remote) {
  const HlcTimestamp before = last_;
  const int64_t wall = std::max({before.wall, remote.wall, physical_ns});
  // The paper's four cases: the counter continues whichever predecessor
  // already holds `wall`; physical time past both starts a new wall at 0.
  uint64_t logical = 0;
  if (wall == before.wall && wall == remote.wall)
    logical = uint64_t{std::max(before.logical, remote.logical)} + 1;
  else if (wall == before.wall)
    logical = uint64_t{before.logical} + 1;
  else if (wall == remote.wall)
    logical = uint64_t{remote.logical} + 1;
  SYNOD_ASSERT_MSG(logical <= kMaxLogical, "HLC counter overflow");
  last_ = {wall, static_cast<uint32_t>(logical)};
  SYNOD_ASSERT(last_ > before && last_ > remote);  // past both predecessors
  SYNOD_ASSERT(last_.wall >= physical_ns);
  return last_;
}

}  // namespace synod
