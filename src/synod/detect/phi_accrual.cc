#include "synod/detect/phi_accrual.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include "synod/base/assert.h"

namespace synod {

double phi_of(double elapsed, double mean, double std_deviation) {
  SYNOD_ASSERT(std_deviation > 0);
  // P(X > t) for X ~ N(mean, std), with the logistic approximation of the
  // normal CDF, F(y) ~ 1 / (1 + exp(-y (1.5976 + 0.070566 y^2))), which stays
  // accurate (and finite in logs) far into the tail.
  double y = (elapsed - mean) / std_deviation;
  double e = std::exp(-y * (1.5976 + 0.070566 * y * y));
  if (elapsed > mean) return -std::log10(e / (1.0 + e));
  return -std::log10(1.0 - 1.0 / (1.0 + e));
}

void PhiAccrual::heartbeat(Time at) {
  if (last_) {
    SYNOD_ASSERT(at >= *last_);  // a node's clock is monotonic
    double interval = static_cast<double>((at - *last_).count());
    if (interval > static_cast<double>(config_.max_interval.count())) {
      last_ = at;
      return;
    }
    intervals_.push_back(interval);
    sum_ += interval;
    sum_squares_ += interval * interval;
    if (intervals_.size() > config_.max_samples) {
      double old = intervals_.front();
      intervals_.pop_front();
      sum_ -= old;
      sum_squares_ -= old * old;
    }
  }
  last_ = at;
}

double PhiAccrual::phi(Time now) const {
  if (!last_) return 0;  // never heard: nothing to suspect yet
  double mean, variance;
  if (intervals_.empty()) {
    mean = static_cast<double>(config_.first_estimate.count());
    variance = (mean / 4) * (mean / 4);
  } else {
    double n = static_cast<double>(intervals_.size());
    mean = sum_ / n;
    variance = std::max(0.0, sum_squares_ / n - mean * mean);
  }
  double std_deviation =
      std::max(std::sqrt(variance), static_cast<double>(config_.min_std_deviation.count()));
  double elapsed = static_cast<double>((now - *last_).count());
  return phi_of(elapsed, mean + static_cast<double>(config_.acceptable_pause.count()),
                std_deviation);
}

}  // namespace synod
