#include "synod/cli/membership_sync.h"

namespace synod::cli {

std::optional<raft::MembershipChange> next_membership_change(
    const std::map<NodeId, wire::EtcdMember>& registry, const raft::RaftNode& node) {
  using Kind = raft::MembershipChange::Kind;
  if (node.role() != raft::Role::kLeader) return std::nullopt;
  const raft::Membership& now = node.membership();
  for (NodeId member : now.members())
    if (!registry.contains(member)) return raft::MembershipChange{Kind::kRemove, member};
  for (const auto& [id, m] : registry)
    if (!now.contains(id))
      return raft::MembershipChange{m.learner() ? Kind::kAddLearner : Kind::kAddVoter, id};
  for (const auto& [id, m] : registry) {
    if (m.learner() || !now.is_learner(id)) continue;
    const raft::Progress* progress = node.progress(id);
    if (progress && progress->match * 10 >= node.log().last_index() * 9)
      return raft::MembershipChange{Kind::kAddVoter, id};
  }
  return std::nullopt;
}

}  // namespace synod::cli
