#pragma once

#include <functional>
#include <map>
#include <vector>

#include "synod/paxos/observer.h"
#include "synod/sim/protocol_spec.h"

namespace synod::sim {

// The safety checks every Paxos in the simulator shares, from what each node
// tells the world (paxos::PaxosObserver):
//
//   one-value-per-slot   a majority of acceptors never accepts two values for
//                        one slot, and once a value is chosen every proposal
//                        in a higher ballot carries it (Lamport's P2b)
//   learned-only-chosen  a node learns a value only after a majority of
//                        acceptors accepted it in one ballot
//   durability           a restarted acceptor still honours every promise
//                        and acceptance it sent before it crashed, and holds
//                        as chosen only values that were chosen
class PaxosChecker final : public paxos::PaxosObserver {
 public:
  PaxosChecker(size_t nodes, SimContext& context);

  void promised(NodeId node, paxos::Ballot ballot) override;
  void accepted(NodeId node, paxos::Slot slot, paxos::Ballot ballot,
                const paxos::Value& value) override;
  void learned(NodeId node, paxos::Slot slot, const paxos::Value& value) override;

  // A restarted node, as it recovered: its promise, what it holds for a slot
  // (nullptr: nothing), and every slot it holds as chosen. Slots at or below
  // `compacted` are covered by a durable snapshot and need not be held.
  using Held = std::function<const paxos::SlotState*(paxos::Slot)>;
  void check_restarted(NodeId node, paxos::Ballot promised, paxos::Slot compacted, const Held& held,
                       const std::vector<const paxos::SlotState*>& chosen);

  // The value chosen for a slot (by digest), if one was.
  std::optional<uint64_t> chosen(paxos::Slot slot) const;
  static uint64_t digest(const paxos::Value& value);

 private:
  struct Sent {
    paxos::Ballot promised;
    std::map<paxos::Slot, paxos::Ballot> acked;
  };
  struct Votes {
    uint64_t digest = 0;
    uint64_t nodes = 0;  // a bit per node
  };
  struct Chosen {
    uint64_t digest;
    paxos::Ballot ballot;  // the lowest it was chosen in
  };

  SimContext& context_;
  uint64_t majority_;
  std::vector<Sent> sent_;  // per node, over every incarnation
  std::map<std::pair<paxos::Slot, paxos::Ballot>, Votes> votes_;
  std::map<paxos::Slot, Chosen> chosen_;
};

}  // namespace synod::sim
