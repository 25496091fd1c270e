#pragma once

#include <map>
#include <optional>
#include <set>
#include <vector>

#include "synod/base/rng.h"
#include "synod/sim/config.h"
#include "synod/sim/network.h"

namespace synod::sim {

// What the nemesis may do to the cluster: the simulator implements it.
class FaultHost {
 public:
  virtual ~FaultHost() = default;
  virtual int64_t now_ns() const = 0;
  // Calls Nemesis::fire(token) at virtual time `at`.
  virtual void schedule_nemesis(int64_t at, uint64_t token) = 0;
  virtual bool node_up(NodeId node) const = 0;  // not crashed or stopped
  virtual bool node_paused(NodeId node) const = 0;
  virtual void crash(NodeId node, bool forever) = 0;
  virtual void restart(NodeId node) = 0;
  virtual void pause(NodeId node) = 0;
  virtual void resume(NodeId node) = 0;
  virtual void partition(const Partition& partition) = 0;
  virtual void heal_partition() = 0;
  virtual void skew(NodeId node, double drift, Duration jump) = 0;
  virtual void byzantine(NodeId node, std::optional<ByzantineMode> mode) = 0;
  // The node the protocol's spec says leads now, if any (for leader-aimed faults).
  virtual std::optional<NodeId> leader() const = 0;
  // An operator action (membership, transfer) for the protocol's spec to
  // carry out; `choice` is a random number for its choices. False: nothing
  // to do now.
  virtual bool operator_action(FaultKind kind, uint64_t choice) = 0;
};

// Injects the configured faults over a run and heals each after a while.
// Each fault kind runs its own schedule (so kinds overlap), within limits that
// keep a majority of nodes able to recover; all faults stop `quiet` before the
// end and everything heals, so the run ends with a fault-free window.
class Nemesis {
 public:
  Nemesis(FaultHost& host, const NemesisConfig& config, const ClockConfig& clock, int nodes,
          int64_t quiet_from_ns, Rng rng);

  void start();
  void fire(uint64_t token);

 private:
  enum class Action { kInject, kHeal, kQuiet, kScripted };
  struct Pending {
    Action action;
    FaultKind kind;
    NodeId node = 0;
    size_t step = 0;  // kScripted: index into config_.script
  };

  void schedule(int64_t at, Pending pending);
  void schedule_next_injection(FaultKind kind);
  bool inject(FaultKind kind);  // false when the cluster's state rules it out now
  void heal(const Pending& pending);
  void heal_everything();
  void run_script_step(const ScriptedFault& step);
  std::optional<NodeId> pick(bool (Nemesis::*eligible)(NodeId) const);
  // The leader if it is eligible, else any eligible node.
  std::optional<NodeId> pick_leader(bool (Nemesis::*eligible)(NodeId) const);
  int max_down() const;  // crashed at once, at most
  bool can_crash(NodeId node) const;
  bool can_pause(NodeId node) const;
  bool can_turn(NodeId node) const;
  bool any_node(NodeId node) const { return node < static_cast<NodeId>(nodes_); }
  Duration fault_length();

  FaultHost& host_;
  NemesisConfig config_;
  ClockConfig clock_;
  int nodes_;
  int64_t quiet_from_;
  Rng rng_;
  bool quiet_ = false;

  std::map<uint64_t, Pending> pending_;  // token -> action
  uint64_t next_token_ = 1;
  bool partitioned_ = false;
  std::set<NodeId> crashed_, stopped_, paused_, byzantine_;
};

// Nodes down at once (crashed or stopped), and nodes stopped over a run: a
// majority must be able to come back.
int max_nodes_down(int nodes);
// Byzantine nodes at once: f of n >= 3f + 1.
int max_byzantine(int nodes);

}  // namespace synod::sim
