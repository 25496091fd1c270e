// lock: clients take one lock with etcd's recipe (clientv3/concurrency's
// Mutex): a key under the prefix attached to the client's lease, created if
// absent; the key with the oldest create revision holds the lock; the others
// wait for the deletion of the key created just before theirs, then check
// that their own key still exists (etcd 3.5's check: the lease may have
// expired while they waited). A holder works a little, sometimes stalls past
// its lease's TTL without keep-alives (as a paused process would), then
// deletes its key and revokes its lease. check/lock_check.h judges the holds.

#include <fstream>
#include <map>
#include <optional>

#include "synod/chaos/workloads.h"
#include "synod/check/lock_check.h"
#include "synod/wire/etcd_rpc.grpc.pb.h"

namespace synod::chaos {
namespace {

constexpr const char* kPrefix = "chaos/lock/";
constexpr const char* kPrefixEnd = "chaos/lock0";
constexpr int64_t kTtlSeconds = 2;
// A holder stalls this often, for the TTL and a second more.
constexpr double kStallChance = 0.05;
// How long a client waits for the lock before it gives up (and revokes).
constexpr auto kMaxWait = std::chrono::seconds(20);
// Lockers: more clients than this would only queue.
constexpr int kMaxLockers = 5;

struct Lease {
  int64_t id = 0;
  std::vector<check::LeaseRenewal> renewals;
  bool stalled = false;  // a stalled holder sends no keep-alives
};

class LockWorkload : public Workload {
 public:
  explicit LockWorkload(WorkloadOptions options) : Workload(limit(std::move(options))) {}
  ~LockWorkload() override { stop_extra(); }
  std::string name() const override { return "lock"; }

  CheckResult check() override {
    std::lock_guard lock(mu_);
    write_history();
    check::LockVerdict v = check::check_lock(holds_);
    CheckResult result{.workload = name()};
    result.summary = std::to_string(v.holds) + " holds, " + std::to_string(attempts_failed_) +
                     " attempts given up, " + std::to_string(v.violations) +
                     " overlaps with a live lease, " + std::to_string(v.lease_expiry_overlaps) +
                     " overlaps after " + std::to_string(v.lapsed_holds) +
                     " holders' leases lapsed (" + options().out_dir + "/lock.jsonl)";
    if (v.lease_expiry_overlaps > 0)
      result.notes.push_back("lease expiry (the known limit of a lock without fencing): " +
                             v.lapse_example);
    if (!v.ok) {
      result.verdict = CheckResult::Verdict::kFail;
      result.details = v.explanation;
      result.window_from = v.window_from;
      result.window_to = v.window_to;
    }
    return result;
  }

 protected:
  void step(int c, Rng& rng) override;

  void start_extra() override {
    keeping_ = true;
    keeper_ = std::thread([this] { keep_alive_loop(); });
  }
  void stop_extra() override {
    keeping_ = false;
    if (keeper_.joinable()) keeper_.join();
  }

 private:
  static WorkloadOptions limit(WorkloadOptions o) {
    o.clients = std::min(o.clients, kMaxLockers);
    return o;
  }

  std::unique_ptr<etcdserverpb::KV::Stub> kv(int c) {
    return etcdserverpb::KV::NewStub(channel(c));
  }

  // A keep-alive for every lease not stalled, each a third of the TTL.
  void keep_alive_loop() {
    while (keeping_.load()) {
      std::vector<std::pair<int, int64_t>> due;
      {
        std::lock_guard lock(mu_);
        for (const auto& [c, lease] : leases_)
          if (!lease.stalled) due.push_back({c, lease.id});
      }
      for (auto [c, id] : due)
        keep_alive(c, id);
      auto until = Clock::now() + std::chrono::milliseconds(kTtlSeconds * 1000 / 3);
      while (keeping_.load() && Clock::now() < until)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  void keep_alive(int c, int64_t id) {
    int64_t sent = now();
    auto ctx = context_with_timeout(std::chrono::milliseconds(kTtlSeconds * 1000 / 2));
    auto stream = etcdserverpb::Lease::NewStub(channel(c))->LeaseKeepAlive(ctx.get());
    etcdserverpb::LeaseKeepAliveRequest request;
    request.set_id(id);
    etcdserverpb::LeaseKeepAliveResponse response;
    bool answered = stream->Write(request) && stream->Read(&response);
    stream->WritesDone();
    stream->Finish().IgnoreError();
    if (!answered) return;
    std::lock_guard lock(mu_);
    auto it = leases_.find(c);
    if (it == leases_.end() || it->second.id != id) return;
    it->second.renewals.push_back({.sent = sent, .ttl = response.ttl() * 1'000'000'000});
  }

  std::optional<int64_t> grant(int c) {
    int64_t sent = now();
    etcdserverpb::LeaseGrantRequest request;
    request.set_ttl(kTtlSeconds);
    etcdserverpb::LeaseGrantResponse response;
    auto ctx = context_with_timeout(options().op_timeout);
    grpc::Status status =
        etcdserverpb::Lease::NewStub(channel(c))->LeaseGrant(ctx.get(), request, &response);
    if (!status.ok() || !response.error().empty()) {
      record(sent, OpRecord::Result::kFailed, error_kind(status));
      rotate(c);
      return std::nullopt;
    }
    record(sent, OpRecord::Result::kOk);
    std::lock_guard lock(mu_);
    leases_[c] = Lease{.id = response.id(),
                       .renewals = {{.sent = sent, .ttl = response.ttl() * 1'000'000'000}}};
    return response.id();
  }

  void revoke(int c, int64_t id) {
    etcdserverpb::LeaseRevokeRequest request;
    request.set_id(id);
    etcdserverpb::LeaseRevokeResponse response;
    auto ctx = context_with_timeout(options().op_timeout);
    etcdserverpb::Lease::NewStub(channel(c))->LeaseRevoke(ctx.get(), request, &response);
    std::lock_guard lock(mu_);
    leases_.erase(c);
  }

  // Creates the client's key (if absent); its create revision, and whether it
  // already holds the lock.
  std::optional<std::pair<int64_t, bool>> enqueue(int c, const std::string& key, int64_t lease);
  // Waits until no key older than `revision` is left. False on an error or
  // after kMaxWait.
  bool wait_for_older(int c, int64_t revision, Clock::time_point deadline);
  // Whether the key is still there (its lease alive).
  std::optional<bool> exists(int c, const std::string& key);

  void write_history() const {
    std::ofstream out(options().out_dir + "/lock.jsonl");
    for (const check::LockHold& h : holds_) {
      out << "{\"client\":" << h.client << ",\"acquired\":" << h.acquired
          << ",\"released\":" << h.released << ",\"renewals\":[";
      for (size_t i = 0; i < h.renewals.size(); ++i)
        out << (i ? "," : "") << "[" << h.renewals[i].sent << "," << h.renewals[i].ttl << "]";
      out << "]}\n";
    }
  }

  std::mutex mu_;
  std::map<int, Lease> leases_;  // per client, its current lease
  std::vector<check::LockHold> holds_;
  uint64_t attempts_failed_ = 0;
  std::atomic<bool> keeping_{false};
  std::thread keeper_;
};

std::optional<std::pair<int64_t, bool>> LockWorkload::enqueue(int c, const std::string& key,
                                                              int64_t lease) {
  etcdserverpb::TxnRequest request;
  auto* cmp = request.add_compare();
  cmp->set_key(key);
  cmp->set_target(etcdserverpb::Compare::CREATE);
  cmp->set_result(etcdserverpb::Compare::EQUAL);
  cmp->set_create_revision(0);
  auto* put = request.add_success()->mutable_request_put();
  put->set_key(key);
  put->set_lease(lease);
  request.add_failure()->mutable_request_range()->set_key(key);
  for (auto* branch : {request.add_success(), request.add_failure()}) {
    auto* owner = branch->mutable_request_range();
    owner->set_key(kPrefix);
    owner->set_range_end(kPrefixEnd);
    owner->set_sort_target(etcdserverpb::RangeRequest::CREATE);
    owner->set_sort_order(etcdserverpb::RangeRequest::ASCEND);
    owner->set_limit(1);
  }
  etcdserverpb::TxnResponse response;
  auto ctx = context_with_timeout(options().op_timeout);
  int64_t call = now();
  grpc::Status status = kv(c)->Txn(ctx.get(), request, &response);
  if (!status.ok() || response.responses_size() < 2) {
    record(call, OpRecord::Result::kUnknown, error_kind(status));
    return std::nullopt;
  }
  record(call, OpRecord::Result::kOk);
  int64_t mine = response.header().revision();
  if (!response.succeeded()) {
    const auto& got = response.responses(0).response_range();
    if (got.kvs_size() == 0) return std::nullopt;
    mine = got.kvs(0).create_revision();
  }
  const auto& owner = response.responses(1).response_range();
  bool holds = owner.kvs_size() > 0 && owner.kvs(0).create_revision() == mine;
  return std::make_pair(mine, holds);
}

bool LockWorkload::wait_for_older(int c, int64_t revision, Clock::time_point deadline) {
  while (Clock::now() < deadline && !stopping()) {
    etcdserverpb::RangeRequest request;
    request.set_key(kPrefix);
    request.set_range_end(kPrefixEnd);
    request.set_max_create_revision(revision - 1);
    request.set_sort_target(etcdserverpb::RangeRequest::CREATE);
    request.set_sort_order(etcdserverpb::RangeRequest::DESCEND);
    request.set_limit(1);
    etcdserverpb::RangeResponse response;
    auto ctx = context_with_timeout(options().op_timeout);
    if (!kv(c)->Range(ctx.get(), request, &response).ok()) return false;
    if (response.kvs_size() == 0) return true;
    // Watch the older key until it is deleted.
    grpc::ClientContext wctx;
    wctx.set_deadline(
        std::chrono::system_clock::now() +
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()));
    auto stream = etcdserverpb::Watch::NewStub(channel(c))->Watch(&wctx);
    etcdserverpb::WatchRequest create;
    create.mutable_create_request()->set_key(response.kvs(0).key());
    create.mutable_create_request()->set_start_revision(response.header().revision() + 1);
    if (!stream->Write(create)) return false;
    etcdserverpb::WatchResponse w;
    bool deleted = false;
    while (!deleted && stream->Read(&w)) {
      if (w.canceled()) break;
      for (const auto& e : w.events())
        deleted = deleted || e.type() == mvccpb::Event::DELETE;
    }
    wctx.TryCancel();
    stream->Finish().IgnoreError();
    if (!deleted) return false;
  }
  return false;
}

std::optional<bool> LockWorkload::exists(int c, const std::string& key) {
  etcdserverpb::RangeRequest request;
  request.set_key(key);
  etcdserverpb::RangeResponse response;
  auto ctx = context_with_timeout(options().op_timeout);
  if (!kv(c)->Range(ctx.get(), request, &response).ok()) return std::nullopt;
  return response.kvs_size() > 0;
}

void LockWorkload::step(int c, Rng& rng) {
  std::optional<int64_t> lease = grant(c);
  if (!lease) return;
  char hex[32];
  std::snprintf(hex, sizeof hex, "%llx", static_cast<unsigned long long>(*lease));
  std::string key = kPrefix + std::string(hex);
  auto deadline = Clock::now() + kMaxWait;
  auto queued = enqueue(c, key, *lease);
  bool acquired = queued.has_value();
  // no-wait: the bug of a client that takes the lock without waiting its turn.
  if (acquired && !queued->second && options().bug != "no-wait")
    acquired = wait_for_older(c, queued->first, deadline);
  if (acquired && options().bug != "no-wait") acquired = exists(c, key).value_or(false);
  if (!acquired) {
    {
      std::lock_guard lock(mu_);
      ++attempts_failed_;
    }
    rotate(c);
    revoke(c, *lease);
    return;
  }
  check::LockHold hold{.client = static_cast<uint64_t>(c), .acquired = now()};
  nap(std::chrono::milliseconds(rng.uniform_int(20, 200)));
  if (rng.chance(kStallChance)) {
    {
      std::lock_guard lock(mu_);
      leases_[c].stalled = true;
    }
    // A stall is not cut short by the run's end: the holder is "paused".
    std::this_thread::sleep_for(std::chrono::seconds(kTtlSeconds + 1));
  }
  hold.released = now();
  {
    std::lock_guard lock(mu_);
    hold.renewals = leases_[c].renewals;
    holds_.push_back(std::move(hold));
  }
  etcdserverpb::DeleteRangeRequest del;
  del.set_key(key);
  etcdserverpb::DeleteRangeResponse deleted;
  auto ctx = context_with_timeout(options().op_timeout);
  int64_t call = now();
  grpc::Status status = kv(c)->DeleteRange(ctx.get(), del, &deleted);
  record(call, status.ok() ? OpRecord::Result::kOk : OpRecord::Result::kUnknown,
         status.ok() ? "" : error_kind(status));
  revoke(c, *lease);
}

}  // namespace

std::unique_ptr<Workload> make_lock_workload(const WorkloadOptions& options) {
  return std::make_unique<LockWorkload>(options);
}

}  // namespace synod::chaos
