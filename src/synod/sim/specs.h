#pragma once

#include "synod/sim/protocol_spec.h"

namespace synod::sim {

// One entry of the catalogue per protocol family, each in its own file.
ProtocolInfo register_protocol();
ProtocolInfo naive_primary_backup_protocol();
ProtocolInfo heartbeat_detector_protocol();
ProtocolInfo phi_detector_protocol();
ProtocolInfo raft_protocol();
ProtocolInfo multipaxos_protocol();
ProtocolInfo paxos_protocol();
ProtocolInfo two_phase_commit_protocol();
ProtocolInfo replicated_two_phase_commit_protocol();

}  // namespace synod::sim
