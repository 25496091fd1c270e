#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <utility>

#include "synod/base/assert.h"
#include "synod/base/types.h"

namespace synod {

// Seeded pseudo-random generator (xoshiro256**). Every distribution is
// computed here, not by <random>, whose distributions differ between standard
// libraries: a simulation must be a pure function of its seed.
class Rng {
 public:
  explicit Rng(uint64_t seed);

  // An independent generator for one purpose ("network", "node/3", ...). It
  // depends only on this generator's seed and the purpose, never on how much
  // of this one was used, so adding a consumer does not shift the others.
  Rng split(std::string_view purpose) const;
  Rng split(uint64_t purpose) const;

  uint64_t next();
  uint64_t uniform(uint64_t bound);                // [0, bound), bound > 0
  int64_t uniform_int(int64_t low, int64_t high);  // [low, high]
  double uniform_real();                           // [0, 1)
  bool chance(double probability);                 // true with that probability
  double exponential(double mean);                 // mean > 0
  Duration uniform_duration(Duration low, Duration high);
  Duration exponential_duration(Duration mean);

  template <typename T>
  void shuffle(std::span<T> items) {
    for (size_t i = items.size(); i > 1; --i)
      std::swap(items[i - 1], items[uniform(i)]);
  }

  uint64_t seed() const { return seed_; }

 private:
  uint64_t seed_;
  uint64_t s_[4];
};

}  // namespace synod
