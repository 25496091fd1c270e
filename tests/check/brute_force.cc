#include "check/brute_force.h"

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace synod::check::testing {
namespace {

using State = std::map<std::string, std::string>;  // a key that is not here is absent

// Applies op to state as the model says; false if its recorded result is
// impossible there. An operation of unknown outcome has no recorded result.
bool run_op(const Operation& op, State& state) {
  auto it = state.find(op.key);
  bool unknown = op.outcome == Outcome::kUnknown;
  switch (op.kind) {
    case OpKind::kGet:
      if (unknown) return true;
      return op.value ? it != state.end() && it->second == *op.value : it == state.end();
    case OpKind::kPut:
      state[op.key] = *op.value;
      return true;
    case OpKind::kDelete:
      state.erase(op.key);
      return true;
    case OpKind::kCas: {
      bool holds = it != state.end() && it->second == *op.expected;
      if (holds) state[op.key] = *op.value;
      return unknown || holds == op.swapped;
    }
  }
  return false;
}

struct BruteForce {
  std::vector<Operation> ops;  // failed ones removed
  std::vector<bool> placed;

  bool done() const {
    for (size_t i = 0; i < ops.size(); ++i) {
      if (ops[i].outcome == Outcome::kOk && !placed[i]) return false;
    }
    return true;  // every unplaced operation has an unknown outcome: left out
  }

  // op i may come next if no unplaced operation returned before it was called.
  bool may_come_next(size_t i) const {
    for (size_t j = 0; j < ops.size(); ++j) {
      if (j != i && !placed[j] && ops[j].outcome == Outcome::kOk && ops[j].ret < ops[i].call)
        return false;
    }
    return true;
  }

  bool search(const State& state) {
    if (done()) return true;
    for (size_t i = 0; i < ops.size(); ++i) {
      if (placed[i] || !may_come_next(i)) continue;
      State next = state;
      if (!run_op(ops[i], next)) continue;
      placed[i] = true;
      bool found = search(next);
      placed[i] = false;
      if (found) return true;
    }
    return false;
  }
};

}  // namespace

bool brute_force_linearizable(const History& history) {
  BruteForce b;
  for (const Operation& op : history) {
    if (op.outcome != Outcome::kFailed) b.ops.push_back(op);
  }
  if (b.ops.size() > kMaxBruteForceOps)
    throw std::invalid_argument("history too long for brute force");
  b.placed.assign(b.ops.size(), false);
  return b.search(State{});
}

}  // namespace synod::check::testing
