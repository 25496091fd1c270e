#include "synod/sim/protocol_spec.h"

namespace synod::sim {

std::string ProtocolSpec::describe(std::string_view payload) const {
  return std::to_string(payload.size()) + " bytes";
}

Bytes ProtocolSpec::alter(std::string_view payload, Rng& rng) const {
  Bytes altered(payload);
  if (altered.empty()) return "\x08\x01";  // something where there was nothing
  int flips = 1 + static_cast<int>(rng.uniform(3));
  for (int i = 0; i < flips; ++i)
    altered[rng.uniform(altered.size())] ^= static_cast<char>(1 + rng.uniform(255));
  return altered;
}

}  // namespace synod::sim
