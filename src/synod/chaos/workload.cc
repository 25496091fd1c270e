#include "synod/chaos/workload.h"

#include "synod/base/assert.h"

namespace synod::chaos {

Workload::Workload(WorkloadOptions options) : options_(std::move(options)) {
  SYNOD_ASSERT(!options_.endpoints.empty());
  SYNOD_ASSERT(options_.recorder != nullptr);
  for (const std::string& e : options_.endpoints)
    channels_.push_back(make_channel(e));
  for (int c = 0; c < options_.clients; ++c)
    current_.push_back(static_cast<size_t>(c) % channels_.size());
}

Workload::~Workload() {
  stop();
}

std::shared_ptr<grpc::Channel> Workload::channel(int c) {
  return channels_[current_.at(static_cast<size_t>(c))];
}

void Workload::rotate(int c) {
  size_t& i = current_.at(static_cast<size_t>(c));
  i = (i + 1) % channels_.size();
}

void Workload::record(int64_t call, OpRecord::Result result, const std::string& error) {
  options_.recorder->add(
      OpRecord{.workload = name(), .call = call, .ret = now(), .result = result, .error = error});
}

void Workload::nap(std::chrono::nanoseconds d) const {
  auto until = Clock::now() + d;
  while (!stop_.load() && Clock::now() < until)
    std::this_thread::sleep_for(
        std::min<std::chrono::nanoseconds>(until - Clock::now(), std::chrono::milliseconds(50)));
}

void Workload::start() {
  stop_ = false;
  Rng seeds(options_.seed);
  Rng mine = seeds.split(name());
  // Each client waits an exponential time between its operations, so all
  // together they issue `rate` per second when requests are quick.
  double mean_gap_ns = 1e9 * options_.clients / std::max(options_.rate, 0.001);
  for (int c = 0; c < options_.clients; ++c) {
    threads_.emplace_back(
        [this, c, mean_gap_ns, rng = mine.split(static_cast<uint64_t>(c))]() mutable {
          while (!stop_.load()) {
            nap(std::chrono::nanoseconds(static_cast<int64_t>(rng.exponential(mean_gap_ns))));
            if (stop_.load()) break;
            step(c, rng);
          }
        });
  }
  start_extra();
}

void Workload::stop() {
  stop_ = true;
  for (std::thread& t : threads_)
    t.join();
  threads_.clear();
  stop_extra();
}

}  // namespace synod::chaos

#include "synod/chaos/workloads.h"

namespace synod::chaos {

std::vector<std::string> workload_names() {
  return {"register", "bank", "set", "watch", "lock"};
}

std::unique_ptr<Workload> make_workload(const std::string& name, const WorkloadOptions& options) {
  if (name == "register") return make_register_workload(options);
  if (name == "bank") return make_bank_workload(options);
  if (name == "set") return make_set_workload(options);
  if (name == "watch") return make_watch_workload(options);
  if (name == "lock") return make_lock_workload(options);
  return nullptr;
}

}  // namespace synod::chaos
