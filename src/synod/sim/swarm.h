#pragma once

#include "synod/sim/config.h"
#include "synod/sim/protocol_spec.h"

namespace synod::sim {

// Swarm testing: with --nemesis swarm, each seed picks its own mix of fault
// kinds and rates (and, unless --network was given, its own network), so many
// seeds cover combinations nobody thought to write down. Returns the config
// unchanged otherwise. Depends only on the seed and the config.
SimConfig resolve_swarm(const SimConfig& config, const ProtocolInfo& info);

}  // namespace synod::sim
