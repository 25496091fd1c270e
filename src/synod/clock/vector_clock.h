#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "synod/base/assert.h"

namespace synod {

// A vector clock over a fixed set of processes 0..size-1 (Fidge 1988,
// Mattern 1988).
//
// Guarantee: it characterises happened-before exactly. Entry p of an event's
// clock counts the events of process p in that event's causal past (itself
// included), because a process ticks only its own entry and learns the others
// only through merge, i.e. through a chain of messages. Hence a -> b iff
// V(a) < V(b) (every entry <=, at least one <), and a, b are concurrent iff
// neither clock is below the other.
//
// The price is one counter per process in every message, where a Lamport
// clock needs one number.
class VectorClock {
 public:
  enum class Order { kEqual, kBefore, kAfter, kConcurrent };

  VectorClock() = default;
  explicit VectorClock(size_t processes) : entries_(processes, 0) {}

  size_t size() const { return entries_.size(); }
  uint64_t operator[](size_t process) const {
    SYNOD_ASSERT(process < entries_.size());
    return entries_[process];
  }
  std::span<const uint64_t> entries() const { return entries_; }

  // A local event or a send by `process`, the owner of this clock.
  void tick(size_t process);
  // On delivery: element-wise max with the sender's clock, then tick() for the
  // receive event itself. Sizes must match: clocks of one system only.
  void merge(const VectorClock& other);

  // kBefore: this happened before `other`; kAfter: the reverse.
  Order compare(const VectorClock& other) const;
  bool happened_before(const VectorClock& other) const { return compare(other) == Order::kBefore; }
  bool concurrent_with(const VectorClock& other) const {
    return compare(other) == Order::kConcurrent;
  }

  std::string to_string() const;  // "[1,0,3]"

  friend bool operator==(const VectorClock&, const VectorClock&) = default;

 private:
  std::vector<uint64_t> entries_;
};

}  // namespace synod
