#pragma once

#include <map>
#include <optional>

#include "synod/raft/raft_node.h"

namespace synod::raft {

// Who should be in the group: each node, and whether it is a learner.
using WantedMembership = std::map<NodeId, bool /* learner */>;

// The one change (Raft changes one server at a time) that moves the
// leader's membership toward `wanted`, or none when they agree or this node
// does not lead. Removals come first, then additions, then promotions; a
// learner is promoted only once its log is within 90% of the leader's
// (etcd's rule), so a promotion cannot stall commits.
std::optional<MembershipChange> next_change_toward(const WantedMembership& wanted,
                                                   const RaftNode& node);

}  // namespace synod::raft
