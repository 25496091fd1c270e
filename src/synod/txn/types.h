#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "synod/base/types.h"
#include "synod/wire/txn.pb.h"

namespace synod::txn {

using TxnId = uint64_t;  // the coordinator's epoch in the high 32 bits, a sequence below

inline constexpr NodeId kCoordinator = 0;
inline constexpr int64_t kInitialBalance = 100;

// A message about transaction `txn`, its body still to be set.
inline wire::TxnMessage message(TxnId txn) {
  wire::TxnMessage m;
  m.set_txn(txn);
  return m;
}

// Participant p (from 1) holds accounts "p.0" .. "p.<n-1>".
inline std::string account_name(NodeId participant, int index) {
  return std::to_string(participant) + "." + std::to_string(index);
}

// Told what each node decides and does, as it does it (votes and decisions
// when made: they leave once durable): how the simulator checks atomicity.
class TxnObserver {
 public:
  virtual ~TxnObserver() = default;
  virtual void voted(NodeId participant, TxnId txn, bool commit) = 0;
  virtual void decided(TxnId txn, bool commit, const std::vector<NodeId>& participants) = 0;
  // A participant applied (commit) or undid (abort) its part.
  virtual void applied(NodeId participant, TxnId txn, bool commit) = 0;
  // A prepared participant learned the outcome after `waited` in doubt.
  virtual void unblocked(NodeId participant, TxnId txn, Duration waited) = 0;
};

struct TxnOptions {
  int accounts_per_participant = 4;
  // Coordinator: a new transfer every `interval`, at most `max_in_flight` at once.
  Duration interval = std::chrono::milliseconds(20);
  int max_in_flight = 8;
  // Coordinator: votes not all in after this: abort. Both: decisions and
  // queries unanswered after this are sent again.
  Duration timeout = std::chrono::milliseconds(300);
  Duration tick = std::chrono::milliseconds(10);
  // Participants in doubt also ask each other (cooperative termination).
  bool cooperative = true;
  // Where participants ask when in doubt: the coordinator, or every replica
  // of a replicated one.
  std::vector<NodeId> coordinators = {kCoordinator};
  TxnObserver* observer = nullptr;
  struct Bugs {
    bool commit_before_persist = false;  // coordinator sends commit before its decision is durable
    bool vote_without_persist = false;   // participant votes commit before its prepared record is
    bool commit_on_timeout = false;      // coordinator commits when votes are late, not aborts
    bool no_retry = false;               // decisions and queries are never sent again
  } bugs;
};

}  // namespace synod::txn
