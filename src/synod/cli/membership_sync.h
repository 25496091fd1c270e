#pragma once

#include <map>
#include <optional>

#include "synod/kv/member_registry.h"
#include "synod/raft/raft_node.h"

namespace synod::cli {

// The registry (replicated state) says who the members are; Raft's voters
// and learners follow it, one change at a time, driven by the leader. This
// is the next change to make, or none when Raft already agrees.
//
// Removals come first, then additions, then promotions; a learner is
// promoted only once it is nearly caught up (etcd's rule: its match at
// least 90% of the leader's log), so a promotion cannot stall commits.
// Leader only: nullopt elsewhere.
std::optional<raft::MembershipChange> next_membership_change(
    const std::map<NodeId, wire::EtcdMember>& registry, const raft::RaftNode& node);

}  // namespace synod::cli
