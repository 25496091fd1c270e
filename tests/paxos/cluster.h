#pragma once

// A hand-driven Multi-Paxos cluster for scenario tests: the test decides
// which message is delivered, dropped or held, when each node ticks, when
// its syncs complete and when it crashes. Each node has the simulator's disk
// (sim::SimDisk), so a crash loses what was not synced, and may tear it.

#include <algorithm>
#include <cstdio>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "synod/paxos/multi_paxos.h"
#include "synod/sim/sim_disk.h"

namespace synod::paxos::testing {

struct Sent {
  NodeId from, to;
  std::string bytes;
  wire::PaxosMessage parsed() const {
    wire::PaxosMessage m;
    m.ParseFromString(bytes);
    return m;
  }
};

// Records what the engine applies and which reads it serves.
struct RecordingApplier : replication::Applier {
  std::map<uint64_t, std::string> applied;
  std::vector<uint64_t> reads_ready, reads_refused;
  void apply(Env&, uint64_t index, std::string_view command) override {
    applied[index] = std::string(command);
  }
  void read_ready(Env&, uint64_t read) override { reads_ready.push_back(read); }
  void read_refused(Env&, uint64_t read, const replication::Refused&) override {
    reads_refused.push_back(read);
  }
  std::string take_snapshot() override {
    std::string s;
    for (const auto& [index, command] : applied)
      s += std::to_string(index) + "=" + command + ";";
    return s;
  }
  void restore_snapshot(Env&, uint64_t index, std::string_view snapshot) override {
    applied.clear();
    applied[index] = "snapshot:" + std::string(snapshot);
  }
};

class Cluster;

class NodeEnv final : public Env {
 public:
  NodeEnv(Cluster& cluster, NodeId id, size_t nodes, sim::SimDisk& disk)
      : cluster_(cluster), id_(id), disk_(disk), rng_(100 + id) {
    for (NodeId n = 0; n < nodes; ++n)
      all_.push_back(n);
  }
  NodeId self() const override { return id_; }
  std::span<const NodeId> nodes() const override { return all_; }
  Time now() const override { return now_; }
  Rng& rng() override { return rng_; }
  Storage& storage() override { return disk_; }
  void send(ProcessId to, Bytes payload) override;
  CallId call(ProcessId, Bytes, Duration) override { return 0; }
  void respond(const Incoming&, Bytes) override {}
  void reply(ProcessId, const wire::ClientReply&) override {}
  // Ticks are driven by Cluster::tick; the engine's own timers are not needed.
  TimerId set_timer(Duration, uint64_t) override { return 0; }
  void cancel_timer(TimerId) override {}
  bool tracing() const override;
  void note(std::string_view text) override;

  Time now_{};

 private:
  Cluster& cluster_;
  NodeId id_;
  sim::SimDisk& disk_;
  Rng rng_;
  std::vector<NodeId> all_;
};

class Cluster {
 public:
  Cluster(size_t n, MultiPaxosOptions options) : options_(options), nodes_(n) {
    for (NodeId i = 0; i < n; ++i)
      boot(i);
  }

  // Starts node i afresh from its disk.
  void boot(NodeId i) {
    Node& node = nodes_[i];
    node.env = std::make_unique<NodeEnv>(*this, i, nodes_.size(), *node.disk);
    node.syncs.clear();
    node.disk->set_sync_requested([&node](SyncId id) { node.syncs.push_back(id); });
    node.engine = std::make_unique<MultiPaxosEngine>(options_);
    node.applier = std::make_unique<RecordingApplier>();
    node.up = true;
    node.engine->start(*node.env, *node.applier);
  }

  // Power loss at node i: unsynced writes are lost, or torn with chance `torn`.
  void crash(NodeId i, double torn, uint64_t seed) {
    Rng rng(seed);
    nodes_[i].disk->crash(rng, torn);
    nodes_[i].up = false;
    nodes_[i].engine.reset();
    std::erase_if(net, [i](const Sent& m) { return m.to == i || m.from == i; });
  }

  // Completes every sync node i has asked for.
  void sync(NodeId i) {
    Node& node = nodes_[i];
    while (!node.syncs.empty()) {
      SyncId id = node.syncs.front();
      node.syncs.pop_front();
      node.disk->complete(id);
      node.engine->on_synced(*node.env, id);
    }
  }
  void sync_all() {
    for (NodeId i = 0; i < nodes_.size(); ++i)
      if (nodes_[i].up) sync(i);
  }

  void tick(NodeId i, int n = 1) {
    Node& node = nodes_[i];
    for (int k = 0; k < n; ++k) {
      node.env->now_ += options_.tick;
      node.engine->on_timer(*node.env, MultiPaxosEngine::kTickTimer);
    }
  }

  // Ticks node i until it campaigns; false if it never does.
  bool tick_until_candidate(NodeId i, int max_ticks = 2000) {
    for (int k = 0; k < max_ticks; ++k) {
      tick(i);
      if (e(i).role() != MultiPaxosEngine::Role::kFollower) return true;
    }
    return false;
  }

  // Node i campaigns and wins, every message delivered; false if it does not.
  bool elect(NodeId i) {
    if (!tick_until_candidate(i)) return false;
    run_all();
    return e(i).role() == MultiPaxosEngine::Role::kLeader;
  }

  // Delivers the messages `pass` accepts, completing syncs between rounds,
  // until the network is quiet; the rest are dropped.
  template <typename Pass>
  void run(Pass pass, int rounds = 1000) {
    for (int r = 0; r < rounds; ++r) {
      sync_all();
      if (net.empty()) return;
      std::deque<Sent> batch;
      batch.swap(net);
      for (Sent& m : batch)
        if (nodes_[m.to].up && pass(m)) deliver(m);
    }
  }
  void run_all() {
    run([](const Sent&) { return true; });
  }

  // Delivers the message at `at` in the network queue.
  void deliver_at(size_t at) {
    Sent m = net[at];
    net.erase(net.begin() + static_cast<std::ptrdiff_t>(at));
    if (nodes_[m.to].up) deliver(m);
  }

  MultiPaxosEngine& e(NodeId i) { return *nodes_[i].engine; }
  Env& env(NodeId i) { return *nodes_[i].env; }
  RecordingApplier& applier(NodeId i) { return *nodes_[i].applier; }
  sim::SimDisk& disk(NodeId i) { return *nodes_[i].disk; }
  size_t pending_syncs(NodeId i) const { return nodes_[i].syncs.size(); }

  std::deque<Sent> net;  // sent, not yet delivered
  bool verbose = false;  // print every node's notes

 private:
  struct Node {
    std::unique_ptr<sim::SimDisk> disk = std::make_unique<sim::SimDisk>();
    std::unique_ptr<NodeEnv> env;
    std::unique_ptr<MultiPaxosEngine> engine;
    std::unique_ptr<RecordingApplier> applier;
    std::deque<SyncId> syncs;
    bool up = true;
  };

  void deliver(const Sent& m) {
    Incoming in{m.from, m.bytes, 0};
    nodes_[m.to].engine->on_message(*nodes_[m.to].env, in);
  }

  MultiPaxosOptions options_;
  std::vector<Node> nodes_;
};

inline void NodeEnv::send(ProcessId to, Bytes payload) {
  cluster_.net.push_back({id_, to, std::move(payload)});
}
inline bool NodeEnv::tracing() const {
  return cluster_.verbose;
}
inline void NodeEnv::note(std::string_view text) {
  std::printf("  [n%u %lldms] %.*s\n", id_,
              static_cast<long long>(now_.time_since_epoch().count() / 1'000'000),
              static_cast<int>(text.size()), text.data());
}

// Passes only messages between nodes of `group`.
inline auto within(std::initializer_list<NodeId> group) {
  std::vector<NodeId> members(group);
  return [members](const Sent& m) {
    auto in = [&](NodeId n) {
      return std::find(members.begin(), members.end(), n) != members.end();
    };
    return in(m.from) && in(m.to);
  };
}

}  // namespace synod::paxos::testing
