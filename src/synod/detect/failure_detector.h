#pragma once

#include <map>
#include <optional>

#include "synod/detect/phi_accrual.h"
#include "synod/protocol/protocol.h"

namespace synod {

enum class PeerStatus { kAlive, kSuspected, kFailed };
std::string_view peer_status_name(PeerStatus status);

// Hears what a detector concludes. Called from inside the protocol, so it
// must not call back into it.
class DetectorListener {
 public:
  virtual ~DetectorListener() = default;
  virtual void on_status(NodeId observer, NodeId peer, PeerStatus status) = 0;
};

struct DetectorConfig {
  enum class Kind {
    // Timeout with retries: a peer silent for `timeout` is suspected; it is
    // then pinged directly up to `ping_attempts` times, and declared failed
    // when every ping goes unanswered. Any message from it makes it alive.
    kHeartbeat,
    // Phi accrual: suspected while phi exceeds the threshold.
    kPhi,
  };
  Kind kind = Kind::kHeartbeat;
  Duration interval = std::chrono::milliseconds(100);  // between heartbeats, and checks
  Duration timeout = std::chrono::milliseconds(500);   // heartbeat: silence before suspicion
  int ping_attempts = 3;
  Duration ping_timeout = std::chrono::milliseconds(200);
  PhiConfig phi;
};

// A failure detector run as a protocol: every node heartbeats every other
// node and judges each peer alive, suspected or failed. Detectors are
// unreliable by nature (FLP): a slow or partitioned node is suspected, and a
// crashed one is only suspected after a delay. The simulator measures both.
class FailureDetectorNode final : public Protocol {
 public:
  FailureDetectorNode(const DetectorConfig& config, DetectorListener* listener)
      : config_(config), listener_(listener) {}

  void start(Env& env) override;
  void on_message(Env& env, const Incoming& message) override;
  void on_timer(Env& env, uint64_t tag) override;
  void on_response(Env& env, CallId call, std::string_view payload) override;
  void on_call_failed(Env& env, CallId call) override;

  PeerStatus status(NodeId peer) const;

 private:
  struct Peer {
    explicit Peer(const PhiConfig& phi) : arrivals(phi) {}
    PeerStatus status = PeerStatus::kAlive;
    Time last_heard{};
    PhiAccrual arrivals;
    int pings_failed = 0;
    std::optional<CallId> ping;  // the ping in flight
  };

  void heard_from(Env& env, NodeId peer);
  void check(Env& env);
  void ping(Env& env, NodeId peer, Peer& state);
  void set_status(Env& env, NodeId peer, Peer& state, PeerStatus status);

  DetectorConfig config_;
  DetectorListener* listener_;
  std::map<NodeId, Peer> peers_;
  std::map<CallId, NodeId> pings_;
  uint64_t heartbeat_seq_ = 0;
};

}  // namespace synod
