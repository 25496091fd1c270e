#include "synod/replication/session_table.h"

#include "synod/base/assert.h"

namespace synod::replication {

SessionTable::Seen SessionTable::check(uint64_t client, uint64_t seq,
                                       wire::ClientReply* reply) const {
  auto it = sessions_.find(client);
  if (it == sessions_.end() || seq > it->second.seq()) return Seen::kNew;
  if (seq < it->second.seq()) return Seen::kStale;
  if (reply) *reply = it->second.reply();
  return Seen::kDuplicate;
}

void SessionTable::record(uint64_t client, uint64_t seq, const wire::ClientReply& reply,
                          uint64_t index) {
  auto [it, added] = sessions_.try_emplace(client);
  wire::ClientSession& s = it->second;
  if (!added) by_index_.erase(s.index());
  s.set_client(client);
  s.set_seq(seq);
  *s.mutable_reply() = reply;
  s.set_index(index);
  by_index_[index] = client;
  if (sessions_.size() > max_sessions_) {
    auto oldest = by_index_.begin();
    sessions_.erase(oldest->second);
    by_index_.erase(oldest);
  }
  SYNOD_ASSERT(sessions_.size() == by_index_.size());
}

void SessionTable::save(wire::ReplicaSnapshot& snapshot) const {
  for (const auto& [client, session] : sessions_)
    *snapshot.add_sessions() = session;
}

void SessionTable::load(const wire::ReplicaSnapshot& snapshot) {
  sessions_.clear();
  by_index_.clear();
  for (const wire::ClientSession& s : snapshot.sessions()) {
    sessions_[s.client()] = s;
    by_index_[s.index()] = s.client();
  }
}

}  // namespace synod::replication
