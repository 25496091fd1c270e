#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "synod/base/types.h"

namespace synod::sim {

// How long a message takes, from a configurable distribution.
struct DelayModel {
  enum class Kind { kFixed, kUniform, kExponential };
  Kind kind = Kind::kUniform;
  Duration low = std::chrono::microseconds(500);  // fixed: the delay; exponential: the floor
  Duration high = std::chrono::milliseconds(5);   // uniform: upper bound; exponential: floor + mean

  // "fixed:1ms", "uniform:1ms,10ms", "exp:1ms,5ms" (floor, mean above the floor).
  static absl::StatusOr<DelayModel> parse(std::string_view text);
  std::string to_string() const;
};

struct NetworkConfig {
  // The textbook's three models.
  //   reliable:  every message arrives once, in order per link.
  //   fair-loss: messages may be lost independently; the rest arrive in order.
  //   arbitrary: loss, duplication and reordering.
  enum class Model { kReliable, kFairLoss, kArbitrary };
  Model model = Model::kReliable;
  DelayModel delay;
  double loss = 0.05;        // fair-loss and arbitrary
  double duplicate = 0.02;   // arbitrary
  bool model_given = false;  // named on the command line (swarm leaves it alone)

  static std::optional<Model> parse_model(std::string_view name);
  static std::string_view model_name(Model model);
};

// Faults the nemesis can inject, each healed after a while.
enum class FaultKind {
  kPartition,           // a shape chosen at random each time from the four below
  kPartitionSymmetric,  // two halves cannot talk
  kPartitionOneWay,     // one group's messages to the other are lost, not the reverse
  kPartitionMajority,   // a random minority is cut off from the majority
  kPartitionBridge,     // two sides that only one bridge node sees both of
  kCrash,               // crash-recovery: the node restarts from its synced disk
  kCrashStop,           // the node stops for good (at most a minority over a run)
  kPause,               // the process stops, then resumes as if nothing happened
  kSkew,                // a node's clock drift changes and its clock jumps ahead
  kByzantine,           // a node's outgoing messages are dropped, altered, equivocated, forged
  // Aimed at the current leader (as the protocol's spec names it; any node
  // when there is none), the way Jepsen's nemeses kill or isolate a primary:
  kCrashLeader,      // crash-recovery of the leader
  kPauseLeader,      // the leader stops, then resumes
  kPartitionLeader,  // the leader is cut off from everyone else
  // Operator actions, carried out by the protocol's spec (if it has them):
  kMembership,  // a voter removed, a removed node back as a learner, a learner promoted
  kTransfer,    // leadership handed to another voter
};
inline constexpr FaultKind kAllFaultKinds[] = {
    FaultKind::kPartition,
    FaultKind::kPartitionSymmetric,
    FaultKind::kPartitionOneWay,
    FaultKind::kPartitionMajority,
    FaultKind::kPartitionBridge,
    FaultKind::kCrash,
    FaultKind::kCrashStop,
    FaultKind::kPause,
    FaultKind::kSkew,
    FaultKind::kByzantine,
    FaultKind::kCrashLeader,
    FaultKind::kPauseLeader,
    FaultKind::kPartitionLeader,
    FaultKind::kMembership,
    FaultKind::kTransfer,
};
std::string_view fault_name(FaultKind kind);
std::optional<FaultKind> parse_fault(std::string_view name);

// How a byzantine node misbehaves while the nemesis holds it.
enum class ByzantineMode {
  kSilent,      // drops everything it sends
  kAlter,       // changes what it sends
  kEquivocate,  // sends one thing to a recipient and something else to another
  kForge,       // also sends messages it never meant to (replays)
};
std::string_view byzantine_mode_name(ByzantineMode mode);

// One step of a scripted fault schedule: an exact fault at an exact time, for
// scenario tests ("partition node 0 away at 2s") and reproductions. Steps that
// do not apply (restarting a node that is up) do nothing. Scripts are best
// used without random faults, which keep their own books.
struct ScriptedFault {
  enum class Action {
    kCrash,
    kStop,
    kRestart,
    kPause,
    kResume,
    kPartition,
    kHeal,
    kSkew,
    kByzantine,
    kHonest
  };
  Duration at{0};
  Action action = Action::kCrash;
  NodeId node = 0;
  std::vector<NodeId> side;  // partition: these nodes vs the rest, both ways
  double drift = 0;          // skew: the new drift
  Duration jump{0};          // skew: how far the clock jumps ahead
  ByzantineMode mode = ByzantineMode::kSilent;
};

struct NemesisConfig {
  std::vector<FaultKind> faults;                     // none: a fault-free run
  bool swarm = false;                                // the seed picks faults and rates
  Duration mean_interval = std::chrono::seconds(3);  // between two faults of one kind
  Duration min_fault = std::chrono::milliseconds(500);
  Duration max_fault = std::chrono::seconds(5);
  // At most this many nodes crashed at once; 0 means a minority of all the
  // nodes. A lower bound keeps a fault inside a protocol's own quorum group
  // when the cluster holds more than that group (2PC's three coordinator
  // replicas among five nodes lose their majority to two crashes).
  int max_down = 0;
  // Faults stop this long before the end and everything heals, so a run ends
  // with a window in which progress must resume.
  Duration quiet = std::chrono::seconds(10);
  std::vector<ScriptedFault> script;  // exact faults, on top of the random ones

  // "none", "swarm", or a comma-separated list of fault names.
  static absl::StatusOr<NemesisConfig> parse(std::string_view text);
  std::string to_string() const;
};

struct ClockConfig {
  Duration max_offset = std::chrono::milliseconds(0);  // initial offset per node, within +-
  double max_drift = 0;  // rate error per node, within +- (1e-4 = 100 ppm)

  // The worst a skew fault does to one clock: the drift it sets, within +-,
  // and how far it jumps the clock ahead, at most.
  double skew_drift() const { return max_drift > 0 ? max_drift : 1e-3; }
  Duration skew_jump() const {
    return max_offset.count() > 0 ? max_offset : std::chrono::milliseconds(100);
  }
};

struct DiskConfig {
  Duration min_sync = std::chrono::microseconds(200);
  Duration max_sync = std::chrono::milliseconds(2);
  // On a crash, the chance that a file's unsynced tail partly survives
  // (a prefix of it, possibly ending mid-record: a torn write).
  double torn_tail = 0.5;
};

struct WorkloadConfig {
  int clients = 3;
  int keys = 3;
  Duration timeout = std::chrono::milliseconds(500);  // per attempt
  int attempts = 3;                                   // then the outcome is unknown
  Duration think = std::chrono::milliseconds(10);     // mean pause between a client's ops
  // The share of clients that leave each request to one member, as etcd's
  // clients do with synod serve (where the protocol takes such requests):
  // the path the real server's requests take, retries and all.
  double through_member = 0.5;
  // Clients begin no operation in the last this much of a run, so the
  // members' queues can be seen to drain (0: they work to the end).
  Duration stop_before_end{0};
};

struct SimConfig {
  std::string protocol;
  uint64_t seed = 1;
  int nodes = 5;
  Duration duration = std::chrono::seconds(60);
  std::string bug;  // empty: none
  // Protocols run with fixed, stated settings instead of each seed picking
  // its own limits and timings (swarm testing of the protocol's knobs): what
  // comparisons between protocols want.
  bool fixed_options = false;
  NetworkConfig network;
  NemesisConfig nemesis;
  ClockConfig clock;
  DiskConfig disk;
  WorkloadConfig workload;

  // Outputs (do not change the run).
  std::string trace_path;
  std::string diagram_path;
  std::string history_path;

  // The flags that make `synod sim run` repeat this run exactly.
  std::string to_flags() const;
};

// Smallest and largest cluster the simulator accepts.
inline constexpr int kMinNodes = 1;
inline constexpr int kMaxNodes = 64;
inline constexpr int kMaxClients = 256;

}  // namespace synod::sim
