#include "synod/check/sequential.h"

#include <algorithm>
#include <map>
#include <numeric>
#include <string>

namespace synod::check {

void apply_at_points(std::vector<PlannedOperation>& planned) {
  std::vector<size_t> order(planned.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return planned[a].point < planned[b].point; });
  std::map<std::string, std::string> store;
  for (size_t i : order) {
    if (planned[i].point < 0) continue;
    Operation& op = planned[i].op;
    auto it = store.find(op.key);
    switch (op.kind) {
      case OpKind::kGet:
        if (it != store.end()) op.value = it->second;
        break;
      case OpKind::kPut:
        store[op.key] = *op.value;
        break;
      case OpKind::kDelete:
        store.erase(op.key);
        break;
      case OpKind::kCas:
        op.swapped = it != store.end() && it->second == *op.expected;
        if (op.swapped) store[op.key] = *op.value;
        break;
    }
  }
}

}  // namespace synod::check
