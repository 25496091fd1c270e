// bank: transfers between accounts in transactions (read both balances with
// their mod revisions, then a Txn that moves the money only if neither
// changed), and reads of every account, linearizable or serializable. Every
// read must see every account, none negative, and the same total
// (check/bank.h).

#include <fstream>
#include <map>
#include <optional>

#include "synod/chaos/workloads.h"
#include "synod/check/bank.h"
#include "synod/wire/etcd_rpc.grpc.pb.h"

namespace synod::chaos {
namespace {

constexpr const char* kPrefix = "chaos/bank/";
constexpr const char* kPrefixEnd = "chaos/bank0";  // the prefix with '/' + 1
constexpr int kAccounts = 5;
constexpr int64_t kInitialBalance = 100;
constexpr int64_t kMaxTransfer = 10;

struct Snapshot {
  std::map<std::string, int64_t> balances;
  std::map<std::string, int64_t> mod_revisions;
};

class BankWorkload : public Workload {
 public:
  explicit BankWorkload(WorkloadOptions options) : Workload(std::move(options)) {
    for (int i = 0; i < kAccounts; ++i)
      accounts_.push_back(std::string(kPrefix) + "a" + std::to_string(i));
  }
  std::string name() const override { return "bank"; }

  absl::Status setup() override {
    etcdserverpb::TxnRequest request;
    for (const std::string& a : accounts_) {
      auto* put = request.add_success()->mutable_request_put();
      put->set_key(a);
      put->set_value(std::to_string(kInitialBalance));
    }
    for (int attempt = 0; attempt < 30; ++attempt) {
      etcdserverpb::TxnResponse response;
      auto ctx = context_with_timeout(std::chrono::seconds(2));
      if (etcdserverpb::KV::NewStub(channel(attempt % options().clients))
              ->Txn(ctx.get(), request, &response)
              .ok())
        return absl::OkStatus();
      rotate(attempt % options().clients);
    }
    return absl::UnavailableError("could not create the accounts");
  }

  CheckResult check() override {
    // One last linearizable read, once everything healed.
    for (int attempt = 0; attempt < 40; ++attempt) {
      if (read(0, false, /*final=*/true)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    std::vector<check::BankRead> reads;
    {
      std::lock_guard lock(mu_);
      reads = reads_;
    }
    write_history(reads);
    check::BankVerdict v =
        check::check_bank(reads, accounts_, kInitialBalance * static_cast<int64_t>(kAccounts));
    CheckResult result{.workload = name()};
    result.summary = std::to_string(v.reads) + " reads, " + std::to_string(transfers_.load()) +
                     " transfers taken (" + options().out_dir + "/bank.jsonl)";
    if (!final_read_) {
      result.verdict = CheckResult::Verdict::kFail;
      result.details = "no final read succeeded after the faults healed";
    }
    if (!v.ok) {
      result.verdict = CheckResult::Verdict::kFail;
      result.details = v.explanation;
      const check::BankRead& first = reads[v.bad.front()];
      result.window_from = first.call;
      result.window_to = first.ret;
    }
    return result;
  }

 protected:
  void step(int c, Rng& rng) override {
    if (rng.chance(0.5)) {
      read(c, rng.chance(0.2), false);
    } else {
      transfer(c, rng);
    }
  }

 private:
  std::optional<Snapshot> range(int c, bool serializable, grpc::Status& status) {
    etcdserverpb::RangeRequest request;
    request.set_key(kPrefix);
    request.set_range_end(kPrefixEnd);
    request.set_serializable(serializable);
    etcdserverpb::RangeResponse response;
    auto ctx = context_with_timeout(options().op_timeout);
    status = etcdserverpb::KV::NewStub(channel(c))->Range(ctx.get(), request, &response);
    if (!status.ok()) return std::nullopt;
    Snapshot s;
    for (const auto& kv : response.kvs()) {
      s.balances[kv.key()] = std::strtoll(kv.value().c_str(), nullptr, 10);
      s.mod_revisions[kv.key()] = kv.mod_revision();
    }
    return s;
  }

  bool read(int c, bool serializable, bool final) {
    int64_t call = now();
    grpc::Status status;
    std::optional<Snapshot> s = range(c, serializable, status);
    if (!s) {
      record(call, OpRecord::Result::kFailed, error_kind(status));
      rotate(c);
      return false;
    }
    check::BankRead r{.client = static_cast<uint64_t>(c),
                      .call = call,
                      .ret = now(),
                      .balances = s->balances,
                      .serializable = serializable};
    if (options().bug == "bad-read" && ++reads_seen_ == 20 && !r.balances.empty())
      r.balances.begin()->second += 1;  // a read that reports one coin too many
    record(call, OpRecord::Result::kOk);
    std::lock_guard lock(mu_);
    reads_.push_back(std::move(r));
    if (final) final_read_ = true;
    return true;
  }

  void transfer(int c, Rng& rng) {
    int64_t call = now();
    grpc::Status status;
    std::optional<Snapshot> s = range(c, false, status);
    if (!s) {
      record(call, OpRecord::Result::kFailed, error_kind(status));
      rotate(c);
      return;
    }
    const std::string& from = accounts_[rng.uniform(accounts_.size())];
    const std::string& to = accounts_[rng.uniform(accounts_.size())];
    if (from == to || s->balances[from] <= 0) {
      record(call, OpRecord::Result::kOk);
      return;
    }
    int64_t amount = rng.uniform_int(1, std::min(kMaxTransfer, s->balances[from]));
    etcdserverpb::TxnRequest request;
    for (const std::string* a : {&from, &to}) {
      auto* cmp = request.add_compare();
      cmp->set_key(*a);
      cmp->set_target(etcdserverpb::Compare::MOD);
      cmp->set_result(etcdserverpb::Compare::EQUAL);
      cmp->set_mod_revision(s->mod_revisions[*a]);
    }
    auto* debit = request.add_success()->mutable_request_put();
    debit->set_key(from);
    debit->set_value(std::to_string(s->balances[from] - amount));
    auto* credit = request.add_success()->mutable_request_put();
    credit->set_key(to);
    credit->set_value(std::to_string(s->balances[to] + amount));
    etcdserverpb::TxnResponse response;
    auto ctx = context_with_timeout(options().op_timeout);
    status = etcdserverpb::KV::NewStub(channel(c))->Txn(ctx.get(), request, &response);
    if (!status.ok()) {
      bool unknown = fate_of(status) == Fate::kUnknown;
      record(call, unknown ? OpRecord::Result::kUnknown : OpRecord::Result::kFailed,
             error_kind(status));
      rotate(c);
      return;
    }
    if (response.succeeded()) ++transfers_;
    record(call, OpRecord::Result::kOk);
  }

  void write_history(const std::vector<check::BankRead>& reads) const {
    std::ofstream out(options().out_dir + "/bank.jsonl");
    for (const check::BankRead& r : reads) {
      out << "{\"client\":" << r.client << ",\"call\":" << r.call << ",\"return\":" << r.ret
          << ",\"serializable\":" << (r.serializable ? "true" : "false") << ",\"balances\":{";
      bool first = true;
      for (const auto& [a, b] : r.balances) {
        out << (first ? "" : ",") << "\"" << a << "\":" << b;
        first = false;
      }
      out << "}}\n";
    }
  }

  std::vector<std::string> accounts_;
  std::mutex mu_;
  std::vector<check::BankRead> reads_;
  bool final_read_ = false;
  std::atomic<uint64_t> transfers_{0};
  std::atomic<int> reads_seen_{0};
};

}  // namespace

std::unique_ptr<Workload> make_bank_workload(const WorkloadOptions& options) {
  return std::make_unique<BankWorkload>(options);
}

}  // namespace synod::chaos
