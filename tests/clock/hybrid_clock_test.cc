#include "synod/clock/hybrid_clock.h"

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <limits>
#include <sstream>

#include "execution.h"

namespace synod {
namespace {

using clock_testing::Execution;
using clock_testing::run;
using clock_testing::scenarios;

std::string text(HlcTimestamp t) {
  std::ostringstream out;
  out << t;
  return out.str();
}

RC_GTEST_PROP(HybridClock, OrderIsConsistentWithHappenedBefore, ()) {
  Execution x = run(*scenarios());
  for (size_t b = 0; b < x.events.size(); ++b)
    for (size_t a = 0; a < b; ++a)
      if (x.happened_before(a, b) && !(x.events[a].hlc < x.events[b].hlc))
        RC_FAIL(x.describe(a) + " happened before " + x.describe(b) + " but HLC did not grow\n" +
                x.to_string());
}

// The paper's bound on l: pt.f <= l.f <= pt.f + epsilon, with epsilon the
// largest difference between two physical clocks at one instant (here
// measured over the run, the tightest epsilon it satisfies). Underneath it,
// what wall is: the largest physical reading in the event's causal past.
RC_GTEST_PROP(HybridClock, WallStaysWithinEpsilonOfPhysicalTime, ()) {
  Execution x = run(*scenarios());
  bool ahead = false;
  for (size_t f = 0; f < x.events.size(); ++f) {
    const auto& e = x.events[f];
    int64_t heard = e.physical;
    for (size_t g = 0; g < f; ++g)
      if (x.happened_before(g, f)) heard = std::max(heard, x.events[g].physical);
    if (e.hlc.wall != heard)
      RC_FAIL(x.describe(f) + ": wall should be the largest reading in its past, " +
              std::to_string(heard) + "\n" + x.to_string());
    if (e.hlc.wall < e.physical || e.hlc.wall - e.physical > x.epsilon)
      RC_FAIL(x.describe(f) + ": wall outside [pt, pt + epsilon]\n" + x.to_string());
    ahead |= e.hlc.wall > e.physical;
  }
  RC_CLASSIFY(ahead, "some wall ahead of its physical clock");
}

// The paper's bound on c: c.f <= N * (epsilon + 1) when every clock advances
// at least one unit (here 1ns) between its process's events. Scenarios may
// also put k events at one reading; then each process has at most
// k * (epsilon + 1) events whose readings lie in [l.f - epsilon, l.f], and the
// bound is N * k * (epsilon + 1). Underneath it, what the counter is: the
// length of the longest causal chain before f whose events all share f's
// wall (the paper proves <=; the algorithm makes it exact, the smallest
// counter that keeps happened-before).
RC_GTEST_PROP(HybridClock, LogicalCounterStaysBounded, ()) {
  Execution x = run(*scenarios());
  const uint64_t bound = x.processes * x.events_per_reading * static_cast<uint64_t>(x.epsilon + 1);
  std::vector<uint32_t> chain(x.events.size(), 0);
  uint32_t largest = 0;
  for (size_t f = 0; f < x.events.size(); ++f) {
    const auto& e = x.events[f];
    for (size_t g = 0; g < f; ++g)
      if (x.happened_before(g, f) && x.events[g].hlc.wall == e.hlc.wall)
        chain[f] = std::max(chain[f], chain[g] + 1);
    if (e.hlc.logical != chain[f])
      RC_FAIL(x.describe(f) + ": logical should be " + std::to_string(chain[f]) +
              ", the longest chain before it sharing its wall\n" + x.to_string());
    if (e.hlc.logical > bound)
      RC_FAIL(x.describe(f) + ": logical above N * k * (epsilon + 1) = " + std::to_string(bound) +
              "\n" + x.to_string());
    largest = std::max(largest, e.hlc.logical);
  }
  RC_CLASSIFY(largest > 0, "counter used");
  RC_CLASSIFY(largest > 2, "counter above 2");
  RC_CLASSIFY(x.events_per_reading == 1, "clocks advance between a process's events");
}

TEST(HybridClock, FollowsPhysicalTimeAndCountsWhileItStalls) {
  HybridClock c;
  EXPECT_EQ(c.now(100), (HlcTimestamp{100, 0}));
  EXPECT_EQ(c.now(100), (HlcTimestamp{100, 1}));  // clock granularity: two events, one reading
  EXPECT_EQ(c.now(101), (HlcTimestamp{101, 0}));
  EXPECT_EQ(c.last(), (HlcTimestamp{101, 0}));
}

TEST(HybridClock, FirstEventTakesThePhysicalReadingWhateverItIs) {
  EXPECT_EQ(HybridClock().now(0), (HlcTimestamp{0, 0}));
  EXPECT_EQ(HybridClock().now(-5), (HlcTimestamp{-5, 0}));  // a clock skewed below 0
  EXPECT_EQ(HybridClock().update(-5, HlcTimestamp{-7, 2}), (HlcTimestamp{-5, 0}));
  EXPECT_LT(HybridClock().last(), (HlcTimestamp{std::numeric_limits<int64_t>::min() + 1, 0}));
}

TEST(HybridClock, NeverGoesBackWhenPhysicalTimeDoes) {
  HybridClock c;
  c.now(1000);
  EXPECT_EQ(c.now(900), (HlcTimestamp{1000, 1}));  // the clock was stepped back
  EXPECT_EQ(c.now(950), (HlcTimestamp{1000, 2}));
  EXPECT_EQ(c.now(1001), (HlcTimestamp{1001, 0}));
}

// The four cases of the paper's receive rule.
TEST(HybridClock, UpdateTakesTheLargestWallAndCountsPastWhoeverHeldIt) {
  HybridClock c;
  c.now(100);
  // The sender's clock is ahead of ours: adopt its wall, count past it.
  EXPECT_EQ(c.update(90, HlcTimestamp{150, 4}), (HlcTimestamp{150, 5}));
  // We are still ahead of physical time.
  EXPECT_EQ(c.now(120), (HlcTimestamp{150, 6}));
  // Ours is ahead of the sender's: count past our own.
  EXPECT_EQ(c.update(130, HlcTimestamp{140, 9}), (HlcTimestamp{150, 7}));
  // Both hold the same wall: count past the larger counter.
  EXPECT_EQ(c.update(130, HlcTimestamp{150, 20}), (HlcTimestamp{150, 21}));
  EXPECT_EQ(c.update(130, HlcTimestamp{150, 3}), (HlcTimestamp{150, 22}));
  // Physical time has passed both: a new wall, counter back to 0.
  EXPECT_EQ(c.update(200, HlcTimestamp{160, 8}), (HlcTimestamp{200, 0}));
}

TEST(HybridClock, ResumesPastAStampIssuedBeforeARestart) {
  HybridClock before;
  before.update(10, HlcTimestamp{500, 0});  // heard from a clock far ahead
  HlcTimestamp issued = before.now(20);
  HybridClock after(before.last());
  EXPECT_GT(after.now(30), issued);
  EXPECT_LT(HybridClock().now(30), issued);  // what a fresh clock would do
}

TEST(HybridClock, TimestampsOrderByWallThenCounter) {
  EXPECT_LT((HlcTimestamp{5, 9}), (HlcTimestamp{6, 0}));
  EXPECT_LT((HlcTimestamp{5, 1}), (HlcTimestamp{5, 2}));
  EXPECT_EQ(text(HlcTimestamp{7, 3}), "7.3");
}

TEST(HybridClockDeathTest, CounterOverflowStops) {
  HybridClock c;
  HlcTimestamp full{10, std::numeric_limits<uint32_t>::max()};
  EXPECT_DEATH(c.update(5, full), "HLC counter overflow");
  HybridClock d(full);
  EXPECT_DEATH(d.now(5), "HLC counter overflow");
}

}  // namespace
}  // namespace synod
