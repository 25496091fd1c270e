#pragma once

#include "synod/paxos/ballot.h"

namespace synod::paxos {

// Told what a node promised, accepted and learned, at the moment it tells
// the world (a reply leaves only once durable): how the simulator checks
// that at most one value is chosen per slot and that nodes learn only chosen
// values. Must not call back into the node.
class PaxosObserver {
 public:
  virtual ~PaxosObserver() = default;
  virtual void promised(NodeId node, Ballot ballot) = 0;
  virtual void accepted(NodeId node, Slot slot, Ballot ballot, const Value& value) = 0;
  virtual void learned(NodeId node, Slot slot, const Value& value) = 0;
};

}  // namespace synod::paxos
