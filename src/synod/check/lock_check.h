#pragma once

// The lock check: clients take an etcd lock (a key under a lease; the
// oldest key holds it) and must never hold it at once. A lock on a lease
// gives no fencing: a holder that stalls past its lease's TTL loses the lock
// without knowing, and another may take it while it still thinks it holds.
// So each overlap is judged: if the earlier holder's lease was not certainly
// alive when the later one acquired (no keep-alive answered alive covers that
// instant), the overlap is the known limit of leases and reported apart;
// otherwise the lock let two in while the first's key was certainly there,
// and that is a violation.
//
// A lease is certainly alive at t after an answer that it was alive to a
// keep-alive (or its grant) sent at s <= t with s + TTL > t, or sent after t
// (leases never come back).

#include <cstdint>
#include <string>
#include <vector>

namespace synod::check {

struct LeaseRenewal {
  int64_t sent = 0;  // ns: when the grant or keep-alive was sent
  int64_t ttl = 0;   // ns: the TTL the answer gave (> 0: alive)
};

struct LockHold {
  uint64_t client = 0;
  int64_t acquired = 0;                // when the client learned it holds the lock
  int64_t released = 0;                // when it began to release it (or the run's end)
  std::vector<LeaseRenewal> renewals;  // of the lease it held the lock with
};

struct LockVerdict {
  bool ok = true;
  size_t holds = 0, violations = 0, lease_expiry_overlaps = 0;
  size_t lapsed_holds = 0;  // holds whose lapsed lease let others in (one stall, many overlaps)
  std::string explanation;    // the first violation, in words
  std::string lapse_example;  // the first lease-expiry overlap
  int64_t window_from = -1, window_to = -1;
};

bool lease_alive_at(const std::vector<LeaseRenewal>& renewals, int64_t t);

LockVerdict check_lock(std::vector<LockHold> holds);

}  // namespace synod::check
