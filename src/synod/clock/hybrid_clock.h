#pragma once

#include <compare>
#include <cstdint>
#include <limits>

namespace synod {

// A hybrid logical clock timestamp, ordered lexicographically: the largest
// physical time heard of (the paper's l), then a counter (c) that orders
// events sharing it.
struct HlcTimestamp {
  int64_t wall = 0;  // nanoseconds
  uint32_t logical = 0;
  friend auto operator<=>(const HlcTimestamp&, const HlcTimestamp&) = default;
};

// Hybrid logical clock (Kulkarni, Demirbas et al. 2014, "Logical Physical
// Clocks and Consistent Snapshots in Globally Distributed Databases"): a
// Lamport clock whose stamps stay next to physical time, so they can be
// compared with clock readings (snapshots "as of time T", lease and timeout
// reasoning) while still respecting causality.
//
// Guarantees, for every event f (pt.f: its process's physical reading then):
// - a -> b implies hlc(a) < hlc(b): like a Lamport clock, every stamp is past
//   its process's previous stamp and past the stamp of the message received.
// - pt.f <= wall(f) <= pt.f + epsilon, where epsilon is the largest difference
//   between two processes' physical clocks at one instant: wall(f) is the
//   largest physical reading in f's causal past, and that reading was taken
//   no later than f, by a clock at most epsilon ahead of f's.
// - logical(f) <= N * (epsilon + 1) for N processes, when every process's
//   clock advances by at least one unit between its own events: logical(f) is
//   the length of the longest causal chain before f whose events all share
//   wall(f), and each process has at most epsilon + 1 events whose readings
//   fall in [wall(f) - epsilon, wall(f)].
//
// The physical time is an input: protocols never read a clock, they pass
// their node's reading (Env::now()). The bounds assume a node's readings never
// go back; if they do anyway, the stamps still do not (the counter runs until
// physical time passes wall again).
class HybridClock {
 public:
  HybridClock() = default;
  // Resumes after a restart past every stamp issued before it (persist
  // last()): a fresh clock would restart from physical time, which may be
  // behind a wall heard from a faster clock before the crash.
  explicit HybridClock(HlcTimestamp resume_after) : last_(resume_after) {}

  HlcTimestamp now(int64_t physical_ns);                          // a local event or a send
  HlcTimestamp update(int64_t physical_ns, HlcTimestamp remote);  // on receive
  // The latest stamp issued; before the first, one below every stamp.
  HlcTimestamp last() const { return last_; }

 private:
  // Below any physical reading, so that the first event takes its reading
  // even when that is 0 or negative (a node's skewed clock may be).
  HlcTimestamp last_{std::numeric_limits<int64_t>::min(), 0};
};

}  // namespace synod
