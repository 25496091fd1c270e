#include "synod/raft/membership.h"

#include <algorithm>

#include "absl/status/status.h"
#include "synod/base/assert.h"

namespace synod::raft {
namespace {

bool sorted_unique(const std::vector<NodeId>& v) {
  return std::adjacent_find(v.begin(), v.end(), std::greater_equal<>()) == v.end();
}

bool holds(const std::vector<NodeId>& v, NodeId node) {
  return std::binary_search(v.begin(), v.end(), node);
}

void erase(std::vector<NodeId>& v, NodeId node) {
  v.erase(std::remove(v.begin(), v.end(), node), v.end());
}

std::string list(const std::vector<NodeId>& v) {
  std::string out = "{";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i > 0) out += ',';
    out += std::to_string(v[i]);
  }
  return out + "}";
}

}  // namespace

Membership Membership::of_voters(std::vector<NodeId> voters) {
  std::sort(voters.begin(), voters.end());
  voters.erase(std::unique(voters.begin(), voters.end()), voters.end());
  Membership m;
  m.voters_ = std::move(voters);
  return m;
}

std::optional<Membership> Membership::of(std::vector<NodeId> voters, std::vector<NodeId> learners) {
  std::sort(voters.begin(), voters.end());
  std::sort(learners.begin(), learners.end());
  if (!sorted_unique(voters) || !sorted_unique(learners)) return std::nullopt;
  for (NodeId learner : learners)
    if (holds(voters, learner)) return std::nullopt;
  Membership m;
  m.voters_ = std::move(voters);
  m.learners_ = std::move(learners);
  return m;
}

std::optional<Membership> Membership::from_wire(const wire::RaftMembership& wire) {
  return of({wire.voters().begin(), wire.voters().end()},
            {wire.learners().begin(), wire.learners().end()});
}

wire::RaftMembership Membership::to_wire() const {
  wire::RaftMembership wire;
  wire.mutable_voters()->Add(voters_.begin(), voters_.end());
  wire.mutable_learners()->Add(learners_.begin(), learners_.end());
  return wire;
}

std::vector<NodeId> Membership::members() const {
  std::vector<NodeId> all;
  std::merge(voters_.begin(), voters_.end(), learners_.begin(), learners_.end(),
             std::back_inserter(all));
  return all;
}

bool Membership::is_voter(NodeId node) const {
  return holds(voters_, node);
}

bool Membership::is_learner(NodeId node) const {
  return holds(learners_, node);
}

std::string Membership::to_string() const {
  std::string out = "voters " + list(voters_);
  if (!learners_.empty()) out += " learners " + list(learners_);
  return out;
}

std::string MembershipChange::to_string() const {
  switch (kind) {
    case Kind::kAddVoter:
      return "add voter " + std::to_string(node);
    case Kind::kAddLearner:
      return "add learner " + std::to_string(node);
    case Kind::kRemove:
      return "remove " + std::to_string(node);
  }
  return "?";
}

absl::StatusOr<Membership> apply_change(const Membership& from, const MembershipChange& change) {
  std::vector<NodeId> voters = from.voters(), learners = from.learners();
  const std::string node = "node " + std::to_string(change.node);
  switch (change.kind) {
    case MembershipChange::Kind::kAddVoter:
      if (from.is_voter(change.node)) return absl::AlreadyExistsError(node + " is already a voter");
      erase(learners, change.node);  // a learner is promoted
      voters.push_back(change.node);
      break;
    case MembershipChange::Kind::kAddLearner:
      if (from.contains(change.node))
        return absl::AlreadyExistsError(node + " is already a member");
      learners.push_back(change.node);
      break;
    case MembershipChange::Kind::kRemove:
      if (!from.contains(change.node)) return absl::NotFoundError(node + " is not a member");
      if (from.is_voter(change.node) && voters.size() == 1)
        return absl::FailedPreconditionError("cannot remove the last voter");
      erase(voters, change.node);
      erase(learners, change.node);
      break;
  }
  auto to = Membership::of(std::move(voters), std::move(learners));
  SYNOD_ASSERT(to.has_value());
  return *to;
}

}  // namespace synod::raft
