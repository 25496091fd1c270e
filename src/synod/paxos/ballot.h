#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "synod/base/types.h"
#include "synod/wire/paxos.pb.h"

namespace synod::paxos {

using Slot = uint64_t;
using Value = wire::PaxosValue;
using SlotState = wire::PaxosSlot;

// A ballot (a "proposal number"): ordered by round, then by node, so two
// proposers never share one. Ballot {0, 0} is below every real ballot.
struct Ballot {
  uint64_t round = 0;
  NodeId node = 0;

  auto operator<=>(const Ballot&) const = default;
  bool is_zero() const { return round == 0 && node == 0; }
  std::string to_string() const { return std::to_string(round) + "." + std::to_string(node); }

  static Ballot of(const wire::PaxosBallot& b) { return {b.round(), b.node()}; }
  wire::PaxosBallot to_wire() const {
    wire::PaxosBallot b;
    b.set_round(round);
    b.set_node(node);
    return b;
  }
};

inline Ballot ballot_of(const SlotState& s) {
  return Ballot::of(s.ballot());
}

// The heart of phase 1 (Lamport's P2c): of the values a majority of acceptors
// report for one slot, a proposer must propose one chosen before if any was,
// so it takes the one accepted in the highest ballot; nullopt means nothing
// was accepted and it is free to propose anything. A report marked chosen
// wins outright (its node learned it).
inline const SlotState* value_to_propose(std::span<const SlotState* const> reports) {
  const SlotState* best = nullptr;
  for (const SlotState* r : reports) {
    if (r->chosen()) return r;
    if (!best || ballot_of(*r) > ballot_of(*best)) best = r;
  }
  return best;
}

inline uint64_t majority(size_t nodes) {
  return nodes / 2 + 1;
}

}  // namespace synod::paxos
