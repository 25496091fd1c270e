// The harness itself: the clock properties are only as good as the
// happened-before relation and physical clocks they are checked against.

#include "execution.h"

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

namespace synod::clock_testing {
namespace {

// Happened-before a second way: the events reachable from `from` along direct
// edges (program order, send -> receive), by a depth-first search.
std::vector<bool> reachable_from(const Execution& x, size_t from) {
  std::vector<std::vector<size_t>> next(x.events.size());
  std::vector<int64_t> last(x.processes, -1);
  for (size_t e = 0; e < x.events.size(); ++e) {
    size_t p = x.events[e].process;
    if (last[p] >= 0) next[static_cast<size_t>(last[p])].push_back(e);
    last[p] = static_cast<int64_t>(e);
    if (x.events[e].kind == EventKind::kReceive) next[x.events[e].send].push_back(e);
  }
  std::vector<bool> seen(x.events.size());
  std::vector<size_t> stack = next[from];
  while (!stack.empty()) {
    size_t e = stack.back();
    stack.pop_back();
    if (seen[e]) continue;
    seen[e] = true;
    stack.insert(stack.end(), next[e].begin(), next[e].end());
  }
  return seen;
}

RC_GTEST_PROP(Execution, HappenedBeforeIsReachabilityOverDirectEdges, ()) {
  Execution x = run(*scenarios());
  for (size_t a = 0; a < x.events.size(); ++a) {
    std::vector<bool> reached = reachable_from(x, a);
    for (size_t b = 0; b < x.events.size(); ++b)
      RC_ASSERT(x.happened_before(a, b) == reached[b]);
  }
}

RC_GTEST_PROP(Execution, PhysicalClocksAdvanceAndStayWithinTheBound, ()) {
  Scenario s = *scenarios();
  Execution x = run(s);
  RC_ASSERT(x.epsilon <= s.max_offset);
  std::vector<int64_t> last(s.processes, 0);
  for (const Event& e : x.events) {
    RC_ASSERT(e.physical >= last[e.process]);
    last[e.process] = e.physical;
  }
}

TEST(Execution, ScriptedRun) {
  // p0 sends to p1; p2 acts alone; p1 receives, then sends to p2; p2 receives.
  Scenario s{.processes = 3, .max_offset = 10, .offsets = {10, 0, 5}};
  s.steps = {
      {.kind = StepKind::kSend, .process = 0, .peer = 1},  // e0
      {.kind = StepKind::kLocal, .process = 2},            // e1
      {.kind = StepKind::kDeliver, .message = 0},          // e2: p1 receives e0
      {.kind = StepKind::kSend, .process = 1, .peer = 2},  // e3
      {.kind = StepKind::kDeliver, .message = 0},          // e4: p2 receives e3
  };
  Execution x = run(s);
  ASSERT_EQ(x.events.size(), 5u);
  EXPECT_EQ(x.epsilon, 10);
  EXPECT_EQ(x.events_per_reading, 1u);
  EXPECT_EQ(x.events[2].kind, EventKind::kReceive);
  EXPECT_EQ(x.events[2].send, 0u);
  EXPECT_TRUE(x.happened_before(0, 2));
  EXPECT_TRUE(x.happened_before(0, 4));  // through p1
  EXPECT_TRUE(x.happened_before(1, 4));  // program order at p2
  EXPECT_TRUE(x.concurrent(0, 1));
  EXPECT_TRUE(x.concurrent(1, 3));
  EXPECT_FALSE(x.happened_before(4, 0));
  // Physical readings: true time 1..5 plus the offsets.
  EXPECT_EQ(x.events[0].physical, 11);
  EXPECT_EQ(x.events[2].physical, 3);
  // p1's wall comes from p0's faster clock, and so does p2's after two hops.
  EXPECT_EQ(x.events[2].hlc, (HlcTimestamp{11, 1}));
  EXPECT_EQ(x.events[3].hlc, (HlcTimestamp{11, 2}));
  EXPECT_EQ(x.events[4].hlc, (HlcTimestamp{11, 3}));
  EXPECT_EQ(x.events[4].vector.to_string(), "[1,2,2]");
  EXPECT_EQ(x.events[4].lamport, 4u);
}

}  // namespace
}  // namespace synod::clock_testing
