#pragma once

#include <deque>
#include <optional>
#include <vector>

#include "synod/raft/types.h"

namespace synod::raft {

// A node's log in memory: the entries after its latest snapshot, and how far
// they are committed. Indexes start at 1; the snapshot stands for every entry
// up to snapshot_index() (index 0, term 0 when there is none).
//
// Invariants, asserted where they are kept:
//   entries are contiguous and their terms never decrease;
//   snapshot_index() <= commit() <= last_index();
//   nothing at or below commit() is ever removed except by compaction.
class RaftLog {
 public:
  Index snapshot_index() const { return snapshot_index_; }
  Term snapshot_term() const { return snapshot_term_; }
  Index first_index() const { return snapshot_index_ + 1; }
  Index last_index() const { return snapshot_index_ + entries_.size(); }
  Term last_term() const { return entries_.empty() ? snapshot_term_ : entries_.back().term(); }
  Index commit() const { return commit_; }

  // The term of entry i, known for the snapshot's last entry and every entry
  // after it; nullopt when compacted away or past the end.
  std::optional<Term> term(Index i) const;
  bool matches(Index i, Term t) const;
  const Entry& at(Index i) const;

  // Raft's election restriction (5.4.1): a log ending at (last_index,
  // last_term) holds at least everything this one does.
  bool is_up_to_date(Index last_index, Term last_term) const;

  void append(Entry entry);
  // Drops every entry after `index`, which must not be below commit().
  void truncate_after(Index index);
  void commit_to(Index index);  // never backwards, never past the end
  // Forgets entries up to `index` (committed and snapshotted).
  void compact(Index index);
  // Replaces everything with a snapshot received from the leader.
  void restore(Index index, Term term);

  // Copies of entries from `from` on, at most max_entries of them and, beyond
  // the first, at most max_bytes.
  std::vector<Entry> slice(Index from, size_t max_entries, size_t max_bytes) const;

  // Conflict hints (fast backtracking).
  // Follower: the first index it holds of the term of entry i (i in the log).
  Index first_index_of_term_at(Index i) const;
  // Leader: the last index at or below `at_most` whose term is `term`, if any.
  std::optional<Index> last_index_of_term(Term term, Index at_most) const;

 private:
  Index snapshot_index_ = 0;
  Term snapshot_term_ = 0;
  Index commit_ = 0;
  std::deque<Entry> entries_;
};

}  // namespace synod::raft
