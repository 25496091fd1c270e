#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <vector>

#include "synod/kv/etcd_state_machine.h"

namespace synod::api {

// The clock on leases, kept by every member from the grants and renewals it
// applies; only the leader acts on it. The state machine holds no time, so
// expiry is decided here and carried out through the log (a revoke), which
// deletes a lease's keys on every member at the same point.
//
// A member that becomes leader gives every lease a whole TTL from then:
// the old leader's clock is gone with it, and expiring at once would punish
// clients for the election (etcd does the same).
class LeaseKeeper {
 public:
  using Clock = std::chrono::steady_clock;

  // From the state machine, as a grant or renewal (ttl > 0) or a revoke (0)
  // applies on this member.
  void heard(int64_t id, int64_t ttl, Clock::time_point now);
  // Every lease a whole TTL from now: after a snapshot replaced the store,
  // and when this member starts to lead.
  void reset(const std::map<int64_t, EtcdStateMachine::Lease>& leases, Clock::time_point now);

  // On the leader, now and then: the leases whose time is up and that are
  // not being revoked already. Marks them as being revoked. Looks at the
  // expired ones only, not at every lease.
  std::vector<int64_t> expired(const std::map<int64_t, EtcdStateMachine::Lease>& leases,
                               uint64_t leader_term, Clock::time_point now);
  void revoke_done(int64_t id) { revoking_.erase(id); }

  // Seconds left, rounded up; -1 when the lease is unknown here.
  int64_t remaining(int64_t id, Clock::time_point now) const;

 private:
  void set(int64_t id, Clock::time_point deadline);
  void forget(int64_t id);

  std::map<int64_t, Clock::time_point> deadline_;
  std::set<std::pair<Clock::time_point, int64_t>> by_deadline_;  // the same, soonest first
  std::set<int64_t> revoking_;
  uint64_t leading_term_ = 0;  // the term this member last led in
};

}  // namespace synod::api
