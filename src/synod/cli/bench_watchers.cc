#include "synod/cli/bench_watchers.h"

#include <algorithm>
#include <atomic>

#include "synod/cli/serve_config.h"

namespace synod::cli {

class BenchWatchers::Stream final
    : public grpc::ClientBidiReactor<etcdserverpb::WatchRequest, etcdserverpb::WatchResponse> {
 public:
  Stream(etcdserverpb::Watch::Stub* stub, const std::string& prefix, int64_t from) {
    auto* create = request_.mutable_create_request();
    create->set_key(prefix);
    create->set_range_end(prefix_end(prefix));
    create->set_start_revision(from);
    stub->async()->Watch(&ctx_, this);
    StartWrite(&request_);
    StartRead(&response_);
    StartCall();
  }

  void OnWriteDone(bool) override {}
  void OnReadDone(bool ok) override {
    if (!ok) return;
    events_ += static_cast<uint64_t>(response_.events_size());
    if (response_.events_size() > 0)
      last_revision_ = response_.events(response_.events_size() - 1).kv().mod_revision();
    if (response_.canceled()) canceled_ = true;
    StartRead(&response_);
  }
  void OnDone(const grpc::Status&) override {
    std::lock_guard lock(mu_);
    done_ = true;
    cv_.notify_all();
  }

  void cancel_and_wait() {
    ctx_.TryCancel();
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return done_; });
  }
  uint64_t events() const { return events_; }
  int64_t last_revision() const { return last_revision_; }
  bool ended_early() const {
    std::lock_guard lock(mu_);
    return canceled_ || done_;
  }

 private:
  // The end of the range of every key with `prefix`, as etcd's clients
  // compute it.
  static std::string prefix_end(std::string prefix) {
    while (!prefix.empty()) {
      if (static_cast<unsigned char>(prefix.back()) < 0xff) {
        ++prefix.back();
        return prefix;
      }
      prefix.pop_back();
    }
    return std::string(1, '\0');
  }

  grpc::ClientContext ctx_;
  etcdserverpb::WatchRequest request_;
  etcdserverpb::WatchResponse response_;
  std::atomic<uint64_t> events_{0};
  std::atomic<int64_t> last_revision_{0};
  std::atomic<bool> canceled_{false};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
};

BenchWatchers::BenchWatchers(const std::vector<std::shared_ptr<grpc::Channel>>& channels, int count,
                             const std::string& prefix, int64_t from) {
  for (const auto& channel : channels)
    stubs_.push_back(etcdserverpb::Watch::NewStub(channel));
  for (int i = 0; i < count; ++i)
    streams_.push_back(std::make_unique<Stream>(
        stubs_[static_cast<size_t>(i) % stubs_.size()].get(), prefix, from));
}

BenchWatchers::~BenchWatchers() {
  for (auto& s : streams_)
    s->cancel_and_wait();
}

std::string BenchWatchers::summary() const {
  uint64_t events = 0;
  int64_t slowest = INT64_MAX;
  int ended = 0;
  for (const auto& s : streams_) {
    events += s->events();
    slowest = std::min(slowest, s->last_revision());
    ended += s->ended_early();
  }
  return "watchers " + std::to_string(streams_.size()) + "  events " + std::to_string(events) +
         "  slowest at revision " + std::to_string(streams_.empty() ? 0 : slowest) +
         "  ended early " + std::to_string(ended);
}

}  // namespace synod::cli
