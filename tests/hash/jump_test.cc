#include "synod/hash/jump.h"

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "synod/base/hash64.h"

namespace synod {
namespace {

std::string key(int i) {
  return "key-" + std::to_string(i);
}

// Vectors published with other implementations of the paper's algorithm
// (ClickHouse's jumpConsistentHash tests, go-jump): the same key lands in the
// same bucket everywhere.
static_assert(jump_hash(1, 1) == 0);
static_assert(jump_hash(42, 57) == 43);
static_assert(jump_hash(256, 1024) == 520);
static_assert(jump_hash(0xDEAD10CC, 1) == 0);
static_assert(jump_hash(0xDEAD10CC, 666) == 361);
static_assert(jump_hash(16045690984833335023ULL, 255) == 237);

TEST(JumpHash, MatchesPublishedVectorsAtRunTime) {
  struct Case {
    uint64_t key;
    int32_t buckets;
    int32_t bucket;
  };
  const std::vector<Case> cases = {
      {1, 1, 0},          {42, 57, 43},           {256, 1024, 520},
      {0xDEAD10CC, 1, 0}, {0xDEAD10CC, 666, 361}, {16045690984833335023ULL, 255, 237}};
  for (const Case& c : cases)
    EXPECT_EQ(jump_hash(c.key, c.buckets), c.bucket) << c.key << " " << c.buckets;
}

TEST(JumpHash, GrowingMovesKeysOnlyToTheNewBucket) {
  constexpr int kKeys = 5000;
  for (int32_t n = 1; n < 40; ++n) {
    int moved = 0;
    for (int i = 0; i < kKeys; ++i) {
      uint64_t h = hash64(key(i));
      int32_t a = jump_hash(h, n), b = jump_hash(h, n + 1);
      ASSERT_GE(a, 0);
      ASSERT_LT(a, n);
      if (a != b) {
        ASSERT_EQ(b, n) << key(i);
        ++moved;
      }
    }
    const double ideal = double{kKeys} / (n + 1);
    EXPECT_NEAR(moved, ideal, ideal / 3 + 20) << n;
  }
}

TEST(JumpHash, RemovingTheLastBucketMovesOnlyItsKeys) {
  constexpr int kKeys = 20'000;
  constexpr int32_t kBuckets = 10;
  std::vector<int> moved_to(kBuckets, 0);
  for (int i = 0; i < kKeys; ++i) {
    uint64_t h = hash64(key(i));
    int32_t before = jump_hash(h, kBuckets), after = jump_hash(h, kBuckets - 1);
    if (before == kBuckets - 1) {
      ++moved_to[static_cast<size_t>(after)];
    } else {
      ASSERT_EQ(after, before) << key(i);
    }
  }
  // Its keys spread evenly over the rest.
  for (int32_t b = 0; b < kBuckets - 1; ++b)
    EXPECT_NEAR(moved_to[static_cast<size_t>(b)], kKeys / 10 / 9, kKeys / 10 / 9 / 3) << b;
}

TEST(JumpHash, SpreadsEvenly) {
  constexpr int kKeys = 100'000;
  std::vector<int> load(10, 0);
  for (int i = 0; i < kKeys; ++i)
    ++load[static_cast<size_t>(jump_hash(hash64(key(i)), 10))];
  for (size_t b = 0; b < load.size(); ++b)
    EXPECT_NEAR(load[b], kKeys / 10, 400) << b;  // 4 standard deviations of binomial noise
}

TEST(JumpHash, NeedsABucket) {
  EXPECT_DEATH(jump_hash(1, 0), "buckets > 0");
}

RC_GTEST_PROP(JumpHash, StaysInRangeAndMovesOnlyToTheNewBucket, (uint64_t k)) {
  const auto n = *rc::gen::inRange<int32_t>(1, 1'000'000);
  const int32_t b = jump_hash(k, n);
  RC_ASSERT(b >= 0);
  RC_ASSERT(b < n);
  const int32_t grown = jump_hash(k, n + 1);
  RC_ASSERT(grown == b || grown == n);
}

}  // namespace
}  // namespace synod
