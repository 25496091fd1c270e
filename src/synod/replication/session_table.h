#pragma once

#include <cstdint>
#include <map>
#include <optional>

#include "synod/wire/client.pb.h"
#include "synod/wire/replication.pb.h"

namespace synod::replication {

// At-most-once execution (thesis 6.3). Each client numbers its requests and
// retries a request with the same number; the table keeps, per client, the
// latest request applied and its reply, so a retry is answered instead of
// applied again. It is part of the replicated state: every replica applies
// the same requests and keeps the same table.
class SessionTable {
 public:
  enum class Seen {
    kNew,        // not applied yet
    kDuplicate,  // applied: *reply is what it got
    kStale,      // older than the client's latest: the client moved on
  };

  // Sessions kept at most; past it the one used longest ago is evicted, and a
  // retry of that client's last request would be applied again (a client
  // silent that long has given up on it).
  static constexpr size_t kMaxSessions = 100'000;

  explicit SessionTable(size_t max_sessions = kMaxSessions) : max_sessions_(max_sessions) {}

  Seen check(uint64_t client, uint64_t seq, wire::ClientReply* reply) const;
  void record(uint64_t client, uint64_t seq, const wire::ClientReply& reply, uint64_t index);

  size_t size() const { return sessions_.size(); }
  void save(wire::ReplicaSnapshot& snapshot) const;
  void load(const wire::ReplicaSnapshot& snapshot);

 private:
  size_t max_sessions_;
  std::map<uint64_t, wire::ClientSession> sessions_;  // by client
  std::map<uint64_t, uint64_t> by_index_;             // index applied -> client
};

}  // namespace synod::replication
