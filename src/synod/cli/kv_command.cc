// synod kv: a small client for a running synod cluster (put, get, del) and
// a load generator that measures throughput and latency and can record the
// history `synod check history` checks.

#include <algorithm>
#include <asio.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <random>

#include "synod/check/history.h"
#include "synod/cli/commands.h"
#include "synod/cli/latency.h"
#include "synod/cli/serve_config.h"
#include "synod/net/kv_client.h"

namespace synod::cli {

namespace {

struct KvFlags {
  std::string endpoints = "127.0.0.1:2379";
  double timeout_s = 10;
};

absl::StatusOr<std::shared_ptr<net::ClusterDirectory>> directory(asio::io_context& io,
                                                                 const std::string& endpoints) {
  auto out = std::make_shared<net::ClusterDirectory>();
  for (std::string_view item : split_list(endpoints)) {
    std::string url(item);
    if (url.find("://") == std::string::npos) url = "http://" + url;  // etcdctl takes both forms
    auto at = resolve_url(io, "endpoints", url);
    if (!at.ok()) return at.status();
    out->endpoints.push_back(*at);
  }
  if (out->endpoints.empty()) return absl::InvalidArgumentError("--endpoints names no endpoint");
  return out;
}

uint64_t random_client_id() {
  std::random_device device;
  // Client ids are the session table's keys: a collision between two live
  // clients would mix their sessions, so take 64 random bits.
  return (uint64_t{device()} << 32 | device()) | 1;
}

// Runs one operation and prints its result the way etcdctl does.
int run_one(const KvFlags& flags, wire::KvOp op) {
  asio::io_context io;
  auto dir = directory(io, flags.endpoints);
  if (!dir.ok()) {
    std::fprintf(stderr, "synod kv: %s\n", std::string(dir.status().message()).c_str());
    return kExitBadArguments;
  }
  net::KvClientOptions options;
  options.deadline = std::chrono::milliseconds(static_cast<int64_t>(flags.timeout_s * 1000));
  net::KvClient client(io, *dir, random_client_id(), options);
  int code = kExitOk;
  client.submit(op, [&](const net::KvOutcome& outcome) {
    if (outcome.kind != net::KvOutcome::Kind::kOk) {
      // The error says why: a deadline passed, or no endpoint is the leader.
      std::fprintf(
          stderr, "synod kv: gave up (--timeout %.0f s): %s%s\n", flags.timeout_s,
          outcome.error.c_str(),
          op.kind() == wire::KvOp::GET ? "" : "; the write may or may not have taken effect");
      code = kExitCheckFailed;
    } else if (op.kind() == wire::KvOp::GET) {
      if (outcome.result.found())
        std::printf("%s\n%s\n", op.key().c_str(), outcome.result.value().c_str());
    } else if (op.kind() == wire::KvOp::PUT) {
      std::printf("OK\n");
    } else {
      std::printf("%d\n", outcome.result.found() ? 1 : 0);
    }
    client.close();
  });
  io.run();
  return code;
}

struct LoadFlags {
  int clients = 16;
  double duration_s = 10;
  uint64_t requests = 0;  // 0: run for the duration
  size_t value_size = 256;
  uint64_t keys = 1000;
  double reads = 0;
  std::string history;
  std::string key_prefix = "load/";
};

int run_load(const KvFlags& flags, const LoadFlags& load) {
  asio::io_context io;
  auto dir = directory(io, flags.endpoints);
  if (!dir.ok()) {
    std::fprintf(stderr, "synod kv load: %s\n", std::string(dir.status().message()).c_str());
    return kExitBadArguments;
  }
  std::unique_ptr<std::ofstream> history;
  if (!load.history.empty()) {
    history = std::make_unique<std::ofstream>(load.history, std::ios::trunc);
    if (!*history) {
      std::fprintf(stderr, "synod kv load: cannot write %s\n", load.history.c_str());
      return kExitBadArguments;
    }
  }
  net::KvClientOptions options;
  options.deadline = std::chrono::milliseconds(static_cast<int64_t>(flags.timeout_s * 1000));
  auto start = std::chrono::steady_clock::now();
  auto nanos = [start] {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() -
                                                                start)
        .count();
  };
  auto end_at = start + std::chrono::milliseconds(static_cast<int64_t>(load.duration_s * 1000));
  std::mt19937_64 rng(random_client_id());
  std::vector<std::unique_ptr<net::KvClient>> clients;
  std::vector<int64_t> latencies;
  uint64_t issued = 0, ok = 0, unknown = 0;
  std::map<std::string, uint64_t> errors;  // why requests went unanswered
  int64_t last_report = 0;

  std::function<void(size_t)> next = [&](size_t c) {
    if ((load.requests && issued >= load.requests) ||
        (!load.requests && std::chrono::steady_clock::now() >= end_at)) {
      clients[c]->close();
      return;
    }
    ++issued;
    wire::KvOp op;
    op.set_key(load.key_prefix + std::to_string(rng() % load.keys));
    bool read = std::uniform_real_distribution<double>(0, 1)(rng) < load.reads;
    if (read) {
      op.set_kind(wire::KvOp::GET);
    } else {
      op.set_kind(wire::KvOp::PUT);
      // Unique values let the history checker tell every write apart.
      std::string value = std::to_string(c) + "-" + std::to_string(issued);
      if (value.size() < load.value_size) value.resize(load.value_size, '.');
      op.set_value(value);
    }
    int64_t call = nanos();
    clients[c]->submit(op, [&, c, op, call](const net::KvOutcome& outcome) {
      int64_t ret = nanos();
      check::Operation record;
      record.client = c;
      record.kind = op.kind() == wire::KvOp::GET ? check::OpKind::kGet : check::OpKind::kPut;
      record.key = op.key();
      record.call = call;
      if (outcome.kind == net::KvOutcome::Kind::kOk) {
        ++ok;
        latencies.push_back(ret - call);
        record.ret = ret;
        if (record.kind == check::OpKind::kPut)
          record.value = op.value();
        else if (outcome.result.found())
          record.value = outcome.result.value();
      } else {
        ++unknown;
        ++errors[outcome.error];
        record.outcome = check::Outcome::kUnknown;
        if (record.kind == check::OpKind::kPut) record.value = op.value();
      }
      // A read with no answer took no effect: leave it out of the history.
      bool record_it =
          !(record.kind == check::OpKind::kGet && outcome.kind != net::KvOutcome::Kind::kOk);
      if (history && record_it) *history << check::to_json_line(record) << "\n";
      if (ret - last_report >= 1'000'000'000) {
        last_report = ret;
        std::fprintf(stderr, "  %5.1f s: %llu ok, %llu unknown\n", static_cast<double>(ret) / 1e9,
                     static_cast<unsigned long long>(ok), static_cast<unsigned long long>(unknown));
      }
      next(c);
    });
  };
  for (int c = 0; c < load.clients; ++c) {
    clients.push_back(std::make_unique<net::KvClient>(io, *dir, random_client_id(), options));
    next(static_cast<size_t>(c));
  }
  io.run();
  double seconds = static_cast<double>(nanos()) / 1e9;
  std::sort(latencies.begin(), latencies.end());
  auto ms = [](int64_t ns) { return static_cast<double>(ns) / 1e6; };
  std::printf(
      "clients %d  ops %llu  ok %llu  unknown %llu  %.1f s  %.0f ops/s  latency ms p50 %.3f  p90 "
      "%.3f  p99 %.3f  max %.3f\n",
      load.clients, static_cast<unsigned long long>(issued), static_cast<unsigned long long>(ok),
      static_cast<unsigned long long>(unknown), seconds, static_cast<double>(ok) / seconds,
      ms(percentile(latencies, 0.5)), ms(percentile(latencies, 0.9)),
      ms(percentile(latencies, 0.99)), latencies.empty() ? 0.0 : ms(latencies.back()));
  for (const auto& [why, n] : errors)
    std::printf("  %llu unanswered: %s\n", static_cast<unsigned long long>(n), why.c_str());
  return ok > 0 ? kExitOk : kExitCheckFailed;
}

}  // namespace

void add_kv_commands(CLI::App& app, int& exit_code) {
  CLI::App* kv = app.add_subcommand(
      "kv", "talk to a running synod cluster: put, get, del, and a load generator");
  kv->require_subcommand(1);
  auto flags = std::make_shared<KvFlags>();
  kv->add_option("--endpoints", flags->endpoints,
                 "client URLs of the members, comma-separated (host:port or http://host:port)")
      ->capture_default_str();
  kv->add_option("--timeout", flags->timeout_s,
                 "seconds to keep retrying one request before giving up")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);

  auto key = std::make_shared<std::string>();
  auto value = std::make_shared<std::string>();
  CLI::App* put = kv->add_subcommand("put", "write a value; prints OK once a majority has it");
  put->add_option("key", *key)->required();
  put->add_option("value", *value)->required();
  put->callback([=, &exit_code] {
    wire::KvOp op;
    op.set_kind(wire::KvOp::PUT);
    op.set_key(*key);
    op.set_value(*value);
    exit_code = run_one(*flags, op);
  });
  CLI::App* get = kv->add_subcommand("get", "read a key (linearizable); prints key and value");
  get->add_option("key", *key)->required();
  get->callback([=, &exit_code] {
    wire::KvOp op;
    op.set_kind(wire::KvOp::GET);
    op.set_key(*key);
    exit_code = run_one(*flags, op);
  });
  CLI::App* del = kv->add_subcommand("del", "delete a key; prints how many keys it deleted");
  del->add_option("key", *key)->required();
  del->callback([=, &exit_code] {
    wire::KvOp op;
    op.set_kind(wire::KvOp::DELETE);
    op.set_key(*key);
    exit_code = run_one(*flags, op);
  });

  auto load = std::make_shared<LoadFlags>();
  CLI::App* gen = kv->add_subcommand(
      "load", "closed-loop load: each client sends its next request when the last returns");
  gen->add_option("--clients", load->clients, "concurrent clients")
      ->capture_default_str()
      ->check(CLI::Range(1, 4096));
  gen->add_option("--duration", load->duration_s, "seconds to run")->capture_default_str();
  gen->add_option("--requests", load->requests, "stop after this many requests instead");
  gen->add_option("--value-size", load->value_size, "bytes per written value")
      ->capture_default_str();
  gen->add_option("--keys", load->keys, "distinct keys")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  gen->add_option("--reads", load->reads, "fraction of requests that are reads")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  gen->add_option("--key-prefix", load->key_prefix, "prefix of every key")->capture_default_str();
  gen->add_option("--history", load->history,
                  "record every operation as JSON lines for `synod check history`");
  gen->callback([=, &exit_code] { exit_code = run_load(*flags, *load); });
}

}  // namespace synod::cli
