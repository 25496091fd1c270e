#include "synod/base/rng.h"

#include <bit>
#include <cmath>

#include "synod/base/hash64.h"

namespace synod {
namespace {

uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

Rng::Rng(uint64_t seed) : seed_(seed) {
  uint64_t x = seed;
  for (auto& word : s_)
    word = splitmix64(x);
}

Rng Rng::split(std::string_view purpose) const {
  return Rng(hash64(purpose, seed_));
}

Rng Rng::split(uint64_t purpose) const {
  return Rng(Hasher(seed_).add(purpose).digest());
}

uint64_t Rng::next() {
  uint64_t result = std::rotl(s_[1] * 5, 7) * 9;
  uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = std::rotl(s_[3], 45);
  return result;
}

uint64_t Rng::uniform(uint64_t bound) {
  SYNOD_ASSERT(bound > 0);
  // Lemire's multiply-and-reject: unbiased, one multiplication in most cases.
  unsigned __int128 m = static_cast<unsigned __int128>(next()) * bound;
  uint64_t low = static_cast<uint64_t>(m);
  if (low < bound) {
    uint64_t threshold = -bound % bound;
    while (low < threshold) {
      m = static_cast<unsigned __int128>(next()) * bound;
      low = static_cast<uint64_t>(m);
    }
  }
  return static_cast<uint64_t>(m >> 64);
}

int64_t Rng::uniform_int(int64_t low, int64_t high) {
  SYNOD_ASSERT(low <= high);
  uint64_t span = static_cast<uint64_t>(high) - static_cast<uint64_t>(low) + 1;
  if (span == 0) return static_cast<int64_t>(next());  // the whole 64-bit range
  return static_cast<int64_t>(static_cast<uint64_t>(low) + uniform(span));
}

double Rng::uniform_real() {
  return static_cast<double>(next() >> 11) * 0x1.0p-53;
}

bool Rng::chance(double probability) {
  if (probability <= 0) return false;
  if (probability >= 1) return true;
  return uniform_real() < probability;
}

double Rng::exponential(double mean) {
  SYNOD_ASSERT(mean > 0);
  return -mean * std::log1p(-uniform_real());
}

Duration Rng::uniform_duration(Duration low, Duration high) {
  return Duration(uniform_int(low.count(), high.count()));
}

Duration Rng::exponential_duration(Duration mean) {
  return Duration(static_cast<int64_t>(exponential(static_cast<double>(mean.count()))));
}

}  // namespace synod
