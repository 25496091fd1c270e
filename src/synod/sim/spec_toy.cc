// How the simulator runs the two toy protocols (src/synod/toy).

#include "synod/protocol/message.h"
#include "synod/sim/report.h"
#include "synod/sim/specs.h"
#include "synod/toy/naive_primary_backup.h"
#include "synod/toy/register.h"
#include "synod/wire/toy.pb.h"

namespace synod::sim {
namespace {

class RegisterSpec final : public ProtocolSpec {
 public:
  explicit RegisterSpec(const SimConfig& config) {
    options_.ack_before_sync = config.bug == "ack-before-sync";
  }
  std::unique_ptr<Protocol> make_node(NodeId) override {
    return std::make_unique<toy::RegisterNode>(options_);
  }
  std::optional<NodeId> leader() const override { return toy::RegisterNode::kServer; }
  void on_fault(const FaultEvent& fault) override {
    if (fault.kind == FaultEvent::Kind::kStop && fault.node == toy::RegisterNode::kServer)
      server_stopped_ = true;
  }
  void finish(RunReport& report) override {
    if (server_stopped_ && report.liveness) {
      report.liveness.reset();  // nothing can serve once the only server is gone for good
      report.liveness_detail = "not expected: node 0, the only server, stopped for good";
    }
  }

 private:
  toy::RegisterOptions options_;
  bool server_stopped_ = false;
};

class NaivePrimaryBackupSpec final : public ProtocolSpec {
 public:
  std::unique_ptr<Protocol> make_node(NodeId) override {
    return std::make_unique<toy::NaivePrimaryBackupNode>();
  }
  std::string describe(std::string_view payload) const override {
    auto message = parse_message<wire::NaiveMessage>(payload);
    if (!message) return "malformed";
    return "replicate #" + std::to_string(message->replicate().index()) + " " +
           message->replicate().op().key();
  }
};

}  // namespace

ProtocolInfo register_protocol() {
  return {
      .name = "register",
      .summary = "single-node register: node 0 serves every key and syncs before replying",
      .bugs = {"ack-before-sync"},
      .check_liveness = true,
      .make = [](const SimConfig& c, SimContext&) { return std::make_unique<RegisterSpec>(c); },
  };
}

ProtocolInfo naive_primary_backup_protocol() {
  return {
      .name = "naive-primary-backup",
      .summary =
          "asynchronous primary-backup: acks before replicating, reads from any replica "
          "(not linearizable, on purpose)",
      .spread_reads = true,
      .make = [](const SimConfig&,
                 SimContext&) { return std::make_unique<NaivePrimaryBackupSpec>(); },
  };
}

}  // namespace synod::sim
