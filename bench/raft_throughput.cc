// How many commands per second of wall time a 3-node Raft cluster commits in
// the simulator, on one core, with zero-latency links: the cost of the
// protocol itself (RaftNode, RaftEngine, the log store on the simulated disk,
// protobuf on every message), not of a network. The leader keeps a window of
// proposals in flight, so the cluster is never idle; every node applies every
// command to a counter.
//
//   build/bench/raft_throughput [virtual seconds, default 5]
//
// Rows: batching on and off, with 1 and 1,000 proposals kept in flight.
// Virtual time is spent only on disk syncs (200 us to 2 ms each, as in every
// simulation), so commands per virtual second show how batching shares a sync.

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>

#include "synod/raft/raft_engine.h"
#include "synod/sim/protocol_spec.h"
#include "synod/sim/simulation.h"
#include "timed_run.h"

namespace synod {
namespace {

constexpr size_t kCommandBytes = 16;

struct Setup {
  bool batch;
  size_t window;  // proposals the leader keeps uncommitted
};

// A node: Raft, an applier that counts, and on the leader a load generator
// that tops the window up after every input.
class LoadedRaft final : public Protocol, public replication::Applier {
 public:
  LoadedRaft(raft::RaftEngineOptions options, size_t window)
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
    if (!engine_.started() || engine_.node().role() != raft::Role::kLeader) return;
    const raft::RaftLog& log = engine_.node().log();
    for (uint64_t in_flight = log.last_index() - log.commit(); in_flight < window_; ++in_flight)
      if (engine_.propose(env, std::string(kCommandBytes, 'c'))) return;  // refused: later
  }

  raft::RaftEngine engine_;
  size_t window_;
  uint64_t applied_ = 0;
};

class LoadedRaftSpec final : public sim::ProtocolSpec {
 public:
  explicit LoadedRaftSpec(Setup setup) : setup_(setup) {}
  std::unique_ptr<Protocol> make_node(NodeId id) override {
    raft::RaftEngineOptions options;
    options.batch = setup_.batch;
    auto node = std::make_unique<LoadedRaft>(options, setup_.window);
    nodes_[id] = node.get();
    return node;
  }
  // The most any node applied: what the cluster committed.
  void finish(sim::RunReport& report) override {
    uint64_t best = 0;
    for (const auto& [id, node] : nodes_)
      best = std::max(best, node->applied());
    report.fields.emplace_back("committed", std::to_string(best));
  }

 private:
  Setup setup_;
  std::map<NodeId, LoadedRaft*> nodes_;
};

}  // namespace
}  // namespace synod

int main(int argc, char** argv) {
  using namespace synod;
  int seconds = argc > 1 ? std::atoi(argv[1]) : 5;
  if (seconds <= 0) {
    std::fprintf(stderr, "usage: raft_throughput [virtual seconds > 0]\n");
    return 2;
  }
  std::printf(
      "| batching | in flight | run | committed | wall seconds | committed/s (wall) | "
      "committed/s (virtual) |\n|---|---|---|---|---|---|---|\n");
  for (Setup setup : {Setup{true, 1000}, Setup{false, 1000}, Setup{true, 1}, Setup{false, 1}}) {
    for (int run = 1; run <= 3; ++run) {
      sim::ProtocolInfo info{
          .name = "raft-loaded",
          .summary = "Raft with a leader that keeps proposals in flight",
          .serves_clients = false,
          .make = [setup](const sim::SimConfig&,
                          sim::SimContext&) { return std::make_unique<LoadedRaftSpec>(setup); },
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
      std::printf("| %s | %zu | %d | %llu | %.2f | %.0f | %.0f |\n", setup.batch ? "on" : "off",
                  setup.window, run, static_cast<unsigned long long>(committed), wall,
                  static_cast<double>(committed) / wall, static_cast<double>(committed) / seconds);
      std::fflush(stdout);
    }
  }
  return 0;
}
