#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

namespace synod::cli {

// The p-th quantile (0..1) of latencies sorted ascending; 0 when empty.
inline int64_t percentile(const std::vector<int64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t i =
      std::min(sorted.size() - 1, static_cast<size_t>(p * static_cast<double>(sorted.size())));
  return sorted[i];
}

}  // namespace synod::cli
