// set: each client adds unique elements (a key each under the prefix) and now
// and then reads the whole set; the final read, after every fault healed,
// must hold every acknowledged add, and no read may lose what an earlier one
// had or what was acknowledged before it (check/set_check.h).

#include <fstream>
#include <map>
#include <optional>

#include "synod/chaos/workloads.h"
#include "synod/check/set_check.h"
#include "synod/wire/etcd_rpc.grpc.pb.h"

namespace synod::chaos {
namespace {

constexpr const char* kPrefix = "chaos/set/e";
constexpr const char* kPrefixEnd = "chaos/set/f";
// Elements one client may add: its elements are client * this + n.
constexpr uint64_t kPerClient = 1'000'000'000;

class SetWorkload : public Workload {
 public:
  explicit SetWorkload(WorkloadOptions options)
      : Workload(std::move(options)), next_(static_cast<size_t>(this->options().clients), 0) {}
  std::string name() const override { return "set"; }

  CheckResult check() override {
    std::optional<check::SetRead> final_read;
    for (int attempt = 0; attempt < 40 && !final_read; ++attempt) {
      final_read = read(attempt % options().clients);
      if (!final_read) std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    CheckResult result{.workload = name()};
    std::lock_guard lock(mu_);
    write_history();
    if (!final_read) {
      result.verdict = CheckResult::Verdict::kFail;
      result.summary = "no final read succeeded after the faults healed";
      return result;
    }
    check::SetVerdict v = check::check_set(adds_, reads_, *final_read);
    result.summary = std::to_string(v.acknowledged) + " adds acknowledged, " +
                     std::to_string(v.unknown) + " of unknown outcome (" +
                     std::to_string(v.unknown_present) + " of those present), " +
                     std::to_string(reads_.size()) + " reads; lost " + std::to_string(v.lost) +
                     ", stale reads " + std::to_string(v.stale_reads) + ", unexpected " +
                     std::to_string(v.unexpected) + " (" + options().out_dir + "/set.jsonl)";
    if (!v.ok) {
      result.verdict = CheckResult::Verdict::kFail;
      result.details = v.explanation;
      result.window_from = v.window_from;
      result.window_to = v.window_to;
    }
    return result;
  }

 protected:
  void step(int c, Rng& rng) override {
    if (rng.chance(0.05)) {
      if (auto r = read(c)) {
        std::lock_guard lock(mu_);
        reads_.push_back(std::move(*r));
      }
      return;
    }
    add(c);
  }

 private:
  void add(int c) {
    uint64_t element = static_cast<uint64_t>(c) * kPerClient + next_[static_cast<size_t>(c)]++;
    check::SetAdd a{.element = element, .call = now()};
    // lose-add: one add reported acknowledged that was never sent.
    if (options().bug == "lose-add" && element == static_cast<uint64_t>(c) * kPerClient + 20) {
      a.ret = now();
      std::lock_guard lock(mu_);
      adds_.push_back(a);
      return;
    }
    etcdserverpb::PutRequest request;
    request.set_key(kPrefix + std::to_string(element));
    request.set_value("1");
    etcdserverpb::PutResponse response;
    auto ctx = context_with_timeout(options().op_timeout);
    grpc::Status status = etcdserverpb::KV::NewStub(channel(c))->Put(ctx.get(), request, &response);
    if (status.ok()) {
      a.ret = now();
      record(a.call, OpRecord::Result::kOk);
    } else {
      bool unknown = fate_of(status) == Fate::kUnknown;
      a.outcome = unknown ? check::Outcome::kUnknown : check::Outcome::kFailed;
      a.ret = unknown ? -1 : now();
      record(a.call, unknown ? OpRecord::Result::kUnknown : OpRecord::Result::kFailed,
             error_kind(status));
      rotate(c);
    }
    std::lock_guard lock(mu_);
    adds_.push_back(a);
  }

  std::optional<check::SetRead> read(int c) {
    check::SetRead r{.call = now()};
    etcdserverpb::RangeRequest request;
    request.set_key(kPrefix);
    request.set_range_end(kPrefixEnd);
    request.set_keys_only(true);
    etcdserverpb::RangeResponse response;
    auto ctx = context_with_timeout(options().op_timeout * 2);
    grpc::Status status =
        etcdserverpb::KV::NewStub(channel(c))->Range(ctx.get(), request, &response);
    if (!status.ok()) {
      record(r.call, OpRecord::Result::kFailed, error_kind(status));
      rotate(c);
      return std::nullopt;
    }
    r.ret = now();
    record(r.call, OpRecord::Result::kOk);
    size_t prefix = std::string(kPrefix).size();
    for (const auto& kv : response.kvs())
      r.elements.push_back(std::strtoull(kv.key().c_str() + prefix, nullptr, 10));
    return r;
  }

  void write_history() const {
    std::ofstream out(options().out_dir + "/set.jsonl");
    for (const check::SetAdd& a : adds_) {
      const char* outcome = a.outcome == check::Outcome::kOk       ? "ok"
                            : a.outcome == check::Outcome::kFailed ? "failed"
                                                                   : "unknown";
      out << "{\"add\":" << a.element << ",\"call\":" << a.call << ",\"return\":" << a.ret
          << ",\"outcome\":\"" << outcome << "\"}\n";
    }
    for (const check::SetRead& r : reads_)
      out << "{\"read\":" << r.elements.size() << ",\"call\":" << r.call << ",\"return\":" << r.ret
          << "}\n";
  }

  std::vector<uint64_t> next_;  // per client
  std::mutex mu_;
  std::vector<check::SetAdd> adds_;
  std::vector<check::SetRead> reads_;
};

}  // namespace

std::unique_ptr<Workload> make_set_workload(const WorkloadOptions& options) {
  return std::make_unique<SetWorkload>(options);
}

}  // namespace synod::chaos
