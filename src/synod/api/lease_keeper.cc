#include "synod/api/lease_keeper.h"

namespace synod::api {

void LeaseKeeper::heard(int64_t id, int64_t ttl, Clock::time_point now) {
  if (ttl <= 0) {
    deadline_.erase(id);
    revoking_.erase(id);
    return;
  }
  deadline_[id] = now + std::chrono::seconds(ttl);
}

std::vector<int64_t> LeaseKeeper::expired(const std::map<int64_t, EtcdStateMachine::Lease>& leases,
                                          uint64_t leader_term, Clock::time_point now) {
  if (leader_term != leading_term_) {
    // Leadership is new here: a whole TTL for every lease, from now.
    leading_term_ = leader_term;
    for (const auto& [id, lease] : leases)
      deadline_[id] = now + std::chrono::seconds(lease.ttl);
  }
  std::vector<int64_t> out;
  for (const auto& [id, lease] : leases) {
    auto [it, fresh] = deadline_.try_emplace(id, now + std::chrono::seconds(lease.ttl));
    if (!fresh && now >= it->second && revoking_.insert(id).second) out.push_back(id);
  }
  // Leases gone from the store (a snapshot, a revoke we missed) are gone here.
  for (auto it = deadline_.begin(); it != deadline_.end();)
    it = leases.count(it->first) ? std::next(it) : deadline_.erase(it);
  return out;
}

int64_t LeaseKeeper::remaining(int64_t id, Clock::time_point now) const {
  auto it = deadline_.find(id);
  if (it == deadline_.end()) return -1;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(it->second - now).count();
  return left <= 0 ? 0 : (left + 999) / 1000;
}

}  // namespace synod::api
