#include "synod/clock/vector_clock.h"

#include <algorithm>

#include "synod/base/assert.h"

namespace synod {

void VectorClock::tick(size_t process) {
  SYNOD_ASSERT(process < entries_.size());
  SYNOD_ASSERT(entries_[process] < UINT64_MAX);
  ++entries_[process];
}

void VectorClock::merge(const VectorClock& other) {
  SYNOD_ASSERT(other.size() == size());
  for (size_t i = 0; i < entries_.size(); ++i)
    entries_[i] = std::max(entries_[i], other.entries_[i]);
}

VectorClock::Order VectorClock::compare(const VectorClock& other) const {
  SYNOD_ASSERT(other.size() == size());
  bool some_less = false, some_greater = false;
  for (size_t i = 0; i < entries_.size(); ++i) {
    some_less |= entries_[i] < other.entries_[i];
    some_greater |= entries_[i] > other.entries_[i];
  }
  if (some_less && some_greater) return Order::kConcurrent;
  if (some_less) return Order::kBefore;
  if (some_greater) return Order::kAfter;
  return Order::kEqual;
}

std::string VectorClock::to_string() const {
  std::string text = "[";
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (i) text += ',';
    text += std::to_string(entries_[i]);
  }
  return text + "]";
}

}  // namespace synod
