#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

namespace synod {

// A 64-bit finalizer with full avalanche (every input bit flips each output
// bit with probability about 1/2).
constexpr uint64_t mix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

// Incremental, order-sensitive 64-bit hash. Used for trace hashes (two runs
// agree exactly when they fed the same values in the same order) and for key
// placement. Not cryptographic.
class Hasher {
 public:
  explicit constexpr Hasher(uint64_t seed = 0) : state_(mix64(seed ^ 0x9e3779b97f4a7c15ULL)) {}

  constexpr Hasher& add(uint64_t value) {
    state_ = mix64(state_ ^ (value * 0x9e3779b97f4a7c15ULL)) + 0x632be59bd9b4e019ULL;
    ++count_;
    return *this;
  }

  Hasher& add(std::string_view bytes) {
    add(bytes.size());
    size_t i = 0;
    for (; i + 8 <= bytes.size(); i += 8) {
      uint64_t word;
      std::memcpy(&word, bytes.data() + i, 8);
      add(word);
    }
    uint64_t tail = 0;
    if (i < bytes.size()) std::memcpy(&tail, bytes.data() + i, bytes.size() - i);
    return add(tail);
  }

  constexpr uint64_t digest() const { return mix64(state_ ^ count_); }

 private:
  uint64_t state_;
  uint64_t count_ = 0;
};

inline uint64_t hash64(std::string_view bytes, uint64_t seed = 0) {
  return Hasher(seed).add(bytes).digest();
}

}  // namespace synod
