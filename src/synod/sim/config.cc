#include "synod/sim/config.h"

#include <sstream>

#include "absl/status/status.h"
#include "synod/base/assert.h"
#include "synod/base/duration.h"

namespace synod::sim {
namespace {

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t end = text.find(separator, start);
    parts.push_back(text.substr(start, end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return parts;
}

absl::StatusOr<Duration> duration_arg(std::string_view text, std::string_view what) {
  auto d = parse_duration(text);
  if (!d)
    return absl::InvalidArgumentError(std::string(what) + ": not a duration: '" +
                                      std::string(text) + "' (try 5ms, 1.5s)");
  return *d;
}

}  // namespace

absl::StatusOr<DelayModel> DelayModel::parse(std::string_view text) {
  auto colon = text.find(':');
  std::string_view kind = text.substr(0, colon);
  std::vector<std::string_view> args;
  if (colon != std::string_view::npos) args = split(text.substr(colon + 1), ',');
  DelayModel model;
  auto usage = absl::InvalidArgumentError(
      "--delay: expected fixed:D, uniform:LOW,HIGH or exp:FLOOR,MEAN, got '" + std::string(text) +
      "'");
  if (kind == "fixed" && args.size() == 1) {
    model.kind = Kind::kFixed;
    auto d = duration_arg(args[0], "--delay");
    if (!d.ok()) return d.status();
    model.low = model.high = *d;
  } else if ((kind == "uniform" || kind == "exp") && args.size() == 2) {
    model.kind = kind == "uniform" ? Kind::kUniform : Kind::kExponential;
    auto low = duration_arg(args[0], "--delay");
    if (!low.ok()) return low.status();
    auto high = duration_arg(args[1], "--delay");
    if (!high.ok()) return high.status();
    model.low = *low;
    model.high = model.kind == Kind::kUniform ? *high : *low + *high;
    if (model.kind == Kind::kUniform && model.high < model.low)
      return absl::InvalidArgumentError("--delay: uniform bounds are reversed");
    if (model.kind == Kind::kExponential && high->count() == 0)
      return absl::InvalidArgumentError("--delay: exponential mean must be positive");
  } else {
    return usage;
  }
  return model;
}

std::string DelayModel::to_string() const {
  switch (kind) {
    case Kind::kFixed:
      return "fixed:" + format_duration(low);
    case Kind::kUniform:
      return "uniform:" + format_duration(low) + "," + format_duration(high);
    case Kind::kExponential:
      return "exp:" + format_duration(low) + "," + format_duration(high - low);
  }
  SYNOD_UNREACHABLE();
}

std::string_view byzantine_mode_name(ByzantineMode mode) {
  switch (mode) {
    case ByzantineMode::kSilent:
      return "silent";
    case ByzantineMode::kAlter:
      return "alter";
    case ByzantineMode::kEquivocate:
      return "equivocate";
    case ByzantineMode::kForge:
      return "forge";
  }
  SYNOD_UNREACHABLE();
}

std::optional<NetworkConfig::Model> NetworkConfig::parse_model(std::string_view name) {
  if (name == "reliable") return Model::kReliable;
  if (name == "fair-loss") return Model::kFairLoss;
  if (name == "arbitrary") return Model::kArbitrary;
  return std::nullopt;
}

std::string_view NetworkConfig::model_name(Model model) {
  switch (model) {
    case Model::kReliable:
      return "reliable";
    case Model::kFairLoss:
      return "fair-loss";
    case Model::kArbitrary:
      return "arbitrary";
  }
  SYNOD_UNREACHABLE();
}

std::string_view fault_name(FaultKind kind) {
  switch (kind) {
    case FaultKind::kPartition:
      return "partition";
    case FaultKind::kPartitionSymmetric:
      return "partition-symmetric";
    case FaultKind::kPartitionOneWay:
      return "partition-oneway";
    case FaultKind::kPartitionMajority:
      return "partition-majority";
    case FaultKind::kPartitionBridge:
      return "partition-bridge";
    case FaultKind::kCrash:
      return "crash";
    case FaultKind::kCrashStop:
      return "crash-stop";
    case FaultKind::kPause:
      return "pause";
    case FaultKind::kSkew:
      return "skew";
    case FaultKind::kByzantine:
      return "byzantine";
    case FaultKind::kCrashLeader:
      return "crash-leader";
    case FaultKind::kPauseLeader:
      return "pause-leader";
    case FaultKind::kPartitionLeader:
      return "partition-leader";
    case FaultKind::kMembership:
      return "membership";
    case FaultKind::kTransfer:
      return "transfer";
  }
  SYNOD_UNREACHABLE();
}

std::optional<FaultKind> parse_fault(std::string_view name) {
  for (FaultKind kind : kAllFaultKinds)
    if (fault_name(kind) == name) return kind;
  return std::nullopt;
}

absl::StatusOr<NemesisConfig> NemesisConfig::parse(std::string_view text) {
  NemesisConfig config;
  if (text.empty() || text == "none") return config;
  if (text == "swarm") {
    config.swarm = true;
    return config;
  }
  for (std::string_view name : split(text, ',')) {
    auto kind = parse_fault(name);
    if (!kind) {
      std::string known;
      for (FaultKind k : kAllFaultKinds)
        known += std::string(known.empty() ? "" : ", ") + std::string(fault_name(k));
      return absl::InvalidArgumentError("--nemesis: unknown fault '" + std::string(name) +
                                        "'; known: none, swarm, " + known);
    }
    bool seen = false;
    for (FaultKind k : config.faults)
      seen |= k == *kind;
    if (!seen) config.faults.push_back(*kind);
  }
  return config;
}

std::string NemesisConfig::to_string() const {
  if (swarm) return "swarm";
  if (faults.empty()) return "none";
  std::string text;
  for (FaultKind kind : faults)
    text += (text.empty() ? "" : ",") + std::string(fault_name(kind));
  return text;
}

std::string SimConfig::to_flags() const {
  std::ostringstream out;
  out << "--protocol " << protocol << " --seed " << seed << " --nodes " << nodes << " --duration "
      << format_duration(duration);
  if (network.model_given) {
    out << " --network " << NetworkConfig::model_name(network.model) << " --delay "
        << network.delay.to_string();
    if (network.model != NetworkConfig::Model::kReliable) out << " --loss " << network.loss;
    if (network.model == NetworkConfig::Model::kArbitrary)
      out << " --duplicate " << network.duplicate;
  }
  out << " --nemesis " << nemesis.to_string();
  const NemesisConfig defaults;
  if (!nemesis.swarm && nemesis.mean_interval != defaults.mean_interval)
    out << " --fault-every " << format_duration(nemesis.mean_interval);
  if (!nemesis.swarm &&
      (nemesis.min_fault != defaults.min_fault || nemesis.max_fault != defaults.max_fault))
    out << " --fault-length " << format_duration(nemesis.min_fault) << ","
        << format_duration(nemesis.max_fault);
  if (nemesis.max_down != defaults.max_down) out << " --max-down " << nemesis.max_down;
  if (clock.max_offset.count() != 0) out << " --clock-offset " << format_duration(clock.max_offset);
  if (clock.max_drift != 0) out << " --clock-drift " << clock.max_drift;
  if (workload.clients != WorkloadConfig{}.clients) out << " --clients " << workload.clients;
  if (workload.keys != WorkloadConfig{}.keys) out << " --keys " << workload.keys;
  if (workload.stop_before_end.count() != 0)
    out << " --clients-stop " << format_duration(workload.stop_before_end);
  if (workload.through_member != WorkloadConfig{}.through_member)
    out << " --through-member " << workload.through_member;
  if (!bug.empty()) out << " --bug " << bug;
  if (fixed_options) out << " --fixed-options";
  return out.str();
}

}  // namespace synod::sim
