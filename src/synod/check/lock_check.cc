#include "synod/check/lock_check.h"

#include <algorithm>

#include "synod/base/assert.h"

namespace synod::check {

bool lease_alive_at(const std::vector<LeaseRenewal>& renewals, int64_t t) {
  return std::any_of(renewals.begin(), renewals.end(), [t](const LeaseRenewal& r) {
    return r.ttl > 0 && (r.sent > t || r.sent + r.ttl > t);
  });
}

LockVerdict check_lock(std::vector<LockHold> holds) {
  LockVerdict v;
  v.holds = holds.size();
  for (const LockHold& h : holds)
    SYNOD_ASSERT_MSG(h.acquired <= h.released, "a lock released before it was acquired");
  std::sort(holds.begin(), holds.end(),
            [](const LockHold& a, const LockHold& b) { return a.acquired < b.acquired; });
  auto ms = [](int64_t ns) { return std::to_string(ns / 1'000'000) + " ms"; };
  for (size_t i = 0; i < holds.size(); ++i) {
    const LockHold& a = holds[i];
    bool lapsed = false;
    for (size_t j = i + 1; j < holds.size() && holds[j].acquired < a.released; ++j) {
      const LockHold& b = holds[j];
      std::string what = "client " + std::to_string(b.client) + " acquired at " + ms(b.acquired) +
                         " while client " + std::to_string(a.client) +
                         " held the lock (acquired at " + ms(a.acquired) + ", released at " +
                         ms(a.released) + ")";
      if (!lease_alive_at(a.renewals, b.acquired)) {
        if (!lapsed) ++v.lapsed_holds;
        lapsed = true;
        if (v.lease_expiry_overlaps++ == 0)
          v.lapse_example = what + "; the first holder's lease was not certainly alive then";
        continue;
      }
      if (v.violations++ == 0) {
        v.explanation = what + ", and the first holder's lease was certainly alive then";
        v.window_from = a.acquired;
        v.window_to = b.acquired;
      }
      v.ok = false;
    }
  }
  return v;
}

}  // namespace synod::check
