#pragma once

#include <cstddef>
#include <deque>
#include <optional>

#include "synod/base/types.h"

namespace synod {

// The phi accrual failure detector's estimator (Hayashibara et al., 2004):
// instead of a yes/no verdict it gives a suspicion level,
//   phi(now) = -log10(P(the next heartbeat arrives later than now)),
// from a normal distribution fitted to recent inter-arrival times. phi = 1
// means a 10% chance that suspecting is a mistake, 2 means 1%, 8 means 1e-8.
struct PhiConfig {
  double threshold = 8;  // suspect above this (Akka's and Cassandra's default)
  // Inter-arrival samples kept per peer: a bound on memory and on how long the
  // past is remembered.
  size_t max_samples = 1000;
  // A floor under the fitted standard deviation, so a perfectly regular
  // network does not make a tiny delay look fatal.
  Duration min_std_deviation = std::chrono::milliseconds(100);
  // Extra margin added to the mean: pauses that are normal for this system.
  Duration acceptable_pause = std::chrono::milliseconds(0);
  // Gaps longer than this are not samples of the network but outages (a
  // crash and restart, a partition): kept out of the window, as Cassandra
  // does, or one outage would make the detector slow for a long time after.
  Duration max_interval = std::chrono::seconds(1);
  // Assumed interval before the first two heartbeats give a real sample.
  Duration first_estimate = std::chrono::seconds(1);
};

class PhiAccrual {
 public:
  explicit PhiAccrual(const PhiConfig& config) : config_(config) {}

  void heartbeat(Time at);
  double phi(Time now) const;
  bool heard() const { return last_.has_value(); }

 private:
  PhiConfig config_;
  std::optional<Time> last_;
  std::deque<double> intervals_;  // ns
  double sum_ = 0, sum_squares_ = 0;
};

// phi for a normal distribution (mean, std) at elapsed time t, with the
// logistic approximation of the normal CDF. Exposed for tests.
double phi_of(double elapsed, double mean, double std_deviation);

}  // namespace synod
