// watch: writers put and delete keys under one prefix while one watcher per
// member follows the prefix, each resuming on another member from the
// revision after its last event whenever its stream breaks. At the end, once
// everything healed, every watcher must catch up with the last change, and
// check/watch_check.h judges what they saw against each other, the
// acknowledged writes and the final range.

#include <fstream>
#include <map>
#include <optional>

#include "synod/chaos/workloads.h"
#include "synod/check/watch_check.h"
#include "synod/wire/etcd_rpc.grpc.pb.h"

namespace synod::chaos {
namespace {

constexpr const char* kPrefix = "chaos/watch/";
constexpr const char* kPrefixEnd = "chaos/watch0";
// How long the watchers get, once everything healed, to reach the last change.
constexpr auto kCatchUp = std::chrono::seconds(30);

using Stream = grpc::ClientReaderWriter<etcdserverpb::WatchRequest, etcdserverpb::WatchResponse>;

struct Watcher {
  check::WatcherLog log;
  int64_t next = 0;  // the revision to resume from
  size_t member = 0;
  std::mutex mu;  // guards ctx and stream, which the check's pings also use
  std::unique_ptr<grpc::ClientContext> ctx;
  std::unique_ptr<Stream> stream;
  std::atomic<int64_t> reached{0};
  std::atomic<uint64_t> reconnects{0};
  std::thread thread;
};

class WatchWorkload : public Workload {
 public:
  explicit WatchWorkload(WorkloadOptions options) : Workload(std::move(options)) {}
  ~WatchWorkload() override { stop_watchers(); }
  std::string name() const override { return "watch"; }

  absl::Status setup() override {
    for (int attempt = 0; attempt < 30; ++attempt) {
      etcdserverpb::RangeRequest request;
      request.set_key(kPrefix);
      request.set_range_end(kPrefixEnd);
      etcdserverpb::RangeResponse response;
      auto ctx = context_with_timeout(std::chrono::seconds(2));
      if (etcdserverpb::KV::NewStub(channel(0))->Range(ctx.get(), request, &response).ok()) {
        start_revision_ = response.header().revision() + 1;
        for (const auto& kv : response.kvs())
          initial_[kv.key()] = kv.value();
        return absl::OkStatus();
      }
      rotate(0);
    }
    return absl::UnavailableError("could not read the prefix");
  }

  CheckResult check() override;

 protected:
  void step(int c, Rng& rng) override {
    std::string key = kPrefix + std::string("k") + std::to_string(rng.uniform(options().keys));
    int64_t call = now();
    grpc::Status status;
    check::AckedWrite w{.key = key};
    auto ctx = context_with_timeout(options().op_timeout);
    if (rng.chance(0.1)) {
      etcdserverpb::DeleteRangeRequest request;
      request.set_key(key);
      etcdserverpb::DeleteRangeResponse response;
      status = etcdserverpb::KV::NewStub(channel(c))->DeleteRange(ctx.get(), request, &response);
      w.is_delete = true;
      w.revision = response.deleted() > 0 ? response.header().revision() : 0;
    } else {
      w.value = "c" + std::to_string(c) + "." + std::to_string(next_value_++);
      etcdserverpb::PutRequest request;
      request.set_key(key);
      request.set_value(w.value);
      etcdserverpb::PutResponse response;
      status = etcdserverpb::KV::NewStub(channel(c))->Put(ctx.get(), request, &response);
      w.revision = response.header().revision();
    }
    if (!status.ok()) {
      bool unknown = fate_of(status) == Fate::kUnknown;
      record(call, unknown ? OpRecord::Result::kUnknown : OpRecord::Result::kFailed,
             error_kind(status));
      rotate(c);
      return;
    }
    record(call, OpRecord::Result::kOk);
    if (w.revision == 0) return;  // a delete of nothing changes nothing
    std::lock_guard lock(mu_);
    acked_.push_back(std::move(w));
  }

  void start_extra() override {
    watching_ = true;
    size_t members = options().endpoints.size();
    for (size_t i = 0; i < members; ++i) {
      auto w = std::make_unique<Watcher>();
      w->log.id = static_cast<int>(i);
      w->log.start_revision = start_revision_;
      w->next = start_revision_;
      w->member = i;
      watchers_.push_back(std::move(w));
    }
    for (auto& w : watchers_)
      w->thread = std::thread([this, p = w.get()] { watch(*p); });
  }

  // The watchers outlive the writers: check() stops them once caught up.
  void stop_extra() override {}

 private:
  void stop_watchers() {
    watching_ = false;
    for (auto& w : watchers_) {
      {
        std::lock_guard lock(w->mu);
        if (w->ctx) w->ctx->TryCancel();
      }
      if (w->thread.joinable()) w->thread.join();
    }
  }

  // One watcher: a stream, then another from where it stopped, until told.
  void watch(Watcher& w) {
    while (watching_.load()) {
      {
        std::lock_guard lock(w.mu);
        w.ctx = std::make_unique<grpc::ClientContext>();
        w.stream = etcdserverpb::Watch::NewStub(channel_to(w.member))->Watch(w.ctx.get());
      }
      etcdserverpb::WatchRequest create;
      create.mutable_create_request()->set_key(kPrefix);
      create.mutable_create_request()->set_range_end(kPrefixEnd);
      create.mutable_create_request()->set_start_revision(w.next);
      bool sent;
      {
        std::lock_guard lock(w.mu);
        sent = w.stream->Write(create);
      }
      etcdserverpb::WatchResponse response;
      while (sent && w.stream->Read(&response)) {
        if (response.canceled()) break;  // compacted, or refused: start again
        if (response.created()) continue;
        if (response.events_size() == 0) {  // a progress notification
          int64_t r = response.header().revision();
          if (r >= w.next - 1) w.reached = std::max(w.reached.load(), r);
          continue;
        }
        for (const auto& e : response.events())
          take(w, e);
      }
      {
        std::lock_guard lock(w.mu);
        w.stream->Finish().IgnoreError();
        w.stream.reset();
      }
      if (!watching_.load()) break;
      ++w.reconnects;
      w.member = (w.member + 1) % options().endpoints.size();
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

  void take(Watcher& w, const mvccpb::Event& e) {
    check::WatchEvent ev{.revision = e.kv().mod_revision(),
                         .key = e.kv().key(),
                         .value = e.type() == mvccpb::Event::DELETE ? "" : e.kv().value(),
                         .is_delete = e.type() == mvccpb::Event::DELETE};
    w.next = ev.revision + 1;
    w.reached = std::max(w.reached.load(), ev.revision);
    // drop-event: watcher 0 loses its tenth event.
    if (options().bug == "drop-event" && w.log.id == 0 && ++dropped_count_ == 10) return;
    w.log.events.push_back(std::move(ev));
  }

  // Asks every watcher's stream for a progress notification.
  void ping() {
    etcdserverpb::WatchRequest progress;
    progress.mutable_progress_request();
    for (auto& w : watchers_) {
      std::lock_guard lock(w->mu);
      if (w->stream) w->stream->Write(progress);
    }
  }

  void write_history() const {
    std::ofstream out(options().out_dir + "/watch.jsonl");
    for (const auto& w : watchers_) {
      for (const check::WatchEvent& e : w->log.events)
        out << "{\"watcher\":" << w->log.id << ",\"revision\":" << e.revision << ",\"key\":\""
            << e.key << "\",\"" << (e.is_delete ? "delete\":true" : "value\":\"" + e.value + "\"")
            << "}\n";
    }
    for (const check::AckedWrite& a : acked_)
      out << "{\"acked\":true,\"revision\":" << a.revision << ",\"key\":\"" << a.key << "\",\""
          << (a.is_delete ? "delete\":true" : "value\":\"" + a.value + "\"") << "}\n";
  }

  std::atomic<bool> watching_{false};
  int64_t start_revision_ = 1;
  std::map<std::string, std::string> initial_;
  std::atomic<uint64_t> next_value_{0};
  std::atomic<int> dropped_count_{0};
  std::mutex mu_;
  std::vector<check::AckedWrite> acked_;
  std::vector<std::unique_ptr<Watcher>> watchers_;
};

CheckResult WatchWorkload::check() {
  CheckResult result{.workload = name()};
  // The final range, once everything healed.
  std::map<std::string, std::string> final_state;
  int64_t target = 0;
  bool read = false;
  for (int attempt = 0; attempt < 40 && !read; ++attempt) {
    etcdserverpb::RangeRequest request;
    request.set_key(kPrefix);
    request.set_range_end(kPrefixEnd);
    etcdserverpb::RangeResponse response;
    auto ctx = context_with_timeout(std::chrono::seconds(2));
    read = etcdserverpb::KV::NewStub(channel(attempt % options().clients))
               ->Range(ctx.get(), request, &response)
               .ok();
    if (!read) {
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      continue;
    }
    for (const auto& kv : response.kvs()) {
      final_state[kv.key()] = kv.value();
      target = std::max(target, kv.mod_revision());
    }
  }
  {
    std::lock_guard lock(mu_);
    for (const check::AckedWrite& a : acked_)
      target = std::max(target, a.revision);
  }
  // Every watcher gets a while to reach the last change.
  auto deadline = Clock::now() + kCatchUp;
  auto caught_up = [&] {
    return std::all_of(watchers_.begin(), watchers_.end(),
                       [&](const auto& w) { return w->reached.load() >= target; });
  };
  while (!caught_up() && Clock::now() < deadline) {
    ping();
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  stop_watchers();
  std::vector<check::WatcherLog> logs;
  uint64_t reconnects = 0;
  for (auto& w : watchers_) {
    w->log.reached = w->reached.load();
    logs.push_back(w->log);
    reconnects += w->reconnects.load();
  }
  std::lock_guard lock(mu_);
  write_history();
  if (!read) {
    result.verdict = CheckResult::Verdict::kFail;
    result.summary = "no final read succeeded after the faults healed";
    return result;
  }
  check::WatchVerdict v = check::check_watch(logs, acked_, initial_, final_state, target);
  result.summary = std::to_string(logs.size()) + " watchers, " + std::to_string(v.events) +
                   " changes up to revision " + std::to_string(target) + ", " +
                   std::to_string(acked_.size()) + " acknowledged writes, " +
                   std::to_string(reconnects) + " resumed streams (" + options().out_dir +
                   "/watch.jsonl)";
  if (!v.ok) {
    result.verdict = CheckResult::Verdict::kFail;
    for (const std::string& p : v.problems)
      result.details += (result.details.empty() ? "" : "\n") + p;
  }
  return result;
}

}  // namespace

std::unique_ptr<Workload> make_watch_workload(const WorkloadOptions& options) {
  return std::make_unique<WatchWorkload>(options);
}

}  // namespace synod::chaos
