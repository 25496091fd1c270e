#include "synod/check/linearizability.h"

#include <algorithm>
#include <map>
#include <numeric>
#include <string_view>

#include "synod/base/assert.h"
#include "synod/base/duration.h"
#include "synod/check/key_search.h"
#include "synod/check/zones.h"

namespace synod::check {
namespace {

KeyVerdict search(const History& one_key, uint64_t max_steps) {
  std::vector<const Operation*> ops;
  ops.reserve(one_key.size());
  for (const Operation& op : one_key)
    ops.push_back(&op);
  return search_key(ops, max_steps).verdict;
}

// Operations that cannot change a verdict: failed ones and gets of unknown
// outcome.
bool irrelevant(const Operation& op) {
  return op.outcome == Outcome::kFailed ||
         (op.outcome == Outcome::kUnknown && op.kind == OpKind::kGet);
}

// What an operation may have left in the register, if it wrote: nullopt =
// absent. Null when it cannot have written. Points into op (no copy: window
// minimization asks this for every pair of operations).
const std::optional<std::string>* left_by(const Operation& op) {
  static const std::optional<std::string> kAbsentValue;
  if (irrelevant(op)) return nullptr;
  switch (op.kind) {
    case OpKind::kGet:
      return nullptr;
    case OpKind::kPut:
      return &op.value;
    case OpKind::kDelete:
      return &kAbsentValue;
    case OpKind::kCas:
      return op.outcome == Outcome::kOk && !op.swapped ? nullptr : &op.value;
  }
  return nullptr;
}

bool may_write(const Operation& op, std::optional<std::string>& written) {
  const std::optional<std::string>* left = left_by(op);
  if (left != nullptr) written = *left;
  return left != nullptr;
}

// Whether `observer`'s result depends on `writer` having happened, so that
// removing the writer alone would leave a violation of our own making.
bool depends_on(const Operation& observer, const Operation& writer) {
  const std::optional<std::string>* written = left_by(writer);
  if (written == nullptr || irrelevant(observer)) return false;
  switch (observer.kind) {
    case OpKind::kGet:
      return observer.value == *written;  // read it (or read absent after a delete)
    case OpKind::kCas:
      if (observer.outcome == Outcome::kOk && !observer.swapped) {
        return *written != observer.expected;  // the write may be what made it fail
      }
      return written->has_value() && *written == observer.expected;
    case OpKind::kPut:
    case OpKind::kDelete:
      return false;
  }
  return false;
}

std::string at(int64_t ns) {
  return format_duration(Duration(ns));
}

std::string show(const std::optional<std::string>& value) {
  return value ? *value : "absent";
}

// "put k=v by client 1"
std::string describe(const Operation& op) {
  std::string s(kind_name(op.kind));
  s += " " + op.key;
  if (op.kind == OpKind::kPut) s += "=" + op.value.value_or("");
  if (op.kind == OpKind::kCas) s += " " + op.expected.value_or("") + "->" + op.value.value_or("");
  return s + " by client " + std::to_string(op.client);
}

// "read v", "swapped", ... ; empty when there is nothing to say.
std::string result_of(const Operation& op) {
  if (op.outcome == Outcome::kUnknown) return "outcome unknown";
  if (op.outcome == Outcome::kFailed) return "failed";
  if (op.kind == OpKind::kGet) return op.value ? "read " + *op.value : "found it absent";
  if (op.kind == OpKind::kCas) return op.swapped ? "swapped" : "did not swap";
  return "ok";
}

bool precedes(const Operation& a, const Operation& b) {
  return a.outcome == Outcome::kOk && a.ret < b.call;
}

// The value an operation's result says the register held: a get's read, a
// swapped cas's expected. False for anything else.
bool observed_value(const Operation& op, std::optional<std::string>& value) {
  if (op.outcome != Outcome::kOk) return false;
  if (op.kind == OpKind::kGet) {
    value = op.value;
    return true;
  }
  if (op.kind == OpKind::kCas && op.swapped) {
    value = op.expected;
    return true;
  }
  return false;
}

// The patterns a 1-minimal window usually shows, in words; empty if none fits.
std::string why(const History& window) {
  // An observation of a value that is never written, written too late, or
  // overwritten before the observer was called.
  for (const Operation& reader : window) {
    std::optional<std::string> v;
    if (!observed_value(reader, v)) continue;
    std::string verb = reader.kind == OpKind::kGet
                           ? (v ? "read " + *v : "found " + reader.key + " absent")
                           : "swapped from " + *v;
    std::vector<const Operation*> writers;  // of v
    for (const Operation& w : window) {
      std::optional<std::string> written;
      if (&w != &reader && may_write(w, written) && written == v) writers.push_back(&w);
    }
    if (v && writers.empty()) {
      return describe(reader) + " " + verb + " (called at " + at(reader.call) +
             "), but no operation wrote " + *v + " to " + reader.key + ".";
    }
    if (v && std::all_of(writers.begin(), writers.end(),
                         [&](const Operation* w) { return reader.ret < w->call; })) {
      const Operation& first = **std::min_element(
          writers.begin(), writers.end(),
          [](const Operation* x, const Operation* y) { return x->call < y->call; });
      return describe(reader) + " " + verb + " and returned at " + at(reader.ret) + ", but " + *v +
             " was first written by " + describe(first) + ", called later at " + at(first.call) +
             ".";
    }
    for (const Operation& over : window) {
      std::optional<std::string> written;
      if (&over == &reader || !may_write(over, written) || written == v) continue;
      if (!precedes(over, reader)) continue;
      if (!std::all_of(writers.begin(), writers.end(),
                       [&](const Operation* w) { return precedes(*w, over); }))
        continue;
      std::string what = over.kind == OpKind::kDelete ? "deleted it" : "wrote " + show(written);
      std::string s = describe(over) + " " + what + " and returned at " + at(over.ret) + ", but " +
                      describe(reader) + ", called at " + at(reader.call) + ", " + verb;
      if (writers.empty()) {
        s += ", as if nothing had been written.";
      } else {
        s += ", which only ";
        for (size_t i = 0; i < writers.size(); ++i) {
          if (i > 0) s += i + 1 == writers.size() ? " and " : ", ";
          s += describe(*writers[i]) + " (returned at " + at(writers[i]->ret) + ")";
        }
        s += " wrote, before " + describe(over) + " was called at " + at(over.call) + ".";
      }
      return s;
    }
  }

  // Two cas operations that swapped from the same value with only one write
  // of it to consume.
  for (const Operation& a : window) {
    if (a.kind != OpKind::kCas || a.outcome != Outcome::kOk || !a.swapped) continue;
    if (a.value == a.expected) continue;
    size_t swaps = 0, writes = 0;
    for (const Operation& b : window) {
      std::optional<std::string> written;
      if (b.kind == OpKind::kCas && b.outcome == Outcome::kOk && b.swapped &&
          b.expected == a.expected && b.value != a.expected)
        ++swaps;
      else if (may_write(b, written) && written == a.expected)
        ++writes;
    }
    if (swaps > writes) {
      return std::to_string(swaps) + " cas operations swapped " + a.key + " from " +
             show(a.expected) + ", but only " + std::to_string(writes) + " write" +
             (writes == 1 ? "" : "s") + " made it hold " + show(a.expected) +
             ", and each swap replaces the value: one of them succeeded twice on one write.";
    }
  }

  // A cas that did not swap although the register must have held its value.
  for (const Operation& c : window) {
    if (c.kind != OpKind::kCas || c.outcome != Outcome::kOk || c.swapped) continue;
    for (const Operation& w : window) {
      std::optional<std::string> written;
      if (!may_write(w, written) || written != c.expected || !precedes(w, c)) continue;
      bool other_write = std::any_of(window.begin(), window.end(), [&](const Operation& o) {
        std::optional<std::string> x;
        return &o != &w && may_write(o, x) && x != c.expected && o.call <= c.ret;
      });
      if (other_write) continue;
      return describe(c) + " did not swap, but " + describe(w) + " had returned at " + at(w.ret) +
             ", before the cas was called at " + at(c.call) + ", and nothing else wrote " + c.key +
             " before the cas returned at " + at(c.ret) + ".";
    }
  }
  return "";
}

// The operations find_zone_conflict names, if the search agrees that they
// cannot be ordered.
std::optional<History> zone_conflict(const History& one_key, uint64_t max_steps) {
  std::optional<std::vector<size_t>> found = find_zone_conflict(one_key);
  if (!found) return std::nullopt;
  History part;
  for (size_t i : *found)
    part.push_back(one_key[i]);
  if (search(part, max_steps) != KeyVerdict::kNotLinearizable) return std::nullopt;
  return part;
}

}  // namespace

std::optional<bool> is_linearizable_key(const History& one_key, uint64_t max_steps) {
  switch (search(one_key, max_steps)) {
    case KeyVerdict::kLinearizable:
      return true;
    case KeyVerdict::kNotLinearizable:
      return false;
    case KeyVerdict::kUndecided:
      return std::nullopt;
  }
  return std::nullopt;
}

bool removal_allowed(const History& one_key, size_t index) {
  SYNOD_ASSERT(index < one_key.size());
  for (size_t j = 0; j < one_key.size(); ++j) {
    if (j != index && depends_on(one_key[j], one_key[index])) return false;
  }
  return true;
}

History minimal_window(const History& one_key, uint64_t max_steps) {
  History ops;
  for (const Operation& op : one_key) {
    if (!irrelevant(op)) ops.push_back(op);
  }
  auto fails = [max_steps](const History& h) {
    return search(h, max_steps) == KeyVerdict::kNotLinearizable;
  };
  if (!fails(ops)) return ops;  // undecided: nothing to shrink against
  // Sort by call time first, so that the chunks below are stretches of time.
  std::stable_sort(ops.begin(), ops.end(),
                   [](const Operation& a, const Operation& b) { return a.call < b.call; });

  // Remove ops[i] for every i in `remove` that no remaining operation depends
  // on, if what remains still fails.
  auto try_remove = [&](std::vector<bool> remove) {
    for (bool changed = true; changed;) {
      changed = false;
      for (size_t i = 0; i < ops.size(); ++i) {
        if (!remove[i]) continue;
        for (size_t j = 0; j < ops.size(); ++j) {
          if (!remove[j] && depends_on(ops[j], ops[i])) {
            remove[i] = false;
            changed = true;
            break;
          }
        }
      }
    }
    if (std::none_of(remove.begin(), remove.end(), [](bool r) { return r; })) return false;
    History rest;
    for (size_t i = 0; i < ops.size(); ++i) {
      if (!remove[i]) rest.push_back(ops[i]);
    }
    if (!fails(rest)) return false;
    ops = std::move(rest);
    return true;
  };

  // Large stretches first (as in delta debugging), so a long history shrinks
  // in few searches, then single operations until none can go.
  for (size_t chunk = ops.size() / 2; chunk >= 2; chunk /= 2) {
    for (size_t start = 0; start < ops.size();) {
      std::vector<bool> remove(ops.size(), false);
      size_t end = std::min(ops.size(), start + chunk);
      for (size_t i = start; i < end; ++i)
        remove[i] = true;
      size_t before = ops.size();
      if (try_remove(remove)) {
        start += chunk - (before - ops.size());  // the kept ones of this chunk
      } else {
        start += chunk;
      }
    }
  }
  for (bool removed = true; removed;) {
    removed = false;
    for (size_t i = 0; i < ops.size();) {
      std::vector<bool> remove(ops.size(), false);
      remove[i] = true;
      if (try_remove(remove)) {
        removed = true;  // the next one moved to i
      } else {
        ++i;
      }
    }
  }
  return ops;
}

std::string explain_window(const History& window) {
  if (window.empty()) return "";
  std::string s = "No order of these " + std::to_string(window.size()) + " operations on " +
                  window.front().key +
                  " respects real time (one that returned before another was called comes "
                  "first) and gives every result:\n";
  for (const Operation& op : window) {
    s += "  " + describe(op) + ": " + result_of(op) + ", called at " + at(op.call);
    s += op.outcome == Outcome::kUnknown ? ", never returned" : ", returned at " + at(op.ret);
    s += "\n";
  }
  std::string reason = why(window);
  if (reason.empty())
    reason = "Each operation is needed: without any one of them the rest can be ordered.";
  return s + reason;
}

Verdict check_linearizable(const History& history, const CheckOptions& options) {
  Verdict verdict;
  verdict.operations = history.size();
  std::map<std::string_view, std::vector<const Operation*>> by_key;  // checked in key order
  for (const Operation& op : history)
    by_key[op.key].push_back(&op);
  verdict.keys = by_key.size();

  const std::vector<const Operation*>* undecided = nullptr;
  for (const auto& [key, ops] : by_key) {
    History one_key;
    for (const Operation* op : ops)
      one_key.push_back(*op);
    // Values written once give a fast refutation (zones.h); the search
    // confirms it on the few operations it names, so a mistake there could
    // only cost time, never a wrong verdict.
    std::optional<History> conflict = zone_conflict(one_key, options.max_search_steps_per_key);
    KeySearchResult r{.verdict = KeyVerdict::kNotLinearizable};
    if (!conflict) r = search_key(ops, options.max_search_steps_per_key);
    verdict.search_steps += r.steps;
    if (r.verdict == KeyVerdict::kUndecided && undecided == nullptr) undecided = &ops;
    if (r.verdict != KeyVerdict::kNotLinearizable) continue;
    verdict.linearizable = false;
    verdict.key = std::string(key);
    if (options.minimize) {
      verdict.window =
          minimal_window(conflict ? *conflict : one_key, options.max_search_steps_per_key);
      verdict.explanation = explain_window(verdict.window);
    } else {
      verdict.explanation = "The " + std::to_string(one_key.size()) + " operations on " +
                            verdict.key + " cannot be ordered consistently with real time.";
    }
    return verdict;
  }
  if (undecided != nullptr) {
    verdict.linearizable = false;
    verdict.undecided = true;
    verdict.key = undecided->front()->key;
    verdict.explanation = "Could not decide: the search on key " + verdict.key + " (" +
                          std::to_string(undecided->size()) +
                          " operations) neither found an order nor ruled one out within " +
                          std::to_string(options.max_search_steps_per_key) +
                          " steps (max_search_steps_per_key).";
  }
  return verdict;
}

}  // namespace synod::check
