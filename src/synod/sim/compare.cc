#include "synod/sim/compare.h"

#include <algorithm>
#include <cstdio>
#include <map>

#include "synod/base/duration.h"
#include "synod/sim/protocol_spec.h"
#include "synod/sim/seeds.h"
#include "synod/sim/simulation.h"

namespace synod::sim {
namespace {

template <typename T>
T percentile(std::vector<T> values, double p) {
  if (values.empty()) return T{};
  size_t rank = static_cast<size_t>(p * static_cast<double>(values.size() - 1) + 0.5);
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(rank),
                   values.end());
  return values[rank];
}

// What one run contributes, kept by seed so the figures do not depend on
// which thread finished first.
struct Run {
  bool passed = false;
  double ops_per_second = 0;
  double messages_per_op = 0;
  std::vector<int64_t> latencies_ns, failovers_ns;
  uint64_t leader_crashes = 0;
};

ProtocolFigures summarize(std::string protocol, const std::map<uint64_t, Run>& runs) {
  ProtocolFigures f;
  f.protocol = std::move(protocol);
  std::vector<double> throughput, messages;
  std::vector<int64_t> latencies, failovers;
  for (const auto& [seed, run] : runs) {
    ++f.runs;
    if (!run.passed) f.failed_seeds.push_back(seed);
    throughput.push_back(run.ops_per_second);
    messages.push_back(run.messages_per_op);
    latencies.insert(latencies.end(), run.latencies_ns.begin(), run.latencies_ns.end());
    failovers.insert(failovers.end(), run.failovers_ns.begin(), run.failovers_ns.end());
    f.leader_crashes += run.leader_crashes;
  }
  f.ops_per_second = percentile(throughput, 0.5);
  f.messages_per_op = percentile(messages, 0.5);
  f.p50_ns = percentile(latencies, 0.5);
  f.p90_ns = percentile(latencies, 0.9);
  f.p99_ns = percentile(latencies, 0.99);
  f.max_ns = latencies.empty() ? 0 : *std::max_element(latencies.begin(), latencies.end());
  f.failovers = failovers.size();
  f.failover_p50_ns = percentile(failovers, 0.5);
  f.failover_max_ns = failovers.empty() ? 0 : *std::max_element(failovers.begin(), failovers.end());
  return f;
}

std::string ms(int64_t ns) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1fms", static_cast<double>(ns) / 1e6);
  return text;
}

}  // namespace

absl::StatusOr<std::vector<ProtocolFigures>> compare_protocols(
    const SimConfig& config, const std::vector<std::string>& protocols, uint64_t first,
    uint64_t seeds, unsigned jobs, const std::function<void(uint64_t, uint64_t)>& progress) {
  if (protocols.empty()) return absl::InvalidArgumentError("no protocols to compare");
  for (const std::string& name : protocols) {
    SimConfig c = config;
    c.protocol = name;
    if (auto status = validate(c); !status.ok()) return status;
    if (!find_protocol(name)->serves_clients)
      return absl::InvalidArgumentError("protocol '" + name +
                                        "' serves no clients: nothing to compare");
  }
  const double seconds = std::chrono::duration<double>(config.duration).count();
  const uint64_t total = seeds * protocols.size();
  uint64_t done = 0;
  absl::Status error;
  std::vector<ProtocolFigures> out;
  for (const std::string& name : protocols) {
    SimConfig c = config;
    c.protocol = name;
    std::map<uint64_t, Run> runs;
    run_seeds(c, first, seeds, jobs,
              [&](const SimConfig& run_config, const absl::StatusOr<RunReport>& report) {
                ++done;
                if (progress) progress(done, total);
                if (!report.ok()) {
                  error = report.status();
                  return;
                }
                Run& run = runs[run_config.seed];
                run.passed = report->passed();
                run.ops_per_second = static_cast<double>(report->ops_ok) / seconds;
                run.messages_per_op = report->ops_ok == 0
                                          ? 0
                                          : static_cast<double>(report->messages_sent) /
                                                static_cast<double>(report->ops_ok);
                run.latencies_ns = report->latencies_ns;
                run.failovers_ns = report->failovers_ns;
                run.leader_crashes = report->leader_crashes;
              });
    if (!error.ok()) return error;
    out.push_back(summarize(name, runs));
  }
  return out;
}

std::string format_comparison(const std::vector<ProtocolFigures>& figures) {
  std::string out;
  char line[256];
  std::snprintf(line, sizeof line, "%-12s %6s %9s %9s %9s %9s %10s %8s %10s %14s %14s\n",
                "protocol", "failed", "ops/s", "p50", "p90", "p99", "max", "msgs/op", "crashes",
                "failover p50", "failover max");
  out += line;
  for (const ProtocolFigures& f : figures) {
    std::string crashes = std::to_string(f.failovers) + "/" + std::to_string(f.leader_crashes);
    std::snprintf(line, sizeof line, "%-12s %6zu %9.1f %9s %9s %9s %10s %8.1f %10s %14s %14s\n",
                  f.protocol.c_str(), f.failed_seeds.size(), f.ops_per_second, ms(f.p50_ns).c_str(),
                  ms(f.p90_ns).c_str(), ms(f.p99_ns).c_str(), ms(f.max_ns).c_str(),
                  f.messages_per_op, crashes.c_str(),
                  f.failovers ? ms(f.failover_p50_ns).c_str() : "-",
                  f.failovers ? ms(f.failover_max_ns).c_str() : "-");
    out += line;
  }
  return out;
}

}  // namespace synod::sim
