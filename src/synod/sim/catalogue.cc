// The protocols the simulator can run.

#include <algorithm>

#include "synod/sim/protocol_spec.h"
#include "synod/sim/specs.h"

namespace synod::sim {
namespace {

std::vector<ProtocolInfo> build_catalogue() {
  std::vector<ProtocolInfo> list = {
      register_protocol(),
      naive_primary_backup_protocol(),
      heartbeat_detector_protocol(),
      phi_detector_protocol(),
      raft_protocol(),
      multipaxos_protocol(),
      paxos_protocol(),
      two_phase_commit_protocol(),
      replicated_two_phase_commit_protocol(),
  };
  std::sort(list.begin(), list.end(),
            [](const ProtocolInfo& a, const ProtocolInfo& b) { return a.name < b.name; });
  return list;
}

}  // namespace

const std::vector<ProtocolInfo>& catalogue() {
  static const std::vector<ProtocolInfo> list = build_catalogue();
  return list;
}

const ProtocolInfo* find_protocol(std::string_view name) {
  for (const auto& info : catalogue())
    if (info.name == name) return &info;
  return nullptr;
}

}  // namespace synod::sim
