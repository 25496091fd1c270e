#include "synod/detect/phi_accrual.h"

#include <gtest/gtest.h>

#include <cmath>

namespace synod {
namespace {

using std::chrono::milliseconds;

Time at_ms(int64_t ms) {
  return Time(milliseconds(ms));
}

TEST(PhiAccrual, RisesWithSilence) {
  PhiConfig config;
  config.min_std_deviation = milliseconds(10);
  PhiAccrual detector(config);
  for (int i = 0; i <= 100; ++i)
    detector.heartbeat(at_ms(100 * i));  // every 100ms
  double soon = detector.phi(at_ms(10'000 + 50));
  double due = detector.phi(at_ms(10'000 + 100));
  double late = detector.phi(at_ms(10'000 + 200));
  EXPECT_LT(soon, due);
  EXPECT_LT(due, late);
  EXPECT_NEAR(due, -std::log10(0.5), 0.05);  // at the mean, half the mass is later
  EXPECT_GT(late, 8);                        // ten deviations late: suspected
}

TEST(PhiAccrual, JitteryHeartbeatsAreSuspectedLater) {
  PhiConfig config;
  config.min_std_deviation = milliseconds(1);
  PhiAccrual steady(config), jittery(config);
  int64_t t = 0;
  for (int i = 0; i < 200; ++i) {
    steady.heartbeat(at_ms(100 * i));
    t += (i % 2 == 0) ? 50 : 150;
    jittery.heartbeat(at_ms(t));
  }
  // The same silence after the last heartbeat alarms the steady one more.
  EXPECT_GT(steady.phi(at_ms(100 * 199 + 180)), jittery.phi(at_ms(t + 180)));
}

TEST(PhiAccrual, KeepsABoundedWindow) {
  PhiConfig config;
  config.max_samples = 10;
  config.min_std_deviation = milliseconds(1);
  PhiAccrual detector(config);
  int64_t t = 0;
  for (int i = 0; i < 100; ++i)
    detector.heartbeat(at_ms(t += 1000));  // slow, long ago
  for (int i = 0; i < 10; ++i)
    detector.heartbeat(at_ms(t += 10));  // now fast
  // Only the fast samples remain: 100ms of silence is now alarming.
  EXPECT_GT(detector.phi(at_ms(t + 100)), 8);
}

TEST(PhiAccrual, AnOutageIsNotASample) {
  PhiConfig config;
  config.min_std_deviation = milliseconds(10);
  PhiAccrual detector(config), reference(config);
  int64_t t = 0;
  for (int i = 0; i < 50; ++i) {
    detector.heartbeat(at_ms(t));
    reference.heartbeat(at_ms(t));
    t += 100;
  }
  int64_t gap = 30'000;  // the peer was down for 30s
  detector.heartbeat(at_ms(t + gap));
  reference.heartbeat(at_ms(t));
  EXPECT_NEAR(detector.phi(at_ms(t + gap + 300)), reference.phi(at_ms(t + 300)), 1e-9);
}

TEST(PhiAccrual, NeverHeardIsNotSuspected) {
  PhiAccrual detector(PhiConfig{});
  EXPECT_EQ(detector.phi(at_ms(1'000'000)), 0);
}

TEST(PhiOf, MatchesTheNormalTail) {
  // P(X > mean + 2 std) = 0.02275 -> phi = 1.643
  EXPECT_NEAR(phi_of(120, 100, 10), 1.643, 0.02);
  EXPECT_NEAR(phi_of(100, 100, 10), 0.301, 0.01);
}

}  // namespace
}  // namespace synod
