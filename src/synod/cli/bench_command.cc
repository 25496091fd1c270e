// synod bench: load on any etcd v3 endpoint (synod's or etcd's) through
// gRPC, closed loop: each client keeps one request in flight and sends the
// next when it is answered. Prints throughput and latency percentiles.

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <random>
#include <thread>

#include "synod/cli/bench_watchers.h"
#include "synod/cli/commands.h"
#include "synod/cli/latency.h"
#include "synod/cli/serve_config.h"
#include "synod/wire/etcd_rpc.grpc.pb.h"

namespace synod::cli {
namespace {

using Clock = std::chrono::steady_clock;

struct BenchFlags {
  std::string endpoints = "127.0.0.1:2379";
  std::string op = "put";
  int clients = 1;
  int conns = 1;
  double duration_s = 10;
  size_t value_size = 256;
  uint64_t keys = 100'000;
  std::string key_prefix = "bench/";
  double timeout_s = 10;
  uint64_t count = 0;  // operations in all, then stop (0: run for the duration)
  int watchers = 0;
  std::string watch_prefix;  // default: the key prefix
  int64_t watch_from = 0;    // 0: from now
};

// One client's loop. Lives until the run ends; only gRPC's callback thread
// for its current call touches it.
struct Client {
  etcdserverpb::KV::Stub* stub = nullptr;
  std::unique_ptr<grpc::ClientContext> ctx;
  etcdserverpb::PutRequest put;
  etcdserverpb::PutResponse put_response;
  etcdserverpb::RangeRequest range;
  etcdserverpb::RangeResponse range_response;
  etcdserverpb::TxnRequest txn;
  etcdserverpb::TxnResponse txn_response;
  Clock::time_point sent;
  std::mt19937_64 rng;
  std::vector<int64_t> latencies_ns;
  uint64_t errors = 0;
  std::string last_error;
};

class Bench {
 public:
  explicit Bench(const BenchFlags& flags) : f_(flags) {}

  int run() {
    auto endpoints = split_list(f_.endpoints);
    if (endpoints.empty()) return fail("--endpoints: no endpoint given");
    if (f_.op != "put" && f_.op != "range" && f_.op != "range-serializable" && f_.op != "txn")
      return fail("--op: one of put, range, range-serializable, txn; got '" + f_.op + "'");
    if (f_.clients < 1 || f_.conns < 1 || f_.duration_s <= 0 || f_.keys == 0)
      return fail("--clients, --conns, --duration and --keys must be positive");
    // Each connection its own channel (a local subchannel pool), so that
    // --conns means TCP connections, spread over the endpoints.
    for (int i = 0; i < f_.conns; ++i) {
      grpc::ChannelArguments args;
      args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
      args.SetInt("synod.bench.channel", i);
      channels_.push_back(grpc::CreateCustomChannel(std::string(endpoints[i % endpoints.size()]),
                                                    grpc::InsecureChannelCredentials(), args));
      stubs_.push_back(etcdserverpb::KV::NewStub(channels_.back()));
    }
    clients_.resize(static_cast<size_t>(f_.clients));
    std::string value(f_.value_size, 'v');
    for (size_t i = 0; i < clients_.size(); ++i) {
      Client& c = clients_[i];
      c.stub = stubs_[i % stubs_.size()].get();
      c.rng.seed(i + 1);
      c.put.set_value(value);
      c.range.set_serializable(f_.op == "range-serializable");
      c.latencies_ns.reserve(1 << 16);
    }
    if (f_.op == "range" || f_.op == "range-serializable") preload(value);

    std::fprintf(stderr, "bench: %s, %d clients over %d connections to %s, %.0f s\n", f_.op.c_str(),
                 f_.clients, f_.conns, f_.endpoints.c_str(), f_.duration_s);
    start_ = Clock::now();
    end_ = start_ + std::chrono::duration_cast<Clock::duration>(
                        std::chrono::duration<double>(f_.duration_s));
    std::unique_ptr<BenchWatchers> watchers;
    if (f_.watchers > 0)
      watchers = std::make_unique<BenchWatchers>(
          channels_, f_.watchers, f_.watch_prefix.empty() ? f_.key_prefix : f_.watch_prefix,
          f_.watch_from);
    running_ = static_cast<int>(clients_.size());
    for (Client& c : clients_)
      next(c);
    {
      std::unique_lock lock(mu_);
      done_.wait(lock, [&] { return running_ == 0; });
    }
    int code = report();
    if (watchers) std::printf("%s\n", watchers->summary().c_str());
    return code;
  }

 private:
  int fail(const std::string& why) {
    std::fprintf(stderr, "synod bench: %s\n", why.c_str());
    return kExitBadArguments;
  }

  std::string key(Client& c) { return f_.key_prefix + std::to_string(c.rng() % f_.keys); }

  // Range benchmarks read keys that exist: one put per key first, in
  // parallel over the clients' stubs, not measured.
  void preload(const std::string& value) {
    uint64_t n = std::min<uint64_t>(f_.keys, 10'000);
    std::atomic<uint64_t> next{0};
    std::vector<std::thread> threads;
    for (size_t t = 0; t < std::min<size_t>(stubs_.size(), 8); ++t)
      threads.emplace_back([&, t] {
        for (uint64_t k; (k = next++) < n;) {
          grpc::ClientContext ctx;
          etcdserverpb::PutRequest put;
          put.set_key(f_.key_prefix + std::to_string(k));
          put.set_value(value);
          etcdserverpb::PutResponse out;
          stubs_[t]->Put(&ctx, put, &out);
        }
      });
    for (auto& t : threads)
      t.join();
  }

  void next(Client& c) {
    bool enough = f_.count > 0 && issued_.fetch_add(1) >= f_.count;
    if (enough || Clock::now() >= end_) {
      std::lock_guard lock(mu_);
      if (--running_ == 0) done_.notify_all();
      return;
    }
    c.ctx = std::make_unique<grpc::ClientContext>();
    c.ctx->set_deadline(std::chrono::system_clock::now() +
                        std::chrono::milliseconds(static_cast<int64_t>(f_.timeout_s * 1000)));
    c.sent = Clock::now();
    auto done = [this, &c](grpc::Status status) { answered(c, status); };
    if (f_.op == "put") {
      c.put.set_key(key(c));
      c.stub->async()->Put(c.ctx.get(), &c.put, &c.put_response, done);
    } else if (f_.op == "txn") {
      // A compare-and-put on one key: the shape of a lock or a counter.
      c.txn.Clear();
      std::string k = key(c);
      auto* cmp = c.txn.add_compare();
      cmp->set_key(k);
      cmp->set_target(etcdserverpb::Compare::VERSION);
      cmp->set_result(etcdserverpb::Compare::GREATER);
      cmp->set_version(-1);
      auto* put = c.txn.add_success()->mutable_request_put();
      put->set_key(k);
      put->set_value(c.put.value());
      c.stub->async()->Txn(c.ctx.get(), &c.txn, &c.txn_response, done);
    } else {
      c.range.set_key(f_.key_prefix +
                      std::to_string(c.rng() % std::min<uint64_t>(f_.keys, 10'000)));
      c.stub->async()->Range(c.ctx.get(), &c.range, &c.range_response, done);
    }
  }

  void answered(Client& c, const grpc::Status& status) {
    if (status.ok()) {
      c.latencies_ns.push_back(
          std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - c.sent).count());
    } else {
      ++c.errors;
      c.last_error = status.error_message();
    }
    next(c);
  }

  int report() {
    double seconds = std::chrono::duration<double>(Clock::now() - start_).count();
    std::vector<int64_t> all;
    uint64_t errors = 0;
    std::string last_error;
    for (Client& c : clients_) {
      all.insert(all.end(), c.latencies_ns.begin(), c.latencies_ns.end());
      errors += c.errors;
      if (!c.last_error.empty()) last_error = c.last_error;
    }
    std::sort(all.begin(), all.end());
    auto ms = [](int64_t ns) { return static_cast<double>(ns) / 1e6; };
    std::printf(
        "op %s  clients %d  conns %d  ok %zu  errors %llu  %.1f s  %.0f ops/s  latency ms p50 "
        "%.3f  p90 %.3f  p99 %.3f  max %.3f\n",
        f_.op.c_str(), f_.clients, f_.conns, all.size(), static_cast<unsigned long long>(errors),
        seconds, static_cast<double>(all.size()) / seconds, ms(percentile(all, 0.5)),
        ms(percentile(all, 0.9)), ms(percentile(all, 0.99)), all.empty() ? 0.0 : ms(all.back()));
    if (errors > 0) std::fprintf(stderr, "bench: last error: %s\n", last_error.c_str());
    return all.empty() ? kExitCheckFailed : kExitOk;
  }

  BenchFlags f_;
  std::vector<std::shared_ptr<grpc::Channel>> channels_;
  std::vector<std::unique_ptr<etcdserverpb::KV::Stub>> stubs_;
  std::vector<Client> clients_;
  Clock::time_point start_, end_;
  std::mutex mu_;
  std::condition_variable done_;
  int running_ = 0;
  std::atomic<uint64_t> issued_{0};
};

}  // namespace

void add_bench_command(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<BenchFlags>();
  CLI::App* cmd = app.add_subcommand(
      "bench",
      "load any etcd v3 endpoint (synod serve or etcd) over gRPC and print throughput and\n"
      "latency: closed loop, each client one request in flight. Exit 1 if nothing succeeded.");
  cmd->add_option("--endpoints", flags->endpoints, "host:port,... (connections spread over them)")
      ->capture_default_str();
  cmd->add_option("--op", flags->op,
                  "put | range (linearizable) | range-serializable | txn (compare-and-put)")
      ->capture_default_str();
  cmd->add_option("--clients", flags->clients, "concurrent requests")->capture_default_str();
  cmd->add_option("--conns", flags->conns, "gRPC connections")->capture_default_str();
  cmd->add_option("--duration", flags->duration_s, "seconds")->capture_default_str();
  cmd->add_option("--value-size", flags->value_size, "bytes per value")->capture_default_str();
  cmd->add_option("--keys", flags->keys, "distinct keys, chosen at random")->capture_default_str();
  cmd->add_option("--key-prefix", flags->key_prefix, "prefix of every key")->capture_default_str();
  cmd->add_option("--timeout", flags->timeout_s, "seconds per request")->capture_default_str();
  cmd->add_option("--count", flags->count,
                  "stop after this many operations in all (0: run for --duration)")
      ->capture_default_str();
  cmd->add_option("--watchers", flags->watchers,
                  "watch streams beside the load, one watch each, counting the events they get")
      ->capture_default_str();
  cmd->add_option("--watch-prefix", flags->watch_prefix, "what they watch (default: --key-prefix)");
  cmd->add_option("--watch-from", flags->watch_from,
                  "the revision they start from (1: the whole history; 0: from now)")
      ->capture_default_str();
  cmd->callback([flags, &exit_code] { exit_code = Bench(*flags).run(); });
}

}  // namespace synod::cli
