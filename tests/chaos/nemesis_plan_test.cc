// The nemesis plan is a pure function of the seed and the flags, takes every
// kind of the mix once before repeating any, fits the run, and the mix
// parser refuses what it does not know.

#include <gtest/gtest.h>

#include <set>

#include "synod/chaos/nemesis.h"

namespace synod::chaos {
namespace {

NemesisPlanOptions options(uint64_t seed) {
  return {.seed = seed, .mix = all_faults(), .first_ms = 3000, .last_ms = 120'000,
          .gap_min_ms = 500, .gap_max_ms = 1500, .length_min_ms = 1500, .length_max_ms = 2500};
}

TEST(NemesisPlan, SameSeedSamePlan) {
  auto a = plan_faults(options(7)), b = plan_faults(options(7)), c = plan_faults(options(8));
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].kind, b[i].kind);
    EXPECT_EQ(a[i].start_ms, b[i].start_ms);
    EXPECT_EQ(a[i].choice, b[i].choice);
  }
  bool differs = a.size() != c.size();
  for (size_t i = 0; !differs && i < a.size(); ++i)
    differs = a[i].kind != c[i].kind || a[i].start_ms != c[i].start_ms;
  EXPECT_TRUE(differs);
}

TEST(NemesisPlan, EveryKindOnceFirstAndAllWithinTheRun) {
  auto plan = plan_faults(options(3));
  size_t kinds = all_faults().size();
  ASSERT_GE(plan.size(), kinds);
  std::set<FaultKind> first;
  for (size_t i = 0; i < kinds; ++i)
    first.insert(plan[i].kind);
  EXPECT_EQ(first.size(), kinds);
  int64_t end = 0;
  for (const PlannedFault& f : plan) {
    EXPECT_GE(f.start_ms, end);  // one at a time
    end = f.start_ms + f.length_ms;
    EXPECT_LE(end, 120'000);
  }
}

TEST(NemesisPlan, ParsesNamesAndGroups) {
  auto mix = parse_nemesis("partition,kill-leader,pause-leader");
  ASSERT_TRUE(mix.ok());
  EXPECT_EQ(mix->size(), 6u);
  EXPECT_TRUE(parse_nemesis("none").ok() && parse_nemesis("none")->empty());
  EXPECT_EQ(parse_nemesis("all")->size(), all_faults().size());
  EXPECT_FALSE(parse_nemesis("partition,earthquake").ok());
  EXPECT_TRUE(Nemesis::unsupported(FaultKind::kClock, System::kEtcd).has_value());
  EXPECT_FALSE(Nemesis::unsupported(FaultKind::kClock, System::kSynod).has_value());
}

}  // namespace
}  // namespace synod::chaos
