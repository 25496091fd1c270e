#include "synod/sim/simulation.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <optional>
#include <queue>
#include <unordered_map>

#include "absl/status/status.h"
#include "synod/base/assert.h"
#include "synod/base/duration.h"
#include "synod/clock/lamport.h"
#include "synod/clock/vector_clock.h"
#include "synod/sim/client.h"
#include "synod/sim/diagram.h"
#include "synod/sim/nemesis.h"
#include "synod/sim/network.h"
#include "synod/sim/protocol_spec.h"
#include "synod/sim/sim_disk.h"
#include "synod/sim/swarm.h"
#include "synod/sim/trace.h"

namespace synod::sim {
namespace {

enum class EventKind : uint8_t {
  kDeliver,
  kTimer,
  kCallTimeout,
  kSyncDone,
  kClientTimer,
  kNemesis,
  kClientsStop,
  kEnd
};

struct Event {
  int64_t at = 0;
  uint64_t seq = 0;
  EventKind kind = EventKind::kEnd;
  uint32_t target = 0;       // node or client index
  uint32_t incarnation = 0;  // node events die with the incarnation that set them
  uint64_t id = 0;
  uint64_t arg = 0;
};

struct Later {
  bool operator()(const Event& a, const Event& b) const {
    return a.at != b.at ? a.at > b.at : a.seq > b.seq;
  }
};

enum class MessageKind : uint8_t { kPeer, kCall, kResponse, kClientRequest, kClientReply };

struct Message {
  ProcessId from = 0, to = 0;
  MessageKind kind = MessageKind::kPeer;
  CallId call = 0;
  uint64_t number = 0;
  uint64_t lamport = 0;
  VectorClock clock;
  Bytes payload;
};

// A node's clock runs at (1 + drift) times virtual time, from an offset; it
// never goes back.
struct NodeClock {
  int64_t base_virtual = 0;
  int64_t base_local = 0;
  double drift = 0;

  int64_t local(int64_t virtual_ns) const {
    return base_local +
           static_cast<int64_t>(static_cast<double>(virtual_ns - base_virtual) * (1.0 + drift));
  }
  int64_t virtual_delay(Duration local_delay) const {
    return static_cast<int64_t>(
        std::ceil(static_cast<double>(local_delay.count()) / (1.0 + drift)));
  }
  void change(int64_t now_virtual, double new_drift, Duration jump) {
    base_local = local(now_virtual) + jump.count();
    base_virtual = now_virtual;
    drift = new_drift;
  }
};

enum class NodeState { kUp, kPaused, kDown, kStopped };

// The last payloads a node sent, for a forging byzantine node to replay.
inline constexpr size_t kForgeMemory = 16;

class Simulation;

class NodeEnv final : public Env {
 public:
  NodeEnv(Simulation& sim, NodeId id) : sim_(sim), id_(id) {}
  NodeId self() const override { return id_; }
  std::span<const NodeId> nodes() const override;
  Time now() const override;
  Rng& rng() override;
  Storage& storage() override;
  void send(ProcessId to, Bytes payload) override;
  CallId call(ProcessId to, Bytes payload, Duration timeout) override;
  void respond(const Incoming& request, Bytes payload) override;
  void reply(ProcessId client, const wire::ClientReply& reply) override;
  TimerId set_timer(Duration after, uint64_t tag) override;
  void cancel_timer(TimerId timer) override;
  bool tracing() const override;
  void note(std::string_view text) override;

 private:
  Simulation& sim_;
  NodeId id_;
};

struct Node {
  NodeId id = 0;
  NodeState state = NodeState::kUp;
  uint32_t incarnation = 0;
  std::unique_ptr<Protocol> protocol;
  SimDisk disk;
  NodeClock clock;
  std::optional<Rng> rng;
  TimerId next_timer = 1;
  std::unordered_map<TimerId, uint64_t> timers;  // live timers -> tag (lookups only)
  CallId next_call = 1;
  std::unordered_map<CallId, ProcessId> calls;  // pending calls -> callee (lookups only)
  std::vector<Event> held;                      // arrived while paused, in order
  int64_t last_sync_done = 0;
  std::optional<ByzantineMode> byzantine;
  std::deque<Bytes> recent_sends;
  std::unique_ptr<NodeEnv> env;
};

class Simulation final : public SimContext, public FaultHost, public ClientHost {
 public:
  Simulation(const SimConfig& config, const ProtocolInfo& info);
  RunReport run();

  // SimContext
  int64_t now_ns() const override { return now_; }
  void invariant_failed(std::string_view invariant, std::string detail) override;

  // FaultHost
  void schedule_nemesis(int64_t at, uint64_t token) override;
  bool node_up(NodeId node) const override;
  bool node_paused(NodeId node) const override;
  void crash(NodeId node, bool forever) override;
  void restart(NodeId node) override;
  void pause(NodeId node) override;
  void resume(NodeId node) override;
  void partition(const Partition& partition) override;
  void heal_partition() override;
  void skew(NodeId node, double drift, Duration jump) override;
  void byzantine(NodeId node, std::optional<ByzantineMode> mode) override;
  std::optional<NodeId> leader() const override { return spec_->leader(); }
  bool operator_action(FaultKind kind, uint64_t choice) override {
    return spec_->operator_action(kind, choice);
  }
  bool operate(NodeId node, const std::function<void(Env&)>& action) override;

  // ClientHost
  void client_send(ProcessId client, NodeId to, const wire::ClientRequest& request) override;
  void client_timer(ProcessId client, Duration after, uint64_t seq, uint32_t send) override;
  void record(const check::Operation& op) override;

 private:
  friend class NodeEnv;

  void push(Event e);
  void dispatch(const Event& e);
  void deliver(const Event& e);
  void deliver_to_client(const Message& m);
  void record_delivery(const Message& m);
  bool hold_if_paused(Node& node, const Event& e);
  void start_node(Node& node);
  void after_step(Node& node);
  void transmit(ProcessId from, ProcessId to, MessageKind kind, CallId call, Bytes payload);
  void send_one(ProcessId from, ProcessId to, MessageKind kind, CallId call, Bytes payload,
                bool once = false);
  void trace(TraceEvent::Type type, ProcessId process, std::string_view text);
  std::string label(MessageKind kind, std::string_view payload) const;
  size_t index(ProcessId p) const {
    return is_client(p) ? static_cast<size_t>(config_.nodes) + (p - kFirstClientId) : p;
  }
  uint32_t alloc_message();
  void free_message(uint32_t slot);
  void check_liveness(RunReport& report) const;

  SimConfig config_;  // after swarm resolution
  const ProtocolInfo& info_;
  Rng root_;
  int64_t now_ = 0;
  int64_t end_ = 0;
  int64_t quiet_from_ = 0;
  uint64_t next_seq_ = 0;
  std::priority_queue<Event, std::vector<Event>, Later> queue_;

  std::vector<NodeId> node_ids_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::vector<SimClient> clients_;
  std::vector<LamportClock> lamport_;  // per process (nodes, then clients)
  std::vector<VectorClock> vclock_;
  std::vector<int64_t> link_last_;  // per (from, to): last delivery time, for FIFO links

  std::deque<Message> messages_;  // stable addresses; slots are reused
  std::vector<uint32_t> free_messages_;

  NetworkModel network_;
  Partition partition_;
  Rng disk_rng_, byzantine_rng_;
  std::unique_ptr<Nemesis> nemesis_;
  std::unique_ptr<ProtocolSpec> spec_;
  std::unique_ptr<Diagram> diagram_;
  Trace trace_;

  check::History history_;
  RunReport report_;
  std::optional<int64_t> leader_lost_at_;  // the leader crashed; none leads yet
};

// ---- NodeEnv --------------------------------------------------------------

std::span<const NodeId> NodeEnv::nodes() const {
  return sim_.node_ids_;
}
Time NodeEnv::now() const {
  return time_from_nanos(sim_.nodes_[id_]->clock.local(sim_.now_));
}
Rng& NodeEnv::rng() {
  return *sim_.nodes_[id_]->rng;
}
Storage& NodeEnv::storage() {
  return sim_.nodes_[id_]->disk;
}

void NodeEnv::send(ProcessId to, Bytes payload) {
  SYNOD_ASSERT(!is_client(to) && to < sim_.node_ids_.size());
  sim_.transmit(id_, to, MessageKind::kPeer, 0, std::move(payload));
}

CallId NodeEnv::call(ProcessId to, Bytes payload, Duration timeout) {
  SYNOD_ASSERT(!is_client(to) && to < sim_.node_ids_.size());
  Node& node = *sim_.nodes_[id_];
  CallId call = node.next_call++;
  node.calls[call] = to;
  sim_.transmit(id_, to, MessageKind::kCall, call, std::move(payload));
  sim_.push({.at = sim_.now_ + node.clock.virtual_delay(timeout),
             .kind = EventKind::kCallTimeout,
             .target = id_,
             .incarnation = node.incarnation,
             .id = call});
  return call;
}

void NodeEnv::respond(const Incoming& request, Bytes payload) {
  SYNOD_ASSERT(request.call != 0);
  sim_.transmit(id_, request.from, MessageKind::kResponse, request.call, std::move(payload));
}

void NodeEnv::reply(ProcessId client, const wire::ClientReply& reply) {
  SYNOD_ASSERT(is_client(client));
  sim_.transmit(id_, client, MessageKind::kClientReply, 0, reply.SerializeAsString());
}

TimerId NodeEnv::set_timer(Duration after, uint64_t tag) {
  SYNOD_ASSERT(after.count() >= 0);
  Node& node = *sim_.nodes_[id_];
  TimerId timer = node.next_timer++;
  node.timers[timer] = tag;
  sim_.push({.at = sim_.now_ + node.clock.virtual_delay(after),
             .kind = EventKind::kTimer,
             .target = id_,
             .incarnation = node.incarnation,
             .id = timer});
  return timer;
}

void NodeEnv::cancel_timer(TimerId timer) {
  sim_.nodes_[id_]->timers.erase(timer);
}

bool NodeEnv::tracing() const {
  return sim_.trace_.detailed();
}

void NodeEnv::note(std::string_view text) {
  if (sim_.trace_.detailed()) sim_.trace(TraceEvent::Type::kNote, id_, text);
}

// ---- Simulation -----------------------------------------------------------

SimConfig without_clients_unless_served(SimConfig config, const ProtocolInfo& info) {
  if (!info.serves_clients) config.workload.clients = 0;
  return config;
}

Simulation::Simulation(const SimConfig& config, const ProtocolInfo& info)
    : config_(without_clients_unless_served(config, info)),
      info_(info),
      root_(config.seed),
      network_(config.network, root_.split("network")),
      disk_rng_(root_.split("disk")),
      byzantine_rng_(root_.split("byzantine")) {
  end_ = config_.duration.count();
  Duration quiet = std::min(config_.nemesis.quiet, config_.duration / 2);
  quiet_from_ = end_ - quiet.count();

  int processes = config_.nodes + config_.workload.clients;
  lamport_.resize(static_cast<size_t>(processes));
  vclock_.assign(static_cast<size_t>(processes), VectorClock(static_cast<size_t>(processes)));
  link_last_.assign(static_cast<size_t>(processes * processes), 0);
  report_.seed = config_.seed;
  report_.flags = config_.to_flags();
  report_.faults = config_.nemesis.to_string() + "; network " +
                   std::string(NetworkConfig::model_name(config_.network.model)) + " delay " +
                   config_.network.delay.to_string();
  if (config_.network.model != NetworkConfig::Model::kReliable)
    report_.faults += " loss " + std::to_string(config_.network.loss);
  if (config_.network.model == NetworkConfig::Model::kArbitrary)
    report_.faults += " duplicate " + std::to_string(config_.network.duplicate);

  if (!config_.diagram_path.empty())
    diagram_ = std::make_unique<Diagram>(config_.nodes, config_.workload.clients);
  trace_.open(config_.trace_path, diagram_.get());

  spec_ = info_.make(config_, *this);

  Rng clock_rng = root_.split("clock");
  for (NodeId id = 0; id < static_cast<NodeId>(config_.nodes); ++id) {
    node_ids_.push_back(id);
    auto node = std::make_unique<Node>();
    node->id = id;
    node->env = std::make_unique<NodeEnv>(*this, id);
    if (config_.clock.max_offset.count() > 0)
      node->clock.base_local = clock_rng.uniform_int(-config_.clock.max_offset.count(),
                                                     config_.clock.max_offset.count());
    // Local clocks start well above zero so an offset never makes them negative.
    node->clock.base_local += std::chrono::duration_cast<Duration>(std::chrono::hours(1)).count();
    node->clock.drift = (clock_rng.uniform_real() * 2 - 1) * config_.clock.max_drift;
    Node* raw = node.get();
    node->disk.set_sync_requested([this, raw](SyncId id) {
      int64_t at =
          now_ + disk_rng_.uniform_duration(config_.disk.min_sync, config_.disk.max_sync).count();
      at = std::max(at, raw->last_sync_done);  // a disk completes syncs in order
      raw->last_sync_done = at;
      push({.at = at,
            .kind = EventKind::kSyncDone,
            .target = raw->id,
            .incarnation = raw->incarnation,
            .id = id});
    });
    nodes_.push_back(std::move(node));
  }
  if (info_.serves_clients) {
    bool duplicates =
        config_.network.model == NetworkConfig::Model::kArbitrary && config_.network.duplicate > 0;
    Rng client_rng = root_.split("client");
    Rng mode_rng = root_.split("client-mode");
    for (int c = 0; c < config_.workload.clients; ++c) {
      bool through_member =
          info_.member_requests && mode_rng.chance(config_.workload.through_member);
      clients_.emplace_back(kFirstClientId + static_cast<ProcessId>(c), config_.nodes,
                            config_.workload, info_.spread_reads, duplicates, through_member,
                            client_rng.split(static_cast<uint64_t>(c)));
    }
  }
  nemesis_ = std::make_unique<Nemesis>(*this, config_.nemesis, config_.clock, config_.nodes,
                                       quiet_from_, root_.split("nemesis"));
}

void Simulation::push(Event e) {
  e.seq = next_seq_++;
  queue_.push(e);
}

RunReport Simulation::run() {
  for (auto& node : nodes_)
    start_node(*node);
  for (auto& client : clients_)
    client.start(*this);
  nemesis_->start();
  push({.at = end_, .kind = EventKind::kEnd});
  if (config_.workload.stop_before_end.count() > 0)
    push({.at = std::max(now_, end_ - config_.workload.stop_before_end.count()),
          .kind = EventKind::kClientsStop});

  while (!queue_.empty()) {
    Event e = queue_.top();
    queue_.pop();
    SYNOD_ASSERT(e.at >= now_);  // virtual time never goes back
    now_ = e.at;
    ++report_.events;
    if (e.kind == EventKind::kEnd) break;
    dispatch(e);
  }

  for (auto& client : clients_)
    client.finish(*this);
  report_.trace_hash = trace_.hash();
  if (info_.serves_clients) {
    report_.linearizability = check::check_linearizable(history_);
    if (info_.check_liveness) check_liveness(report_);
  }
  spec_->finish(report_);
  if (!config_.history_path.empty()) {
    std::ofstream out(config_.history_path);
    for (const auto& op : history_)
      out << check::to_json_line(op) << "\n";
  }
  if (diagram_) {
    diagram_->write(config_.diagram_path,
                    "synod sim " + config_.protocol + " seed " + std::to_string(config_.seed),
                    end_);
  }
  return std::move(report_);
}

void Simulation::check_liveness(RunReport& report) const {
  // Faults stopped at quiet_from_: some operation called after that must
  // complete before the end.
  int64_t first = -1;
  for (const auto& op : history_)
    if (op.outcome == check::Outcome::kOk && op.call >= quiet_from_ &&
        (first < 0 || op.ret < first))
      first = op.ret;
  report.liveness = first >= 0;
  report.liveness_detail =
      first >= 0 ? "first operation after healing completed " +
                       format_duration(Duration(first - quiet_from_)) + " after the heal"
                 : "no operation completed in the " +
                       format_duration(Duration(end_ - quiet_from_)) + " after every fault healed";
}

void Simulation::invariant_failed(std::string_view invariant, std::string detail) {
  ++report_.invariant_failure_count;
  if (report_.invariant_failures.size() < kMaxReportedInvariantFailures)
    report_.invariant_failures.push_back({now_, std::string(invariant), std::move(detail)});
}

void Simulation::dispatch(const Event& e) {
  switch (e.kind) {
    case EventKind::kDeliver:
      deliver(e);
      return;
    case EventKind::kTimer: {
      Node& node = *nodes_[e.target];
      if (node.incarnation != e.incarnation || hold_if_paused(node, e)) return;
      auto it = node.timers.find(e.id);
      if (it == node.timers.end()) return;  // cancelled
      uint64_t tag = it->second;
      node.timers.erase(it);
      trace_.record(
          {.type = TraceEvent::Type::kTimer, .at = now_, .process = node.id, .message = tag});
      node.protocol->on_timer(*node.env, tag);
      after_step(node);
      return;
    }
    case EventKind::kCallTimeout: {
      Node& node = *nodes_[e.target];
      if (node.incarnation != e.incarnation || hold_if_paused(node, e)) return;
      if (node.calls.erase(e.id) == 0) return;  // answered in time
      trace_.record(
          {.type = TraceEvent::Type::kCallFailed, .at = now_, .process = node.id, .message = e.id});
      node.protocol->on_call_failed(*node.env, e.id);
      after_step(node);
      return;
    }
    case EventKind::kSyncDone: {
      Node& node = *nodes_[e.target];
      if (node.incarnation != e.incarnation) return;  // the crash came first: not durable
      node.disk.complete(e.id);                       // durable now, even if the process is paused
      if (hold_if_paused(node, e)) return;
      trace_.record(
          {.type = TraceEvent::Type::kSynced, .at = now_, .process = node.id, .message = e.id});
      node.protocol->on_synced(*node.env, e.id);
      after_step(node);
      return;
    }
    case EventKind::kClientTimer:
      clients_[e.target].on_timer(*this, e.id, static_cast<uint32_t>(e.arg));
      return;
    case EventKind::kNemesis:
      nemesis_->fire(e.id);
      return;
    case EventKind::kClientsStop:
      for (auto& client : clients_)
        client.stop();
      return;
    case EventKind::kEnd:
      return;
  }
}

bool Simulation::hold_if_paused(Node& node, const Event& e) {
  if (node.state != NodeState::kPaused) return false;
  node.held.push_back(e);
  return true;
}

void Simulation::after_step(Node& node) {
  if (auto broken = node.protocol->check_invariants())
    invariant_failed(broken->invariant, "node " + std::to_string(node.id) + ": " + broken->detail);
  spec_->after_step(node.id);
  if (leader_lost_at_ && spec_->leader()) {
    report_.failovers_ns.push_back(now_ - *leader_lost_at_);
    leader_lost_at_.reset();
  }
}

void Simulation::start_node(Node& node) {
  node.rng.emplace(root_.split("node").split(node.id).split(node.incarnation));
  node.protocol = spec_->make_node(node.id);
  SYNOD_ASSERT(node.protocol != nullptr);
  node.protocol->start(*node.env);
  after_step(node);
}

uint32_t Simulation::alloc_message() {
  if (!free_messages_.empty()) {
    uint32_t slot = free_messages_.back();
    free_messages_.pop_back();
    return slot;
  }
  messages_.emplace_back();
  return static_cast<uint32_t>(messages_.size() - 1);
}

void Simulation::free_message(uint32_t slot) {
  free_messages_.push_back(slot);
}

std::string Simulation::label(MessageKind kind, std::string_view payload) const {
  switch (kind) {
    case MessageKind::kClientRequest: {
      wire::ClientRequest r;
      if (!r.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) return "request?";
      return "request " + r.kv().ShortDebugString();
    }
    case MessageKind::kClientReply: {
      wire::ClientReply r;
      if (!r.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) return "reply?";
      return "reply " + r.ShortDebugString();
    }
    case MessageKind::kResponse:
      return "response " + spec_->describe(payload);
    case MessageKind::kCall:
      return "call " + spec_->describe(payload);
    case MessageKind::kPeer:
      return spec_->describe(payload);
  }
  SYNOD_UNREACHABLE();
}

void Simulation::transmit(ProcessId from, ProcessId to, MessageKind kind, CallId call,
                          Bytes payload) {
  Node* sender = is_client(from) ? nullptr : nodes_[from].get();
  if (sender == nullptr || !sender->byzantine || kind == MessageKind::kClientReply) {
    send_one(from, to, kind, call, std::move(payload));
    return;
  }
  // A byzantine sender: the nemesis controls what leaves it.
  Rng& rng = byzantine_rng_;
  switch (*sender->byzantine) {
    case ByzantineMode::kSilent:
      return;
    case ByzantineMode::kAlter:
      send_one(from, to, kind, call, spec_->alter(payload, rng));
      return;
    case ByzantineMode::kEquivocate: {
      // Someone else hears a different version of the same message.
      NodeId other = static_cast<NodeId>(rng.uniform(static_cast<uint64_t>(config_.nodes)));
      if (other != from && other != to && kind == MessageKind::kPeer)
        send_one(from, other, kind, call, spec_->alter(payload, rng));
      send_one(from, to, kind, call, std::move(payload));
      return;
    }
    case ByzantineMode::kForge: {
      // Also replay something it said before, to someone chosen at random.
      if (!sender->recent_sends.empty() && config_.nodes > 1) {
        NodeId victim = static_cast<NodeId>(rng.uniform(static_cast<uint64_t>(config_.nodes)));
        const Bytes& old = sender->recent_sends[rng.uniform(sender->recent_sends.size())];
        if (victim != from) send_one(from, victim, MessageKind::kPeer, 0, old);
      }
      if (kind == MessageKind::kPeer) {
        sender->recent_sends.push_back(payload);
        if (sender->recent_sends.size() > kForgeMemory) sender->recent_sends.pop_front();
      }
      send_one(from, to, kind, call, std::move(payload));
      return;
    }
  }
}

void Simulation::send_one(ProcessId from, ProcessId to, MessageKind kind, CallId call,
                          Bytes payload, bool once) {
  size_t fi = index(from), ti = index(to);
  uint64_t number = ++report_.messages_sent;
  uint64_t lamport = lamport_[fi].tick();
  vclock_[fi].tick(fi);
  std::string text = trace_.detailed() ? label(kind, payload) : std::string();
  trace_.record({.type = TraceEvent::Type::kSend,
                 .at = now_,
                 .process = from,
                 .peer = to,
                 .message = number,
                 .lamport = lamport,
                 .clock = &vclock_[fi],
                 .payload = payload,
                 .text = text});

  bool node_link = !is_client(from) && !is_client(to);
  const char* lost = nullptr;
  if (node_link && partition_.blocked(from, to))
    lost = "partition";
  else if (network_.lose())
    lost = "loss";
  if (lost) {
    trace_.record({.type = TraceEvent::Type::kDrop,
                   .at = now_,
                   .process = from,
                   .peer = to,
                   .message = number,
                   .text = lost});
    return;
  }
  int copies = network_.duplicate() && !once ? 2 : 1;
  for (int copy = 0; copy < copies; ++copy) {
    int64_t at = now_ + network_.delay().count();
    if (network_.fifo()) {
      int64_t& last =
          link_last_[fi * (static_cast<size_t>(config_.nodes + config_.workload.clients)) + ti];
      at = std::max(at, last);
      last = at;
    }
    uint32_t slot = alloc_message();
    Message& m = messages_[slot];
    m.from = from;
    m.to = to;
    m.kind = kind;
    m.call = call;
    m.number = number;
    m.lamport = lamport;
    m.clock = vclock_[fi];
    if (copy + 1 == copies)
      m.payload = std::move(payload);
    else
      m.payload = payload;
    push({.at = at, .kind = EventKind::kDeliver, .id = slot});
  }
}

void Simulation::deliver(const Event& e) {
  uint32_t slot = static_cast<uint32_t>(e.id);
  Message& m = messages_[slot];
  if (is_client(m.to)) {
    deliver_to_client(m);
    free_message(slot);
    return;
  }
  Node& node = *nodes_[m.to];
  const char* lost = nullptr;
  if (node.state == NodeState::kDown || node.state == NodeState::kStopped)
    lost = "node down";
  else if (!is_client(m.from) && partition_.blocked(m.from, m.to))
    lost = "partition";
  else if (hold_if_paused(node, e))
    return;
  if (lost) {
    trace_.record({.type = TraceEvent::Type::kDrop,
                   .at = now_,
                   .process = m.to,
                   .peer = m.from,
                   .message = m.number,
                   .text = lost});
    free_message(slot);
    return;
  }
  record_delivery(m);

  Env& env = *node.env;
  switch (m.kind) {
    case MessageKind::kPeer:
      node.protocol->on_message(env, Incoming{m.from, m.payload, 0});
      break;
    case MessageKind::kCall:
      node.protocol->on_message(env, Incoming{m.from, m.payload, m.call});
      break;
    case MessageKind::kResponse:
      if (node.calls.erase(m.call) == 0) break;  // too late: the caller already gave up
      node.protocol->on_response(env, m.call, m.payload);
      break;
    case MessageKind::kClientRequest: {
      wire::ClientRequest request;
      if (!request.ParseFromArray(m.payload.data(), static_cast<int>(m.payload.size()))) {
        if (trace_.detailed())
          trace(TraceEvent::Type::kNote, node.id, "malformed client request dropped");
        break;
      }
      node.protocol->on_client_request(env, m.from, request);
      break;
    }
    case MessageKind::kClientReply:
      SYNOD_UNREACHABLE();
  }
  after_step(node);
  free_message(slot);
}

// The receiver's clocks merge the sender's, and the delivery is traced.
void Simulation::record_delivery(const Message& m) {
  size_t i = index(m.to);
  uint64_t lamport = lamport_[i].receive(m.lamport);
  vclock_[i].merge(m.clock);
  vclock_[i].tick(i);
  trace_.record({.type = TraceEvent::Type::kDeliver,
                 .at = now_,
                 .process = m.to,
                 .peer = m.from,
                 .message = m.number,
                 .lamport = lamport,
                 .clock = &vclock_[i]});
  ++report_.messages_delivered;
}

void Simulation::deliver_to_client(const Message& m) {
  record_delivery(m);
  wire::ClientReply reply;
  if (!reply.ParseFromArray(m.payload.data(), static_cast<int>(m.payload.size()))) return;
  clients_[m.to - kFirstClientId].on_reply(*this, reply);
}

void Simulation::trace(TraceEvent::Type type, ProcessId process, std::string_view text) {
  trace_.record({.type = type, .at = now_, .process = process, .text = text});
}

bool Simulation::operate(NodeId id, const std::function<void(Env&)>& action) {
  Node& node = *nodes_[id];
  if (node.state != NodeState::kUp) return false;
  action(*node.env);
  after_step(node);
  return true;
}

// ---- FaultHost ------------------------------------------------------------

void Simulation::schedule_nemesis(int64_t at, uint64_t token) {
  push({.at = at, .kind = EventKind::kNemesis, .id = token});
}

bool Simulation::node_up(NodeId node) const {
  NodeState s = nodes_[node]->state;
  return s == NodeState::kUp || s == NodeState::kPaused;
}

bool Simulation::node_paused(NodeId node) const {
  return nodes_[node]->state == NodeState::kPaused;
}

void Simulation::crash(NodeId id, bool forever) {
  Node& node = *nodes_[id];
  SYNOD_ASSERT(node.state == NodeState::kUp);
  if (!leader_lost_at_ && spec_->leader() == id) {
    leader_lost_at_ = now_;
    ++report_.leader_crashes;
  }
  spec_->on_crash(id);
  node.protocol.reset();
  for (const Event& e : node.held)
    if (e.kind == EventKind::kDeliver) free_message(static_cast<uint32_t>(e.id));
  node.held.clear();
  node.timers.clear();
  node.calls.clear();
  ++node.incarnation;
  node.state = forever ? NodeState::kStopped : NodeState::kDown;
  node.disk.crash(disk_rng_, config_.disk.torn_tail);
  trace(forever ? TraceEvent::Type::kStop : TraceEvent::Type::kCrash, id, "");
  spec_->on_fault({forever ? FaultEvent::Kind::kStop : FaultEvent::Kind::kCrash, id});
}

void Simulation::restart(NodeId id) {
  Node& node = *nodes_[id];
  if (node.state != NodeState::kDown) return;
  node.state = NodeState::kUp;
  trace(TraceEvent::Type::kRestart, id, "");
  spec_->on_fault({FaultEvent::Kind::kRestart, id});
  start_node(node);
}

void Simulation::pause(NodeId id) {
  Node& node = *nodes_[id];
  SYNOD_ASSERT(node.state == NodeState::kUp);
  node.state = NodeState::kPaused;
  trace(TraceEvent::Type::kPause, id, "");
  spec_->on_fault({FaultEvent::Kind::kPause, id});
}

void Simulation::resume(NodeId id) {
  Node& node = *nodes_[id];
  if (node.state != NodeState::kPaused) return;
  node.state = NodeState::kUp;
  trace(TraceEvent::Type::kResume, id, "");
  spec_->on_fault({FaultEvent::Kind::kResume, id});
  // Everything that arrived meanwhile is handled now, in arrival order.
  std::vector<Event> held = std::move(node.held);
  node.held.clear();
  for (Event e : held) {
    e.at = now_;
    push(e);
  }
}

void Simulation::partition(const Partition& p) {
  partition_ = p;
  trace(TraceEvent::Type::kPartition, 0, p.description());
  spec_->on_fault({FaultEvent::Kind::kPartition});
}

void Simulation::heal_partition() {
  partition_ = Partition();
  trace(TraceEvent::Type::kHeal, 0, "");
  spec_->on_fault({FaultEvent::Kind::kHeal});
}

void Simulation::skew(NodeId id, double drift, Duration jump) {
  nodes_[id]->clock.change(now_, drift, jump);
  char text[96];
  std::snprintf(text, sizeof text, "drift %+.0fppm, jumped %s ahead", drift * 1e6,
                format_duration(jump).c_str());
  trace(TraceEvent::Type::kSkew, id, text);
}

void Simulation::byzantine(NodeId id, std::optional<ByzantineMode> mode) {
  nodes_[id]->byzantine = mode;
  if (!mode) nodes_[id]->recent_sends.clear();
  trace(TraceEvent::Type::kByzantine, id, mode ? byzantine_mode_name(*mode) : "honest again");
  if (mode) spec_->on_fault({FaultEvent::Kind::kByzantine, id});
}

// ---- ClientHost -----------------------------------------------------------

void Simulation::client_send(ProcessId client, NodeId to, const wire::ClientRequest& request) {
  // A request left to a member stands for a call on a client's connection
  // to it: it may be lost with the member, never arrive twice.
  bool once = request.through_member();
  send_one(client, to, MessageKind::kClientRequest, 0, request.SerializeAsString(), once);
}

void Simulation::client_timer(ProcessId client, Duration after, uint64_t seq, uint32_t send) {
  push({.at = now_ + after.count(),
        .kind = EventKind::kClientTimer,
        .target = client - kFirstClientId,
        .id = seq,
        .arg = send});
}

void Simulation::record(const check::Operation& op) {
  switch (op.outcome) {
    case check::Outcome::kOk:
      ++report_.ops_ok;
      report_.latencies_ns.push_back(op.ret - op.call);
      break;
    case check::Outcome::kFailed:
      ++report_.ops_failed;
      break;
    case check::Outcome::kUnknown:
      ++report_.ops_unknown;
      break;
  }
  history_.push_back(op);
}

}  // namespace

namespace {

absl::Status validate_for(const SimConfig& config, const ProtocolInfo* info) {
  if (info == nullptr) {
    std::string known;
    for (const auto& p : catalogue())
      known += (known.empty() ? "" : ", ") + p.name;
    return absl::InvalidArgumentError("unknown protocol '" + config.protocol +
                                      "'; known: " + known);
  }
  if (!config.bug.empty() &&
      std::find(info->bugs.begin(), info->bugs.end(), config.bug) == info->bugs.end()) {
    std::string known;
    for (const auto& b : info->bugs)
      known += (known.empty() ? "" : ", ") + b;
    return absl::InvalidArgumentError("protocol " + info->name + " has no bug '" + config.bug +
                                      "'; known: " + (known.empty() ? "(none)" : known));
  }
  if (config.nodes < kMinNodes || config.nodes > kMaxNodes)
    return absl::InvalidArgumentError("--nodes must be between " + std::to_string(kMinNodes) +
                                      " and " + std::to_string(kMaxNodes));
  if (config.workload.clients < 1 || config.workload.clients > kMaxClients)
    return absl::InvalidArgumentError("--clients must be between 1 and " +
                                      std::to_string(kMaxClients));
  if (config.workload.keys < 1) return absl::InvalidArgumentError("--keys must be at least 1");
  if (config.workload.stop_before_end.count() < 0 ||
      config.workload.stop_before_end >= config.duration)
    return absl::InvalidArgumentError("--clients-stop must be shorter than --duration");
  if (config.workload.through_member < 0 || config.workload.through_member > 1)
    return absl::InvalidArgumentError("--through-member is a share in [0, 1]");
  if (config.duration.count() <= 0)
    return absl::InvalidArgumentError("--duration must be positive");
  if (config.network.loss < 0 || config.network.loss > 1 || config.network.duplicate < 0 ||
      config.network.duplicate > 1)
    return absl::InvalidArgumentError("--loss and --duplicate are probabilities in [0, 1]");
  if (config.clock.max_drift < 0 || config.clock.max_drift >= 0.5)
    return absl::InvalidArgumentError("--clock-drift must be in [0, 0.5)");
  return absl::OkStatus();
}

}  // namespace

absl::Status validate(const SimConfig& config) {
  return validate_for(config, find_protocol(config.protocol));
}

absl::StatusOr<RunReport> run_simulation(const SimConfig& config) {
  const ProtocolInfo* info = find_protocol(config.protocol);
  if (info == nullptr) return validate_for(config, info);
  return run_simulation(config, *info);
}

absl::StatusOr<RunReport> run_simulation(const SimConfig& config, const ProtocolInfo& info) {
  if (auto status = validate_for(config, &info); !status.ok()) return status;
  SimConfig resolved = resolve_swarm(config, info);
  Simulation sim(resolved, info);
  RunReport report = sim.run();
  report.flags = config.to_flags();
  return report;
}

}  // namespace synod::sim
