// Heartbeat/timeout against phi accrual, across loss and delay settings:
// how fast each detects real crashes, and how often it suspects a live node.
// Each cell aggregates several simulated seeds with crashes and crash-stops.
//
//   build/bench/detectors [seeds per cell, default 10]

#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

#include "synod/base/duration.h"
#include "synod/sim/simulation.h"

namespace {

struct Setting {
  const char* name;
  const char* network;
  const char* delay;
  double loss;
};

// "1.25s" -> nanoseconds
double nanos(const std::string& text) {
  auto d = synod::parse_duration(text);
  return d ? static_cast<double>(d->count()) : 0;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace synod;
  int seeds = argc > 1 ? std::atoi(argv[1]) : 10;
  const Setting settings[] = {
      {"no loss, 0.5-5ms", "reliable", "uniform:500us,5ms", 0},
      {"5% loss, 0.5-5ms", "fair-loss", "uniform:500us,5ms", 0.05},
      {"20% loss, 0.5-5ms", "fair-loss", "uniform:500us,5ms", 0.20},
      {"no loss, heavy tail (1ms + exp 30ms)", "reliable", "exp:1ms,30ms", 0},
      {"5% loss, heavy tail (1ms + exp 30ms)", "fair-loss", "exp:1ms,30ms", 0.05},
  };
  std::printf(
      "| network | detector | crashes | detections | mean detection | max detection | false "
      "suspicions per node-minute |\n|---|---|---|---|---|---|---|\n");
  for (const Setting& s : settings) {
    for (const char* protocol : {"detector-heartbeat", "detector-phi"}) {
      double detect_sum = 0, detect_max = 0;
      uint64_t crashes = 0, detections = 0, false_suspicions = 0;
      for (int seed = 1; seed <= seeds; ++seed) {
        sim::SimConfig c;
        c.protocol = protocol;
        c.seed = static_cast<uint64_t>(seed);
        c.nodes = 5;
        c.duration = std::chrono::seconds(60);
        c.network.model = *sim::NetworkConfig::parse_model(s.network);
        c.network.model_given = true;
        c.network.delay = *sim::DelayModel::parse(s.delay);
        c.network.loss = s.loss;
        c.nemesis = *sim::NemesisConfig::parse("crash");
        c.nemesis.max_fault = std::chrono::seconds(8);
        c.nemesis.min_fault = std::chrono::seconds(4);
        auto report = sim::run_simulation(c);
        if (!report.ok()) return 1;
        std::map<std::string, std::string> f(report->fields.begin(), report->fields.end());
        uint64_t n = std::stoull(f["detections"]);
        crashes += std::stoull(f["crashes"]);
        detections += n;
        false_suspicions += std::stoull(f["false_suspicions"]);
        if (n > 0) {
          detect_sum += nanos(f["detect_mean"]) * static_cast<double>(n);
          detect_max = std::max(detect_max, nanos(f["detect_max"]));
        }
      }
      double node_minutes = 5.0 * seeds;  // 5 nodes, one minute each
      std::printf("| %s | %s | %llu | %llu | %s | %s | %.2f |\n", s.name, protocol,
                  static_cast<unsigned long long>(crashes),
                  static_cast<unsigned long long>(detections),
                  detections ? format_duration(Duration(static_cast<int64_t>(
                                                   detect_sum / static_cast<double>(detections))))
                                   .c_str()
                             : "-",
                  format_duration(Duration(static_cast<int64_t>(detect_max))).c_str(),
                  static_cast<double>(false_suspicions) / node_minutes);
    }
  }
  return 0;
}
