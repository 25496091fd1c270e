// register: gets, puts and compare-and-sets on a few keys, every written
// value unique, checked for linearizability (check/linearizability.h).
//
// A compare-and-set is a Txn: if the key's value is the expected one, put
// the new value; else read the key. One that did not swap is recorded as the
// read it made (it had no other effect), so the checker sees what the
// register held.

#include <fstream>
#include <map>
#include <optional>

#include "synod/chaos/changes.h"
#include "synod/chaos/workloads.h"
#include "synod/check/linearizability.h"
#include "synod/wire/etcd_rpc.grpc.pb.h"

namespace synod::chaos {
namespace {

constexpr const char* kPrefix = "chaos/register/";
constexpr const char* kPrefixEnd = "chaos/register0";

using check::Operation;
using check::OpKind;
using check::Outcome;

class RegisterWorkload : public Workload {
 public:
  explicit RegisterWorkload(WorkloadOptions options)
      : Workload(std::move(options)), clients_(static_cast<size_t>(this->options().clients)) {}
  std::string name() const override { return "register"; }
  std::vector<std::string> bugs() const override { return {"stale-read"}; }

  absl::Status setup() override {
    for (int attempt = 0; attempt < 30; ++attempt) {
      if (auto s = prefix_state(channel(0), kPrefix, kPrefixEnd, std::chrono::seconds(2))) {
        start_revision_ = s->revision + 1;
        return absl::OkStatus();
      }
      rotate(0);
    }
    return absl::UnavailableError("could not read the store's revision");
  }

  CheckResult check() override {
    std::string scan = scan_store();
    check::History history;
    {
      std::lock_guard lock(mu_);
      history = history_;
    }
    std::string path = options().out_dir + "/register.jsonl";
    {
      std::ofstream out(path);
      for (const Operation& op : history)
        out << check::to_json_line(op) << "\n";
    }
    check::Verdict verdict = check::check_linearizable(history);
    CheckResult result{.workload = name()};
    std::string counts = std::to_string(verdict.operations) + " operations on " +
                         std::to_string(verdict.keys) + " keys (" + path + ")";
    std::string twice;
    {
      std::lock_guard lock(mu_);
      twice = applied_twice(result);
    }
    if (!scan.empty()) result.notes.push_back(scan);
    if (verdict.linearizable && twice.empty()) {
      result.summary = "linearizable, each write stored once (" + std::to_string(scanned_) +
                       " changes read back): " + counts;
      return result;
    }
    if (verdict.linearizable) {
      result.verdict = CheckResult::Verdict::kFail;
      result.summary = "linearizable, but a write was applied twice: " + counts;
      result.details = twice;
      return result;
    }
    if (!twice.empty()) result.notes.push_back(twice);
    result.verdict =
        verdict.undecided ? CheckResult::Verdict::kUndecided : CheckResult::Verdict::kFail;
    result.summary = (verdict.undecided ? "UNDECIDED on key " : "NOT linearizable on key ") +
                     verdict.key + ": " + counts;
    result.details = verdict.explanation;
    for (const Operation& op : verdict.window) {
      if (result.window_from < 0 || op.call < result.window_from) result.window_from = op.call;
      result.window_to = std::max({result.window_to, op.call, op.ret});
    }
    return result;
  }

 protected:
  void step(int c, Rng& rng) override {
    std::string key = "chaos/register/k" + std::to_string(rng.uniform(options().keys));
    ClientState& me = clients_[static_cast<size_t>(c)];
    std::string value = "c" + std::to_string(c) + "." + std::to_string(me.next++);
    uint64_t dice = rng.uniform(100);
    auto seen = me.last_seen.find(key);
    if (dice < 40) {
      get(c, key);
    } else if (dice < 70 || seen == me.last_seen.end() || !seen->second) {
      put(c, key, value);
    } else {
      cas(c, key, *seen->second, value);
    }
  }

 private:
  struct ClientState {
    uint64_t next = 0;
    std::map<std::string, std::optional<std::string>> last_seen;  // per key
    // stale-read: the first value read on a key, and whether a newer one was
    // read since.
    std::map<std::string, std::pair<std::string, bool>> first_read;
    bool injected = false;
  };

  void add(Operation op) {
    std::lock_guard lock(mu_);
    history_.push_back(std::move(op));
  }

  // An operation that failed: recorded with its fate, and the client moves on
  // to another member.
  void failed(int c, Operation op, const grpc::Status& status) {
    bool unknown = fate_of(status) == Fate::kUnknown;
    op.outcome = unknown ? Outcome::kUnknown : Outcome::kFailed;
    op.ret = unknown ? -1 : now();
    if (op.kind == OpKind::kGet) op.value.reset();
    record(op.call, unknown ? OpRecord::Result::kUnknown : OpRecord::Result::kFailed,
           error_kind(status));
    add(std::move(op));
    rotate(c);
  }

  // What a get returned, with the stale-read bug applied when asked for: a
  // read of a value this client has already seen overwritten reports it.
  std::optional<std::string> observed(int c, const std::string& key,
                                      std::optional<std::string> value) {
    ClientState& me = clients_[static_cast<size_t>(c)];
    me.last_seen[key] = value;
    if (options().bug != "stale-read" || !value) return value;
    auto [it, fresh] = me.first_read.try_emplace(key, *value, false);
    if (fresh) return value;
    // Only once a newer value was read before this read was called is the
    // first one certainly overwritten (every written value is unique).
    if (it->second.second && !me.injected && *value != it->second.first) {
      me.injected = true;
      return it->second.first;
    }
    if (*value != it->second.first) it->second.second = true;
    return value;
  }

  void get(int c, const std::string& key) {
    Operation op{.client = static_cast<uint64_t>(c), .kind = OpKind::kGet, .key = key};
    op.call = now();
    etcdserverpb::RangeRequest request;
    request.set_key(key);
    etcdserverpb::RangeResponse response;
    auto ctx = context_with_timeout(options().op_timeout);
    grpc::Status status =
        etcdserverpb::KV::NewStub(channel(c))->Range(ctx.get(), request, &response);
    if (!status.ok()) return failed(c, std::move(op), status);
    op.ret = now();
    std::optional<std::string> value;
    if (response.kvs_size() > 0) {
      value = response.kvs(0).value();
      stored_at(key, *value, response.kvs(0).mod_revision(), op.call, op.ret);
    }
    op.value = observed(c, key, value);
    record(op.call, OpRecord::Result::kOk);
    add(std::move(op));
  }

  void put(int c, const std::string& key, const std::string& value) {
    Operation op{
        .client = static_cast<uint64_t>(c), .kind = OpKind::kPut, .key = key, .value = value};
    op.call = now();
    etcdserverpb::PutRequest request;
    request.set_key(key);
    request.set_value(value);
    etcdserverpb::PutResponse response;
    auto ctx = context_with_timeout(options().op_timeout);
    grpc::Status status = etcdserverpb::KV::NewStub(channel(c))->Put(ctx.get(), request, &response);
    if (!status.ok()) return failed(c, std::move(op), status);
    op.ret = now();
    clients_[static_cast<size_t>(c)].last_seen[key] = value;
    stored_at(key, value, response.header().revision(), op.call, op.ret);
    record(op.call, OpRecord::Result::kOk);
    add(std::move(op));
  }

  void cas(int c, const std::string& key, const std::string& expected, const std::string& value) {
    Operation op{.client = static_cast<uint64_t>(c),
                 .kind = OpKind::kCas,
                 .key = key,
                 .value = value,
                 .expected = expected};
    op.call = now();
    etcdserverpb::TxnRequest request;
    auto* cmp = request.add_compare();
    cmp->set_key(key);
    cmp->set_target(etcdserverpb::Compare::VALUE);
    cmp->set_result(etcdserverpb::Compare::EQUAL);
    cmp->set_value(expected);
    auto* put = request.add_success()->mutable_request_put();
    put->set_key(key);
    put->set_value(value);
    request.add_failure()->mutable_request_range()->set_key(key);
    etcdserverpb::TxnResponse response;
    auto ctx = context_with_timeout(options().op_timeout);
    grpc::Status status = etcdserverpb::KV::NewStub(channel(c))->Txn(ctx.get(), request, &response);
    if (!status.ok()) return failed(c, std::move(op), status);
    op.ret = now();
    record(op.call, OpRecord::Result::kOk);
    if (response.succeeded()) {
      op.swapped = true;
      clients_[static_cast<size_t>(c)].last_seen[key] = value;
      stored_at(key, value, response.header().revision(), op.call, op.ret);
      add(std::move(op));
      return;
    }
    // Did not swap: it read the key, and that read is what it tells.
    std::optional<std::string> read;
    if (response.responses_size() > 0 && response.responses(0).response_range().kvs_size() > 0) {
      const auto& kv = response.responses(0).response_range().kvs(0);
      read = kv.value();
      stored_at(key, kv.value(), kv.mod_revision(), op.call, op.ret);
    }
    op.kind = OpKind::kGet;
    op.expected.reset();
    op.value = observed(c, key, read);
    add(std::move(op));
  }

  // Where each value was seen stored: the revision a write was acknowledged
  // with, or the mod revision a read returned. Every value is written by one
  // request, so two revisions mean one request applied twice.
  void stored_at(const std::string& key, const std::string& value, int64_t revision, int64_t call,
                 int64_t ret) {
    std::lock_guard lock(mu_);
    auto& seen = revisions_[key + "=" + value];
    if (seen.count(revision) == 0) seen[revision] = {call, ret};
  }

  // The first value seen stored at two revisions, in words; empty if none.
  std::string applied_twice(CheckResult& result) const {
    for (const auto& [kv, seen] : revisions_) {
      if (seen.size() < 2) continue;
      auto first = seen.begin(), second = std::next(first);
      result.window_from = std::min(first->second.first, second->second.first);
      result.window_to = std::max(first->second.second, second->second.second);
      return kv + " was stored at revision " + std::to_string(first->first) + " and again at " +
             std::to_string(second->first) + " (seen " + std::to_string(seen.size()) +
             " times in all): one write applied twice";
    }
    return "";
  }

  // Every change the store made under the prefix, from its own history:
  // each value must have been stored once. Empty, or why it could not tell.
  std::string scan_store() {
    std::map<std::string, std::pair<int64_t, int64_t>> written;  // key=value -> call, end
    {
      std::lock_guard lock(mu_);
      for (const Operation& op : history_)
        if (op.value && op.kind != OpKind::kGet)
          written[op.key + "=" + *op.value] = {op.call, op.call + 10'000'000'000};
    }
    for (int attempt = 0; attempt < 20; ++attempt) {
      auto c = attempt % options().clients;
      auto state = prefix_state(channel(c), kPrefix, kPrefixEnd, std::chrono::seconds(2));
      std::optional<std::vector<check::WatchEvent>> changes;
      if (state)
        changes = read_changes(channel(c), kPrefix, kPrefixEnd, start_revision_, state->last_change,
                               std::chrono::seconds(30));
      if (!changes) {
        rotate(c);
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        continue;
      }
      for (const check::WatchEvent& e : *changes) {
        auto w = written.find(e.key + "=" + e.value);
        auto [call, end] =
            w == written.end() ? std::make_pair(int64_t{-1}, int64_t{-1}) : w->second;
        if (!e.is_delete) stored_at(e.key, e.value, e.revision, call, end);
      }
      scanned_ = changes->size();
      return "";
    }
    return "the store's history could not be read back, so writes applied twice were looked "
           "for only in what the clients read";
  }

  std::vector<ClientState> clients_;  // each touched only by its own thread
  int64_t start_revision_ = 1;
  size_t scanned_ = 0;
  std::mutex mu_;
  check::History history_;
  std::map<std::string, std::map<int64_t, std::pair<int64_t, int64_t>>> revisions_;
};

}  // namespace

std::unique_ptr<Workload> make_register_workload(const WorkloadOptions& options) {
  return std::make_unique<RegisterWorkload>(options);
}

}  // namespace synod::chaos
