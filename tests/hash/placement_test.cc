#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>

#include "synod/base/hash64.h"
#include "synod/hash/jump.h"
#include "synod/hash/rendezvous.h"
#include "synod/hash/ring.h"

namespace synod {
namespace {

constexpr int kKeys = 20'000;
std::string key(int i) {
  return "key-" + std::to_string(i);
}

HashRing ring_of(int nodes, int vnodes) {
  HashRing ring(vnodes);
  for (int n = 0; n < nodes; ++n)
    ring.add(static_cast<NodeId>(n));
  return ring;
}

TEST(HashRing, AJoiningNodeTakesKeysOnlyForItself) {
  HashRing ring = ring_of(10, 100);
  std::map<int, NodeId> before;
  for (int i = 0; i < kKeys; ++i)
    before[i] = ring.lookup(key(i));
  ring.add(10);
  int moved = 0;
  for (int i = 0; i < kKeys; ++i) {
    NodeId now = ring.lookup(key(i));
    if (now != before[i]) {
      EXPECT_EQ(now, 10u);
      ++moved;
    }
  }
  EXPECT_NEAR(moved, kKeys / 11, kKeys / 11 / 3);  // about 1/n
}

TEST(HashRing, ALeavingNodeGivesUpOnlyItsOwnKeys) {
  HashRing ring = ring_of(10, 100);
  std::map<int, NodeId> before;
  for (int i = 0; i < kKeys; ++i)
    before[i] = ring.lookup(key(i));
  ring.remove(3);
  for (int i = 0; i < kKeys; ++i) {
    if (before[i] != 3) {
      EXPECT_EQ(ring.lookup(key(i)), before[i]);
    } else {
      EXPECT_NE(ring.lookup(key(i)), 3u);
    }
  }
}

TEST(HashRing, ReplicasAreDistinctAndStartWithTheOwner) {
  HashRing ring = ring_of(5, 16);
  for (int i = 0; i < 1000; ++i) {
    auto nodes = ring.replicas(key(i), 3);
    ASSERT_EQ(nodes.size(), 3u);
    EXPECT_EQ(nodes[0], ring.lookup(key(i)));
    EXPECT_NE(nodes[0], nodes[1]);
    EXPECT_NE(nodes[1], nodes[2]);
    EXPECT_NE(nodes[0], nodes[2]);
  }
  EXPECT_EQ(ring.replicas("k", 9).size(), 5u);  // no more than there are nodes
}

TEST(HashRing, WeightScalesLoad) {
  HashRing ring(200);
  ring.add(0, 1);
  ring.add(1, 3);
  int heavy = 0;
  for (int i = 0; i < kKeys; ++i)
    heavy += ring.lookup(key(i)) == 1;
  EXPECT_NEAR(static_cast<double>(heavy) / kKeys, 0.75, 0.05);
}

TEST(Rendezvous, MovesOnlyWhatMustMove) {
  Rendezvous r;
  for (NodeId n = 0; n < 10; ++n)
    r.add(n);
  std::map<int, NodeId> before;
  for (int i = 0; i < kKeys; ++i)
    before[i] = r.lookup(key(i));
  r.add(10);
  int moved = 0;
  for (int i = 0; i < kKeys; ++i) {
    NodeId now = r.lookup(key(i));
    if (now != before[i]) {
      EXPECT_EQ(now, 10u);
      ++moved;
    }
  }
  EXPECT_NEAR(moved, kKeys / 11, kKeys / 11 / 5);
  r.remove(10);
  r.remove(4);
  for (int i = 0; i < kKeys; ++i) {
    if (before[i] != 4) {
      EXPECT_EQ(r.lookup(key(i)), before[i]);
    }
  }
}

TEST(Rendezvous, WeightsAreExact) {
  Rendezvous r;
  r.add(0, 1.0);
  r.add(1, 2.0);
  r.add(2, 5.0);
  std::map<NodeId, int> load;
  for (int i = 0; i < 80'000; ++i)
    ++load[r.lookup(key(i))];
  EXPECT_NEAR(load[0] / 80'000.0, 1.0 / 8, 0.01);
  EXPECT_NEAR(load[1] / 80'000.0, 2.0 / 8, 0.01);
  EXPECT_NEAR(load[2] / 80'000.0, 5.0 / 8, 0.01);
}

TEST(Rendezvous, TopIsOrderedAndDistinct) {
  Rendezvous r;
  for (NodeId n = 0; n < 6; ++n)
    r.add(n);
  for (int i = 0; i < 500; ++i) {
    auto nodes = r.top(key(i), 3);
    ASSERT_EQ(nodes.size(), 3u);
    EXPECT_EQ(nodes[0], r.lookup(key(i)));
    EXPECT_NE(nodes[1], nodes[0]);
    EXPECT_NE(nodes[2], nodes[1]);
  }
}

TEST(JumpHash, GrowingMovesKeysOnlyToTheNewBucket) {
  for (int32_t n = 1; n < 40; ++n) {
    int moved = 0;
    for (int i = 0; i < 5000; ++i) {
      uint64_t h = hash64(key(i));
      int32_t a = jump_hash(h, n), b = jump_hash(h, n + 1);
      ASSERT_GE(a, 0);
      ASSERT_LT(a, n);
      if (a != b) {
        EXPECT_EQ(b, n);
        ++moved;
      }
    }
    EXPECT_NEAR(moved, 5000.0 / (n + 1), 5000.0 / (n + 1) / 3 + 20);
  }
}

TEST(JumpHash, SpreadsEvenly) {
  std::map<int32_t, int> load;
  for (int i = 0; i < 100'000; ++i)
    ++load[jump_hash(hash64(key(i)), 10)];
  for (const auto& [bucket, count] : load)
    EXPECT_NEAR(count, 10'000, 400) << bucket;
}

}  // namespace
}  // namespace synod
