#pragma once

#include <chrono>

// How long a leader lease may be, given how badly clocks may behave.
namespace synod::raft {

// What the runtime promises about every node's clock.
struct ClockBound {
  // Rate error of any clock against real time, within +-max_drift
  // (1e-4 = 100 ppm). Two clocks drift apart at up to twice this.
  double max_drift = 0;
  // The furthest a clock may jump ahead at once (an NTP step). Clocks never
  // jump back: a runtime must count ticks on a monotonic clock.
  std::chrono::nanoseconds max_jump{0};
};

// The longest lease, in ticks, that is safe under `clocks`.
//
// The argument: a leader's lease starts when it sends a heartbeat round
// (its clock) and lasts lease_ticks ticks; every follower of the majority
// that answered the round received it later and then refuses to vote for
// anyone else for election_ticks ticks (its clock). No new leader can exist
// before one of those followers votes, so the lease is safe while
//
//   lease_ticks * tick / (1 - drift)  <=  ((election_ticks - 1) * tick - jump) / (1 + drift)
//
// (the leader's lease measured at its slowest, the follower's refusal at its
// fastest; a follower's first tick may come at once, and a jump ahead ends
// its refusal early). 0 when no lease is safe.
inline int max_safe_lease_ticks(int election_ticks, std::chrono::nanoseconds tick,
                                ClockBound clocks) {
  if (tick.count() <= 0 || clocks.max_drift < 0 || clocks.max_drift >= 1) return 0;
  double follower_ticks =
      (election_ticks - 1) - static_cast<double>(clocks.max_jump.count()) / tick.count();
  double lease = follower_ticks * (1 - clocks.max_drift) / (1 + clocks.max_drift);
  return lease < 1 ? 0 : static_cast<int>(lease);
}

}  // namespace synod::raft
