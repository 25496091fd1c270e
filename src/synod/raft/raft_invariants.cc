// What must hold of one Raft node's own state between any two inputs. The
// simulator checks it after every input; the cross-node properties (one
// leader per term, log matching, leader completeness) are the simulator's
// spec's, which sees every node.

#include "synod/raft/raft_node.h"

namespace synod::raft {
namespace {

std::optional<BrokenInvariant> broken(std::string name, std::string detail) {
  return BrokenInvariant{std::move(name), std::move(detail)};
}

std::string n(uint64_t v) {
  return std::to_string(v);
}

}  // namespace

std::optional<BrokenInvariant> RaftNode::check_invariants() const {
  if (ready_out_) return broken("ready-advanced", "an input arrived between ready() and advance()");
  if (log_.commit() > log_.last_index())
    return broken("commit-within-log",
                  "commit " + n(log_.commit()) + " past the last index " + n(log_.last_index()));
  if (log_.commit() < log_.snapshot_index())
    return broken("snapshot-within-commit", "log snapshot at " + n(log_.snapshot_index()) +
                                                " past commit " + n(log_.commit()));
  if (snapshot_ && snapshot_->meta.index() > log_.commit())
    return broken("snapshot-within-commit",
                  "snapshot at " + n(snapshot_->meta.index()) + " past commit " + n(log_.commit()));
  if (applied_ > log_.commit())
    return broken("applied-within-commit",
                  "applied " + n(applied_) + " past commit " + n(log_.commit()));
  if (log_.last_term() > term_)
    return broken("log-term-within-term",
                  "last entry of term " + n(log_.last_term()) + " above term " + n(term_));
  if (durable_index_ > log_.last_index())
    return broken("durable-within-log", "durable to " + n(durable_index_) +
                                            " past the last index " + n(log_.last_index()));
  bool leading = role_ == Role::kLeader;
  if (leading != (leader_ == options_.id))
    return broken("leader-is-self", "role " + std::string(role_name(role_)) + " but leader is " +
                                        (leader_ ? n(*leader_) : "unknown"));
  if ((role_ == Role::kCandidate) && vote_ != options_.id)
    return broken("candidate-votes-for-self", "a candidate whose vote went elsewhere");
  const Membership& latest =
      membership_entries_.empty() ? snapshot_membership_ : membership_entries_.rbegin()->second;
  if (!(membership_ == latest))
    return broken("membership-as-the-log-says", "in effect " + membership_.to_string() +
                                                    ", the log's latest " + latest.to_string());
  if (!membership_entries_.empty() && membership_entries_.rbegin()->first > log_.last_index())
    return broken(
        "membership-in-log",
        "a membership entry at " + n(membership_entries_.rbegin()->first) + " past the last index");
  if (!leading) {
    if (!progress_.empty())
      return broken("progress-only-when-leading", "a " + std::string(role_name(role_)) +
                                                      " tracks progress of " + n(progress_.size()) +
                                                      " followers");
    return std::nullopt;
  }
  for (const auto& [id, pr] : progress_) {
    if (id == options_.id) return broken("progress-of-others", "the leader tracks itself");
    if (!membership_.contains(id))
      return broken("progress-of-members", "progress of " + n(id) + ", not a member");
    if (pr.match >= pr.next)
      return broken("match-before-next",
                    "follower " + n(id) + " match " + n(pr.match) + " next " + n(pr.next));
    if (pr.match > log_.last_index())
      return broken("match-within-log", "follower " + n(id) + " match " + n(pr.match) +
                                            " past the last index " + n(log_.last_index()));
    if (pr.next > log_.last_index() + 1)
      return broken("next-within-log", "follower " + n(id) + " next " + n(pr.next) +
                                           " past the end " + n(log_.last_index() + 1));
  }
  if (transferee_ && !membership_.is_voter(*transferee_))
    return broken("transfer-to-a-voter", "transferring to " + n(*transferee_) + ", not a voter");
  return std::nullopt;
}

}  // namespace synod::raft
