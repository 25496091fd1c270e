#include "synod/check/set_check.h"

#include <algorithm>
#include <map>
#include <set>

namespace synod::check {

SetVerdict check_set(const std::vector<SetAdd>& adds, const std::vector<SetRead>& reads,
                     const SetRead& final_read) {
  SetVerdict v;
  std::map<uint64_t, const SetAdd*> by_element;
  for (const SetAdd& a : adds) {
    if (a.outcome == Outcome::kFailed) continue;
    by_element[a.element] = &a;
    if (a.outcome == Outcome::kOk) ++v.acknowledged;
    if (a.outcome == Outcome::kUnknown) ++v.unknown;
  }
  auto fail = [&v](const std::string& why, int64_t from, int64_t to) {
    if (v.ok) {
      v.explanation = why;
      v.window_from = from;
      v.window_to = to;
    }
    v.ok = false;
  };
  std::vector<const SetRead*> all;
  for (const SetRead& r : reads)
    all.push_back(&r);
  all.push_back(&final_read);
  // Per element, the earliest return of a read that saw it.
  std::map<uint64_t, int64_t> first_seen;
  for (const SetRead* r : all) {
    for (uint64_t e : r->elements) {
      if (!by_element.count(e)) {
        ++v.unexpected;
        fail("a read returned element " + std::to_string(e) + ", which no client added", r->call,
             r->ret);
      }
      auto [it, fresh] = first_seen.try_emplace(e, r->ret);
      if (!fresh) it->second = std::min(it->second, r->ret);
    }
  }
  for (const SetRead* r : all) {
    std::set<uint64_t> has(r->elements.begin(), r->elements.end());
    bool stale = false;
    for (const auto& [e, add] : by_element) {
      if (has.count(e)) continue;
      bool acked_before = add->outcome == Outcome::kOk && add->ret < r->call;
      auto seen = first_seen.find(e);
      bool seen_before = seen != first_seen.end() && seen->second < r->call;
      if (!acked_before && !seen_before) continue;
      stale = true;
      fail("element " + std::to_string(e) + (acked_before ? " was acknowledged" : " was read") +
               " before a read was called, and that read (called at " + std::to_string(r->call) +
               " ns) does not have it",
           std::min(add->call, r->call), r->ret);
      if (r == &final_read && add->outcome == Outcome::kOk) ++v.lost;
    }
    if (stale && r != &final_read) ++v.stale_reads;
  }
  std::set<uint64_t> at_end(final_read.elements.begin(), final_read.elements.end());
  for (const auto& [e, add] : by_element) {
    if (add->outcome == Outcome::kUnknown && at_end.count(e)) ++v.unknown_present;
  }
  return v;
}

}  // namespace synod::check
