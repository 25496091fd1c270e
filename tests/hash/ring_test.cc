#include "synod/hash/ring.h"

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "synod/base/hash64.h"

namespace synod {
namespace {

constexpr int kKeys = 20'000;

std::string key(int i) {
  return "key-" + std::to_string(i);
}

HashRing ring_of(int nodes, uint32_t vnodes) {
  HashRing ring(vnodes);
  for (int n = 0; n < nodes; ++n)
    ring.add(static_cast<NodeId>(n));
  return ring;
}

std::vector<NodeId> owners(const HashRing& ring, int keys) {
  std::vector<NodeId> out;
  for (int i = 0; i < keys; ++i)
    out.push_back(ring.lookup(key(i)));
  return out;
}

TEST(HashRing, PlacementDependsOnlyOnTheSetOfNodes) {
  HashRing forward = ring_of(10, 50);
  HashRing backward(50);
  for (int n = 9; n >= 0; --n)
    backward.add(static_cast<NodeId>(n));
  backward.add(42);  // comes and goes
  backward.add(3, 7);
  backward.remove(42);
  backward.add(3, 1);  // back to weight 1
  EXPECT_EQ(backward.points(), forward.points());
  for (int i = 0; i < kKeys; ++i) {
    ASSERT_EQ(forward.lookup(key(i)), backward.lookup(key(i))) << key(i);
    ASSERT_EQ(forward.replicas(key(i), 3), backward.replicas(key(i), 3)) << key(i);
  }
  EXPECT_EQ(owners(forward, kKeys), owners(forward, kKeys));  // and asking twice changes nothing
}

// Placement is part of what a store keeps on disk: changing the hash or the
// point layout moves every key. If this fails, the change must be deliberate
// (and come with a migration), then update the constant.
TEST(HashRing, PlacementIsPinned) {
  HashRing ring = ring_of(7, 100);
  ring.add(7, 3);
  Hasher fingerprint;
  for (int i = 0; i < 1000; ++i)
    for (NodeId n : ring.replicas(key(i), 3))
      fingerprint.add(n);
  EXPECT_EQ(fingerprint.digest(), 14215397499137381488ULL);
}

TEST(HashRing, KeysPastTheLastPointWrapToTheFirst) {
  HashRing ring = ring_of(5, 10);
  // No point sits at 0 or at the very top (the odds are 50 in 2^64), so both
  // ends belong to the first point.
  EXPECT_EQ(ring.lookup_hash(std::numeric_limits<uint64_t>::max()), ring.lookup_hash(0));
  EXPECT_EQ(ring.replicas_hash(std::numeric_limits<uint64_t>::max(), 5), ring.replicas_hash(0, 5));
}

TEST(HashRing, AJoiningNodeTakesKeysOnlyForItself) {
  HashRing ring = ring_of(10, 100);
  std::vector<NodeId> before = owners(ring, kKeys);
  ring.add(10);
  int moved = 0;
  for (int i = 0; i < kKeys; ++i) {
    NodeId now = ring.lookup(key(i));
    if (now != before[i]) {
      ASSERT_EQ(now, 10u) << key(i);
      ++moved;
    }
  }
  EXPECT_NEAR(moved, kKeys / 11, kKeys / 11 / 3);  // about 1/n
}

TEST(HashRing, ALeavingNodeGivesUpOnlyItsOwnKeys) {
  HashRing ring = ring_of(10, 100);
  std::vector<NodeId> before = owners(ring, kKeys);
  ring.remove(3);
  EXPECT_FALSE(ring.contains(3));
  std::set<NodeId> heirs;
  for (int i = 0; i < kKeys; ++i) {
    NodeId now = ring.lookup(key(i));
    if (before[i] == 3) {
      heirs.insert(now);
    } else {
      ASSERT_EQ(now, before[i]) << key(i);
    }
  }
  EXPECT_FALSE(heirs.contains(3));
  // With virtual nodes a leaver's keys spread over the others, not onto one
  // neighbour.
  EXPECT_EQ(heirs.size(), 9u);
}

TEST(HashRing, ChangingAWeightMovesKeysOnlyToOrFromThatNode) {
  HashRing ring = ring_of(10, 100);
  std::vector<NodeId> before = owners(ring, kKeys);
  ring.add(4, 3);
  std::vector<NodeId> heavier = owners(ring, kKeys);
  int gained = 0;
  for (int i = 0; i < kKeys; ++i) {
    if (heavier[i] != before[i]) {
      ASSERT_EQ(heavier[i], 4u);
      ++gained;
    }
  }
  // From 1/10 of the keys to 3/12: about 15% of them move.
  EXPECT_NEAR(gained, kKeys * 0.15, kKeys * 0.05);
  ring.add(4, 1);
  EXPECT_EQ(owners(ring, kKeys), before);
}

TEST(HashRing, WeightsScaleLoad) {
  HashRing ring(1000);
  for (NodeId n = 0; n < 4; ++n)
    ring.add(n, n + 1);  // weights 1, 2, 3, 4: shares 10%, 20%, 30%, 40%
  constexpr int kSample = 200'000;
  std::map<NodeId, int> load;
  for (int i = 0; i < kSample; ++i)
    ++load[ring.lookup(key(i))];
  for (NodeId n = 0; n < 4; ++n)
    EXPECT_NEAR(static_cast<double>(load[n]) / kSample, (n + 1) / 10.0, 0.02) << n;
}

TEST(HashRing, ReplicasAreDistinctAndStartWithTheOwner) {
  HashRing ring = ring_of(5, 16);
  for (int i = 0; i < 1000; ++i) {
    auto nodes = ring.replicas(key(i), 3);
    ASSERT_EQ(nodes.size(), 3u);
    EXPECT_EQ(nodes[0], ring.lookup(key(i)));
    EXPECT_EQ(std::set<NodeId>(nodes.begin(), nodes.end()).size(), 3u);
  }
  EXPECT_EQ(ring.replicas("k", 9).size(), 5u);  // no more than there are nodes
  EXPECT_TRUE(ring.replicas("k", 0).empty());
  EXPECT_TRUE(HashRing(16).replicas("k", 3).empty());
}

TEST(HashRing, LimitsAreEnforced) {
  EXPECT_DEATH(HashRing(0), "vnodes_per_weight >= 1");
  EXPECT_DEATH(HashRing(kMaxVnodesPerNode + 1), "kMaxVnodesPerNode");
  EXPECT_DEATH(HashRing(1000).add(1, 101), "too large");
  EXPECT_DEATH(HashRing(16).add(1, 0), "weight >= 1");
  EXPECT_DEATH(HashRing(16).lookup("k"), "empty ring");
  EXPECT_DEATH(ring_of(3, 16).remove(7), "not on the ring");
}

// Random clusters: membership changes move only what they must, and replica
// lists change only by the node that came or went.
RC_GTEST_PROP(HashRing, MembershipChangesMoveOnlyWhatTheyMust, ()) {
  const auto vnodes = *rc::gen::inRange<uint32_t>(1, 65);
  auto ids = *rc::gen::container<std::vector<NodeId>>(*rc::gen::inRange(2, 12),
                                                      rc::gen::inRange<NodeId>(0, 40));
  std::set<NodeId> members(ids.begin(), ids.end());
  RC_PRE(members.size() >= 2u);
  const auto joiner = *rc::gen::inRange<NodeId>(0, 50);
  RC_PRE(!members.contains(joiner));
  const NodeId leaver = *rc::gen::elementOf(ids);

  HashRing ring(vnodes);
  for (NodeId n : members)
    ring.add(n, *rc::gen::inRange<uint32_t>(1, 4));
  HashRing joined = ring;
  joined.add(joiner, *rc::gen::inRange<uint32_t>(1, 4));
  HashRing left = ring;
  left.remove(leaver);

  const size_t count = *rc::gen::inRange<size_t>(1, members.size());
  for (int i = 0; i < 300; ++i) {
    const uint64_t h = hash64(key(i));
    const NodeId owner = ring.lookup_hash(h);
    const NodeId after_join = joined.lookup_hash(h);
    RC_ASSERT(after_join == owner || after_join == joiner);
    const NodeId after_leave = left.lookup_hash(h);
    if (owner == leaver) {
      RC_ASSERT(after_leave != leaver);
    } else {
      RC_ASSERT(after_leave == owner);
    }

    // One more replica than asked for, minus the leaver, starts with what the
    // smaller ring answers.
    std::vector<NodeId> wide = ring.replicas_hash(h, count + 1);
    std::set<NodeId> distinct(wide.begin(), wide.end());
    RC_ASSERT(distinct.size() == wide.size());
    RC_ASSERT(wide.front() == owner);
    std::erase(wide, leaver);
    wide.resize(std::min(wide.size(), count));
    RC_ASSERT(left.replicas_hash(h, count) == wide);
  }
}

}  // namespace
}  // namespace synod
