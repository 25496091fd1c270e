#include "synod/clock/lamport.h"

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include "execution.h"

namespace synod {
namespace {

using clock_testing::Execution;
using clock_testing::run;
using clock_testing::scenarios;

RC_GTEST_PROP(LamportClock, OrderIsConsistentWithHappenedBefore, ()) {
  Execution x = run(*scenarios());
  for (size_t b = 0; b < x.events.size(); ++b)
    for (size_t a = 0; a < b; ++a)
      if (x.happened_before(a, b) && !(x.events[a].lamport < x.events[b].lamport))
        RC_FAIL(x.describe(a) + " happened before " + x.describe(b) + " but L did not grow\n" +
                x.to_string());
}

// The converse does not hold: Lamport times order concurrent events too.
// That is the reason vector clocks exist; check it really happens.
TEST(LamportClock, OrdersConcurrentEventsArbitrarily) {
  LamportClock p, q;
  p.tick();
  uint64_t a = p.tick();  // p's second local event
  uint64_t b = q.tick();  // q's first, concurrent with a
  EXPECT_LT(b, a);
}

TEST(LamportClock, TicksFromZero) {
  LamportClock c;
  EXPECT_EQ(c.time(), 0u);
  EXPECT_EQ(c.tick(), 1u);
  EXPECT_EQ(c.tick(), 2u);
  EXPECT_EQ(c.time(), 2u);
}

TEST(LamportClock, ReceiveJumpsPastTheSenderOrItself) {
  LamportClock c;
  EXPECT_EQ(c.tick(), 1u);
  EXPECT_EQ(c.receive(10), 11u);  // the sender is ahead
  EXPECT_EQ(c.receive(3), 12u);   // we are ahead: still advance
  EXPECT_EQ(c.receive(12), 13u);  // a tie
  EXPECT_EQ(c.time(), 13u);
}

// Lamport's figure, in small: p sends to q, q forwards to r. The chain's
// stamps climb even though r had many local events of its own.
TEST(LamportClock, StampsClimbAlongAChainOfMessages) {
  LamportClock p, q, r;
  for (int i = 0; i < 5; ++i)
    r.tick();
  uint64_t send_p = p.tick();
  uint64_t recv_q = q.receive(send_p);
  uint64_t send_q = q.tick();
  uint64_t recv_r = r.receive(send_q);
  EXPECT_EQ(send_p, 1u);
  EXPECT_EQ(recv_q, 2u);
  EXPECT_EQ(send_q, 3u);
  EXPECT_EQ(recv_r, 6u);
}

}  // namespace
}  // namespace synod
