#include "synod/net/node_runtime.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "synod/base/assert.h"

namespace synod::net {

namespace {

// Client process ids: the client port's from kFirstClientId, requests
// submitted here from kLocalBase (wrapping around within their range).
constexpr ProcessId kLocalBase = 0x8000'0000u;
constexpr uint64_t kRangeSize = 0x4000'0000u;
// Requests submitted here and waiting, at most.
constexpr size_t kMaxLocalWaiting = 65'536;
// A protocol answers a submitted request by its timeout; should it not, the
// caller hears this much later.
constexpr Duration kLastResortGrace = std::chrono::seconds(1);

bool is_local(ProcessId p) {
  return p >= kLocalBase && p < kLocalBase + kRangeSize;
}

wire::ClientReply rejected(std::string why) {
  wire::ClientReply reply;
  reply.mutable_rejected()->set_reason(std::move(why));
  return reply;
}

}  // namespace

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
                 after_input();
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
  after_input();
  transport_.start();
  return absl::OkStatus();
}

void NodeRuntime::stop() {
  if (stopped_) return;
  stopped_ = true;
  clients_.stop();
  transport_.stop();
  alarm_.cancel();
  // Every caller waiting on a submitted request hears why it ends.
  auto waiting = std::move(local_);
  local_.clear();
  for (auto& [id, local] : waiting) {
    // Taken or not, nobody here will learn: the outcome is unknown.
    wire::ClientReply reply;
    reply.mutable_timed_out()->set_reason("the member is shutting down");
    local.done(reply);
  }
}

// In builds that check invariants (debug, sanitizers), a protocol whose own
// state broke stops the node before it acts on it.
void NodeRuntime::after_input() const {
#ifdef SYNOD_CHECK_INVARIANTS
  if (auto broken = protocol_.check_invariants())
    SYNOD_ASSERT_MSG(false, (broken->invariant + ": " + broken->detail).c_str());
#endif
}

void NodeRuntime::synced(SyncId id) {
  if (stopped_) return;
  protocol_.on_synced(*this, id);
  after_input();
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
  if (is_local(client))
    answer(client - kLocalBase, reply);
  else
    clients_.reply(client, reply);
}

// ---- requests submitted on this node ------------------------------------------

void NodeRuntime::submit(wire::ClientRequest request, Duration timeout, ReplyHandler done) {
  if (stopped_) return done(rejected("the member is shutting down"));
  if (local_.size() >= kMaxLocalWaiting) return done(rejected("too many requests"));
  uint64_t id;
  do {
    id = next_local_++ % kRangeSize;
  } while (local_.count(id));
  request.set_through_member(true);
  request.set_timeout_ms(static_cast<uint32_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count()));
  request.set_client(0);
  request.set_seq(id);
  TimerId deadline = set_timer(timeout + kLastResortGrace, 0);
  deadlines_[{timers_[deadline], deadline}].submitted = id;
  local_[id] = Local{std::move(done), deadline};
  ++client_requests_;
  protocol_.on_client_request(*this, kLocalBase + static_cast<ProcessId>(id), request);
  after_input();
}

void NodeRuntime::answer(uint64_t id, const wire::ClientReply& reply) {
  auto it = local_.find(id);
  if (it == local_.end()) return;  // answered already
  ReplyHandler done = std::move(it->second.done);
  cancel_timer(it->second.deadline);
  local_.erase(it);
  done(reply);
}

void NodeRuntime::deliver(NodeId from, wire::PeerMessage& message) {
  if (stopped_) return;
  if (message.response()) {
    auto waiting = calls_.find(message.call());
    if (waiting == calls_.end()) return;  // timed out already: dropped, as promised
    cancel_timer(waiting->second);
    calls_.erase(waiting);
    protocol_.on_response(*this, message.call(), message.payload());
    after_input();
    return;
  }
  protocol_.on_message(*this, Incoming{from, message.payload(), message.call()});
  after_input();
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
      after_input();
    } else if (timer.submitted) {
      spdlog::warn("{}: the protocol never answered a request; timed out",
                   options_.peers.self_name);
      wire::ClientReply late;
      late.mutable_timed_out()->set_reason("request timed out");
      answer(*timer.submitted, late);
    } else {
      protocol_.on_timer(*this, timer.tag);
      after_input();
    }
  }
  arm_timer();
}

}  // namespace synod::net
