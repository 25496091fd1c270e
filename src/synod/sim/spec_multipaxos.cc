// How the simulator runs Multi-Paxos (src/synod/paxos) replicating the
// key-value store, and what it checks: the checks of every Paxos
// (sim/paxos_checker.h: one-value-per-slot, learned-only-chosen, durability)
// and
//
//   one-leader-per-ballot no node leads a ballot twice (across restarts)
//   state-machine-safety  replicas apply the same commands at each slot
//                         (compared by digest chain)

#include <map>
#include <set>
#include <vector>

#include "synod/kv/kv_state_machine.h"
#include "synod/paxos/multi_paxos.h"
#include "synod/protocol/message.h"
#include "synod/replication/replica_message.h"
#include "synod/replication/replica_node.h"
#include "synod/sim/paxos_checker.h"
#include "synod/sim/replica_agreement.h"
#include "synod/sim/replicas.h"
#include "synod/sim/report.h"
#include "synod/sim/specs.h"

namespace synod::sim {
namespace {

using paxos::Ballot;
using paxos::Slot;

// Timing as for Raft (a 10 ms tick, heartbeats every 20 to 50 ms), and each
// seed picks its own limits and failure detector: phi thresholds from eager
// (3, about 1 mistake in 1,000) to Akka's default (8). With fixed options:
// the engine's defaults (phi 8), heartbeats every 50 ms, Raft's election
// timing.
paxos::MultiPaxosOptions engine_options(const SimConfig& config) {
  paxos::MultiPaxosOptions o;
  o.tick = std::chrono::milliseconds(10);
  o.heartbeat_ticks = 5;
  o.election_ticks = 30;
  o.snapshot_every = 1000;
  o.snapshot_keep = 250;
  if (!config.fixed_options) {
    Rng rng = Rng(config.seed).split("multipaxos-options");
    auto pick = [&rng](std::initializer_list<uint64_t> choices) {
      return *(choices.begin() + rng.uniform(choices.size()));
    };
    o.heartbeat_ticks = static_cast<int>(pick({2, 5}));
    o.election_ticks = static_cast<int>(pick({20, 30, 50}));
    o.detector.threshold = static_cast<double>(pick({3, 8}));
    o.detector.min_std_deviation = std::chrono::milliseconds(pick({20, 100}));
    o.max_batch = pick({1, 4, 64, 1024});
    o.max_inflight = pick({1, 4, 64, 4096});
    o.snapshot_every = pick({50, 200, 1000});
    o.snapshot_keep = o.snapshot_every / 4;
    o.batch = rng.chance(0.8);
  }
  o.bugs.ignore_promised_values = config.bug == "ignore-promised-values";
  o.bugs.forget_promises = config.bug == "forget-promises";
  return o;
}

std::string describe_options(const paxos::MultiPaxosOptions& o) {
  return "multipaxos heartbeat " + std::to_string(o.heartbeat_ticks) + " ticks, election " +
         std::to_string(o.election_ticks) + " ticks, phi " +
         std::to_string(static_cast<int>(o.detector.threshold)) +
         " (std >= " + std::to_string(o.detector.min_std_deviation.count() / 1'000'000) + "ms), " +
         std::to_string(o.max_batch) + " slots per accept, " + std::to_string(o.max_inflight) +
         " in flight, snapshot every " + std::to_string(o.snapshot_every) + ", batching " +
         (o.batch ? "on" : "off");
}

class MultiPaxosSpec final : public ProtocolSpec {
 public:
  MultiPaxosSpec(const SimConfig& config, SimContext& context)
      : options_(engine_options(config)),
        context_(context),
        nodes_(static_cast<size_t>(config.nodes)),
        checker_(nodes_.size(), context),
        agreement_(context),
        drain_(config, context) {
    replica_options_ = replica_options(config);
    options_.observer = &checker_;
  }

  std::unique_ptr<Protocol> make_node(NodeId id) override {
    auto engine = std::make_unique<paxos::MultiPaxosEngine>(options_);
    NodeState& node = nodes_[id];
    node.engine = engine.get();
    ++node.incarnation;
    auto replica = std::make_unique<replication::ReplicaNode>(
        std::move(engine), std::make_unique<KvStateMachine>(), replica_options_, &agreement_);
    drain_.started(id, replica.get());
    return replica;
  }

  void on_crash(NodeId id) override {
    drain_.crashed(id);
    NodeState& node = nodes_[id];
    if (node.engine && node.engine->started()) snapshots_ += node.engine->snapshots_taken();
    node.engine = nullptr;
    node.restarted = true;
  }

  void after_step(NodeId id) override {
    NodeState& node = nodes_[id];
    if (!node.engine || !node.engine->started()) return;
    const paxos::MultiPaxosEngine& engine = *node.engine;
    if (node.restarted) {
      node.restarted = false;
      std::vector<const paxos::SlotState*> chosen;
      for (const auto& [s, state] : engine.slots())
        if (state.chosen()) chosen.push_back(&state);
      checker_.check_restarted(
          id, engine.promised(), engine.snapshot_slot(),
          [&engine](Slot s) { return engine.slot(s); }, chosen);
    }
    if (engine.role() == paxos::MultiPaxosEngine::Role::kLeader) {
      Ballot b = engine.ballot();
      auto [it, fresh] = leaders_.emplace(b, node.incarnation);
      if (!fresh && it->second != node.incarnation)
        fail("one-leader-per-ballot", "node " + std::to_string(id) + " leads ballot " +
                                          b.to_string() + " again after a restart");
    }
    max_chosen_ = std::max(max_chosen_, engine.chosen_upto());
  }

  // The leader of the highest ballot among the nodes that are up.
  std::optional<NodeId> leader() const override {
    std::optional<NodeId> best;
    Ballot best_ballot;
    for (NodeId id = 0; id < nodes_.size(); ++id) {
      const paxos::MultiPaxosEngine* e = nodes_[id].engine;
      if (!e || !e->started() || e->role() != paxos::MultiPaxosEngine::Role::kLeader) continue;
      if (!best || e->ballot() > best_ballot) {
        best = id;
        best_ballot = e->ballot();
      }
    }
    return best;
  }

  std::string describe(std::string_view payload) const override {
    if (replication::is_replica_message(payload))
      return replication::describe_replica_message(payload);
    auto m = parse_message<wire::PaxosMessage>(payload);
    if (!m) return "malformed";
    std::string b = " b" + Ballot::of(m->ballot()).to_string();
    auto range = [](const auto& slots, auto slot_of) {
      if (slots.empty()) return std::string("[]");
      return "[" + std::to_string(slot_of(slots[0])) + ".." +
             std::to_string(slot_of(slots[slots.size() - 1])) + "]";
    };
    auto state_slot = [](const wire::PaxosSlot& s) { return s.slot(); };
    switch (m->body_case()) {
      case wire::PaxosMessage::kPrepare:
        return "prepare" + b + " from " + std::to_string(m->prepare().from_slot());
      case wire::PaxosMessage::kPromise:
        return "promise" + b + " " + range(m->promise().slots(), state_slot);
      case wire::PaxosMessage::kAccept:
        return "accept" + b + " " + range(m->accept().proposals(), state_slot) + " commit " +
               std::to_string(m->accept().commit());
      case wire::PaxosMessage::kAccepted:
        return "accepted" + b + " " + range(m->accepted().slots(), [](Slot s) { return s; });
      case wire::PaxosMessage::kReject:
        return "reject, promised" + b;
      case wire::PaxosMessage::kHeartbeat:
        return "heartbeat" + b + " commit " + std::to_string(m->heartbeat().commit());
      case wire::PaxosMessage::kHeartbeatReply:
        return "heartbeat ok" + b;
      case wire::PaxosMessage::kCatchUp:
        return "catch-up from " + std::to_string(m->catch_up().from_slot());
      case wire::PaxosMessage::kChosen:
        return "chosen " + range(m->chosen().slots(), state_slot);
      case wire::PaxosMessage::kSnapshot:
        return "snapshot at " + std::to_string(m->snapshot().slot());
      case wire::PaxosMessage::BODY_NOT_SET:
        break;
    }
    return "empty";
  }

  void finish(RunReport& report) override {
    drain_.finish();
    uint64_t snapshots = snapshots_;
    for (const NodeState& node : nodes_)
      if (node.engine && node.engine->started()) snapshots += node.engine->snapshots_taken();
    report.fields.emplace_back("leaders", std::to_string(leaders_.size()));
    report.fields.emplace_back("chosen", std::to_string(max_chosen_));
    report.fields.emplace_back("snapshots", std::to_string(snapshots));
    report.faults += "; " + describe_options(options_);
  }

 private:
  struct NodeState {
    paxos::MultiPaxosEngine* engine = nullptr;
    uint64_t incarnation = 0;
    bool restarted = false;
  };

  void fail(std::string_view invariant, std::string detail) {
    context_.invariant_failed(invariant, std::move(detail));
  }

  paxos::MultiPaxosOptions options_;
  replication::ReplicaOptions replica_options_;
  SimContext& context_;
  std::vector<NodeState> nodes_;
  PaxosChecker checker_;
  std::map<Ballot, uint64_t> leaders_;  // ballot -> the incarnation that led it
  ReplicaAgreement agreement_;
  ReplicaDrain drain_;
  Slot max_chosen_ = 0;
  uint64_t snapshots_ = 0;
};

}  // namespace

ProtocolInfo multipaxos_protocol() {
  return {
      .name = "multipaxos",
      .summary =
          "Multi-Paxos replicating the key-value store: a stable leader chosen by phi "
          "accrual and randomized backoff, batched and pipelined slots, catch-up, "
          "snapshots, reads confirmed by a majority round, client sessions",
      .bugs = {"ignore-promised-values", "forget-promises", "apply-twice", "retry-under-new-number", "requests-wait-forever"},
      .member_requests = true,
      .check_liveness = true,
      .make = [](const SimConfig& c,
                 SimContext& context) { return std::make_unique<MultiPaxosSpec>(c, context); },
  };
}

}  // namespace synod::sim
