#include "synod/net/node_runtime.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "synod/base/assert.h"

namespace synod::net {

namespace {

// Client process ids: the client port's from kFirstClientId, requests
// submitted here from kLocalBase, requests other members passed on from
// kPassedOnBase. Each range wraps around on its own.
constexpr ProcessId kLocalBase = 0x8000'0000u;
constexpr ProcessId kPassedOnBase = 0xC000'0000u;
constexpr uint64_t kRangeSize = 0x4000'0000u;
// Bounds on what other members and local callers can make this node hold.
constexpr size_t kMaxLocalWaiting = 65'536;
// A request refused for want of a leader waits this long before it is
// tried again.
constexpr Duration kRetryAfter = std::chrono::milliseconds(20);
constexpr size_t kMaxPassedOn = 65'536;
// A passed-on request whose reply never came (its command was dropped by a
// leader change) is forgotten after this; its sender has timed out by then.
constexpr Duration kPassedOnLifetime = std::chrono::seconds(60);

bool is_local(ProcessId p) {
  return p >= kLocalBase && p < kPassedOnBase;
}
bool is_passed_on(ProcessId p) {
  return p >= kPassedOnBase;
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
    local.done(rejected("the member is shutting down"));
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
  if (is_local(client)) {
    finish_local(client - kLocalBase, reply);
  } else if (is_passed_on(client)) {
    auto it = passed_on_.find(client);
    if (it == passed_on_.end()) return;
    wire::PeerMessage back;
    back.set_forward_id(it->second.forward_id);
    *back.mutable_forward_reply() = reply;
    NodeId to = it->second.from;
    passed_on_.erase(it);
    route(to, std::move(back));
  } else {
    clients_.reply(client, reply);
  }
}

// ---- requests submitted on this node, passed on to the leader --------------

void NodeRuntime::submit(wire::ClientRequest request, Duration timeout, ReplyHandler done) {
  if (stopped_) return done(rejected("the member is shutting down"));
  if (local_.size() >= kMaxLocalWaiting) return done(rejected("too many requests waiting"));
  uint64_t id;
  do {
    id = next_local_++ % kRangeSize;
  } while (local_.count(id));
  request.set_one_shot(true);
  request.set_client((uint64_t{self()} + 1) << 40 | id);
  request.set_seq(1);
  TimerId deadline = set_timer(timeout, 0);
  deadlines_[{timers_[deadline], deadline}].submitted = id;
  Local& local = local_[id];
  local.request = std::move(request);
  local.done = std::move(done);
  local.deadline = deadline;
  ++client_requests_;
  attempt(id);
}

void NodeRuntime::attempt(uint64_t id) {
  Local& local = local_.at(id);
  local.retry = 0;
  local.passed_on = false;
  protocol_.on_client_request(*this, kLocalBase + static_cast<ProcessId>(id), local.request);
  after_input();
}

void NodeRuntime::finish_local(uint64_t id, const wire::ClientReply& reply) {
  auto it = local_.find(id);
  if (it == local_.end()) return;  // answered already, or timed out
  Local& local = it->second;
  if (local.retry) return;  // a stale reply: it is waiting to try again
  if (reply.has_redirect() && reply.redirect().known() && reply.redirect().node() != self() &&
      !local.passed_on) {
    // Not the leader here: pass it on, once. The leader's reply (or its
    // own redirect, if leadership moved again) comes back as is.
    local.passed_on = true;
    wire::PeerMessage message;
    message.set_forward_id(id);
    *message.mutable_forward() = local.request;
    route(reply.redirect().node(), std::move(message));
    return;
  }
  if (reply.has_redirect()) {
    // No leader known, or leadership moved while it was passed on: it was
    // not taken, so it is safe to try again, until its deadline.
    local.retry = set_timer(kRetryAfter, 0);
    deadlines_[{timers_[local.retry], local.retry}].retry = id;
    return;
  }
  answer(id, reply);
}

void NodeRuntime::answer(uint64_t id, const wire::ClientReply& reply) {
  auto it = local_.find(id);
  if (it == local_.end()) return;
  ReplyHandler done = std::move(it->second.done);
  cancel_timer(it->second.deadline);
  if (it->second.retry) cancel_timer(it->second.retry);
  local_.erase(it);
  done(reply);
}

void NodeRuntime::forwarded_in(NodeId from, wire::PeerMessage& message) {
  if (message.has_forward_reply()) {
    if (from == self() || !local_.count(message.forward_id())) return;
    finish_local(message.forward_id(), message.forward_reply());
    return;
  }
  // Forget passed-on requests whose replies will never come: a walk over
  // them all, so at most once a second, not on every request.
  if (now() - last_sweep_ >= std::chrono::seconds(1)) {
    last_sweep_ = now();
    for (auto it = passed_on_.begin(); it != passed_on_.end();)
      it = now() - it->second.at > kPassedOnLifetime ? passed_on_.erase(it) : std::next(it);
  }
  if (passed_on_.size() >= kMaxPassedOn) return;  // the sender times out
  ProcessId client;
  do {
    client = kPassedOnBase + static_cast<ProcessId>(next_passed_on_++ % kRangeSize);
  } while (passed_on_.count(client));
  passed_on_[client] = {from, message.forward_id(), now()};
  ++client_requests_;
  protocol_.on_client_request(*this, client, message.forward());
  after_input();
}

void NodeRuntime::deliver(NodeId from, wire::PeerMessage& message) {
  if (stopped_) return;
  if (message.has_forward() || message.has_forward_reply()) return forwarded_in(from, message);
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
      answer(*timer.submitted, rejected("request timed out"));
    } else if (timer.retry) {
      if (local_.count(*timer.retry)) attempt(*timer.retry);
    } else {
      protocol_.on_timer(*this, timer.tag);
      after_input();
    }
  }
  arm_timer();
}

}  // namespace synod::net
