#include "synod/check/watch_check.h"

#include <set>
#include <tuple>

namespace synod::check {
namespace {

// Problems listed in a verdict; the rest are counted.
constexpr size_t kMaxProblems = 8;

std::string describe(const WatchEvent& e) {
  return (e.is_delete ? "delete " + e.key : "put " + e.key + "=" + e.value) + " at revision " +
         std::to_string(e.revision);
}

}  // namespace

WatchVerdict check_watch(const std::vector<WatcherLog>& watchers,
                         const std::vector<AckedWrite>& acked,
                         const std::map<std::string, std::string>& initial,
                         const std::map<std::string, std::string>& final_state,
                         int64_t final_revision) {
  WatchVerdict v;
  size_t problems = 0;
  auto problem = [&](const std::string& what) {
    v.ok = false;
    if (++problems <= kMaxProblems) v.problems.push_back(what);
  };
  using Change = std::pair<int64_t, std::string>;  // (revision, key)
  std::map<Change, WatchEvent> all;                // what the first watcher to see it saw
  for (const WatcherLog& w : watchers) {
    std::string who = "watcher " + std::to_string(w.id);
    const WatchEvent* previous = nullptr;
    for (const WatchEvent& e : w.events) {
      if (e.revision < w.start_revision)
        problem(who + " got " + describe(e) + ", before the revision it asked for (" +
                std::to_string(w.start_revision) + ")");
      if (previous && std::tie(e.revision, e.key) <= std::tie(previous->revision, previous->key))
        problem(who + " got " + describe(e) + " after " + describe(*previous) +
                (e == *previous ? " (a duplicate)" : " (out of order)"));
      previous = &e;
      auto [it, fresh] = all.try_emplace({e.revision, e.key}, e);
      if (!fresh && !(it->second == e))
        problem(who + " got " + describe(e) + " where another watcher got " + describe(it->second));
    }
  }
  v.events = all.size();
  for (const AckedWrite& a : acked) {
    WatchEvent expected{a.revision, a.key, a.is_delete ? "" : a.value, a.is_delete};
    auto it = all.find({a.revision, a.key});
    if (it == all.end()) {
      problem("acknowledged " + describe(expected) + " reached no watcher");
    } else if (!(it->second == expected)) {
      problem("acknowledged " + describe(expected) + ", but watchers got " + describe(it->second));
    }
  }
  // No gaps: each watcher has every change any watcher (or an acknowledged
  // write) shows between the revision it started from and the one it reached.
  for (const WatcherLog& w : watchers) {
    std::set<Change> mine;
    for (const WatchEvent& e : w.events)
      mine.insert({e.revision, e.key});
    size_t missing = 0;
    const WatchEvent* first = nullptr;
    for (const auto& [change, e] : all) {
      if (change.first < w.start_revision || change.first > w.reached || mine.count(change))
        continue;
      if (missing++ == 0) first = &e;
    }
    if (w.reached < final_revision)
      problem("watcher " + std::to_string(w.id) + " stopped at revision " +
              std::to_string(w.reached) + ", short of the final revision " +
              std::to_string(final_revision));
    if (missing > 0)
      problem("watcher " + std::to_string(w.id) + " missed " + std::to_string(missing) +
              " changes that others saw, the first " + describe(*first));
  }
  // The changes replayed on the start give the final range.
  std::map<std::string, std::string> state = initial;
  for (const auto& [change, e] : all) {
    if (change.first > final_revision) continue;
    if (e.is_delete) {
      state.erase(e.key);
    } else {
      state[e.key] = e.value;
    }
  }
  for (const auto& [key, value] : final_state) {
    auto it = state.find(key);
    if (it == state.end() || it->second != value)
      problem("the final range has " + key + "=" + value + ", the watched changes give " +
              (it == state.end() ? "no " + key : key + "=" + it->second));
  }
  for (const auto& [key, value] : state) {
    if (!final_state.count(key))
      problem("the watched changes leave " + key + "=" + value + ", absent from the final range");
  }
  if (problems > kMaxProblems)
    v.problems.push_back("(" + std::to_string(problems - kMaxProblems) + " more)");
  return v;
}

}  // namespace synod::check
