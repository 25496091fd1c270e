#include "synod/raft/progress.h"

#include <gtest/gtest.h>

namespace synod::raft {
namespace {

Progress probing(Index match, Index next) {
  Progress p(next, 4, 1 << 20);
  p.match = match;
  p.state = Progress::State::kProbe;
  p.probe_sent = true;
  return p;
}

TEST(Progress, AProbeRejectionMovesNextBackToTheHint) {
  Progress p = probing(3, 11);
  EXPECT_TRUE(p.reject(10, 6));
  EXPECT_EQ(p.next, 6u);
  EXPECT_EQ(p.match, 3u);
  EXPECT_FALSE(p.paused());
}

TEST(Progress, AProbeRejectionNeverGoesBelowWhatMatches) {
  Progress p = probing(7, 11);
  EXPECT_TRUE(p.reject(10, 2));
  EXPECT_EQ(p.next, 8u);
}

TEST(Progress, ARejectionOfAnOlderProbeIsIgnored) {
  Progress p = probing(3, 11);
  EXPECT_FALSE(p.reject(8, 2));
  EXPECT_EQ(p.next, 11u);
}

// A follower that lost entries it had acknowledged rejects the probe at
// match itself. Once, next stayed at match + 1 and the same probe went out
// again at once, forever.
TEST(Progress, AFollowerThatBrokeItsPromiseIsProbedDownNotResentTheSameProbe) {
  Progress p = probing(10, 11);
  EXPECT_TRUE(p.reject(10, 4));
  EXPECT_EQ(p.next, 4u);
  EXPECT_EQ(p.match, 0u) << "what it matches is unknown now";
}

TEST(Progress, InReplicateARejectionAtOrBelowMatchIsStale) {
  Progress p = probing(10, 11);
  p.become_replicate();
  EXPECT_FALSE(p.reject(9, 2));
  EXPECT_EQ(p.state, Progress::State::kReplicate);
  EXPECT_EQ(p.next, 11u);
}

}  // namespace
}  // namespace synod::raft
