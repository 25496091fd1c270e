#include "synod/replication/session_table.h"

#include <algorithm>

#include "synod/base/assert.h"

namespace synod::replication {

SessionTable::Seen SessionTable::check(uint64_t client, uint64_t seq,
                                       wire::ClientReply* reply) const {
  auto it = sessions_.find(client);
  if (it == sessions_.end()) return Seen::kNew;
  const Session& s = it->second;
  if (seq < s.floor) return Seen::kStale;
  auto applied = s.applied.find(seq);
  if (applied == s.applied.end()) return Seen::kNew;
  if (reply) *reply = applied->second;
  return Seen::kDuplicate;
}

void SessionTable::record(uint64_t client, uint64_t seq, uint64_t first_unanswered,
                          const wire::ClientReply& reply, uint64_t index) {
  Session& s = sessions_[client];
  SYNOD_ASSERT(seq >= s.floor);         // a stale request is never applied
  SYNOD_ASSERT(!s.applied.count(seq));  // nor a duplicate
  // What the client says it still waits for never passes this request, and
  // never moves the floor back.
  uint64_t floor = first_unanswered == 0 ? seq : std::min(first_unanswered, seq);
  s.floor = std::max(s.floor, floor);
  s.applied.erase(s.applied.begin(), s.applied.lower_bound(s.floor));
  // A client with one request at a time sends copies of it and is answered
  // from here. A member (many under way) answers its own callers when it
  // applies, so its replies are not kept: a copy of one of its requests
  // needs only to be known as applied.
  s.applied.emplace(seq, first_unanswered == 0 ? reply : wire::ClientReply());
  while (s.applied.size() > kMaxWindow) {
    s.floor = s.applied.begin()->first + 1;
    s.applied.erase(s.applied.begin());
  }
  touch(client, s, index);
  if (sessions_.size() > max_sessions_) {
    auto oldest = by_index_.begin();
    sessions_.erase(oldest->second);
    by_index_.erase(oldest);
  }
  SYNOD_ASSERT(sessions_.size() == by_index_.size());
}

void SessionTable::touch(uint64_t client, Session& s, uint64_t index) {
  if (s.index != 0) by_index_.erase(s.index);
  s.index = index;
  SYNOD_ASSERT(by_index_.emplace(index, client).second);  // one request per index
}

void SessionTable::save(wire::ReplicaSnapshot& snapshot) const {
  for (const auto& [client, s] : sessions_) {
    wire::ClientSession& out = *snapshot.add_sessions();
    out.set_client(client);
    out.set_index(s.index);
    out.set_floor(s.floor);
    for (const auto& [seq, reply] : s.applied) {
      wire::AppliedRequest& a = *out.add_applied();
      a.set_seq(seq);
      *a.mutable_reply() = reply;
    }
  }
}

void SessionTable::load(const wire::ReplicaSnapshot& snapshot) {
  sessions_.clear();
  by_index_.clear();
  for (const wire::ClientSession& in : snapshot.sessions()) {
    Session& s = sessions_[in.client()];
    if (in.applied().empty() && in.seq() != 0) {
      // Written before sessions held many requests: one request, the latest.
      s.floor = in.seq();
      s.applied.emplace(in.seq(), in.reply());
    } else {
      s.floor = in.floor();
      for (const wire::AppliedRequest& a : in.applied())
        if (a.seq() >= s.floor) s.applied.emplace(a.seq(), a.reply());
    }
    s.index = in.index();
    by_index_[s.index] = in.client();
  }
}

}  // namespace synod::replication
