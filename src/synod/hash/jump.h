#pragma once

#include <cstdint>

#include "synod/base/assert.h"

namespace synod {

// Jump consistent hash (Lamping & Veach, 2014): maps a key to one of
// `buckets` buckets, numbered 0..buckets-1.
//
// Guarantees: an almost perfectly even spread (every bucket gets 1/buckets of
// the keys, up to sampling noise), and growing from n to n+1 buckets moves
// exactly the keys that land in the new bucket, about 1/(n+1) of them; so
// shrinking from n+1 to n moves only the last bucket's keys.
//
// Costs: no memory at all and O(log buckets) time. The price: buckets are
// numbered, so only the last one can be removed without moving keys between
// the others, and there are no weights. It suits shards numbered 0..n-1 (each
// itself replicated), not a changing set of named nodes.
//
// `key` should already be a well-mixed hash (hash64 of the key).
constexpr int32_t jump_hash(uint64_t key, int32_t buckets) {
  SYNOD_ASSERT(buckets > 0);
  // Follow the key's bucket as the bucket count grows. At each count j the
  // key jumps to bucket j with probability 1/(j+1); rather than try every
  // count, draw where the next jump happens: with r uniform in (0, 1], the
  // next count at which this key moves is floor((b + 1) / r). The key itself
  // seeds the random sequence (a 64-bit linear congruential generator), so the
  // same key always makes the same jumps.
  int64_t bucket = -1;
  int64_t next = 0;
  while (next < buckets) {
    bucket = next;
    key = key * 2862933555777941757ULL + 1;
    // (b + 1) / r, computed in the paper's order so that every key lands
    // where other implementations put it.
    const double one_over_r = static_cast<double>(1LL << 31) / static_cast<double>((key >> 33) + 1);
    next = static_cast<int64_t>(static_cast<double>(bucket + 1) * one_over_r);
  }
  return static_cast<int32_t>(bucket);
}

}  // namespace synod
