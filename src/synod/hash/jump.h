#pragma once

#include <cstdint>

#include "synod/base/assert.h"

namespace synod {

// Jump consistent hash (Lamping & Veach, 2014): maps a key to one of
// `buckets` buckets, numbered 0..buckets-1, with no memory at all and an
// almost perfectly even spread. Growing from n to n+1 buckets moves exactly
// the keys that land in the new bucket (about 1/(n+1) of them). The price:
// buckets are numbered, so only the last one can be removed, and there are no
// weights; it suits shards numbered 0..n-1, not a set of named nodes.
constexpr int32_t jump_hash(uint64_t key, int32_t buckets) {
  SYNOD_ASSERT(buckets > 0);
  // The key drives a linear congruential generator; each step jumps forward
  // to the next bucket count at which this key would move.
  int64_t bucket = -1, next = 0;
  while (next < buckets) {
    bucket = next;
    key = key * 2862933555777941757ULL + 1;
    next = static_cast<int64_t>(
        static_cast<double>(bucket + 1) *
        (static_cast<double>(1LL << 31) / static_cast<double>((key >> 33) + 1)));
  }
  return static_cast<int32_t>(bucket);
}

}  // namespace synod
