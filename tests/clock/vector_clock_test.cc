#include "synod/clock/vector_clock.h"

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include "execution.h"

namespace synod {
namespace {

using clock_testing::Execution;
using clock_testing::run;
using clock_testing::scenarios;
using Order = VectorClock::Order;

RC_GTEST_PROP(VectorClock, CharacterisesHappenedBeforeExactly, ()) {
  Execution x = run(*scenarios());
  for (size_t a = 0; a < x.events.size(); ++a)
    for (size_t b = 0; b < x.events.size(); ++b) {
      if (a == b) continue;
      const VectorClock& va = x.events[a].vector;
      const VectorClock& vb = x.events[b].vector;
      Order expected = x.happened_before(a, b)   ? Order::kBefore
                       : x.happened_before(b, a) ? Order::kAfter
                                                 : Order::kConcurrent;
      if (va.compare(vb) != expected || va.happened_before(vb) != x.happened_before(a, b) ||
          va.concurrent_with(vb) != x.concurrent(a, b))
        RC_FAIL(x.describe(a) + " vs " + x.describe(b) +
                ": clocks disagree with happened-before (" +
                (expected == Order::kBefore  ? "before"
                 : expected == Order::kAfter ? "after"
                                             : "concurrent") +
                ")\n" + x.to_string());
    }
}

// What an entry means: entry p of V(e) counts p's events in e's causal past,
// e included. The comparison rule above rests on it.
RC_GTEST_PROP(VectorClock, EntryCountsTheProcessEventsInTheCausalPast, ()) {
  Execution x = run(*scenarios());
  for (size_t e = 0; e < x.events.size(); ++e) {
    RC_ASSERT(x.events[e].vector.size() == x.processes);
    std::vector<uint64_t> count(x.processes, 0);
    for (size_t g = 0; g <= e; ++g)
      if (g == e || x.happened_before(g, e)) ++count[x.events[g].process];
    for (size_t p = 0; p < x.processes; ++p)
      if (x.events[e].vector[p] != count[p])
        RC_FAIL(x.describe(e) + ": entry " + std::to_string(p) + " should be " +
                std::to_string(count[p]) + "\n" + x.to_string());
  }
}

TEST(VectorClock, StartsAtZero) {
  VectorClock c(3);
  EXPECT_EQ(c.size(), 3u);
  EXPECT_EQ(c.to_string(), "[0,0,0]");
  EXPECT_EQ(VectorClock().to_string(), "[]");
  EXPECT_EQ(c.compare(VectorClock(3)), Order::kEqual);
}

TEST(VectorClock, ComparesAndPrints) {
  VectorClock a(3), b(3);
  a.tick(0);
  EXPECT_EQ(a.compare(b), Order::kAfter);
  EXPECT_EQ(b.compare(a), Order::kBefore);
  b.tick(1);
  EXPECT_TRUE(a.concurrent_with(b));
  EXPECT_TRUE(b.concurrent_with(a));
  EXPECT_FALSE(a.happened_before(b));
  b.merge(a);  // b receives a's message
  b.tick(1);
  EXPECT_TRUE(a.happened_before(b));
  EXPECT_FALSE(b.happened_before(a));
  EXPECT_EQ(b.to_string(), "[1,2,0]");
  EXPECT_EQ(b[1], 2u);
  EXPECT_EQ(std::vector<uint64_t>(b.entries().begin(), b.entries().end()),
            (std::vector<uint64_t>{1, 2, 0}));
  EXPECT_EQ(a.compare(a), Order::kEqual);
  EXPECT_FALSE(a.happened_before(a));
}

// Transitivity through a third process: r learns of p's event through q only.
TEST(VectorClock, HappenedBeforeIsTransitiveThroughMessages) {
  VectorClock p(3), q(3), r(3);
  p.tick(0);
  VectorClock sent_by_p = p;
  q.merge(sent_by_p);
  q.tick(1);
  q.tick(1);
  VectorClock sent_by_q = q;
  r.tick(2);
  r.merge(sent_by_q);
  r.tick(2);
  EXPECT_TRUE(sent_by_p.happened_before(r));
  EXPECT_EQ(r.to_string(), "[1,2,2]");
  p.tick(0);  // after the send, unknown to r
  EXPECT_TRUE(p.concurrent_with(r));
}

TEST(VectorClockDeathTest, MergingClocksOfDifferentSizesStops) {
  VectorClock a(2), b(3);
  EXPECT_DEATH(a.merge(b), "assertion failed");
  EXPECT_DEATH((void)a.compare(b), "assertion failed");
}

}  // namespace
}  // namespace synod
