#include "synod/sim/report.h"

#include <cinttypes>
#include <cstdio>
#include <sstream>

#include "synod/base/duration.h"

namespace synod::sim {

bool RunReport::passed() const {
  if (linearizability && !linearizability->linearizable) return false;
  if (invariant_failure_count > 0) return false;
  if (liveness && !*liveness) return false;
  return true;
}

std::string RunReport::summary_line() const {
  char hash[32];
  std::snprintf(hash, sizeof hash, "%016" PRIx64, trace_hash);
  std::ostringstream out;
  out << "seed=" << seed << " hash=" << hash;
  if (linearizability) {
    out << " ops=" << ops_ok << " failed=" << ops_failed << " unknown=" << ops_unknown
        << " linearizable="
        << (linearizability->linearizable ? "yes"
            : linearizability->undecided  ? "UNDECIDED"  // not shown either way: not a pass
                                          : "NO");
  }
  out << " invariants=" << (invariant_failure_count == 0 ? "ok" : "BROKEN");
  if (liveness) out << " liveness=" << (*liveness ? "ok" : "NO");
  for (const auto& [name, value] : fields)
    out << " " << name << "=" << value;
  out << " messages=" << messages_delivered << " result=" << (passed() ? "PASS" : "FAIL");
  return out.str();
}

std::string RunReport::failure_details() const {
  std::ostringstream out;
  if (linearizability && !linearizability->linearizable)
    out << (linearizability->undecided ? "linearizability undecided: key "
                                       : "not linearizable: key ")
        << linearizability->key << "\n"
        << linearizability->explanation << "\n";
  for (const auto& f : invariant_failures)
    out << "invariant " << f.invariant << " broken at " << format_duration(Duration(f.at_ns))
        << ": " << f.detail << "\n";
  if (invariant_failure_count > invariant_failures.size())
    out << "(" << invariant_failure_count - invariant_failures.size()
        << " more invariant failures not shown)\n";
  if (liveness && !*liveness) out << "liveness: " << liveness_detail << "\n";
  return out.str();
}

}  // namespace synod::sim
