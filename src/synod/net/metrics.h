#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "synod/base/types.h"

namespace synod::net {

// A Prometheus histogram: fixed upper bounds, a count per bucket, a running
// sum. observe() is lock-free because a storage sync thread records while the
// loop thread renders /metrics. A reader may see the sum from a slightly
// different moment than the buckets; Prometheus tolerates that, and the
// count is derived from the buckets so `+Inf` always equals `_count`.
class Histogram {
 public:
  // Upper bounds in seconds, strictly increasing; `+Inf` is implied.
  explicit Histogram(std::vector<double> upper_bounds_seconds);
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  // 100us to 10s: fsync, round trips and commit latency all fall inside.
  static Histogram latency();

  void observe(Duration d);

  uint64_t count() const;
  double sum_seconds() const;
  const std::vector<double>& upper_bounds() const { return bounds_seconds_; }
  // Observations <= each upper bound, then the `+Inf` bucket (the count):
  // upper_bounds().size() + 1 entries, never decreasing.
  std::vector<uint64_t> cumulative_counts() const;

 private:
  std::vector<double> bounds_seconds_;
  std::vector<int64_t> bounds_nanos_;  // compared in integers: 0.0001s is exactly 100000ns
  // Per bucket, not cumulative, so observe() touches one counter; the last
  // one is the `+Inf` overflow bucket.
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;
  std::atomic<uint64_t> sum_nanos_{0};
};

// Labels of one sample, in the order they are written.
using Labels = std::vector<std::pair<std::string, std::string>>;

// Builds a page in the Prometheus text exposition format (version 0.0.4).
// Samples of one metric name are kept together under one `# HELP` and
// `# TYPE`, in the order names were first used, however the calls interleave:
// the format requires a metric's lines to form one group.
class MetricsText {
 public:
  void gauge(std::string_view name, std::string_view help, double value, const Labels& labels = {});
  void counter(std::string_view name, std::string_view help, double value,
               const Labels& labels = {});
  // Writes name_bucket{le="..."} (cumulative, ending with le="+Inf"),
  // name_sum and name_count. `labels` must not use "le".
  void histogram(std::string_view name, std::string_view help, const Histogram& histogram,
                 const Labels& labels = {});

  std::string str() const;

 private:
  struct Family {
    std::string help;
    std::string type;
    std::string samples;  // complete lines
  };
  Family& family(std::string_view name, std::string_view help, std::string_view type);

  std::vector<std::pair<std::string, Family>> families_;  // first-use order
  std::map<std::string, size_t, std::less<>> index_;      // name -> families_ position
};

}  // namespace synod::net
