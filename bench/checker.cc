// How long the linearizability checker takes on linearizable histories of the
// sizes the simulator records, and on a few keys under high concurrency.
//
//   build-check/bench/checker [--benchmark_repetitions=5]
//
// Prints Google Benchmark's lines, then a markdown table (median when
// repeated).

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "synod/base/rng.h"
#include "synod/check/linearizability.h"
#include "synod/check/sequential.h"

namespace {

using synod::Rng;
using synod::check::apply_at_points;
using synod::check::History;
using synod::check::Operation;
using synod::check::OpKind;
using synod::check::Outcome;
using synod::check::PlannedOperation;

struct Shape {
  const char* name;
  int ops;
  int keys;
  int clients;
};

constexpr Shape kShapes[] = {
    {"10k ops, 100 keys", 10'000, 100, 8},
    {"100k ops, 1000 keys", 100'000, 1'000, 8},
    {"10k ops, 4 keys, 32 clients", 10'000, 4, 32},
    {"100k ops, 10 keys, 64 clients", 100'000, 10, 64},
};

// Clients that each run one operation at a time against a sequential model,
// which applies each at a random point inside its interval. 40% gets, 35%
// puts, 15% cas (expecting the last value issued for the key), 10% deletes; values
// unique per write, as the simulator's. 2% of operations time out: the client
// moves on, and the operation takes effect later or never. Linearizable by
// construction.
History linearizable_history(const Shape& shape, uint64_t seed) {
  Rng rng(seed);
  std::vector<PlannedOperation> planned;
  planned.reserve(static_cast<size_t>(shape.ops));
  std::vector<int64_t> free_at(static_cast<size_t>(shape.clients), 0);
  // The last value issued per key: what a cas expects. Often still there
  // when the cas takes effect, sometimes not.
  std::map<std::string, std::string> last_issued;
  for (int i = 0; i < shape.ops; ++i) {
    // The client that is free first goes next, so all stay busy.
    size_t c =
        static_cast<size_t>(std::min_element(free_at.begin(), free_at.end()) - free_at.begin());
    PlannedOperation p;
    Operation& op = p.op;
    op.client = c;
    op.key = "k" + std::to_string(rng.uniform(static_cast<uint64_t>(shape.keys)));
    std::string value = std::to_string(c) + "." + std::to_string(i);
    uint64_t dice = rng.uniform(100);
    if (dice < 40) {
      op.kind = OpKind::kGet;
    } else if (dice < 75) {
      op.kind = OpKind::kPut;
      op.value = value;
    } else if (dice < 90) {
      op.kind = OpKind::kCas;
      auto it = last_issued.find(op.key);
      op.expected = it != last_issued.end() ? it->second : "none";
      op.value = value;
    } else {
      op.kind = OpKind::kDelete;
    }
    if (op.value) last_issued[op.key] = *op.value;
    op.call = free_at[c] + static_cast<int64_t>(rng.exponential(20'000));  // think, ~20us
    p.point = op.call + static_cast<int64_t>(rng.exponential(100'000));    // ~100us to apply
    op.ret = p.point + static_cast<int64_t>(rng.exponential(100'000));     // ~100us to reply
    free_at[c] = op.ret;
    if (rng.chance(0.02)) {
      op.outcome = Outcome::kUnknown;
      op.ret = -1;
      free_at[c] = op.call + 1'000'000;  // a 1ms timeout
      p.point = rng.chance(0.5) ? op.call + static_cast<int64_t>(rng.exponential(2'000'000)) : -1;
    }
    planned.push_back(std::move(p));
  }

  apply_at_points(planned);
  History history;
  history.reserve(planned.size());
  for (PlannedOperation& p : planned) {
    if (p.op.kind == OpKind::kGet && p.op.outcome != Outcome::kOk) p.op.value.reset();
    history.push_back(std::move(p.op));
  }
  // Records arrive in return order, as the simulator's do.
  std::stable_sort(history.begin(), history.end(), [](const Operation& a, const Operation& b) {
    return (a.ret < 0 ? a.call : a.ret) < (b.ret < 0 ? b.call : b.ret);
  });
  return history;
}

// The same history with one stale read at the end: on the busiest key, a put
// after everything, then a get that returns the value of an earlier put.
History with_stale_read(History history) {
  std::map<std::string, size_t> per_key;
  for (const Operation& op : history)
    ++per_key[op.key];
  std::string key =
      std::max_element(per_key.begin(), per_key.end(), [](const auto& a, const auto& b) {
        return a.second < b.second;
      })->first;
  int64_t end = 0;
  std::string earlier;
  for (const Operation& op : history) {
    end = std::max({end, op.call, op.ret});
    if (op.key == key && op.kind == OpKind::kPut && op.outcome == Outcome::kOk) earlier = *op.value;
  }
  history.push_back({.client = 999,
                     .kind = OpKind::kPut,
                     .key = key,
                     .value = "fresh",
                     .call = end + 10,
                     .ret = end + 20});
  history.push_back({.client = 998,
                     .kind = OpKind::kGet,
                     .key = key,
                     .value = earlier,
                     .call = end + 30,
                     .ret = end + 40});
  return history;
}

void BM_Check(benchmark::State& state, Shape shape, bool stale) {
  History history = linearizable_history(shape, 42);
  if (stale) history = with_stale_read(std::move(history));
  synod::check::Verdict verdict;
  for (auto _ : state) {
    verdict = synod::check::check_linearizable(history);
    benchmark::DoNotOptimize(verdict);
  }
  if (verdict.linearizable == stale || verdict.undecided) {
    state.SkipWithError(("wrong verdict: " + verdict.explanation).c_str());
    return;
  }
  size_t unknown =
      static_cast<size_t>(std::count_if(history.begin(), history.end(), [](const Operation& op) {
        return op.outcome == Outcome::kUnknown;
      }));
  state.counters["ops"] = static_cast<double>(history.size());
  state.counters["keys"] = static_cast<double>(verdict.keys);
  state.counters["clients"] = shape.clients;
  state.counters["unknown"] = static_cast<double>(unknown);
  state.counters["steps"] = static_cast<double>(verdict.search_steps);
  state.counters["window"] = static_cast<double>(verdict.window.size());
  state.counters["ops_per_s"] = benchmark::Counter(static_cast<double>(history.size()),
                                                   benchmark::Counter::kIsIterationInvariantRate);
}

// Collects the runs for the table printed at the end.
class TableReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      bool repeated = run.repetitions > 1;
      bool median = run.run_type == Run::RT_Aggregate && run.aggregate_name == "median";
      if ((repeated && median) || (!repeated && run.run_type == Run::RT_Iteration))
        rows_.push_back(run);
    }
  }

  void print_table() const {
    std::printf(
        "\n| history | ops | keys | clients | unknown | verdict | check time | ops/s | search "
        "steps "
        "|\n");
    std::printf("|---|---:|---:|---:|---:|---|---:|---:|---:|\n");
    for (const Run& run : rows_) {
      auto counter = [&](const char* name) {
        auto it = run.counters.find(name);
        return it == run.counters.end() ? 0.0 : it->second.value;
      };
      std::string name = run.run_name.function_name;
      name = name.substr(name.find('/') + 1);
      if (run.error_occurred) {
        std::printf("| %s | error: %s |\n", name.c_str(), run.error_message.c_str());
        continue;
      }
      std::printf("| %s | %.0f | %.0f | %.0f | %.0f | %s | %.1f ms | %.2fM | %.0f |\n",
                  name.c_str(), counter("ops"), counter("keys"), counter("clients"),
                  counter("unknown"), counter("window") > 0 ? "NOT linearizable" : "linearizable",
                  run.GetAdjustedRealTime(), counter("ops_per_s") / 1e6, counter("steps"));
    }
  }

 private:
  std::vector<Run> rows_;
};

}  // namespace

int main(int argc, char** argv) {
  for (bool stale : {false, true}) {
    for (const Shape& shape : kShapes) {
      std::string name = std::string("check/") + shape.name + (stale ? " + 1 stale read" : "");
      benchmark::RegisterBenchmark(name.c_str(), BM_Check, shape, stale)
          ->Unit(benchmark::kMillisecond);
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  TableReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.print_table();
  benchmark::Shutdown();
  return 0;
}
