#include "synod/raft/membership_target.h"

namespace synod::raft {

std::optional<MembershipChange> next_change_toward(const WantedMembership& wanted,
                                                   const RaftNode& node) {
  using Kind = MembershipChange::Kind;
  if (node.role() != Role::kLeader) return std::nullopt;
  const Membership& now = node.membership();
  for (NodeId member : now.members())
    if (!wanted.contains(member)) return MembershipChange{Kind::kRemove, member};
  for (const auto& [id, learner] : wanted)
    if (!now.contains(id))
      return MembershipChange{learner ? Kind::kAddLearner : Kind::kAddVoter, id};
  for (const auto& [id, learner] : wanted) {
    if (learner || !now.is_learner(id)) continue;
    const Progress* progress = node.progress(id);
    if (progress && progress->match * 10 >= node.log().last_index() * 9)
      return MembershipChange{Kind::kAddVoter, id};
  }
  return std::nullopt;
}

}  // namespace synod::raft
