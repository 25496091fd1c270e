// Requests left to the member that received them (through_member): how a
// member numbers them in its own session, passes them on to the leader,
// tries them again, and answers them. A copy of a write may reach the log
// more than once; the session applies it once. See replica_node.h.

#include <algorithm>
#include <vector>

#include "synod/base/assert.h"
#include "synod/replication/replica_message.h"
#include "synod/replication/replica_node.h"

namespace synod::replication {
namespace {

// A caller may ask for a longer wait than the default, up to this.
constexpr Duration kMaxRequestTimeout = std::chrono::seconds(60);

wire::ClientReply timed_out(std::string reason) {
  wire::ClientReply reply;
  reply.mutable_timed_out()->set_reason(std::move(reason));
  return reply;
}

}  // namespace

void ReplicaNode::take_over_write(Env& env, ProcessId client, const wire::ClientRequest& request) {
  wire::ClientRequest command = request;
  command.set_through_member(false);
  command.set_timeout_ms(0);
  command.set_client(session_);
  command.set_seq(next_seq_++);
  WriteKey key{session_, command.seq()};
  SYNOD_ASSERT(!writes_.count(key));  // numbers are never reused
  WaitingWrite& w = writes_[key];
  w.reply_to = client;
  w.reply_seq = request.seq();
  Duration timeout =
      request.timeout_ms() == 0
          ? options_.request_timeout
          : std::min<Duration>(std::chrono::milliseconds(request.timeout_ms()), kMaxRequestTimeout);
  w.deadline = env.now() + timeout;
  w.owned = true;
  w.request = std::move(command);
  try_write(env, key);
}

// The lowest number this member still waits for: every request it numbered
// below has been answered, so its session may forget them.
uint64_t ReplicaNode::first_unanswered() const {
  auto it = writes_.lower_bound({session_, 0});
  if (it != writes_.end() && it->first.first == session_) return it->first.second;
  return next_seq_;
}

void ReplicaNode::try_write(Env& env, WriteKey key) {
  WaitingWrite* w = &writes_.at(key);
  SYNOD_ASSERT(w->owned);
  if (options_.retry_under_new_number && w->sent_to) {
    // The bug: the copy goes out as a new request.
    WaitingWrite moved = std::move(*w);
    writes_.erase(key);
    key = {session_, next_seq_++};
    moved.request.set_seq(key.second);
    w = &(writes_[key] = std::move(moved));
  }
  // A copy already out may still be taken: a later refusal does not end it.
  if (w->sent_to) w->earlier_copy_may_apply = true;
  w->request.set_first_unanswered(first_unanswered());
  w->sent_to.reset();
  std::optional<NodeId> leader = engine_->leader();
  if (!leader) return not_taken(*w, env.now());
  w->next_try = env.now() + options_.resend_after;
  w->sent_to = leader;
  if (*leader != env.self()) {
    wire::ReplicaMessage m;
    *m.mutable_forward()->mutable_request() = w->request;
    env.send(*leader, replica_message(m));
    return;
  }
  wire::ClientRequest request = w->request;  // proposing may apply it, and end it
  auto outcome = propose_here(env, request);
  if (!outcome || !writes_.count(key)) return;
  if (outcome->first) return not_taken(writes_.at(key), env.now());
  refused_for_good(env, key, outcome->second);
}

// Refused for good (the store is full), but a copy sent earlier may be in a
// log: then the outcome is unknown.
void ReplicaNode::refused_for_good(Env& env, WriteKey key, const wire::ClientReply& refusal) {
  if (!writes_.at(key).earlier_copy_may_apply) return end_write(env, key, refusal);
  end_write(env, key,
            timed_out("request timed out: refused (" + refusal.ShortDebugString() +
                      ") after an earlier copy may have been taken"));
}

std::optional<std::pair<bool, wire::ClientReply>> ReplicaNode::propose_here(
    Env& env, const wire::ClientRequest& request) {
  if (auto refusal = machine_->admit(request)) return std::pair{false, *refusal};
  // Not leading after all, overloaded, or handing leadership over: later.
  if (engine_->propose(env, request.SerializeAsString()))
    return std::pair{true, wire::ClientReply{}};
  return std::nullopt;
}

void ReplicaNode::not_taken(WaitingWrite& w, Time now) {
  w.sent_to.reset();
  w.next_try = now + options_.retry_after;
}

void ReplicaNode::try_read(Env& env, uint64_t id) {
  WaitingRead& r = reads_.at(id);
  SYNOD_ASSERT(r.owned);
  r.sent_to.reset();
  std::optional<NodeId> leader = engine_->leader();
  if (!leader) {
    r.next_try = env.now() + options_.retry_after;
    return;
  }
  if (*leader != env.self()) {
    r.sent_to = leader;
    r.next_try = env.now() + options_.resend_after;
    wire::ReplicaMessage m;
    m.mutable_forward()->set_read(id);
    *m.mutable_forward()->mutable_request() = r.request;
    env.send(*leader, replica_message(m));
    return;
  }
  // A barrier here ends in read_ready or read_refused (never inside read()).
  r.sent_to = env.self();
  r.next_try = r.deadline;
  if (engine_->read(env, id)) {
    WaitingRead& again = reads_.at(id);
    again.sent_to.reset();
    again.next_try = env.now() + options_.retry_after;
  }
}

// ---- between members ---------------------------------------------------------

void ReplicaNode::on_replica_message(Env& env, NodeId from, std::string_view payload) {
  auto m = parse_replica_message(payload);
  if (!m) return;  // malformed: dropped, never trusted
  if (m->has_forward()) on_forwarded(env, from, m->forward());
  if (m->has_answer()) on_answer(env, from, m->answer());
}

// Another member passed a request on to this one, as the leader it knows.
void ReplicaNode::on_forwarded(Env& env, NodeId from, const wire::ForwardedRequest& forwarded) {
  ++counters_.forwarded_in;
  const wire::ClientRequest& request = forwarded.request();
  if (request.command_case() == wire::ClientRequest::COMMAND_NOT_SET) return;
  wire::ReplicaMessage m;
  wire::ForwardedAnswer& a = *m.mutable_answer();
  if (forwarded.read() != 0) {
    if (!machine_->is_read(request)) return;
    a.set_read(forwarded.read());
    a.set_try_again(true);
    if (waiting() >= options_.max_waiting) return env.send(from, replica_message(m));
    uint64_t id = next_read_++;
    WaitingRead& r = reads_[id];
    r.route.member = from;
    r.route.remote_read = forwarded.read();
    r.request = request;
    r.deadline = env.now() + options_.request_timeout;
    if (engine_->read(env, id)) {
      reads_.erase(id);
      env.send(from, replica_message(m));
    }
    return;
  }
  // A write carries its member's session; the member waits for it to apply
  // there, so nothing waits here for it. A copy already applied, or one its
  // member gave up on, needs nothing.
  if (machine_->is_read(request) || request.client() == 0) return;
  if (sessions_.check(request.client(), request.seq(), nullptr) != SessionTable::Seen::kNew) return;
  auto outcome = propose_here(env, request);
  if (!outcome) return;
  a.set_client(request.client());
  a.set_seq(request.seq());
  a.set_try_again(outcome->first);
  if (!outcome->first) *a.mutable_reply() = outcome->second;
  env.send(from, replica_message(m));
}

// What became of a request this member passed on. Only the answer of the
// member it went to last counts.
void ReplicaNode::on_answer(Env& env, NodeId from, const wire::ForwardedAnswer& answer) {
  if (answer.read() != 0) {
    auto it = reads_.find(answer.read());
    if (it == reads_.end() || !it->second.owned || it->second.sent_to != from) return;
    if (!answer.try_again()) return end_read(env, answer.read(), answer.reply());
    it->second.sent_to.reset();
    it->second.next_try = env.now() + options_.retry_after;
    return;
  }
  WriteKey key{answer.client(), answer.seq()};
  auto it = writes_.find(key);
  if (it == writes_.end() || !it->second.owned || it->second.sent_to != from) return;
  if (answer.try_again()) return not_taken(it->second, env.now());
  refused_for_good(env, key, answer.reply());
}

// ---- answers -------------------------------------------------------------------

void ReplicaNode::end_write(Env& env, WriteKey key, wire::ClientReply reply) {
  auto it = writes_.find(key);
  SYNOD_ASSERT(it != writes_.end());
  Route route;
  route.client = it->second.reply_to;
  uint64_t seq = it->second.reply_seq;
  writes_.erase(it);
  answer(env, route, seq, std::move(reply));
}

void ReplicaNode::end_read(Env& env, uint64_t id, wire::ClientReply reply) {
  auto it = reads_.find(id);
  SYNOD_ASSERT(it != reads_.end());
  Route route = it->second.route;
  uint64_t seq = it->second.request.seq();
  reads_.erase(it);
  answer(env, route, seq, std::move(reply));
}

void ReplicaNode::answer(Env& env, const Route& route, uint64_t seq, wire::ClientReply reply) {
  if (route.member) {
    wire::ReplicaMessage m;
    m.mutable_answer()->set_read(route.remote_read);
    *m.mutable_answer()->mutable_reply() = std::move(reply);
    env.send(*route.member, replica_message(m));
    return;
  }
  reply.set_seq(seq);
  env.reply(route.client, reply);
}

// ---- retries and deadlines ---------------------------------------------------

void ReplicaNode::after_input(Env& env) {
  std::optional<NodeId> leader = engine_->leader();
  if (leader != leader_seen_) {
    leader_seen_ = leader;
    if (leader) {
      // What went to another leader may have been dropped with its term.
      std::vector<WriteKey> writes;
      for (const auto& [key, w] : writes_)
        if (w.owned && w.sent_to != leader) writes.push_back(key);
      std::vector<uint64_t> reads;
      for (const auto& [id, r] : reads_)
        if (r.owned && r.sent_to != leader) reads.push_back(id);
      for (WriteKey key : writes)
        if (writes_.count(key)) {
          ++counters_.retries;
          try_write(env, key);
        }
      for (uint64_t id : reads)
        if (reads_.count(id)) {
          ++counters_.retries;
          try_read(env, id);
        }
    }
  }
  if (waiting() > 0 && !sweep_armed_) {
    sweep_armed_ = true;
    env.set_timer(options_.retry_after, kSweepTimer);
  }
}

// Every retry_after while anything waits: answer what reached its deadline,
// try again what is due.
void ReplicaNode::sweep(Env& env) {
  Time now = env.now();
  std::vector<WriteKey> expired, due;
  for (const auto& [key, w] : writes_) {
    if (w.deadline <= now && !options_.requests_wait_forever)
      expired.push_back(key);
    else if (w.owned && w.next_try <= now)
      due.push_back(key);
  }
  std::vector<uint64_t> expired_reads, due_reads;
  for (const auto& [id, r] : reads_) {
    if (r.deadline <= now && !options_.requests_wait_forever)
      expired_reads.push_back(id);
    else if (r.owned && r.next_try <= now)
      due_reads.push_back(id);
  }
  for (WriteKey key : expired) {
    ++counters_.timed_out;
    end_write(env, key, timed_out("request timed out"));
  }
  for (uint64_t id : expired_reads) {
    ++counters_.timed_out;
    if (reads_.at(id).route.member)
      reads_.erase(id);  // its member has a deadline of its own
    else
      end_read(env, id, timed_out("request timed out"));
  }
  for (WriteKey key : due)
    if (writes_.count(key)) {
      ++counters_.retries;
      try_write(env, key);
    }
  for (uint64_t id : due_reads)
    if (reads_.count(id)) {
      ++counters_.retries;
      try_read(env, id);
    }
}

}  // namespace synod::replication
