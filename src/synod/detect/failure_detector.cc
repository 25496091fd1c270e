#include "synod/detect/failure_detector.h"

#include "synod/base/assert.h"
#include "synod/protocol/message.h"
#include "synod/wire/detect.pb.h"

namespace synod {
namespace {

constexpr uint64_t kTickTimer = 1;

}  // namespace

std::string_view peer_status_name(PeerStatus status) {
  switch (status) {
    case PeerStatus::kAlive:
      return "alive";
    case PeerStatus::kSuspected:
      return "suspected";
    case PeerStatus::kFailed:
      return "failed";
  }
  SYNOD_UNREACHABLE();
}

void FailureDetectorNode::start(Env& env) {
  // Every peer starts alive and "just heard": a (re)started node gives each
  // peer a full timeout before suspecting it, and still suspects a peer it
  // never hears from (which it must, for completeness).
  for (NodeId node : env.nodes()) {
    if (node == env.self()) continue;
    auto [it, inserted] = peers_.emplace(node, Peer(config_.phi));
    it->second.last_heard = env.now();
    it->second.arrivals.heartbeat(env.now());
  }
  env.set_timer(Duration(0), kTickTimer);
}

PeerStatus FailureDetectorNode::status(NodeId peer) const {
  auto it = peers_.find(peer);
  return it == peers_.end() ? PeerStatus::kAlive : it->second.status;
}

void FailureDetectorNode::on_timer(Env& env, uint64_t tag) {
  SYNOD_ASSERT(tag == kTickTimer);
  wire::DetectorMessage heartbeat;
  heartbeat.mutable_heartbeat()->set_seq(++heartbeat_seq_);
  for (const auto& [peer, state] : peers_)
    send_message(env, peer, heartbeat);
  check(env);
  env.set_timer(config_.interval, kTickTimer);
}

void FailureDetectorNode::on_message(Env& env, const Incoming& message) {
  auto parsed = parse_message<wire::DetectorMessage>(message.payload);
  if (!parsed || !peers_.count(message.from)) {
    if (env.tracing()) env.note("dropped a malformed or foreign message");
    return;
  }
  if (parsed->has_ping() && message.call != 0) {
    wire::DetectorMessage pong;
    pong.mutable_pong();
    respond_message(env, message, pong);
  }
  if (parsed->has_heartbeat()) peers_.at(message.from).arrivals.heartbeat(env.now());
  heard_from(env, message.from);
}

void FailureDetectorNode::on_response(Env& env, CallId call, std::string_view) {
  auto it = pings_.find(call);
  if (it == pings_.end()) return;
  NodeId peer = it->second;
  pings_.erase(it);
  peers_.at(peer).ping.reset();
  heard_from(env, peer);
}

void FailureDetectorNode::on_call_failed(Env& env, CallId call) {
  auto it = pings_.find(call);
  if (it == pings_.end()) return;
  NodeId peer = it->second;
  pings_.erase(it);
  Peer& state = peers_.at(peer);
  state.ping.reset();
  if (state.status != PeerStatus::kSuspected) return;
  if (++state.pings_failed >= config_.ping_attempts) {
    set_status(env, peer, state, PeerStatus::kFailed);
    return;
  }
  ping(env, peer, state);  // retry
}

void FailureDetectorNode::heard_from(Env& env, NodeId peer) {
  Peer& state = peers_.at(peer);
  state.last_heard = env.now();
  state.pings_failed = 0;
  // The heartbeat detector trusts any sign of life; the phi detector decides
  // on its next check from the arrival history.
  if (config_.kind == DetectorConfig::Kind::kHeartbeat)
    set_status(env, peer, state, PeerStatus::kAlive);
}

void FailureDetectorNode::check(Env& env) {
  Time now = env.now();
  for (auto& [peer, state] : peers_) {
    if (config_.kind == DetectorConfig::Kind::kPhi) {
      bool suspect = state.arrivals.phi(now) > config_.phi.threshold;
      set_status(env, peer, state, suspect ? PeerStatus::kSuspected : PeerStatus::kAlive);
      continue;
    }
    if (state.status == PeerStatus::kAlive && now - state.last_heard > config_.timeout) {
      set_status(env, peer, state, PeerStatus::kSuspected);
      state.pings_failed = 0;
      ping(env, peer, state);
    }
  }
}

void FailureDetectorNode::ping(Env& env, NodeId peer, Peer& state) {
  if (state.ping) return;
  wire::DetectorMessage ping;
  ping.mutable_ping();
  CallId call = call_message(env, peer, ping, config_.ping_timeout);
  state.ping = call;
  pings_[call] = peer;
}

void FailureDetectorNode::set_status(Env& env, NodeId peer, Peer& state, PeerStatus status) {
  if (state.status == status) return;
  state.status = status;
  if (env.tracing())
    env.note(std::string(peer_status_name(status)) + ": node " + std::to_string(peer));
  if (listener_) listener_->on_status(env.self(), peer, status);
}

}  // namespace synod
