// The checkers of synod chaos's workloads other than the register: each
// passes what the workload's rules allow and catches each kind of violation
// it is for.

#include <gtest/gtest.h>

#include "synod/check/bank.h"
#include "synod/check/lock_check.h"
#include "synod/check/set_check.h"
#include "synod/check/watch_check.h"

namespace synod::check {
namespace {

constexpr int64_t kSecond = 1'000'000'000;

// --- bank ---

const std::vector<std::string> kAccounts = {"a", "b", "c"};

BankRead bank_read(std::map<std::string, int64_t> balances) {
  return {.client = 1, .call = 10, .ret = 20, .balances = std::move(balances)};
}

TEST(BankCheck, ConstantTotalsPass) {
  BankVerdict v = check_bank(
      {bank_read({{"a", 10}, {"b", 10}, {"c", 10}}), bank_read({{"a", 0}, {"b", 5}, {"c", 25}})},
      kAccounts, 30);
  EXPECT_TRUE(v.ok) << v.explanation;
}

TEST(BankCheck, AWrongTotalFails) {
  BankVerdict v = check_bank({bank_read({{"a", 10}, {"b", 10}, {"c", 10}}),
                              bank_read({{"a", 10}, {"b", 10}, {"c", 11}})},
                             kAccounts, 30);
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.bad, std::vector<size_t>{1});
  EXPECT_NE(v.explanation.find("total is 31"), std::string::npos) << v.explanation;
}

TEST(BankCheck, AMissingOrNegativeAccountFails) {
  EXPECT_FALSE(check_bank({bank_read({{"a", 15}, {"b", 15}})}, kAccounts, 30).ok);
  EXPECT_FALSE(check_bank({bank_read({{"a", -5}, {"b", 20}, {"c", 15}})}, kAccounts, 30).ok);
}

// --- set ---

SetAdd add(uint64_t e, int64_t call, int64_t ret, Outcome outcome = Outcome::kOk) {
  return {.element = e, .call = call, .ret = ret, .outcome = outcome};
}

TEST(SetCheck, EverythingThereAndUnknownAddsEitherWay) {
  std::vector<SetAdd> adds = {add(1, 0, 10), add(2, 5, -1, Outcome::kUnknown),
                              add(3, 6, -1, Outcome::kUnknown), add(4, 7, 9, Outcome::kFailed)};
  // A read concurrent with an add need not have it.
  std::vector<SetRead> reads = {{.call = 2, .ret = 4, .elements = {}}};
  SetVerdict v = check_set(adds, reads, {.call = 100, .ret = 110, .elements = {1, 3}});
  EXPECT_TRUE(v.ok) << v.explanation;
  EXPECT_EQ(v.unknown_present, 1u);
}

TEST(SetCheck, AnAcknowledgedAddMissingAtTheEndIsLost) {
  SetVerdict v = check_set({add(1, 0, 10), add(2, 0, 10)}, {},
                           {.call = 100, .ret = 110, .elements = {1}});
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.lost, 1u);
}

TEST(SetCheck, AnElementThatDisappearsFails) {
  std::vector<SetAdd> adds = {add(1, 0, -1, Outcome::kUnknown)};
  std::vector<SetRead> reads = {{.call = 20, .ret = 30, .elements = {1}},
                                {.call = 40, .ret = 50, .elements = {}}};
  SetVerdict v = check_set(adds, reads, {.call = 100, .ret = 110, .elements = {1}});
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.stale_reads, 1u);
}

TEST(SetCheck, AnElementNobodyAddedFails) {
  SetVerdict v = check_set({add(1, 0, 10)}, {}, {.call = 100, .ret = 110, .elements = {1, 7}});
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.unexpected, 1u);
}

// --- watch ---

WatchEvent put_event(int64_t rev, std::string key, std::string value) {
  return {.revision = rev, .key = std::move(key), .value = std::move(value)};
}

struct WatchCase {
  std::vector<WatcherLog> watchers;
  std::vector<AckedWrite> acked = {{"k1", "a", 5}, {"k2", "b", 6}, {"k1", "", 7, true}};
  std::map<std::string, std::string> final_state = {{"k2", "b"}};
  WatchCase() {
    std::vector<WatchEvent> all = {put_event(5, "k1", "a"), put_event(6, "k2", "b"),
                                   {.revision = 7, .key = "k1", .is_delete = true}};
    for (int i = 0; i < 3; ++i)
      watchers.push_back({.id = i, .start_revision = 5, .reached = 7, .events = all});
  }
  WatchVerdict check() const { return check_watch(watchers, acked, {}, final_state, 7); }
};

TEST(WatchCheck, AgreeingCompleteWatchersPass) {
  WatchCase c;
  WatchVerdict v = c.check();
  EXPECT_TRUE(v.ok) << (v.problems.empty() ? "" : v.problems.front());
  EXPECT_EQ(v.events, 3u);
}

TEST(WatchCheck, AGapFails) {
  WatchCase c;
  c.watchers[1].events.erase(c.watchers[1].events.begin() + 1);
  EXPECT_FALSE(c.check().ok);
}

TEST(WatchCheck, ADuplicateOrReorderFails) {
  WatchCase dup;
  dup.watchers[0].events.insert(dup.watchers[0].events.begin() + 1, dup.watchers[0].events[0]);
  EXPECT_FALSE(dup.check().ok);
  WatchCase reorder;
  std::swap(reorder.watchers[2].events[0], reorder.watchers[2].events[1]);
  EXPECT_FALSE(reorder.check().ok);
}

TEST(WatchCheck, ADivergentValueFails) {
  WatchCase c;
  c.watchers[2].events[1].value = "not-b";
  EXPECT_FALSE(c.check().ok);
}

TEST(WatchCheck, AnAcknowledgedWriteNoWatcherSawFails) {
  WatchCase c;
  c.acked.push_back({"k3", "z", 8});
  c.final_state["k3"] = "z";
  WatchVerdict v = check_watch(c.watchers, c.acked, {}, c.final_state, 8);
  EXPECT_FALSE(v.ok);
}

TEST(WatchCheck, DisagreeingWithTheFinalRangeFails) {
  WatchCase c;
  c.final_state = {{"k2", "b"}, {"k1", "a"}};  // the delete at 7 not applied
  EXPECT_FALSE(c.check().ok);
}

TEST(WatchCheck, AWatcherThatStoppedShortFails) {
  WatchCase c;
  c.watchers[0].events.pop_back();
  c.watchers[0].reached = 6;
  EXPECT_FALSE(c.check().ok);
}

// --- lock ---

LockHold hold(uint64_t client, int64_t from, int64_t to, std::vector<LeaseRenewal> renewals) {
  return {.client = client, .acquired = from, .released = to, .renewals = std::move(renewals)};
}

TEST(LockCheck, TakingTurnsPasses) {
  LockVerdict v = check_lock({hold(1, 0, 10, {{0, 2 * kSecond}}), hold(2, 11, 20, {{5, 2 * kSecond}}),
                              hold(3, 21, 30, {{6, 2 * kSecond}})});
  EXPECT_TRUE(v.ok) << v.explanation;
  EXPECT_EQ(v.violations + v.lease_expiry_overlaps, 0u);
}

TEST(LockCheck, AnOverlapWhileTheLeaseLivedIsAViolation) {
  // Client 1's lease was renewed at 1 s with a 2 s TTL: alive at 2 s, when
  // client 2 acquired.
  LockVerdict v = check_lock({hold(1, 0, 3 * kSecond, {{0, 2 * kSecond}, {kSecond, 2 * kSecond}}),
                              hold(2, 2 * kSecond, 4 * kSecond, {{0, 2 * kSecond}})});
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.violations, 1u);
}

TEST(LockCheck, AnOverlapAfterTheLeaseLapsedIsReportedApart) {
  // Client 1 stalled: its last renewal (0 s, 2 s TTL) ran out before client 2
  // acquired at 3 s.
  LockVerdict v = check_lock({hold(1, 0, 5 * kSecond, {{0, 2 * kSecond}}),
                              hold(2, 3 * kSecond, 4 * kSecond, {{0, 2 * kSecond}})});
  EXPECT_TRUE(v.ok);
  EXPECT_EQ(v.lease_expiry_overlaps, 1u);
  EXPECT_EQ(v.lapsed_holds, 1u);
  EXPECT_FALSE(v.lapse_example.empty());
}

TEST(LockCheck, ALeaseAnsweredAliveLaterWasAliveBefore) {
  std::vector<LeaseRenewal> r = {{0, 2 * kSecond}, {5 * kSecond, 2 * kSecond}};
  EXPECT_TRUE(lease_alive_at(r, 4 * kSecond));  // the renewal sent at 5 s found it alive
  EXPECT_FALSE(lease_alive_at(r, 8 * kSecond));
  EXPECT_FALSE(lease_alive_at({{0, 0}}, 0));  // answered "expired"
}

}  // namespace
}  // namespace synod::check
