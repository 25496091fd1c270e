#include "synod/net/node_runtime.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "synod/base/assert.h"

namespace synod::net {

NodeRuntime::NodeRuntime(asio::io_context& io, NodeRuntimeOptions options, Storage& storage,
                         Protocol& protocol)
    : io_(io),
      options_(std::move(options)),
      storage_(storage),
      protocol_(protocol),
      rng_(options_.seed),
      epoch_(std::chrono::steady_clock::now()),
      transport_(io, options_.peers, rng_.split("transport"),
                 [this](NodeId from, wire::PeerMessage& message) { deliver(from, message); }),
      clients_(io, options_.clients,
               [this](ProcessId client, const wire::ClientRequest& request) {
                 if (stopped_) return;
                 ++client_requests_;
                 protocol_.on_client_request(*this, client, request);
               }),
      alarm_(io) {
  nodes_.push_back(options_.peers.self);
  for (const auto& [id, address] : options_.peers.peers)
    nodes_.push_back(id);
  std::sort(nodes_.begin(), nodes_.end());
}

NodeRuntime::~NodeRuntime() {
  stop();
}

absl::Status NodeRuntime::start() {
  if (auto status = transport_.listen(options_.listen_peers); !status.ok()) return status;
  if (auto status = clients_.listen(options_.listen_clients); !status.ok()) return status;
  protocol_.start(*this);
  transport_.start();
  return absl::OkStatus();
}

void NodeRuntime::stop() {
  if (stopped_) return;
  stopped_ = true;
  clients_.stop();
  transport_.stop();
  alarm_.cancel();
}

void NodeRuntime::synced(SyncId id) {
  if (!stopped_) protocol_.on_synced(*this, id);
}

Time NodeRuntime::now() const {
  return Time(std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now() - epoch_));
}

void NodeRuntime::send(ProcessId to, Bytes payload) {
  SYNOD_ASSERT_MSG(!is_client(to), "protocols answer clients with reply()");
  wire::PeerMessage message;
  message.set_payload(std::move(payload));
  route(to, std::move(message));
}

void NodeRuntime::route(ProcessId to, wire::PeerMessage message) {
  if (to == self()) {
    // Through the loop, as if from the network: never inside this input.
    asio::post(io_, [this, message = std::move(message)]() mutable { deliver(self(), message); });
    return;
  }
  transport_.send(to, std::move(message));
}

CallId NodeRuntime::call(ProcessId to, Bytes payload, Duration timeout) {
  CallId id = next_call_++;
  TimerId deadline = set_timer(timeout, 0);
  deadlines_[{timers_[deadline], deadline}].call = id;
  calls_[id] = deadline;
  wire::PeerMessage message;
  message.set_payload(std::move(payload));
  message.set_call(id);
  route(to, std::move(message));
  return id;
}

void NodeRuntime::respond(const Incoming& request, Bytes payload) {
  SYNOD_ASSERT(request.call != 0);
  wire::PeerMessage message;
  message.set_payload(std::move(payload));
  message.set_call(request.call);
  message.set_response(true);
  route(request.from, std::move(message));
}

void NodeRuntime::reply(ProcessId client, const wire::ClientReply& reply) {
  ++client_replies_;
  clients_.reply(client, reply);
}

void NodeRuntime::deliver(NodeId from, wire::PeerMessage& message) {
  if (stopped_) return;
  if (message.response()) {
    auto waiting = calls_.find(message.call());
    if (waiting == calls_.end()) return;  // timed out already: dropped, as promised
    cancel_timer(waiting->second);
    calls_.erase(waiting);
    protocol_.on_response(*this, message.call(), message.payload());
    return;
  }
  protocol_.on_message(*this, Incoming{from, message.payload(), message.call()});
}

void NodeRuntime::note(std::string_view text) {
  spdlog::info("{}: {}", options_.describe ? options_.describe() : options_.peers.self_name, text);
}

// --- timers: one Asio timer, armed for the earliest deadline ---

TimerId NodeRuntime::set_timer(Duration after, uint64_t tag) {
  TimerId id = next_timer_++;
  Time at = now() + std::max(after, Duration::zero());
  deadlines_[{at, id}] = Timer{tag, std::nullopt};
  timers_[id] = at;
  arm_timer();
  return id;
}

void NodeRuntime::cancel_timer(TimerId timer) {
  auto it = timers_.find(timer);
  if (it == timers_.end()) return;
  deadlines_.erase({it->second, timer});
  timers_.erase(it);
}

void NodeRuntime::arm_timer() {
  if (stopped_ || deadlines_.empty()) return;
  Time earliest = deadlines_.begin()->first.first;
  if (earliest <= now()) {
    // Due already (a zero delay: "after the inputs queued now"): run it after
    // the handlers already on the loop, so they batch, with no timer syscall.
    if (!fire_posted_) {
      fire_posted_ = true;
      asio::post(io_, [this] {
        fire_posted_ = false;
        fire_timers();
      });
    }
    return;
  }
  if (earliest >= armed_for_) return;  // already armed at or before it
  armed_for_ = earliest;
  alarm_.expires_at(epoch_ + earliest.time_since_epoch());
  alarm_.async_wait([this](asio::error_code ec) {
    if (ec == asio::error::operation_aborted) return;  // re-armed earlier, or stopped
    armed_for_ = Time::max();
    fire_timers();
  });
}

void NodeRuntime::fire_timers() {
  while (!stopped_ && !deadlines_.empty() && deadlines_.begin()->first.first <= now()) {
    auto [key, timer] = *deadlines_.begin();
    deadlines_.erase(deadlines_.begin());
    timers_.erase(key.second);
    if (timer.call) {
      calls_.erase(*timer.call);
      protocol_.on_call_failed(*this, *timer.call);
    } else {
      protocol_.on_timer(*this, timer.tag);
    }
  }
  arm_timer();
}

}  // namespace synod::net
