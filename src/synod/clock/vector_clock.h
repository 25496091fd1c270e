#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace synod {

// A vector clock over a fixed set of processes 0..size-1 (Fidge, Mattern
// 1988). It characterises happened-before exactly: a -> b iff V(a) < V(b)
// (every entry <=, one <), and a, b are concurrent iff neither is below the
// other. The cost is one counter per process in every message.
class VectorClock {
 public:
  enum class Order { kEqual, kBefore, kAfter, kConcurrent };

  VectorClock() = default;
  explicit VectorClock(size_t processes) : entries_(processes, 0) {}

  size_t size() const { return entries_.size(); }
  uint64_t operator[](size_t process) const { return entries_[process]; }
  std::span<const uint64_t> entries() const { return entries_; }

  // A local event or a send by `process` (the owner of this clock).
  void tick(size_t process);
  // On delivery: element-wise max with the sender's clock. Follow with tick().
  void merge(const VectorClock& other);

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
