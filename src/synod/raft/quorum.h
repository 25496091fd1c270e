#pragma once

#include <algorithm>
#include <map>
#include <vector>

#include "synod/raft/types.h"

// Counting majorities: the only arithmetic Raft's safety rests on.
namespace synod::raft {

// The highest value that a majority of `voters` have reached, where
// reached(v) says how far voter v got (match indexes for commitment, read
// rounds for ReadIndex). 0 with no voters.
template <typename Reached>
uint64_t quorum_reached(const std::vector<NodeId>& voters, Reached reached) {
  if (voters.empty()) return 0;
  std::vector<uint64_t> values;
  values.reserve(voters.size());
  for (NodeId v : voters)
    values.push_back(reached(v));
  // The quorum-th largest: a majority reached at least this much.
  size_t quorum = voters.size() / 2 + 1;
  std::nth_element(values.begin(), values.begin() + static_cast<ptrdiff_t>(quorum - 1),
                   values.end(), std::greater<>());
  return values[quorum - 1];
}

enum class VoteOutcome { kWon, kLost, kPending };

// An election's state from the answers so far (true: granted). Only voters'
// answers count.
inline VoteOutcome tally(const std::vector<NodeId>& voters, const std::map<NodeId, bool>& votes) {
  size_t granted = 0, rejected = 0;
  for (NodeId v : voters) {
    auto it = votes.find(v);
    if (it == votes.end()) continue;
    (it->second ? granted : rejected)++;
  }
  size_t quorum = voters.size() / 2 + 1;
  if (granted >= quorum) return VoteOutcome::kWon;
  if (rejected > voters.size() - quorum) return VoteOutcome::kLost;
  return VoteOutcome::kPending;
}

}  // namespace synod::raft
