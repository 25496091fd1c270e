// How the simulator runs single-decree Paxos (src/synod/paxos/single_decree.h):
// every node proposes its own value and all must agree on one. Checked: the
// checks of every Paxos (sim/paxos_checker.h: one-value-per-slot,
// learned-only-chosen, durability), and at the end
//
//   termination  every node that is up has learned the decision (faults
//                have healed for the run's quiet window by then)

#include "synod/paxos/single_decree.h"
#include "synod/protocol/message.h"
#include "synod/sim/paxos_checker.h"
#include "synod/sim/report.h"
#include "synod/sim/specs.h"

namespace synod::sim {
namespace {

using paxos::SingleDecreeNode;

paxos::Value proposal_of(NodeId node) {
  paxos::Value v;
  v.set_command("value of node " + std::to_string(node));
  return v;
}

class PaxosSpec final : public ProtocolSpec {
 public:
  PaxosSpec(const SimConfig& config, SimContext& context)
      : context_(context),
        nodes_(static_cast<size_t>(config.nodes)),
        checker_(nodes_.size(), context) {
    options_.observer = &checker_;
    options_.bugs.ignore_promised_values = config.bug == "ignore-promised-values";
    options_.bugs.forget_promises = config.bug == "forget-promises";
  }

  std::unique_ptr<Protocol> make_node(NodeId id) override {
    auto node = std::make_unique<SingleDecreeNode>(options_, proposal_of(id));
    nodes_[id].node = node.get();
    return node;
  }

  void on_crash(NodeId id) override {
    NodeState& n = nodes_[id];
    if (n.node) attempts_ += n.node->attempts();
    n.node = nullptr;
    n.restarted = true;
  }

  void after_step(NodeId id) override {
    NodeState& n = nodes_[id];
    if (!n.node || !n.node->started() || !n.restarted) return;
    n.restarted = false;
    const SingleDecreeNode& node = *n.node;
    std::vector<const paxos::SlotState*> chosen;
    if (node.accepted() && node.accepted()->chosen()) chosen.push_back(node.accepted());
    checker_.check_restarted(
        id, node.promised(), 0,
        [&node](paxos::Slot s) { return s == SingleDecreeNode::kSlot ? node.accepted() : nullptr; },
        chosen);
  }

  std::string describe(std::string_view payload) const override {
    auto m = parse_message<wire::PaxosMessage>(payload);
    if (!m) return "malformed";
    std::string b = " b" + paxos::Ballot::of(m->ballot()).to_string();
    switch (m->body_case()) {
      case wire::PaxosMessage::kPrepare:
        return "prepare" + b;
      case wire::PaxosMessage::kPromise:
        return "promise" + b + (m->promise().slots().empty() ? "" : " (accepted before)");
      case wire::PaxosMessage::kAccept:
        return "accept" + b;
      case wire::PaxosMessage::kAccepted:
        return "accepted" + b;
      case wire::PaxosMessage::kReject:
        return "reject, promised" + b;
      case wire::PaxosMessage::kChosen:
        return "decided";
      default:
        return message_label(*m);
    }
  }

  void finish(RunReport& report) override {
    size_t decided = 0, up = 0;
    for (NodeId id = 0; id < nodes_.size(); ++id) {
      const SingleDecreeNode* node = nodes_[id].node;
      if (!node || !node->started()) continue;  // stopped for good
      attempts_ += node->attempts();
      ++up;
      if (!node->decided()) {
        context_.invariant_failed("termination",
                                  "node " + std::to_string(id) + " never learned the decision");
        continue;
      }
      ++decided;
    }
    report.fields.emplace_back("decided", std::to_string(decided) + "/" + std::to_string(up));
    report.fields.emplace_back("attempts", std::to_string(attempts_));
  }

 private:
  struct NodeState {
    SingleDecreeNode* node = nullptr;
    bool restarted = false;
  };

  paxos::SingleDecreeOptions options_;
  SimContext& context_;
  std::vector<NodeState> nodes_;
  PaxosChecker checker_;
  uint64_t attempts_ = 0;
};

}  // namespace

ProtocolInfo paxos_protocol() {
  return {
      .name = "paxos",
      .summary =
          "single-decree Paxos (the Synod protocol): every node proposes its own value "
          "and all agree on one; duelling proposers back off at random",
      .bugs = {"ignore-promised-values", "forget-promises"},
      .serves_clients = false,
      .make = [](const SimConfig& c,
                 SimContext& context) { return std::make_unique<PaxosSpec>(c, context); },
  };
}

}  // namespace synod::sim
