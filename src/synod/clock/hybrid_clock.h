#pragma once

#include <compare>
#include <cstdint>

namespace synod {

// A hybrid logical clock timestamp: the largest physical time heard of, and
// a counter that orders events sharing it.
struct HlcTimestamp {
  int64_t wall = 0;  // nanoseconds
  uint32_t logical = 0;
  friend auto operator<=>(const HlcTimestamp&, const HlcTimestamp&) = default;
};

// Hybrid logical clock (Kulkarni, Demirbas et al., 2014). Like a Lamport
// clock it respects happened-before (a -> b implies hlc(a) < hlc(b)); unlike
// one it stays close to physical time: wall never exceeds the largest
// physical reading any process has made, so wall - pt <= the maximum clock
// offset between processes (epsilon), and logical stays bounded.
//
// The physical time is an input: protocols never read a clock, they pass
// their node's reading (Env::now()).
class HybridClock {
 public:
  HlcTimestamp now(int64_t physical_ns);                          // a local event or a send
  HlcTimestamp update(int64_t physical_ns, HlcTimestamp remote);  // on receive
  HlcTimestamp last() const { return last_; }

 private:
  HlcTimestamp last_;
};

}  // namespace synod
