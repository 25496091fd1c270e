// synod sim run | explore | compare | list

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <mutex>
#include <thread>

#include "synod/base/duration.h"
#include "synod/cli/commands.h"
#include "synod/sim/compare.h"
#include "synod/sim/protocol_spec.h"
#include "synod/sim/seeds.h"
#include "synod/sim/simulation.h"

namespace synod::cli {
namespace {

// The options run and explore share, as the user typed them.
struct SimOptions {
  std::string protocol;
  int nodes = 5;
  std::string duration = "60s";
  std::string network;
  std::string delay;
  std::optional<double> loss, duplicate;
  std::string nemesis = "none";
  int clients = sim::WorkloadConfig{}.clients;
  int keys = sim::WorkloadConfig{}.keys;
  double through_member = sim::WorkloadConfig{}.through_member;
  std::string clients_stop;
  std::string bug;
  std::string clock_offset;
  std::string fault_every, fault_length;
  int max_down = 0;
  double clock_drift = 0;
  bool fixed_options = false;
  bool verbose = false;
};

void add_shared_options(CLI::App& cmd, SimOptions& o, bool with_protocol = true) {
  if (with_protocol)
    cmd.add_option("--protocol", o.protocol, "protocol to run (synod sim list shows them)")
        ->required();
  cmd.add_option("--nodes", o.nodes, "nodes in the cluster")->capture_default_str();
  cmd.add_option("--duration", o.duration, "virtual time to simulate (e.g. 30s, 2m)")
      ->capture_default_str();
  cmd.add_option("--network", o.network,
                 "reliable | fair-loss | arbitrary (default reliable; with --nemesis swarm the "
                 "seed picks)");
  cmd.add_option("--delay", o.delay,
                 "message delay: fixed:D | uniform:LOW,HIGH | exp:FLOOR,MEAN (default "
                 "uniform:500us,5ms)");
  cmd.add_option("--loss", o.loss, "loss probability (fair-loss, arbitrary; default 0.05)");
  cmd.add_option("--duplicate", o.duplicate, "duplication probability (arbitrary; default 0.02)");
  cmd.add_option(
         "--nemesis", o.nemesis,
         "faults: none | swarm | a list of partition, partition-symmetric, "
         "partition-oneway, partition-majority, partition-bridge, crash, crash-stop, "
         "pause, skew, byzantine, crash-leader, pause-leader, partition-leader, membership, "
         "transfer")
      ->capture_default_str();
  cmd.add_option("--clients", o.clients, "simulated clients")->capture_default_str();
  cmd.add_option("--keys", o.keys, "keys the workload touches")->capture_default_str();
  cmd.add_option("--through-member", o.through_member,
                 "share of clients that leave each request to one member, as etcd's clients do "
                 "with synod serve (Raft, Multi-Paxos): the member retries, clients never do")
      ->capture_default_str();
  cmd.add_option("--clients-stop", o.clients_stop,
                 "clients begin nothing new in the last DURATION of the run, and every "
                 "member's waiting requests must be answered by the end (e.g. 5s)");
  cmd.add_option("--bug", o.bug, "inject a known bug (--bug list names them)");
  cmd.add_option("--fault-every", o.fault_every,
                 "mean time between two faults of one kind (default 3s; swarm picks its own)");
  cmd.add_option("--fault-length", o.fault_length,
                 "how long a fault lasts: MIN,MAX (default 500ms,5s; swarm picks its own)");
  cmd.add_option("--max-down", o.max_down,
                 "at most this many nodes crashed at once (default: a minority of --nodes)");
  cmd.add_option("--clock-offset", o.clock_offset, "max initial clock offset per node (e.g. 50ms)");
  cmd.add_option("--clock-drift", o.clock_drift, "max clock drift per node (e.g. 0.0001 = 100ppm)");
  cmd.add_flag("--fixed-options", o.fixed_options,
               "run the protocol with its fixed default settings instead of letting each seed "
               "pick its own timings and limits");
  cmd.add_flag("--verbose,-v", o.verbose, "explain failures in full");
}

// Turns typed options into a config; prints the problem and returns nullopt on bad input.
std::optional<sim::SimConfig> make_config(const SimOptions& o) {
  auto fail = [](const std::string& message) -> std::optional<sim::SimConfig> {
    std::cerr << "synod sim: " << message << "\n";
    return std::nullopt;
  };
  sim::SimConfig c;
  c.protocol = o.protocol;
  c.nodes = o.nodes;
  c.bug = o.bug;
  c.workload.clients = o.clients;
  c.workload.keys = o.keys;
  c.workload.through_member = o.through_member;
  if (!o.clients_stop.empty()) {
    auto stop = parse_duration(o.clients_stop);
    if (!stop) return fail("--clients-stop: not a duration: '" + o.clients_stop + "'");
    c.workload.stop_before_end = *stop;
  }
  auto duration = parse_duration(o.duration);
  if (!duration) return fail("--duration: not a duration: '" + o.duration + "' (try 30s, 2m)");
  c.duration = *duration;

  if (!o.network.empty()) {
    auto model = sim::NetworkConfig::parse_model(o.network);
    if (!model)
      return fail("--network: expected reliable, fair-loss or arbitrary, got '" + o.network + "'");
    c.network.model = *model;
    c.network.model_given = true;
  }
  if ((!o.delay.empty() || o.loss || o.duplicate) && !c.network.model_given)
    return fail("--delay, --loss and --duplicate need --network");
  if (!o.delay.empty()) {
    auto delay = sim::DelayModel::parse(o.delay);
    if (!delay.ok()) return fail(std::string(delay.status().message()));
    c.network.delay = *delay;
  }
  if (o.loss) {
    if (c.network.model == sim::NetworkConfig::Model::kReliable)
      return fail("--loss: a reliable network loses nothing; use fair-loss or arbitrary");
    c.network.loss = *o.loss;
  }
  if (o.duplicate) {
    if (c.network.model != sim::NetworkConfig::Model::kArbitrary)
      return fail("--duplicate: only the arbitrary network duplicates");
    c.network.duplicate = *o.duplicate;
  }
  auto nemesis = sim::NemesisConfig::parse(o.nemesis);
  if (!nemesis.ok()) return fail(std::string(nemesis.status().message()));
  c.nemesis = *nemesis;
  if (!o.fault_every.empty() || !o.fault_length.empty()) {
    if (c.nemesis.swarm) return fail("--fault-every and --fault-length: swarm picks its own");
    if (c.nemesis.faults.empty()) return fail("--fault-every and --fault-length need --nemesis");
  }
  if (!o.fault_every.empty()) {
    auto every = parse_duration(o.fault_every);
    if (!every || every->count() <= 0)
      return fail("--fault-every: not a positive duration: '" + o.fault_every + "'");
    c.nemesis.mean_interval = *every;
  }
  if (!o.fault_length.empty()) {
    auto comma = o.fault_length.find(',');
    auto low = parse_duration(o.fault_length.substr(0, comma));
    auto high = comma == std::string::npos ? low : parse_duration(o.fault_length.substr(comma + 1));
    if (!low || !high || low->count() <= 0 || *high < *low)
      return fail("--fault-length: expected MIN,MAX durations with 0 < MIN <= MAX, got '" +
                  o.fault_length + "'");
    c.nemesis.min_fault = *low;
    c.nemesis.max_fault = *high;
  }
  if (o.max_down < 0) return fail("--max-down: not a count: " + std::to_string(o.max_down));
  c.nemesis.max_down = o.max_down;
  if (!o.clock_offset.empty()) {
    auto offset = parse_duration(o.clock_offset);
    if (!offset) return fail("--clock-offset: not a duration: '" + o.clock_offset + "'");
    c.clock.max_offset = *offset;
  }
  c.clock.max_drift = o.clock_drift;
  c.fixed_options = o.fixed_options;
  if (auto status = sim::validate(c); !status.ok()) return fail(std::string(status.message()));
  return c;
}

// --bug list: the protocol's bug names, comma-separated.
bool print_bug_list(const SimOptions& o, int& exit_code) {
  if (o.bug != "list") return false;
  const auto* info = sim::find_protocol(o.protocol);
  if (!info) {
    std::cerr << "synod sim: unknown protocol '" << o.protocol << "'\n";
    exit_code = kExitBadArguments;
    return true;
  }
  std::string names;
  for (const auto& bug : info->bugs)
    names += (names.empty() ? "" : ",") + bug;
  std::cout << names << "\n";
  exit_code = kExitOk;
  return true;
}

struct RunOptions {
  SimOptions shared;
  uint64_t seed = 1;
  std::string trace, diagram, history;
};

void add_run(CLI::App& sim_app, int& exit_code) {
  auto options = std::make_shared<RunOptions>();
  CLI::App* run = sim_app.add_subcommand(
      "run",
      "Run one simulation, check it, and print one summary line. Exit 0 when every check "
      "passes, 1 when one fails, 2 on bad arguments. Replay a run by repeating its flags.");
  add_shared_options(*run, options->shared);
  run->add_option("--seed", options->seed,
                  "the seed; the run is a pure function of it and the flags")
      ->capture_default_str();
  run->add_option("--trace", options->trace, "write every event as JSON lines to this file");
  run->add_option("--diagram", options->diagram, "write a space-time diagram (HTML) to this file");
  run->add_option("--history", options->history,
                  "write the client history as JSON lines (input for synod check history)");
  run->callback([options, &exit_code] {
    if (print_bug_list(options->shared, exit_code)) return;
    auto config = make_config(options->shared);
    if (!config) {
      exit_code = kExitBadArguments;
      return;
    }
    config->seed = options->seed;
    config->trace_path = options->trace;
    config->diagram_path = options->diagram;
    config->history_path = options->history;
    auto report = sim::run_simulation(*config);
    if (!report.ok()) {
      std::cerr << "synod sim: " << report.status().message() << "\n";
      exit_code = kExitBadArguments;
      return;
    }
    std::cout << report->summary_line() << "\n";
    if (!report->passed()) {
      std::cout << report->failure_details();
      std::cout << "replay: synod sim run " << report->flags << "\n";
    }
    if (options->shared.verbose) std::cout << "faults: " << report->faults << "\n";
    exit_code = report->passed() ? kExitOk : kExitCheckFailed;
  });
}

// A progress line on stderr for long work: rewritten in place a few times a
// second on a terminal, a new line every 10% otherwise (logs, CI).
class Progress {
 public:
  Progress(std::string what, std::string units)
      : what_(std::move(what)), units_(std::move(units)) {}

  void update(uint64_t done, uint64_t total, const std::string& extra = "") {
    auto now = std::chrono::steady_clock::now();
    bool due = tty_ ? now - last_ > std::chrono::milliseconds(500)
                    : done * 10 / total != (done - 1) * 10 / total;
    if (!due && done != total) return;
    last_ = now;
    double seconds = std::chrono::duration<double>(now - started_).count();
    std::fprintf(stderr, "%s%s: %llu/%llu %s%s, %.0fs%s", tty_ ? "\r" : "", what_.c_str(),
                 static_cast<unsigned long long>(done), static_cast<unsigned long long>(total),
                 units_.c_str(), extra.c_str(), seconds, tty_ && done != total ? "  " : "\n");
  }
  // Before printing a line of results: start it at the left margin.
  void interrupt() const {
    if (tty_) std::cerr << "\r";
  }

 private:
  std::string what_, units_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_ = started_;
  bool tty_ = isatty(STDERR_FILENO) != 0;
};

struct ExploreOptions {
  SimOptions shared;
  uint64_t seeds = 100;
  uint64_t first = 1;
  unsigned jobs = std::max(1u, std::thread::hardware_concurrency());
};

void add_explore(CLI::App& sim_app, int& exit_code) {
  auto options = std::make_shared<ExploreOptions>();
  CLI::App* explore = sim_app.add_subcommand(
      "explore",
      "Run many seeds (each its own fault schedule), print every failing seed with the "
      "command that replays it, and end with 'K seeds, F failed'. Exit 1 if any failed.");
  add_shared_options(*explore, options->shared);
  explore->add_option("--seeds", options->seeds, "how many seeds to run")->capture_default_str();
  explore->add_option("--first", options->first, "the first seed")->capture_default_str();
  explore->add_option("--jobs,-j", options->jobs, "simulations run in parallel")
      ->capture_default_str();
  explore->callback([options, &exit_code] {
    if (print_bug_list(options->shared, exit_code)) return;
    auto config = make_config(options->shared);
    if (!config || options->jobs == 0) {
      if (options->jobs == 0) std::cerr << "synod sim: --jobs must be at least 1\n";
      exit_code = kExitBadArguments;
      return;
    }
    const uint64_t total = options->seeds;
    uint64_t done = 0, failed = 0;
    Progress progress("explore", "seeds");
    sim::run_seeds(
        *config, options->first, total, options->jobs,
        [&](const sim::SimConfig& c, const absl::StatusOr<sim::RunReport>& report) {
          ++done;
          if (!report.ok() || !report->passed()) {
            ++failed;
            progress.interrupt();
            if (report.ok()) {
              std::cout << "FAIL " << report->summary_line() << "\n";
              if (options->shared.verbose) std::cout << report->failure_details();
              std::cout << "  replay: synod sim run " << report->flags << "\n" << std::flush;
            } else {
              std::cout << "FAIL seed=" << c.seed << ": " << report.status().message() << "\n";
            }
          }
          progress.update(done, total, ", " + std::to_string(failed) + " failed");
        });
    std::cout << total << " seeds, " << failed << " failed\n";
    exit_code = failed == 0 ? kExitOk : kExitCheckFailed;
  });
}

struct CompareOptions {
  SimOptions shared;
  std::string protocols = "raft,multipaxos";
  bool per_seed_options = false;
  uint64_t seeds = 20;
  uint64_t first = 1;
  unsigned jobs = std::max(1u, std::thread::hardware_concurrency());
};

void add_compare(CLI::App& sim_app, int& exit_code) {
  auto options = std::make_shared<CompareOptions>();
  options->shared.nemesis = "crash-leader";
  CLI::App* compare = sim_app.add_subcommand(
      "compare",
      "Run several protocols on the same seeds, so the same workload, network and fault "
      "schedule (faults aimed at the leader hit each protocol's own), and print a table: "
      "operations per second, latency percentiles, messages per operation, and how long "
      "the cluster had no leader after its leader crashed. All times are virtual. Every "
      "run is checked as in explore; exit 1 if any failed.");
  add_shared_options(*compare, options->shared, false);
  compare->add_option("--protocols", options->protocols, "comma-separated protocols to compare")
      ->capture_default_str();
  compare->add_flag("--per-seed-options", options->per_seed_options,
                    "let each seed pick each protocol's timings and limits, as explore does "
                    "(default: every protocol runs with its fixed default settings)");
  compare->add_option("--seeds", options->seeds, "seeds per protocol")->capture_default_str();
  compare->add_option("--first", options->first, "the first seed")->capture_default_str();
  compare->add_option("--jobs,-j", options->jobs, "simulations run in parallel")
      ->capture_default_str();
  compare->callback([options, &exit_code] {
    std::vector<std::string> protocols;
    for (size_t at = 0; at <= options->protocols.size();) {
      size_t comma = std::min(options->protocols.find(',', at), options->protocols.size());
      if (comma > at) protocols.push_back(options->protocols.substr(at, comma - at));
      at = comma + 1;
    }
    if (protocols.empty() || options->seeds == 0 || options->jobs == 0) {
      std::cerr << "synod sim compare: need --protocols, and --seeds and --jobs of at least 1\n";
      exit_code = kExitBadArguments;
      return;
    }
    options->shared.protocol = protocols.front();  // for the checks shared with run
    options->shared.fixed_options = !options->per_seed_options;
    auto config = make_config(options->shared);
    if (!config) {
      exit_code = kExitBadArguments;
      return;
    }
    Progress progress("compare", "runs");
    auto figures = sim::compare_protocols(
        *config, protocols, options->first, options->seeds, options->jobs,
        [&](uint64_t done, uint64_t total) { progress.update(done, total); });
    if (!figures.ok()) {
      std::cerr << "synod sim compare: " << figures.status().message() << "\n";
      exit_code = kExitBadArguments;
      return;
    }
    std::cout << "synod sim compare: " << options->seeds << " seeds from " << options->first << ", "
              << config->nodes << " nodes, " << options->shared.duration << " each, nemesis "
              << config->nemesis.to_string() << ", " << config->workload.clients << " clients, "
              << (config->fixed_options ? "fixed" : "per-seed") << " protocol settings\n"
              << sim::format_comparison(*figures);
    bool all_passed = true;
    for (const auto& f : *figures) {
      for (uint64_t seed : f.failed_seeds) {
        all_passed = false;
        sim::SimConfig c = *config;
        c.protocol = f.protocol;
        c.seed = seed;
        std::cout << "FAIL: synod sim run " << c.to_flags() << "\n";
      }
    }
    exit_code = all_passed ? kExitOk : kExitCheckFailed;
  });
}

void add_list(CLI::App& sim_app, int& exit_code) {
  CLI::App* list = sim_app.add_subcommand("list", "List the protocols and their injectable bugs.");
  list->callback([&exit_code] {
    for (const auto& info : sim::catalogue()) {
      std::string bugs;
      for (const auto& bug : info.bugs)
        bugs += (bugs.empty() ? "" : ",") + bug;
      std::cout << info.name << "\n    " << info.summary
                << "\n    bugs: " << (bugs.empty() ? "(none)" : bugs) << "\n";
    }
    exit_code = kExitOk;
  });
}

}  // namespace

void add_sim_commands(CLI::App& app, int& exit_code) {
  CLI::App* sim_app =
      app.add_subcommand("sim", "Run protocols on a simulated cluster under faults.");
  sim_app->require_subcommand(1);
  add_run(*sim_app, exit_code);
  add_explore(*sim_app, exit_code);
  add_compare(*sim_app, exit_code);
  add_list(*sim_app, exit_code);
}

}  // namespace synod::cli
