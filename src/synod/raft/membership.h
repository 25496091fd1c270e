#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "synod/raft/types.h"

namespace synod::raft {

// Who takes part in a Raft group: voters elect leaders and count towards
// commitment; learners receive the log but do neither. The two sets are
// sorted and disjoint.
class Membership {
 public:
  Membership() = default;
  static Membership of_voters(std::vector<NodeId> voters);
  // nullopt when the sets overlap or repeat a node: never trusted.
  static std::optional<Membership> of(std::vector<NodeId> voters, std::vector<NodeId> learners);
  static std::optional<Membership> from_wire(const wire::RaftMembership& wire);
  wire::RaftMembership to_wire() const;

  const std::vector<NodeId>& voters() const { return voters_; }
  const std::vector<NodeId>& learners() const { return learners_; }
  std::vector<NodeId> members() const;  // voters and learners, sorted
  bool is_voter(NodeId node) const;
  bool is_learner(NodeId node) const;
  bool contains(NodeId node) const { return is_voter(node) || is_learner(node); }
  // Votes or acknowledgements that make a majority of the voters.
  size_t quorum() const { return voters_.size() / 2 + 1; }

  std::string to_string() const;  // "voters {0,1,2} learners {3}"
  bool operator==(const Membership&) const = default;

 private:
  std::vector<NodeId> voters_;
  std::vector<NodeId> learners_;
};

// One server at a time (Ongaro's thesis, 4.1): any two majorities of the old
// and new voter sets overlap, so no joint configuration is needed.
struct MembershipChange {
  enum class Kind {
    kAddVoter,    // a new voter, or a learner promoted
    kAddLearner,  // a new learner (it catches up before it is promoted)
    kRemove,      // a voter or learner leaves
  };
  Kind kind = Kind::kAddVoter;
  NodeId node = 0;

  std::string to_string() const;
};

// The membership after `change`, or why the change is not allowed.
absl::StatusOr<Membership> apply_change(const Membership& from, const MembershipChange& change);

}  // namespace synod::raft
