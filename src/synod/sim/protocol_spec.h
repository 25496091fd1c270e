#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "synod/base/rng.h"
#include "synod/protocol/protocol.h"
#include "synod/sim/config.h"

namespace synod::sim {

struct RunReport;

// What a protocol's spec may see of, and say to, the running simulation.
class SimContext {
 public:
  virtual ~SimContext() = default;
  virtual int64_t now_ns() const = 0;  // virtual time
  // A safety invariant broke. The run fails; the first failures are reported.
  virtual void invariant_failed(std::string_view invariant, std::string detail) = 0;
  // Runs an operator action on `node` with its Env (then the usual checks);
  // false when the node is down or paused.
  virtual bool operate(NodeId node, const std::function<void(Env&)>& action) = 0;
};

// Something the nemesis did, as a spec may want to know (a failure detector's
// spec tells true crashes from false suspicions with it).
struct FaultEvent {
  enum class Kind { kCrash, kStop, kRestart, kPause, kResume, kPartition, kHeal, kByzantine };
  Kind kind;
  NodeId node = 0;  // unused for partition and heal
};

// How the simulator runs one protocol: the object each node runs, and what
// must hold while it runs. One spec object lives for one run.
class ProtocolSpec {
 public:
  virtual ~ProtocolSpec() = default;

  // A fresh protocol object for `node`: at the start and after each restart.
  virtual std::unique_ptr<Protocol> make_node(NodeId node) = 0;
  // The object made for `node` is about to be destroyed (crash or stop).
  virtual void on_crash(NodeId) {}
  virtual void on_fault(const FaultEvent&) {}
  // Called after every input a node handled: continuous invariant checks.
  virtual void after_step(NodeId) {}
  // The node that leads now, if the protocol has such a thing: leader-aimed
  // faults (crash-leader, pause-leader, partition-leader) go for it.
  virtual std::optional<NodeId> leader() const { return std::nullopt; }
  // The nemesis asks for an operator action (FaultKind::kMembership or
  // kTransfer); `choice` is random. False: the protocol has none, or none
  // makes sense now.
  virtual bool operator_action(FaultKind, uint64_t) { return false; }
  // A short label for a message in traces and diagrams.
  virtual std::string describe(std::string_view payload) const;
  // Byzantine "alter": change a message the way a malicious node might. The
  // default flips a few random bytes.
  virtual Bytes alter(std::string_view payload, Rng& rng) const;
  // End of run: final checks, and fields for the summary line.
  virtual void finish(RunReport&) {}
};

struct ProtocolInfo {
  std::string name;
  std::string summary;
  std::vector<std::string> bugs;  // names accepted by --bug
  bool serves_clients = true;
  bool spread_reads = false;      // clients send reads to any node, not the leader
  bool byzantine_faults = false;  // swarm may pick byzantine faults
  // Takes requests left to a member (ClientRequest::through_member): some
  // clients then behave as the real server's (WorkloadConfig::through_member).
  bool member_requests = false;
  // Progress must resume once faults heal (unless the only server stopped).
  bool check_liveness = false;
  std::function<std::unique_ptr<ProtocolSpec>(const SimConfig&, SimContext&)> make;
};

// Every protocol the simulator can run, sorted by name.
const std::vector<ProtocolInfo>& catalogue();
const ProtocolInfo* find_protocol(std::string_view name);

}  // namespace synod::sim
