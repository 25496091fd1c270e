#pragma once

#include <cstdint>
#include <map>

#include "synod/wire/client.pb.h"
#include "synod/wire/replication.pb.h"

namespace synod::replication {

// At-most-once execution (Ongaro's thesis, 6.3). Each client numbers its
// requests and sends a copy of a request under the same number; the table
// keeps, per client, the requests applied with their replies, so a copy is
// answered instead of applied again. It is part of the replicated state:
// every replica applies the same requests and keeps the same table.
//
// A client may have many requests under way (a member numbering the requests
// of all its callers in one session). Each request says the lowest number
// its client still waits for (first_unanswered, the thesis's "lowest
// sequence number without a response"): below it the session forgets, and a
// late copy is stale, never applied. A client with one request at a time
// leaves it 0, meaning the request's own number.
class SessionTable {
 public:
  enum class Seen {
    kNew,        // not applied yet
    kDuplicate,  // applied: *reply is what it got
    kStale,      // below what its client still waits for: never applied now
  };

  // Sessions kept at most; past it the one used longest ago is evicted, and a
  // copy of one of that client's requests would be applied again (a client
  // silent that long has given up on it).
  static constexpr size_t kMaxSessions = 100'000;
  // Requests one session remembers at most: a client with more under way
  // than this loses the oldest (it becomes stale, so it never applies twice).
  static constexpr size_t kMaxWindow = 65'536;

  explicit SessionTable(size_t max_sessions = kMaxSessions) : max_sessions_(max_sessions) {}

  Seen check(uint64_t client, uint64_t seq, wire::ClientReply* reply) const;
  // Request `seq` of `client` was applied at `index` and got `reply` (kept
  // only for a client with one request at a time: first_unanswered 0).
  void record(uint64_t client, uint64_t seq, uint64_t first_unanswered,
              const wire::ClientReply& reply, uint64_t index);

  size_t size() const { return sessions_.size(); }
  void save(wire::ReplicaSnapshot& snapshot) const;
  void load(const wire::ReplicaSnapshot& snapshot);

 private:
  struct Session {
    uint64_t floor = 0;
    std::map<uint64_t, wire::ClientReply> applied;  // seq -> reply, all >= floor
    uint64_t index = 0;
  };
  void touch(uint64_t client, Session& s, uint64_t index);

  size_t max_sessions_;
  std::map<uint64_t, Session> sessions_;   // by client
  std::map<uint64_t, uint64_t> by_index_;  // index applied last -> client
};

}  // namespace synod::replication
