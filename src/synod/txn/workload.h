#pragma once

#include <map>
#include <optional>
#include <vector>

#include "synod/base/rng.h"
#include "synod/protocol/protocol.h"
#include "synod/txn/types.h"

namespace synod::txn {

// One transfer: a random amount from an account on one participant to an
// account on another, as the prepare message each of the two receives.
struct Transfer {
  std::vector<NodeId> participants;                           // sorted
  std::vector<std::pair<NodeId, wire::TxnMessage>> prepares;  // debited first, then credited
};
Transfer make_transfer(TxnId txn, const std::vector<NodeId>& participants,
                       int accounts_per_participant, Rng& rng);

// Phase 1's votes: the decision once every vote is in or one is abort.
struct Voting {
  std::vector<NodeId> participants;
  std::map<NodeId, bool> votes;
  Time started{};

  // nullopt: still waiting.
  std::optional<bool> add(NodeId from, bool commit);
};

// Starts transfer `txn` among `participants`: sends each its prepare and
// opens its voting.
void start_transfer(Env& env, TxnId txn, const std::vector<NodeId>& participants,
                    int accounts_per_participant, Rng& rng, std::map<TxnId, Voting>& voting);

// Takes out of `voting` the transactions whose votes are not all in after
// `timeout`, with their participants: each is to be decided (abort).
std::vector<std::pair<TxnId, std::vector<NodeId>>> take_late(std::map<TxnId, Voting>& voting,
                                                             Time now, Duration timeout);

}  // namespace synod::txn
