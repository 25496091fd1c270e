#pragma once

// A workload: clients that drive a cluster through etcd's API while the
// nemesis works, record what they saw, and a checker that judges it.
//
// The run calls setup() on a healthy cluster, start(), then (faults come and
// go, then heal) stop(), then check(), which may read the healed cluster
// once more (final reads) before judging. Every workload keeps its keys under
// its own prefix, so several can run at once on one cluster.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "synod/base/assert.h"
#include "synod/base/rng.h"
#include "synod/chaos/client.h"

namespace synod::chaos {

using Clock = std::chrono::steady_clock;

// What one operation came to, for availability and errors by kind.
struct OpRecord {
  enum class Result : uint8_t { kOk, kFailed, kUnknown };
  std::string workload;
  int64_t call = 0;  // ns since the run started
  int64_t ret = 0;   // ns since the run started (when the client stopped waiting)
  Result result = Result::kOk;
  std::string error;  // error_kind(), when not ok
};

// Every operation of every workload, and the run's clock.
class Recorder {
 public:
  explicit Recorder(Clock::time_point start) : start_(start) {}
  int64_t now() const {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start_).count();
  }
  void add(OpRecord record) {
    SYNOD_ASSERT(record.ret >= record.call);
    std::lock_guard lock(mu_);
    records_.push_back(std::move(record));
  }
  std::vector<OpRecord> records() const {
    std::lock_guard lock(mu_);
    return records_;
  }

 private:
  Clock::time_point start_;
  mutable std::mutex mu_;
  std::vector<OpRecord> records_;
};

struct WorkloadOptions {
  std::vector<std::string> endpoints;  // every member's client address
  int clients = 16;
  double rate = 200;  // operations per second, all clients together
  int keys = 5;
  std::chrono::milliseconds op_timeout{2000};
  uint64_t seed = 1;
  std::string out_dir;
  std::string bug;  // an injected client-side bug (see chaos_command's --bug list)
  Recorder* recorder = nullptr;
};

struct CheckResult {
  enum class Verdict { kPass, kFail, kUndecided };
  std::string workload;
  Verdict verdict = Verdict::kPass;
  std::string summary;                       // one line
  std::string details;                       // on failure: what went wrong, several lines
  std::vector<std::string> notes;            // findings that are not violations (known limits)
  int64_t window_from = -1, window_to = -1;  // on failure: ns since the start
};

class Workload {
 public:
  explicit Workload(WorkloadOptions options);
  virtual ~Workload();
  virtual std::string name() const = 0;
  virtual absl::Status setup() { return absl::OkStatus(); }
  // Starts the clients (threads calling step()).
  void start();
  // Stops them (each finishes its current operation) and joins them.
  void stop();
  virtual CheckResult check() = 0;
  // Injected bugs this workload knows.
  virtual std::vector<std::string> bugs() const { return {}; }

 protected:
  // One operation of client `c`.
  virtual void step(int c, Rng& rng) = 0;
  // Extra threads a workload runs beside its clients (watchers); each gets
  // the stop flag.
  virtual void start_extra() {}
  virtual void stop_extra() {}

  const WorkloadOptions& options() const { return options_; }
  // The channel client c uses now; rotate() moves it to the next member
  // after an error, as etcd's clients move to another endpoint.
  std::shared_ptr<grpc::Channel> channel(int c);
  std::shared_ptr<grpc::Channel> channel_to(size_t member) { return channels_.at(member); }
  void rotate(int c);
  int64_t now() const { return options_.recorder->now(); }
  void record(int64_t call, OpRecord::Result result, const std::string& error = "");
  bool stopping() const { return stop_.load(); }
  // Sleeps up to `d`, less if the run stops.
  void nap(std::chrono::nanoseconds d) const;

 private:
  WorkloadOptions options_;
  std::vector<std::shared_ptr<grpc::Channel>> channels_;
  std::vector<size_t> current_;  // per client: index into channels_
  std::vector<std::thread> threads_;
  std::atomic<bool> stop_{false};
};

// "register", "bank", "set", "watch", "lock"; nullptr for another name.
std::unique_ptr<Workload> make_workload(const std::string& name, const WorkloadOptions& options);
std::vector<std::string> workload_names();

}  // namespace synod::chaos
