#include "synod/api/lease_keeper.h"

namespace synod::api {

void LeaseKeeper::set(int64_t id, Clock::time_point deadline) {
  forget(id);
  deadline_[id] = deadline;
  by_deadline_.emplace(deadline, id);
}

void LeaseKeeper::forget(int64_t id) {
  auto it = deadline_.find(id);
  if (it == deadline_.end()) return;
  by_deadline_.erase({it->second, id});
  deadline_.erase(it);
}

void LeaseKeeper::heard(int64_t id, int64_t ttl, Clock::time_point now) {
  if (ttl <= 0) {
    forget(id);
    revoking_.erase(id);
    return;
  }
  set(id, now + std::chrono::seconds(ttl));
}

void LeaseKeeper::reset(const std::map<int64_t, EtcdStateMachine::Lease>& leases,
                        Clock::time_point now) {
  deadline_.clear();
  by_deadline_.clear();
  std::set<int64_t> still_revoking;
  for (const auto& [id, lease] : leases) {
    set(id, now + std::chrono::seconds(lease.ttl));
    if (revoking_.contains(id)) still_revoking.insert(id);
  }
  revoking_ = std::move(still_revoking);
}

std::vector<int64_t> LeaseKeeper::expired(const std::map<int64_t, EtcdStateMachine::Lease>& leases,
                                          uint64_t leader_term, Clock::time_point now) {
  if (leader_term != leading_term_) {
    // Leadership is new here: a whole TTL for every lease, from now.
    leading_term_ = leader_term;
    reset(leases, now);
  }
  std::vector<int64_t> out;
  for (auto it = by_deadline_.begin(); it != by_deadline_.end() && it->first <= now; ++it)
    if (revoking_.insert(it->second).second) out.push_back(it->second);
  return out;
}

int64_t LeaseKeeper::remaining(int64_t id, Clock::time_point now) const {
  auto it = deadline_.find(id);
  if (it == deadline_.end()) return -1;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(it->second - now).count();
  return left <= 0 ? 0 : (left + 999) / 1000;
}

}  // namespace synod::api
