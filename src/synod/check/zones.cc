#include "synod/check/zones.h"

#include <algorithm>
#include <limits>
#include <map>
#include <set>
#include <string>

#include "synod/base/assert.h"

namespace synod::check {
namespace {

constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

bool known(const Operation& op) {
  return op.outcome == Outcome::kOk;
}

// The value op may have written (present values only; deletes write
// "absent", which is never unique).
const std::string* may_write(const Operation& op) {
  if (op.outcome == Outcome::kFailed || !op.value) return nullptr;
  if (op.kind == OpKind::kPut) return &*op.value;
  if (op.kind == OpKind::kCas && (op.outcome == Outcome::kUnknown || op.swapped)) return &*op.value;
  return nullptr;
}

bool may_write_anything(const Operation& op) {
  if (op.outcome == Outcome::kFailed) return false;
  if (op.kind == OpKind::kPut || op.kind == OpKind::kDelete) return true;
  return op.kind == OpKind::kCas && (op.outcome == Outcome::kUnknown || op.swapped);
}

// The value a known result says the register held.
const std::string* observed(const Operation& op) {
  if (!known(op)) return nullptr;
  if (op.kind == OpKind::kGet && op.value) return &*op.value;
  if (op.kind == OpKind::kCas && op.swapped && op.expected) return &*op.expected;
  return nullptr;
}

struct Cluster {
  size_t writer = 0;
  std::vector<size_t> observers;
  size_t first_return = 0;  // the operation of C(v) that returned first
  size_t last_call = 0;     // the operation of C(v) called last
  int64_t from = kNever, to = -1;
};

class Zones {
 public:
  explicit Zones(const History& h) : h_(h), ret_(h.size(), kNever) {
    for (size_t i = 0; i < h.size(); ++i) {
      if (known(h[i])) ret_[i] = h[i].ret;
      if (const std::string* v = may_write(h[i])) writers_[*v].push_back(i);
    }
    for (size_t i = 0; i < h.size(); ++i) {
      const std::string* v = observed(h[i]);
      if (v == nullptr) continue;
      auto w = writers_.find(*v);
      if (w == writers_.end() || w->second.size() != 1 || w->second[0] == i) continue;
      clusters_[*v].observers.push_back(i);
    }
    for (auto& [v, c] : clusters_) {
      c.writer = writers_.at(v)[0];
      // An unknown writer that was observed took effect before its first
      // observer returned.
      if (!known(h[c.writer])) {
        for (size_t o : c.observers) {
          if (ret_[o] < forced_ret(c.writer)) forced_[c.writer] = o;
        }
        ret_[c.writer] = ret_[forced_[c.writer]];
      }
    }
  }

  std::optional<std::vector<size_t>> find() {
    for (auto& [v, c] : clusters_) {
      // R1: observed before it was written.
      for (size_t o : c.observers) {
        if (h_[o].ret < h_[c.writer].call) return close({c.writer, o});
      }
      zone(c);
    }
    if (auto r2 = overwritten_inside()) return r2;
    return overlapping();
  }

 private:
  int64_t forced_ret(size_t writer) const {
    auto it = forced_.find(writer);
    return it == forced_.end() ? kNever : ret_[it->second];
  }

  void zone(Cluster& c) {
    auto consider = [&](size_t i) {
      if (ret_[i] < c.from) {
        c.from = ret_[i];
        c.first_return = i;
      }
      if (h_[i].call > c.to) {
        c.to = h_[i].call;
        c.last_call = i;
      }
    };
    consider(c.writer);
    for (size_t o : c.observers)
      consider(o);
  }

  // R2. Writes that took effect, by call time; each zone looks at those
  // called inside it.
  std::optional<std::vector<size_t>> overwritten_inside() {
    std::vector<size_t> writes;
    for (size_t i = 0; i < h_.size(); ++i) {
      if (may_write_anything(h_[i]) && ret_[i] != kNever) writes.push_back(i);
    }
    std::sort(writes.begin(), writes.end(),
              [&](size_t a, size_t b) { return h_[a].call < h_[b].call; });
    for (auto& [v, c] : clusters_) {
      if (c.from >= c.to) continue;  // no forward zone
      std::set<size_t> members(c.observers.begin(), c.observers.end());
      members.insert(c.writer);
      auto it = std::upper_bound(writes.begin(), writes.end(), c.from,
                                 [&](int64_t t, size_t i) { return t < h_[i].call; });
      for (; it != writes.end() && h_[*it].call < c.to; ++it) {
        if (members.count(*it) || ret_[*it] >= c.to) continue;
        return close({c.writer, c.first_return, c.last_call, *it});
      }
    }
    return std::nullopt;
  }

  // R3. Zones sorted by start: one that starts before the furthest end seen
  // so far overlaps the zone that reached it.
  std::optional<std::vector<size_t>> overlapping() {
    std::vector<const Cluster*> zones;
    for (const auto& [v, c] : clusters_)
      if (c.from < c.to) zones.push_back(&c);
    std::sort(zones.begin(), zones.end(),
              [](const Cluster* a, const Cluster* b) { return a->from < b->from; });
    const Cluster* furthest = nullptr;
    for (const Cluster* z : zones) {
      if (furthest && z->from < furthest->to) {
        return close({furthest->writer, furthest->first_return, furthest->last_call, z->writer,
                      z->first_return, z->last_call});
      }
      if (!furthest || z->to > furthest->to) furthest = z;
    }
    return std::nullopt;
  }

  // The set with what its results depend on: the writers of every value an
  // operation in it observed, and for an unknown writer counted as having
  // taken effect, the observer that makes it so.
  std::vector<size_t> close(std::vector<size_t> seed) {
    std::set<size_t> in(seed.begin(), seed.end());
    std::vector<size_t> todo(in.begin(), in.end());
    auto add = [&](size_t i) {
      if (in.insert(i).second) todo.push_back(i);
    };
    while (!todo.empty()) {
      size_t i = todo.back();
      todo.pop_back();
      if (const std::string* v = observed(h_[i])) {
        auto w = writers_.find(*v);
        if (w != writers_.end())
          for (size_t writer : w->second)
            add(writer);
      }
      if (auto f = forced_.find(i); f != forced_.end()) add(f->second);
    }
    return std::vector<size_t>(in.begin(), in.end());
  }

  const History& h_;
  std::vector<int64_t> ret_;  // known returns; for a forced unknown write, its first observer's
  std::map<std::string, std::vector<size_t>> writers_;
  std::map<std::string, Cluster> clusters_;  // values written once and observed
  std::map<size_t, size_t> forced_;          // unknown writer -> the observer that forces it
};

}  // namespace

std::optional<std::vector<size_t>> find_zone_conflict(const History& one_key) {
  return Zones(one_key).find();
}

}  // namespace synod::check
