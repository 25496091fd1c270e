#include "synod/hash/rendezvous.h"

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <cmath>
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

Rendezvous set_of(int nodes) {
  Rendezvous r;
  for (int n = 0; n < nodes; ++n)
    r.add(static_cast<NodeId>(n));
  return r;
}

std::vector<NodeId> owners(const Rendezvous& r, int keys) {
  std::vector<NodeId> out;
  for (int i = 0; i < keys; ++i)
    out.push_back(r.lookup(key(i)));
  return out;
}

TEST(Rendezvous, PlacementDependsOnlyOnTheSetOfNodes) {
  Rendezvous forward = set_of(10);
  Rendezvous backward;
  for (int n = 9; n >= 0; --n)
    backward.add(static_cast<NodeId>(n));
  backward.add(42);
  backward.add(3, 7.5);
  backward.remove(42);
  backward.add(3, 1.0);
  for (int i = 0; i < kKeys; ++i)
    ASSERT_EQ(forward.top(key(i), 10), backward.top(key(i), 10)) << key(i);
  EXPECT_EQ(owners(forward, kKeys), owners(forward, kKeys));
}

// See HashRing.PlacementIsPinned: a deliberate tripwire.
TEST(Rendezvous, PlacementIsPinned) {
  Rendezvous r = set_of(7);
  r.add(7, 3.0);
  Hasher fingerprint;
  for (int i = 0; i < 1000; ++i)
    for (NodeId n : r.top(key(i), 3))
      fingerprint.add(n);
  EXPECT_EQ(fingerprint.digest(), 2934506648608387607ULL);
}

TEST(Rendezvous, AJoiningNodeTakesKeysOnlyForItself) {
  Rendezvous r = set_of(10);
  std::vector<NodeId> before = owners(r, kKeys);
  r.add(10);
  int moved = 0;
  for (int i = 0; i < kKeys; ++i) {
    NodeId now = r.lookup(key(i));
    if (now != before[i]) {
      ASSERT_EQ(now, 10u) << key(i);
      ++moved;
    }
  }
  EXPECT_NEAR(moved, kKeys / 11, kKeys / 11 / 5);
}

TEST(Rendezvous, ALeavingNodeGivesUpOnlyItsOwnKeys) {
  Rendezvous r = set_of(10);
  std::vector<NodeId> before = owners(r, kKeys);
  r.remove(4);
  EXPECT_FALSE(r.contains(4));
  std::map<NodeId, int> heirs;
  for (int i = 0; i < kKeys; ++i) {
    NodeId now = r.lookup(key(i));
    if (before[i] == 4) {
      ++heirs[now];
    } else {
      ASSERT_EQ(now, before[i]) << key(i);
    }
  }
  // The leaver's keys go to their second choices, spread evenly.
  EXPECT_FALSE(heirs.contains(4));
  ASSERT_EQ(heirs.size(), 9u);
  for (const auto& [node, count] : heirs)
    EXPECT_NEAR(count, kKeys / 10 / 9, kKeys / 10 / 9 / 3) << node;
}

TEST(Rendezvous, WeightsAreExact) {
  Rendezvous r;
  r.add(0, 1.0);
  r.add(1, 2.0);
  r.add(2, 5.0);
  constexpr int kSample = 80'000;  // binomial noise: under 0.2% of the sample
  std::map<NodeId, int> load;
  for (int i = 0; i < kSample; ++i)
    ++load[r.lookup(key(i))];
  EXPECT_NEAR(load[0] / double{kSample}, 1.0 / 8, 0.01);
  EXPECT_NEAR(load[1] / double{kSample}, 2.0 / 8, 0.01);
  EXPECT_NEAR(load[2] / double{kSample}, 5.0 / 8, 0.01);
}

TEST(Rendezvous, ChangingAWeightMovesKeysOnlyToOrFromThatNode) {
  Rendezvous r = set_of(10);
  std::vector<NodeId> before = owners(r, kKeys);
  r.add(4, 3.0);
  int gained = 0;
  for (int i = 0; i < kKeys; ++i) {
    NodeId now = r.lookup(key(i));
    if (now != before[i]) {
      ASSERT_EQ(now, 4u) << key(i);
      ++gained;
    }
  }
  EXPECT_NEAR(gained, kKeys * 0.15, kKeys * 0.02);  // from 1/10 of the keys to 3/12
  r.add(4, 1.0);
  EXPECT_EQ(owners(r, kKeys), before);
}

TEST(Rendezvous, TopIsDistinctAndOrderedBestFirst) {
  Rendezvous r = set_of(6);
  for (int i = 0; i < 500; ++i) {
    auto nodes = r.top(key(i), 3);
    ASSERT_EQ(nodes.size(), 3u);
    EXPECT_EQ(nodes[0], r.lookup(key(i)));
    EXPECT_EQ(std::set<NodeId>(nodes.begin(), nodes.end()).size(), 3u);
    // Each is the winner once the better ones are gone.
    Rendezvous rest = r;
    for (NodeId n : nodes) {
      EXPECT_EQ(rest.lookup(key(i)), n);
      rest.remove(n);
    }
  }
  EXPECT_EQ(r.top("k", 9).size(), 6u);
  EXPECT_TRUE(r.top("k", 0).empty());
  EXPECT_TRUE(Rendezvous().top("k", 3).empty());
}

TEST(Rendezvous, LimitsAreEnforced) {
  EXPECT_DEATH(Rendezvous().add(1, 0.0), "weight > 0");
  EXPECT_DEATH(Rendezvous().add(1, -1.0), "weight > 0");
  EXPECT_DEATH(Rendezvous().add(1, std::nan("")), "isfinite");
  EXPECT_DEATH(Rendezvous().add(1, std::numeric_limits<double>::infinity()), "isfinite");
  EXPECT_DEATH(Rendezvous().lookup("k"), "empty set");
  EXPECT_DEATH(set_of(3).remove(7), "not in the set");
}

RC_GTEST_PROP(Rendezvous, MembershipChangesMoveOnlyWhatTheyMust, ()) {
  auto ids = *rc::gen::container<std::vector<NodeId>>(*rc::gen::inRange(2, 12),
                                                      rc::gen::inRange<NodeId>(0, 40));
  std::set<NodeId> members(ids.begin(), ids.end());
  RC_PRE(members.size() >= 2u);
  const auto joiner = *rc::gen::inRange<NodeId>(0, 50);
  RC_PRE(!members.contains(joiner));
  const NodeId leaver = *rc::gen::elementOf(ids);

  Rendezvous r;
  for (NodeId n : members)
    r.add(n, *rc::gen::inRange(1, 100) / 10.0);
  Rendezvous joined = r;
  joined.add(joiner, *rc::gen::inRange(1, 100) / 10.0);
  Rendezvous left = r;
  left.remove(leaver);

  const size_t count = *rc::gen::inRange<size_t>(1, members.size());
  for (int i = 0; i < 300; ++i) {
    const uint64_t h = hash64(key(i));
    std::vector<NodeId> before = r.top_hash(h, count + 1);
    RC_ASSERT(before.front() == r.lookup_hash(h));
    RC_ASSERT(std::set<NodeId>(before.begin(), before.end()).size() == before.size());

    // The joiner slots into each list somewhere; the others keep their order.
    std::vector<NodeId> with_joiner = joined.top_hash(h, count + 1);
    std::erase(with_joiner, joiner);
    RC_ASSERT(std::equal(with_joiner.begin(), with_joiner.end(), before.begin()));

    // The leaver drops out of each list; the others keep their order.
    std::erase(before, leaver);
    before.resize(std::min(before.size(), count));
    RC_ASSERT(left.top_hash(h, count) == before);
  }
}

}  // namespace
}  // namespace synod
