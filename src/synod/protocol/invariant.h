#pragma once

#include <string>

namespace synod {

// An invariant of a protocol's own state that does not hold: which one, and
// what the state was. See Protocol::check_invariants.
struct BrokenInvariant {
  std::string invariant;  // a short name: "commit-within-log"
  std::string detail;
};

}  // namespace synod
