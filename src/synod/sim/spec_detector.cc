// How the simulator runs the failure detectors (src/synod/detect): it tells
// true detections of crashes from false suspicions of live nodes, and checks
// strong completeness.

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <vector>

#include "synod/base/duration.h"
#include "synod/detect/failure_detector.h"
#include "synod/protocol/message.h"
#include "synod/sim/report.h"
#include "synod/sim/specs.h"
#include "synod/wire/detect.pb.h"

namespace synod::sim {
namespace {

// A node stopped this long before the end must be suspected by every live
// node (strong completeness, with a bound generous for every configuration).
constexpr Duration kCompletenessBound = std::chrono::seconds(5);

class DetectorSpec final : public ProtocolSpec, public DetectorListener {
 public:
  DetectorSpec(DetectorConfig config, SimContext& context) : config_(config), context_(context) {}

  std::unique_ptr<Protocol> make_node(NodeId node) override {
    auto protocol = std::make_unique<FailureDetectorNode>(config_, this);
    live_[node] = protocol.get();
    started_at_[node] = context_.now_ns();
    return protocol;
  }
  void on_crash(NodeId node) override {
    live_.erase(node);
    // Its restarted detector starts trusting everyone again.
    for (auto it = last_status_.begin(); it != last_status_.end();)
      it = it->first.first == node ? last_status_.erase(it) : std::next(it);
  }

  void on_fault(const FaultEvent& fault) override {
    switch (fault.kind) {
      case FaultEvent::Kind::kCrash:
      case FaultEvent::Kind::kStop:
        down_since_[fault.node] = context_.now_ns();
        crash_id_[fault.node] = ++crashes_;
        if (fault.kind == FaultEvent::Kind::kStop) stopped_at_[fault.node] = context_.now_ns();
        break;
      case FaultEvent::Kind::kRestart:
        down_since_.erase(fault.node);
        break;
      default:
        break;
    }
  }

  void on_status(NodeId observer, NodeId peer, PeerStatus status) override {
    // Only a step away from alive counts (suspected, then failed, is one suspicion).
    PeerStatus& last = last_status_[{observer, peer}];
    bool leaving_alive = last == PeerStatus::kAlive && status != PeerStatus::kAlive;
    last = status;
    if (!leaving_alive) return;
    auto down = down_since_.find(peer);
    if (down == down_since_.end()) {
      ++false_suspicions_;
      return;
    }
    auto key = std::make_pair(crash_id_[peer], observer);
    if (detected_.count(key)) return;
    detected_.insert(key);
    // Timed from when this observer could first have noticed: the crash, or
    // its own (re)start if that came later.
    detection_times_.push_back(context_.now_ns() - std::max(down->second, started_at_[observer]));
  }

  std::string describe(std::string_view payload) const override {
    auto message = parse_message<wire::DetectorMessage>(payload);
    return message ? message_label(*message) : "malformed";
  }

  void finish(RunReport& report) override {
    for (const auto& [stopped, at] : stopped_at_) {
      if (context_.now_ns() - at < kCompletenessBound.count()) continue;
      for (const auto& [observer, detector] : live_) {
        if (detector->status(stopped) == PeerStatus::kAlive)
          context_.invariant_failed("strong completeness",
                                    "node " + std::to_string(observer) + " still trusts node " +
                                        std::to_string(stopped) + ", stopped for good at " +
                                        format_duration(Duration(at)));
      }
    }
    std::sort(detection_times_.begin(), detection_times_.end());
    report.fields.emplace_back("crashes", std::to_string(crashes_));
    report.fields.emplace_back("detections", std::to_string(detection_times_.size()));
    if (!detection_times_.empty()) {
      double sum = 0;
      for (int64_t t : detection_times_)
        sum += static_cast<double>(t);
      report.fields.emplace_back("detect_mean",
                                 format_duration(Duration(static_cast<int64_t>(
                                     sum / static_cast<double>(detection_times_.size())))));
      report.fields.emplace_back("detect_max", format_duration(Duration(detection_times_.back())));
    }
    report.fields.emplace_back("false_suspicions", std::to_string(false_suspicions_));
  }

 private:
  DetectorConfig config_;
  SimContext& context_;
  std::map<NodeId, FailureDetectorNode*> live_;
  std::map<NodeId, int64_t> down_since_, stopped_at_, started_at_;
  std::map<NodeId, uint64_t> crash_id_;
  std::map<std::pair<NodeId, NodeId>, PeerStatus> last_status_;
  std::set<std::pair<uint64_t, NodeId>> detected_;
  std::vector<int64_t> detection_times_;
  uint64_t crashes_ = 0;
  uint64_t false_suspicions_ = 0;
};

ProtocolInfo detector_protocol(std::string name, std::string summary, DetectorConfig::Kind kind) {
  return {
      .name = std::move(name),
      .summary = std::move(summary),
      .serves_clients = false,
      .make =
          [kind](const SimConfig&, SimContext& context) {
            DetectorConfig config;
            config.kind = kind;
            return std::make_unique<DetectorSpec>(config, context);
          },
  };
}

}  // namespace

ProtocolInfo heartbeat_detector_protocol() {
  return detector_protocol("detector-heartbeat",
                           "heartbeat/timeout failure detector with ping retries: "
                           "alive -> suspected -> failed",
                           DetectorConfig::Kind::kHeartbeat);
}

ProtocolInfo phi_detector_protocol() {
  return detector_protocol("detector-phi", "phi accrual failure detector (threshold 8)",
                           DetectorConfig::Kind::kPhi);
}

}  // namespace synod::sim
