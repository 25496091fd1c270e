#include "synod/sim/swarm.h"

#include "synod/base/rng.h"

namespace synod::sim {

SimConfig resolve_swarm(const SimConfig& config, const ProtocolInfo& info) {
  if (!config.nemesis.swarm) return config;
  SimConfig out = config;
  Rng rng = Rng(config.seed).split("swarm");

  std::vector<FaultKind> candidates;
  for (FaultKind kind : kAllFaultKinds) {
    if (kind == FaultKind::kPartition) continue;  // the shapes are listed one by one
    if (kind == FaultKind::kByzantine && !info.byzantine_faults) continue;
    candidates.push_back(kind);
  }
  out.nemesis.swarm = false;
  out.nemesis.faults.clear();
  for (FaultKind kind : candidates)
    if (rng.chance(0.4)) out.nemesis.faults.push_back(kind);
  if (out.nemesis.faults.empty())
    out.nemesis.faults.push_back(candidates[rng.uniform(candidates.size())]);

  out.nemesis.mean_interval =
      rng.uniform_duration(std::chrono::milliseconds(300), std::chrono::seconds(6));
  out.nemesis.min_fault = std::chrono::milliseconds(100);
  out.nemesis.max_fault =
      rng.uniform_duration(std::chrono::milliseconds(500), std::chrono::seconds(10));
  out.disk.torn_tail = rng.uniform_real();
  if (out.clock.max_drift == 0 && rng.chance(0.5)) out.clock.max_drift = rng.uniform_real() * 1e-3;

  if (!config.network.model_given) {
    static constexpr NetworkConfig::Model kModels[] = {NetworkConfig::Model::kReliable,
                                                       NetworkConfig::Model::kFairLoss,
                                                       NetworkConfig::Model::kArbitrary};
    out.network.model = kModels[rng.uniform(3)];
    out.network.loss = rng.uniform_real() * 0.2;
    out.network.duplicate = rng.uniform_real() * 0.1;
    Duration low =
        rng.uniform_duration(std::chrono::microseconds(50), std::chrono::milliseconds(2));
    Duration spread =
        rng.uniform_duration(std::chrono::microseconds(100), std::chrono::milliseconds(20));
    out.network.delay.kind =
        rng.chance(0.5) ? DelayModel::Kind::kUniform : DelayModel::Kind::kExponential;
    out.network.delay.low = low;
    out.network.delay.high = low + spread;
  }
  return out;
}

}  // namespace synod::sim
