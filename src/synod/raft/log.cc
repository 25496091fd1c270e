#include "synod/raft/log.h"

#include "synod/base/assert.h"

namespace synod::raft {

std::optional<Term> RaftLog::term(Index i) const {
  if (i == snapshot_index_) return snapshot_term_;
  if (i < snapshot_index_ || i > last_index()) return std::nullopt;
  return entries_[i - first_index()].term();
}

bool RaftLog::matches(Index i, Term t) const {
  auto found = term(i);
  return found && *found == t;
}

const Entry& RaftLog::at(Index i) const {
  SYNOD_ASSERT(i >= first_index() && i <= last_index());
  return entries_[i - first_index()];
}

bool RaftLog::is_up_to_date(Index last_index, Term last_term) const {
  return last_term > this->last_term() ||
         (last_term == this->last_term() && last_index >= this->last_index());
}

void RaftLog::append(Entry entry) {
  SYNOD_ASSERT(entry.index() == last_index() + 1);  // no gaps
  SYNOD_ASSERT(entry.term() >= last_term());        // terms never go back
  entries_.push_back(std::move(entry));
}

void RaftLog::truncate_after(Index index) {
  SYNOD_ASSERT_MSG(index >= commit_, "a committed entry would be removed");
  if (index >= last_index()) return;
  entries_.resize(index - snapshot_index_);
}

void RaftLog::commit_to(Index index) {
  SYNOD_ASSERT(index <= last_index());
  if (index > commit_) commit_ = index;
}

void RaftLog::compact(Index index) {
  SYNOD_ASSERT(index <= commit_);
  if (index <= snapshot_index_) return;
  Term t = at(index).term();
  entries_.erase(entries_.begin(),
                 entries_.begin() + static_cast<ptrdiff_t>(index - snapshot_index_));
  snapshot_index_ = index;
  snapshot_term_ = t;
}

void RaftLog::restore(Index index, Term term) {
  entries_.clear();
  snapshot_index_ = index;
  snapshot_term_ = term;
  commit_ = index;
}

std::vector<Entry> RaftLog::slice(Index from, size_t max_entries, size_t max_bytes) const {
  SYNOD_ASSERT(from >= first_index());
  std::vector<Entry> out;
  size_t bytes = 0;
  for (Index i = from; i <= last_index() && out.size() < max_entries; ++i) {
    const Entry& e = at(i);
    bytes += entry_bytes(e);
    if (!out.empty() && bytes > max_bytes) break;
    out.push_back(e);
  }
  return out;
}

Index RaftLog::first_index_of_term_at(Index i) const {
  SYNOD_ASSERT(i >= first_index() && i <= last_index());
  Term t = at(i).term();
  while (i > first_index() && at(i - 1).term() == t)
    --i;
  return i;
}

std::optional<Index> RaftLog::last_index_of_term(Term t, Index at_most) const {
  for (Index i = std::min(at_most, last_index()); i >= first_index(); --i) {
    Term here = at(i).term();
    if (here == t) return i;
    if (here < t) return std::nullopt;  // terms only grow: no entry of t below here
  }
  return std::nullopt;
}

}  // namespace synod::raft
