// The zone rules: each catches the violation it is for, names a set that is
// itself not linearizable, and never fires on a linearizable history.

#include "synod/check/zones.h"

#include <gtest/gtest.h>

#include "check/brute_force.h"
#include "check/random_histories.h"
#include "synod/check/linearizability.h"

namespace synod::check {
namespace {

using testing::arbitrary_history;
using testing::brute_force_linearizable;
using testing::check_property;
using testing::model_history;

Operation put(uint64_t client, std::string v, int64_t call, int64_t ret) {
  return {.client = client,
          .kind = OpKind::kPut,
          .key = "k",
          .value = std::move(v),
          .call = call,
          .ret = ret};
}
Operation get(uint64_t client, std::optional<std::string> v, int64_t call, int64_t ret) {
  return {.client = client,
          .kind = OpKind::kGet,
          .key = "k",
          .value = std::move(v),
          .call = call,
          .ret = ret};
}
Operation timed_out_put(uint64_t client, std::string v, int64_t call) {
  return {.client = client,
          .kind = OpKind::kPut,
          .key = "k",
          .value = std::move(v),
          .call = call,
          .ret = -1,
          .outcome = Outcome::kUnknown};
}

History subset(const History& h, const std::vector<size_t>& at) {
  History out;
  for (size_t i : at)
    out.push_back(h[i]);
  return out;
}

TEST(Zones, ReadBeforeItsOnlyWrite) {  // R1
  History h = {get(1, "a", 0, 10), put(2, "a", 20, 30)};
  auto found = find_zone_conflict(h);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->size(), 2u);
}

TEST(Zones, StaleReadAfterAnOverwrite) {  // R2
  History h = {put(1, "a", 0, 10), get(2, "a", 12, 20), put(3, "b", 30, 40), get(4, "a", 50, 60)};
  auto found = find_zone_conflict(h);
  ASSERT_TRUE(found);
  EXPECT_FALSE(brute_force_linearizable(subset(h, *found)));
}

TEST(Zones, TwoValuesWhoseStretchesInterleave) {  // R3
  // a is read at 10 and at 50, b at 20 and at 40: each must be overwritten by
  // the other inside its own stretch.
  History h = {put(1, "a", 0, 5),   put(2, "b", 0, 5),   get(3, "a", 6, 10),
               get(4, "b", 15, 20), get(5, "b", 40, 45), get(6, "a", 50, 55)};
  auto found = find_zone_conflict(h);
  ASSERT_TRUE(found);
  EXPECT_FALSE(brute_force_linearizable(subset(h, *found)));
}

// The double apply of issue 21: a put that timed out is seen, overwritten by
// an acknowledged put, then seen again.
TEST(Zones, ATimedOutWriteSeenTwiceAroundAnother) {
  History h = {timed_out_put(1, "a", 0), get(2, "a", 10, 20), put(3, "b", 30, 40),
               get(4, "b", 41, 45), get(5, "a", 50, 60)};
  auto found = find_zone_conflict(h);
  ASSERT_TRUE(found);
  History part = subset(h, *found);
  EXPECT_FALSE(brute_force_linearizable(part));
  Verdict v = check_linearizable(h);
  EXPECT_FALSE(v.linearizable);
  EXPECT_FALSE(v.undecided);
}

TEST(Zones, NothingInAHistoryThatCanBeOrdered) {
  History h = {put(1, "a", 0, 10), get(2, "a", 5, 20), put(3, "b", 15, 40), get(4, "a", 16, 25),
               get(5, "b", 50, 60)};
  EXPECT_FALSE(find_zone_conflict(h));
  EXPECT_TRUE(check_linearizable(h).linearizable);
}

// Soundness: whatever the rules name is not linearizable, nor is the whole.
TEST(ZonesProperty, WhatTheyNameCannotBeOrdered) {
  check_property(5000, [] {
    History h = arbitrary_history(8, 1, 25);
    auto found = find_zone_conflict(h);
    RC_CLASSIFY(found.has_value(), "conflict");
    if (!found) return;
    RC_ASSERT(!brute_force_linearizable(subset(h, *found)));
    RC_ASSERT(!brute_force_linearizable(h));
  });
}

TEST(ZonesProperty, SilentOnModelRuns) {
  check_property(2000, [] {
    History h = model_history(60, 2, 6);
    std::map<std::string, History> by_key;
    for (const Operation& op : h)
      by_key[op.key].push_back(op);
    for (const auto& [key, ops] : by_key)
      RC_ASSERT(!find_zone_conflict(ops));
  });
}

}  // namespace
}  // namespace synod::check
