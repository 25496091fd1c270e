#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace synod {

// A process in a cluster: a node running a protocol, or a client. Nodes are
// numbered from 0; clients take ids from kFirstClientId up so the two never
// collide.
using ProcessId = uint32_t;
using NodeId = ProcessId;
inline constexpr ProcessId kFirstClientId = 1'000;
inline constexpr bool is_client(ProcessId p) {
  return p >= kFirstClientId;
}

// Time is counted in nanoseconds. A protocol sees only its node's local clock
// (which the simulator may skew and drift); the simulator's virtual time is
// never visible to it.
using Duration = std::chrono::nanoseconds;
struct LocalClock {
  using rep = int64_t;
  using period = std::nano;
  using duration = Duration;
  using time_point = std::chrono::time_point<LocalClock, Duration>;
  static constexpr bool is_steady = true;
};
using Time = LocalClock::time_point;

inline constexpr Time time_from_nanos(int64_t ns) {
  return Time(Duration(ns));
}

// Opaque bytes: message payloads and stored records. Runtimes never look inside.
using Bytes = std::string;

}  // namespace synod
