#include "synod/base/rng.h"

#include <gtest/gtest.h>

#include <array>

#include "synod/base/duration.h"

namespace synod {
namespace {

TEST(Rng, SameSeedSameSequence) {
  Rng a(42), b(42), c(43);
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    uint64_t x = a.next();
    EXPECT_EQ(x, b.next());
    differs |= x != c.next();
  }
  EXPECT_TRUE(differs);
}

TEST(Rng, SplitDependsOnPurposeNotOnUse) {
  Rng a(7), b(7);
  for (int i = 0; i < 10; ++i)
    a.next();
  EXPECT_EQ(a.split("network").next(), b.split("network").next());
  EXPECT_NE(b.split("network").next(), b.split("disk").next());
}

TEST(Rng, UniformStaysInRangeAndCoversIt) {
  Rng rng(1);
  std::array<int, 6> counts{};
  for (int i = 0; i < 60'000; ++i) {
    uint64_t x = rng.uniform(6);
    ASSERT_LT(x, 6u);
    ++counts[x];
  }
  for (int c : counts)
    EXPECT_NEAR(c, 10'000, 500);
  for (int i = 0; i < 1000; ++i) {
    int64_t v = rng.uniform_int(-3, 3);
    EXPECT_GE(v, -3);
    EXPECT_LE(v, 3);
  }
}

TEST(Rng, ExponentialHasItsMean) {
  Rng rng(2);
  double sum = 0;
  for (int i = 0; i < 100'000; ++i)
    sum += rng.exponential(5.0);
  EXPECT_NEAR(sum / 100'000, 5.0, 0.1);
}

TEST(Duration, ParsesAndFormats) {
  EXPECT_EQ(parse_duration("250ms"), std::chrono::milliseconds(250));
  EXPECT_EQ(parse_duration("1.5s"), std::chrono::milliseconds(1500));
  EXPECT_EQ(parse_duration("60"), std::chrono::seconds(60));
  EXPECT_EQ(parse_duration("2m"), std::chrono::minutes(2));
  EXPECT_EQ(parse_duration("10us"), std::chrono::microseconds(10));
  EXPECT_EQ(parse_duration("-1s"), std::nullopt);
  EXPECT_EQ(parse_duration("fast"), std::nullopt);
  EXPECT_EQ(parse_duration("5 parsecs"), std::nullopt);
  EXPECT_EQ(format_duration(std::chrono::milliseconds(1500)), "1.5s");
  EXPECT_EQ(format_duration(std::chrono::microseconds(12)), "12us");
}

}  // namespace
}  // namespace synod
