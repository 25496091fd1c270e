#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "synod/sim/config.h"
#include "synod/sim/report.h"

namespace synod::sim {

// Runs one simulation: a pure function of (config.seed, config). One thread,
// one event queue ordered by (virtual time, sequence number), one seeded
// generator split per purpose.
//
// Errors: an unknown protocol or bug, or an impossible configuration.
absl::StatusOr<RunReport> run_simulation(const SimConfig& config);

struct ProtocolInfo;
// The same for a protocol that is not in the catalogue (config.protocol is
// then only a name for reports): how a program embeds its own protocol.
absl::StatusOr<RunReport> run_simulation(const SimConfig& config, const ProtocolInfo& protocol);

// Checks a configuration without running it.
absl::Status validate(const SimConfig& config);

}  // namespace synod::sim
