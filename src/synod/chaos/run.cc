#include "synod/chaos/run.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <thread>

#include "synod/chaos/cluster.h"
#include "synod/chaos/nemesis.h"
#include "synod/chaos/network.h"
#include "synod/chaos/summary.h"
#include "synod/chaos/workload.h"

namespace synod::chaos {
namespace {

using namespace std::chrono_literals;

constexpr int kExitOk = 0, kExitFailed = 1, kExitBadArguments = 2;
// Where Debian's libfaketime is (package libfaketime).
constexpr const char* kFaketime = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";
constexpr const char* kDiskStallLibrary = "libsynod_disk_stall.so";

std::atomic<int> g_signal{0};

void on_signal(int sig) {
  g_signal = sig;
}

// SIGINT, SIGTERM and SIGHUP stop the run at its next step; the previous
// handlers come back when it ends.
class SignalGuard {
 public:
  SignalGuard() {
    g_signal = 0;
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    for (int i = 0; i < 3; ++i)
      ::sigaction(kSignals[i], &sa, &old_[i]);
  }
  ~SignalGuard() {
    for (int i = 0; i < 3; ++i)
      ::sigaction(kSignals[i], &old_[i], nullptr);
  }

 private:
  static constexpr int kSignals[3] = {SIGINT, SIGTERM, SIGHUP};
  struct sigaction old_[3];
};

bool interrupted() {
  return g_signal.load() != 0;
}

// Sleeps until `until` (a run time in ns), calling tick about every second;
// false when interrupted.
bool sleep_until(const Recorder& clock, int64_t until, const std::function<void()>& tick) {
  int64_t next_tick = clock.now() + 1'000'000'000;
  while (clock.now() < until) {
    if (interrupted()) return false;
    std::this_thread::sleep_for(50ms);
    if (clock.now() >= next_tick) {
      tick();
      next_tick += 1'000'000'000;
    }
  }
  return !interrupted();
}

std::string self_dir() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? "." : exe.parent_path().string();
}

class Run {
 public:
  Run(const RunOptions& o, std::ostream& out) : o_(o), out_(out), recorder_(Clock::now()) {}

  int go();

 private:
  void log(const std::string& line) {
    std::lock_guard lock(log_mu_);
    std::string text = "[" + seconds_text(recorder_.now()) + "] " + line + "\n";
    out_ << text << std::flush;
    log_file_ << text << std::flush;
  }
  int bad(const std::string& why) {
    out_ << "synod chaos: " << why << "\n";
    return kExitBadArguments;
  }
  int validate();
  std::string command_line() const;
  int start_cluster();
  int drive();
  int finish();

  const RunOptions& o_;
  std::ostream& out_;
  Recorder recorder_;
  std::mutex log_mu_;
  std::ofstream log_file_;
  std::string dir_;
  System system_ = System::kSynod;
  std::vector<FaultKind> mix_;
  std::vector<PlannedFault> plan_;
  std::unique_ptr<Network> network_;
  std::unique_ptr<Cluster> cluster_;
  std::unique_ptr<Nemesis> nemesis_;
  std::vector<std::unique_ptr<Workload>> workloads_;
  int64_t workloads_start_ = 0;
};

// The flags that decide a run's plan and load, as a command to run again.
std::string Run::command_line() const {
  auto num = [](double v) {
    std::ostringstream out;
    out << v;
    return out.str();
  };
  std::string workloads;
  for (const std::string& w : o_.workloads)
    workloads += (workloads.empty() ? "" : ",") + w;
  std::string s = "synod chaos --system " + o_.system + " --nodes " + std::to_string(o_.nodes) +
                  " --seed " + std::to_string(o_.seed) + " --duration " + num(o_.duration_s) +
                  " --recover " + num(o_.recover_s) + " --workload " + workloads + " --nemesis " +
                  o_.nemesis + " --fault-gap " + num(o_.gap_min_s) + "," + num(o_.gap_max_s) +
                  " --fault-length " + num(o_.length_min_s) + "," + num(o_.length_max_s) +
                  " --clients " + std::to_string(o_.clients) + " --rate " + num(o_.rate) +
                  " --keys " + std::to_string(o_.keys) + " --op-timeout " + num(o_.op_timeout_s) +
                  " --heartbeat-interval " + std::to_string(o_.heartbeat_ms) +
                  " --election-timeout " + std::to_string(o_.election_ms);
  if (!o_.bug.empty()) s += " --bug " + o_.bug;
  return s;
}

int Run::validate() {
  if (o_.system == "synod") {
    system_ = System::kSynod;
  } else if (o_.system == "etcd") {
    system_ = System::kEtcd;
  } else {
    return bad("--system: synod or etcd, not '" + o_.system + "'");
  }
  if (o_.nodes < 1 || o_.nodes > 9) return bad("--nodes: 1 to 9");
  if (o_.duration_s <= 0 || o_.recover_s < 0) return bad("--duration must be positive");
  if (o_.clients < 1 || o_.rate <= 0 || o_.keys < 1 || o_.op_timeout_s <= 0)
    return bad("--clients, --rate, --keys and --op-timeout must be positive");
  if (o_.gap_min_s < 0 || o_.gap_max_s < o_.gap_min_s || o_.length_min_s <= 0 ||
      o_.length_max_s < o_.length_min_s)
    return bad("--fault-gap and --fault-length: MIN,MAX with 0 <= MIN <= MAX");
  auto mix = parse_nemesis(o_.nemesis);
  if (!mix.ok()) return bad("--nemesis: " + std::string(mix.status().message()));
  for (FaultKind k : *mix) {
    if (auto why = Nemesis::unsupported(k, system_)) {
      out_ << "note: " << fault_name(k) << " skipped on " << o_.system << ": " << *why << "\n";
      continue;
    }
    if (k == FaultKind::kClock && !std::filesystem::exists(kFaketime)) {
      out_ << "note: clock skipped: " << kFaketime << " is missing (package libfaketime)\n";
      continue;
    }
    mix_.push_back(k);
  }
  // By name only: no gRPC object may exist before the run enters its
  // namespace (gRPC's threads would stay outside it).
  std::vector<std::string> known = workload_names();
  for (const std::string& w : o_.workloads) {
    if (std::find(known.begin(), known.end(), w) == known.end())
      return bad("--workload: unknown workload '" + w + "'");
  }
  if (o_.workloads.empty()) return bad("--workload: none given");
  int64_t end = static_cast<int64_t>((o_.duration_s - o_.recover_s) * 1000);
  // The plan comes from the mix as asked, skipped faults included, so a seed
  // gives synod and etcd the same faults at the same times.
  plan_ = plan_faults({.seed = o_.seed,
                       .mix = *mix,
                       .last_ms = end,
                       .gap_min_ms = static_cast<int64_t>(o_.gap_min_s * 1000),
                       .gap_max_ms = static_cast<int64_t>(o_.gap_max_s * 1000),
                       .length_min_ms = static_cast<int64_t>(o_.length_min_s * 1000),
                       .length_max_ms = static_cast<int64_t>(o_.length_max_s * 1000)});
  return kExitOk;
}

int Run::start_cluster() {
  if (::geteuid() != 0)
    return bad("needs root: it creates network namespaces, links and packet filters");
  if (int stale = Network::remove_stale(); stale > 0)
    log("removed " + std::to_string(stale) + " namespaces left by chaos runs that were killed");
  auto network = Network::create(o_.nodes);
  if (!network.ok())
    return bad("cannot build the network: " + std::string(network.status().message()));
  network_ = std::move(*network);
  if (absl::Status s = network_->enter_controller(); !s.ok()) return bad(std::string(s.message()));

  ClusterOptions co{.system = system_,
                    .binary = o_.binary,
                    .heartbeat_ms = o_.heartbeat_ms,
                    .election_ms = o_.election_ms,
                    .dir = dir_};
  if (co.binary.empty()) co.binary = system_ == System::kSynod ? self_dir() + "/synod" : "etcd";
  for (FaultKind k : mix_) {
    if (k == FaultKind::kClock) co.faketime_library = kFaketime;
    if (k == FaultKind::kDisk) co.disk_stall_library = self_dir() + "/" + kDiskStallLibrary;
  }
  if (!co.disk_stall_library.empty() && !std::filesystem::exists(co.disk_stall_library))
    return bad("missing " + co.disk_stall_library + " (built beside synod)");
  cluster_ = std::make_unique<Cluster>(co, *network_);
  log("starting " + std::to_string(o_.nodes) + " members of " + co.binary + " in " + dir_);
  if (absl::Status s = cluster_->start(60s); !s.ok()) {
    log("cluster did not start: " + std::string(s.message()));
    return kExitFailed;
  }
  std::optional<int> leader;
  for (int tries = 0; tries < 150 && !leader && !interrupted(); ++tries) {
    leader = cluster_->leader();
    if (!leader) std::this_thread::sleep_for(200ms);
  }
  if (!leader) {
    log("no leader within 30 s");
    return kExitFailed;
  }
  log("cluster up, leader " + cluster_->name(*leader));
  return kExitOk;
}

int Run::drive() {
  WorkloadOptions wo{
      .clients = o_.clients,
      .rate = o_.rate / static_cast<double>(o_.workloads.size()),
      .keys = o_.keys,
      .op_timeout = std::chrono::milliseconds(static_cast<int64_t>(o_.op_timeout_s * 1000)),
      .seed = o_.seed,
      .out_dir = dir_,
      .bug = o_.bug,
      .recorder = &recorder_};
  for (int i = 0; i < o_.nodes; ++i)
    wo.endpoints.push_back(cluster_->endpoint(i));
  for (const std::string& w : o_.workloads) {
    workloads_.push_back(make_workload(w, wo));
    if (absl::Status s = workloads_.back()->setup(); !s.ok()) {
      log(w + ": setup failed: " + std::string(s.message()));
      return kExitFailed;
    }
  }
  int64_t start = recorder_.now();
  workloads_start_ = start;
  for (auto& w : workloads_)
    w->start();
  log("workloads started; " + std::to_string(plan_.size()) + " faults planned");
  nemesis_ = std::make_unique<Nemesis>(
      *cluster_, *network_, [this] { return recorder_.now(); },
      [this](const std::string& line) { log(line); });
  auto tick = [this] { nemesis_->tick(); };
  for (const PlannedFault& f : plan_) {
    if (!sleep_until(recorder_, start + f.start_ms * 1'000'000, tick)) break;
    if (std::find(mix_.begin(), mix_.end(), f.kind) == mix_.end()) {
      log("skip " + fault_name(f.kind) + " (not for " + o_.system + ")");
      continue;
    }
    nemesis_->start(f);
    if (!sleep_until(recorder_, start + (f.start_ms + f.length_ms) * 1'000'000, tick)) break;
    nemesis_->heal();
  }
  nemesis_->heal();
  sleep_until(recorder_, start + static_cast<int64_t>(o_.duration_s * 1e9), [] {});
  for (auto& w : workloads_)
    w->stop();
  if (interrupted()) {
    log("interrupted by signal " + std::to_string(g_signal.load()) + "; cleaning up");
    return kExitFailed;
  }
  return kExitOk;
}

int Run::finish() {
  std::vector<CheckResult> checks;
  for (auto& w : workloads_) {
    log("checking " + w->name());
    checks.push_back(w->check());
  }
  int64_t end = recorder_.now();
  std::string summary =
      summarize(recorder_.records(), nemesis_->events(), checks, workloads_start_, end);
  bool pass = std::all_of(checks.begin(), checks.end(), [](const CheckResult& c) {
    return c.verdict == CheckResult::Verdict::kPass;
  });
  summary += std::string("result: ") + (pass ? "PASS" : "FAIL") + "\n";
  summary += "the same schedule again: " + command_line() + "\n";
  out_ << summary;
  std::ofstream(dir_ + "/summary.txt") << summary;
  return pass ? kExitOk : kExitFailed;
}

int Run::go() {
  if (int code = validate(); code != kExitOk) return code;
  dir_ = o_.out_dir.empty() ? "/tmp/synod-chaos-" + o_.system + "-" + std::to_string(o_.seed) +
                                  "-" + std::to_string(::getpid())
                            : o_.out_dir;
  if (!o_.plan_only) {  // a plan alone is printed, nothing kept
    std::error_code ec;
    std::filesystem::create_directories(dir_, ec);
    if (ec) return bad("cannot create " + dir_ + ": " + ec.message());
    log_file_.open(dir_ + "/run.log", std::ios::app);
  }
  std::string workloads;
  for (const std::string& w : o_.workloads)
    workloads += (workloads.empty() ? "" : ",") + w;
  std::string mix;
  for (FaultKind k : mix_)
    mix += (mix.empty() ? "" : ",") + fault_name(k);
  log("synod chaos: system=" + o_.system + " nodes=" + std::to_string(o_.nodes) +
      " seed=" + std::to_string(o_.seed) + " duration=" + std::to_string(o_.duration_s) +
      "s workloads=" + workloads + " nemesis=" + (mix.empty() ? "none" : mix) +
      (o_.bug.empty() ? "" : " bug=" + o_.bug));
  for (const PlannedFault& f : plan_)
    log("plan: at " + std::to_string(f.start_ms) + " ms for " + std::to_string(f.length_ms) +
        " ms: " + fault_name(f.kind));
  if (o_.plan_only) return kExitOk;
  SignalGuard signals;
  int code = start_cluster();
  if (code == kExitOk) code = drive();
  if (code == kExitOk) code = finish();
  // Everything goes, in reverse order of making: clients, faults, members,
  // namespaces.
  for (auto& w : workloads_)
    w->stop();
  workloads_.clear();
  nemesis_.reset();
  cluster_.reset();
  network_.reset();
  log("cleaned up; histories and logs in " + dir_);
  return code;
}

}  // namespace

int run_chaos(const RunOptions& options, std::ostream& out) {
  Run run(options, out);
  try {
    return run.go();
  } catch (const std::exception& e) {
    out << "synod chaos: " << e.what() << "\n";
    return kExitFailed;
  }
}

}  // namespace synod::chaos
