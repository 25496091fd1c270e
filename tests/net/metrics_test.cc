#include "synod/net/metrics.h"

#include <gtest/gtest.h>

#include <chrono>
#include <limits>
#include <thread>
#include <vector>

namespace synod::net {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

TEST(MetricsText, GaugeWithLabelsWritesHelpAndTypeOnce) {
  MetricsText text;
  text.gauge("synod_raft_term", "Current term.", 7, {{"node", "1"}, {"role", "leader"}});
  text.gauge("synod_raft_term", "Current term.", 6, {{"node", "2"}, {"role", "follower"}});
  EXPECT_EQ(text.str(),
            "# HELP synod_raft_term Current term.\n"
            "# TYPE synod_raft_term gauge\n"
            "synod_raft_term{node=\"1\",role=\"leader\"} 7\n"
            "synod_raft_term{node=\"2\",role=\"follower\"} 6\n");
}

TEST(MetricsText, EscapesLabelValuesAndHelp) {
  MetricsText text;
  text.gauge("g", "a \\ b\nc \"q\"", 0.5, {{"path", "C:\\x \"y\"\nz"}});
  EXPECT_EQ(text.str(),
            "# HELP g a \\\\ b\\nc \"q\"\n"
            "# TYPE g gauge\n"
            "g{path=\"C:\\\\x \\\"y\\\"\\nz\"} 0.5\n");
}

TEST(MetricsText, CounterWithoutLabels) {
  MetricsText text;
  text.counter("synod_messages_sent_total", "Messages sent to peers.", 1234);
  EXPECT_EQ(text.str(),
            "# HELP synod_messages_sent_total Messages sent to peers.\n"
            "# TYPE synod_messages_sent_total counter\n"
            "synod_messages_sent_total 1234\n");
}

TEST(MetricsText, InterleavedNamesStayGrouped) {
  MetricsText text;
  text.counter("a_total", "A.", 1, {{"k", "x"}});
  text.gauge("b", "B.", 2);
  text.counter("a_total", "A.", 3, {{"k", "y"}});
  EXPECT_EQ(text.str(),
            "# HELP a_total A.\n# TYPE a_total counter\n"
            "a_total{k=\"x\"} 1\na_total{k=\"y\"} 3\n"
            "# HELP b B.\n# TYPE b gauge\nb 2\n");
}

TEST(MetricsText, SpecialValues) {
  MetricsText text;
  text.gauge("g", "G.", std::numeric_limits<double>::infinity(), {{"v", "inf"}});
  text.gauge("g", "G.", -std::numeric_limits<double>::infinity(), {{"v", "-inf"}});
  text.gauge("g", "G.", std::numeric_limits<double>::quiet_NaN(), {{"v", "nan"}});
  text.gauge("g", "G.", 0.1, {{"v", "tenth"}});
  EXPECT_EQ(text.str(),
            "# HELP g G.\n# TYPE g gauge\n"
            "g{v=\"inf\"} +Inf\ng{v=\"-inf\"} -Inf\ng{v=\"nan\"} NaN\ng{v=\"tenth\"} 0.1\n");
}

TEST(Histogram, BucketsAreCumulativeAndInfEqualsCount) {
  Histogram h({0.001, 0.01, 0.1});
  h.observe(microseconds(500));  // <= 0.001
  h.observe(milliseconds(1));    // exactly on a bound: "less or equal"
  h.observe(milliseconds(5));    // <= 0.01
  h.observe(milliseconds(500));  // +Inf only
  EXPECT_EQ(h.count(), 4u);
  EXPECT_DOUBLE_EQ(h.sum_seconds(), 0.5065);
  EXPECT_EQ(h.cumulative_counts(), (std::vector<uint64_t>{2, 3, 3, 4}));

  MetricsText text;
  text.histogram("synod_fsync_seconds", "Time to fsync.", h);
  EXPECT_EQ(text.str(),
            "# HELP synod_fsync_seconds Time to fsync.\n"
            "# TYPE synod_fsync_seconds histogram\n"
            "synod_fsync_seconds_bucket{le=\"0.001\"} 2\n"
            "synod_fsync_seconds_bucket{le=\"0.01\"} 3\n"
            "synod_fsync_seconds_bucket{le=\"0.1\"} 3\n"
            "synod_fsync_seconds_bucket{le=\"+Inf\"} 4\n"
            "synod_fsync_seconds_sum 0.5065\n"
            "synod_fsync_seconds_count 4\n");
}

TEST(Histogram, LabelsComeBeforeLe) {
  Histogram h({1});
  h.observe(milliseconds(2));
  MetricsText text;
  text.histogram("rtt_seconds", "RTT.", h, {{"peer", "2"}});
  EXPECT_EQ(text.str(),
            "# HELP rtt_seconds RTT.\n# TYPE rtt_seconds histogram\n"
            "rtt_seconds_bucket{peer=\"2\",le=\"1\"} 1\n"
            "rtt_seconds_bucket{peer=\"2\",le=\"+Inf\"} 1\n"
            "rtt_seconds_sum{peer=\"2\"} 0.002\n"
            "rtt_seconds_count{peer=\"2\"} 1\n");
}

TEST(Histogram, LatencyBoundsPrintAsWritten) {
  Histogram h = Histogram::latency();
  MetricsText text;
  text.histogram("x", "X.", h);
  std::string s = text.str();
  for (const char* le : {"0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025",
                         "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"}) {
    EXPECT_NE(s.find("x_bucket{le=\"" + std::string(le) + "\"} 0\n"), std::string::npos) << le;
  }
  EXPECT_EQ(h.upper_bounds().size(), 16u);
}

TEST(Histogram, ConcurrentObserversLoseNothing) {
  Histogram h = Histogram::latency();
  constexpr int kThreads = 4, kEach = 10'000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&h, t] {
      for (int i = 0; i < kEach; ++i)
        h.observe(microseconds(t * 1000 + i % 7));
    });
  }
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(h.count(), uint64_t{kThreads * kEach});
  EXPECT_EQ(h.cumulative_counts().back(), h.count());
}

}  // namespace
}  // namespace synod::net
