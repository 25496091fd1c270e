#include "synod/api/lease_keeper.h"

#include <gtest/gtest.h>

namespace synod::api {
namespace {

using namespace std::chrono_literals;
using Leases = std::map<int64_t, EtcdStateMachine::Lease>;

TEST(LeaseKeeper, ALeaseExpiresOnceItsTimeIsUpAndIsRevokedOnce) {
  LeaseKeeper k;
  LeaseKeeper::Clock::time_point t0{};
  Leases leases = {{7, {2}}, {9, {5}}};
  EXPECT_TRUE(k.expired(leases, 1, t0).empty());  // leading from t0: whole TTLs
  k.heard(7, 2, t0);
  EXPECT_TRUE(k.expired(leases, 1, t0 + 1900ms).empty());
  EXPECT_EQ(k.remaining(7, t0 + 1900ms), 1);
  EXPECT_EQ(k.expired(leases, 1, t0 + 2s), std::vector<int64_t>{7});
  EXPECT_TRUE(k.expired(leases, 1, t0 + 3s).empty()) << "being revoked already";
  k.heard(7, 0, t0 + 3s);  // the revoke applied
  leases.erase(7);
  EXPECT_EQ(k.remaining(7, t0 + 3s), -1);
  EXPECT_EQ(k.expired(leases, 1, t0 + 5s), std::vector<int64_t>{9});
}

TEST(LeaseKeeper, ARenewalPushesTheDeadlineAndANewLeaderGivesAWholeTtl) {
  LeaseKeeper k;
  LeaseKeeper::Clock::time_point t0{};
  Leases leases = {{3, {2}}};
  EXPECT_TRUE(k.expired(leases, 1, t0).empty());  // leading from t0
  k.heard(3, 2, t0);
  k.heard(3, 2, t0 + 1500ms);  // kept alive
  EXPECT_TRUE(k.expired(leases, 1, t0 + 3s).empty());
  EXPECT_EQ(k.expired(leases, 1, t0 + 3500ms), std::vector<int64_t>{3});
  // Another term: the old clock does not count, and a revoke in flight is
  // tried again once its new TTL is up.
  EXPECT_TRUE(k.expired(leases, 2, t0 + 4s).empty());
  EXPECT_EQ(k.remaining(3, t0 + 4s), 2);
  k.revoke_done(3);
  EXPECT_EQ(k.expired(leases, 2, t0 + 6s), std::vector<int64_t>{3});
}

}  // namespace
}  // namespace synod::api
