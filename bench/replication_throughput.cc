// How many commands per second of wall time a 3-node cluster of one
// replication engine (Raft or Multi-Paxos) commits in the simulator, on one
// core, with zero-latency links: the cost of the protocol itself (the engine,
// its log on the simulated disk, protobuf on every message), not of a
// network. The leader keeps a window of proposals in flight, so the cluster
// is never idle; every node applies every command to a counter.
//
//   build/bench/replication_throughput [raft|multipaxos|both] [virtual seconds, default 5]
//
// (Until commit 1312735 this was bench/raft_throughput, Raft only.)
//
// Rows: batching on and off, with 1 and 1,000 proposals kept in flight.
// Virtual time is spent only on disk syncs (200 us to 2 ms each, as in every
// simulation), so commands per virtual second show how batching shares a sync.

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "synod/paxos/multi_paxos.h"
#include "synod/raft/raft_engine.h"
#include "synod/sim/protocol_spec.h"
#include "synod/sim/simulation.h"
#include "timed_run.h"

namespace synod {
namespace {

constexpr size_t kCommandBytes = 16;

struct Setup {
  std::string engine;  // raft or multipaxos
  bool batch;
  size_t window;  // proposals the leader keeps uncommitted
};

// The leader, if this node leads, and how many of its proposals are not yet
// committed.
std::optional<uint64_t> leader_in_flight(const raft::RaftEngine& e) {
  if (!e.started() || e.node().role() != raft::Role::kLeader) return std::nullopt;
  return e.node().log().last_index() - e.node().log().commit();
}
std::optional<uint64_t> leader_in_flight(const paxos::MultiPaxosEngine& e) {
  if (!e.started() || e.role() != paxos::MultiPaxosEngine::Role::kLeader) return std::nullopt;
  return e.in_flight();
}

// A node: the engine, an applier that counts, and on the leader a load
// generator that tops the window up after every input.
template <typename Engine>
class Loaded final : public Protocol, public replication::Applier {
 public:
  Loaded(typename Engine::Options options, size_t window)
      : engine_(std::move(options)), window_(window) {}

  void start(Env& env) override {
    engine_.start(env, *this);
    top_up(env);
  }
  void on_message(Env& env, const Incoming& message) override {
    engine_.on_message(env, message);
    top_up(env);
  }
  void on_timer(Env& env, uint64_t tag) override {
    engine_.on_timer(env, tag);
    top_up(env);
  }
  void on_synced(Env& env, SyncId id) override {
    engine_.on_synced(env, id);
    top_up(env);
  }

  void apply(Env&, uint64_t, std::string_view command) override {
    if (!command.empty()) ++applied_;
  }
  void read_ready(Env&, uint64_t) override {}
  void read_refused(Env&, uint64_t, const replication::Refused&) override {}
  std::string take_snapshot() override { return std::to_string(applied_); }
  void restore_snapshot(Env&, uint64_t, std::string_view snapshot) override {
    applied_ = std::stoull(std::string(snapshot));
  }

  uint64_t applied() const { return applied_; }

 private:
  void top_up(Env& env) {
    auto in_flight = leader_in_flight(engine_);
    if (!in_flight) return;
    for (; *in_flight < window_; ++*in_flight)
      if (engine_.propose(env, std::string(kCommandBytes, 'c'))) return;  // refused: later
  }

  Engine engine_;
  size_t window_;
  uint64_t applied_ = 0;
};

class LoadedSpec final : public sim::ProtocolSpec {
 public:
  explicit LoadedSpec(Setup setup) : setup_(setup) {}
  std::unique_ptr<Protocol> make_node(NodeId id) override {
    if (setup_.engine == "raft") {
      raft::RaftEngineOptions options;
      options.batch = setup_.batch;
      auto node = std::make_unique<Loaded<raft::RaftEngine>>(options, setup_.window);
      applied_[id] = [n = node.get()] { return n->applied(); };
      return node;
    }
    paxos::MultiPaxosOptions options;
    options.batch = setup_.batch;
    auto node = std::make_unique<Loaded<paxos::MultiPaxosEngine>>(options, setup_.window);
    applied_[id] = [n = node.get()] { return n->applied(); };
    return node;
  }
  // The most any node applied: what the cluster committed.
  void finish(sim::RunReport& report) override {
    uint64_t best = 0;
    for (const auto& [id, applied] : applied_)
      best = std::max(best, applied());
    report.fields.emplace_back("committed", std::to_string(best));
  }

 private:
  Setup setup_;
  std::map<NodeId, std::function<uint64_t()>> applied_;
};

}  // namespace
}  // namespace synod

int main(int argc, char** argv) {
  using namespace synod;
  std::string which = argc > 1 ? argv[1] : "both";
  int seconds = argc > 2 ? std::atoi(argv[2]) : 5;
  if ((which != "raft" && which != "multipaxos" && which != "both") || seconds <= 0) {
    std::fprintf(stderr,
                 "usage: replication_throughput [raft|multipaxos|both] [virtual seconds > 0]\n");
    return 2;
  }
  std::vector<std::string> engines;
  if (which != "multipaxos") engines.push_back("raft");
  if (which != "raft") engines.push_back("multipaxos");
  std::printf(
      "| engine | batching | in flight | run | committed | wall seconds | committed/s (wall) | "
      "committed/s (virtual) |\n|---|---|---|---|---|---|---|---|\n");
  for (const std::string& engine : engines) {
    for (auto [batch, window] : {std::pair{true, 1000}, {false, 1000}, {true, 1}, {false, 1}}) {
      Setup setup{engine, batch, static_cast<size_t>(window)};
      for (int run = 1; run <= 3; ++run) {
        sim::ProtocolInfo info{
            .name = engine + "-loaded",
            .summary = "a leader that keeps proposals in flight",
            .serves_clients = false,
            .make = [setup](const sim::SimConfig&,
                            sim::SimContext&) { return std::make_unique<LoadedSpec>(setup); },
        };
        sim::SimConfig config;
        config.protocol = info.name;
        config.seed = static_cast<uint64_t>(run);
        config.nodes = 3;
        config.duration = std::chrono::seconds(seconds);
        config.network.delay.kind = sim::DelayModel::Kind::kFixed;
        config.network.delay.low = Duration(0);
        auto timed = bench::timed_run(config, info);
        if (!timed) return 1;
        double wall = timed->wall_seconds;
        uint64_t committed = std::stoull(timed->report.fields.back().second);
        std::printf(
            "| %s | %s | %zu | %d | %llu | %.2f | %.0f | %.0f |\n", engine.c_str(),
            batch ? "on" : "off", setup.window, run, static_cast<unsigned long long>(committed),
            wall, static_cast<double>(committed) / wall, static_cast<double>(committed) / seconds);
        std::fflush(stdout);
      }
    }
  }
  return 0;
}
