#include "synod/replication/replica_node.h"

#include "synod/base/assert.h"
#include "synod/base/hash64.h"
#include "synod/protocol/message.h"
#include "synod/replication/replica_message.h"

namespace synod::replication {

ReplicaNode::ReplicaNode(std::unique_ptr<Replicator> engine, std::unique_ptr<StateMachine> machine,
                         ReplicaOptions options, ApplyListener* listener)
    : engine_(std::move(engine)),
      machine_(std::move(machine)),
      options_(options),
      listener_(listener) {
  SYNOD_ASSERT(engine_);
  SYNOD_ASSERT(machine_);
  SYNOD_ASSERT(options_.max_waiting > 0);
  SYNOD_ASSERT(options_.retry_after.count() > 0);
  SYNOD_ASSERT(options_.resend_after >= options_.retry_after);
}

void ReplicaNode::start(Env& env) {
  // Never 0: a session id of 0 is no session.
  session_ = env.rng().next() | 1;
  engine_->start(env, *this);
  after_input(env);
}

void ReplicaNode::on_message(Env& env, const Incoming& message) {
  if (is_replica_message(message.payload)) {
    if (!is_client(message.from)) on_replica_message(env, message.from, message.payload);
  } else {
    engine_->on_message(env, message);
  }
  after_input(env);
}

void ReplicaNode::on_timer(Env& env, uint64_t tag) {
  if (tag == kSweepTimer) {
    sweep_armed_ = false;
    sweep(env);
  } else {
    engine_->on_timer(env, tag);
  }
  after_input(env);
}

void ReplicaNode::on_synced(Env& env, SyncId id) {
  engine_->on_synced(env, id);
  after_input(env);
}

std::optional<BrokenInvariant> ReplicaNode::check_invariants() const {
  if (waiting() > options_.max_waiting)
    return BrokenInvariant{"waiting-bounded", std::to_string(waiting()) + " requests wait, over " +
                                                  std::to_string(options_.max_waiting)};
  if (waiting() > 0 && !sweep_armed_)
    return BrokenInvariant{"every-wait-has-a-deadline", "requests wait with no sweep to end them"};
  return engine_->check_invariants();
}

void ReplicaNode::refuse(Env& env, ProcessId client, uint64_t seq, const Refused& why) {
  wire::ClientReply reply;
  reply.set_seq(seq);
  if (why.reason == Refused::Reason::kNotLeader) {
    reply.mutable_redirect()->set_known(why.leader.has_value());
    if (why.leader) reply.mutable_redirect()->set_node(*why.leader);
  } else {
    reply.mutable_rejected()->set_reason(why.detail);
  }
  env.reply(client, reply);
}

void ReplicaNode::on_client_request(Env& env, ProcessId client,
                                    const wire::ClientRequest& request) {
  if (request.command_case() == wire::ClientRequest::COMMAND_NOT_SET) {
    refuse(env, client, request.seq(), {Refused::Reason::kRetryLater, {}, "no command"});
  } else if (waiting() >= options_.max_waiting) {
    refuse(env, client, request.seq(), {Refused::Reason::kRetryLater, {}, "too many requests"});
  } else if (machine_->is_read(request)) {
    client_read(env, client, request, request.through_member());
  } else if (request.through_member()) {
    take_over_write(env, client, request);
  } else {
    client_write(env, client, request);
  }
  after_input(env);
}

void ReplicaNode::client_read(Env& env, ProcessId client, const wire::ClientRequest& request,
                              bool owned) {
  uint64_t id = next_read_++;
  WaitingRead& r = reads_[id];
  r.route.client = client;
  r.request = request;
  r.deadline = env.now() + options_.request_timeout;
  r.owned = owned;
  if (owned) return try_read(env, id);
  if (auto refused = engine_->read(env, id)) {
    reads_.erase(id);
    refuse(env, client, request.seq(), *refused);
  }
}

// A client with a session: it sends copies itself, so a replica that does
// not lead redirects it, and one that does proposes it once per copy.
void ReplicaNode::client_write(Env& env, ProcessId client, const wire::ClientRequest& request) {
  if (!options_.apply_retries_twice) {
    // Already applied? Answer from the session; older than what the client
    // still waits for: it moved on and waits for nothing.
    wire::ClientReply reply;
    switch (sessions_.check(request.client(), request.seq(), &reply)) {
      case SessionTable::Seen::kDuplicate:
        ++counters_.duplicates;
        env.reply(client, reply);
        return;
      case SessionTable::Seen::kStale:
        ++counters_.stale;
        return;
      case SessionTable::Seen::kNew:
        break;
    }
  }
  if (auto refusal = machine_->admit(request)) {
    refusal->set_seq(request.seq());
    env.reply(client, *refusal);
    return;
  }
  WriteKey key{request.client(), request.seq()};
  WaitingWrite& w = writes_[key];
  w.reply_to = client;
  w.reply_seq = request.seq();
  w.deadline = env.now() + options_.request_timeout;
  if (auto refused = engine_->propose(env, request.SerializeAsString())) {
    writes_.erase(key);
    refuse(env, client, request.seq(), *refused);
  }
}

void ReplicaNode::apply(Env& env, uint64_t index, std::string_view command) {
  SYNOD_ASSERT(index > applied_index_);  // in order, each once
  wire::ClientRequest request;
  // Only this service proposes, so a command that does not parse is damage
  // the log's checksums missed: stop rather than diverge.
  SYNOD_ASSERT_MSG(request.ParseFromArray(command.data(), static_cast<int>(command.size())),
                   "a committed command does not parse");
  wire::ClientReply reply;
  SessionTable::Seen seen = options_.apply_retries_twice
                                ? SessionTable::Seen::kNew
                                : sessions_.check(request.client(), request.seq(), &reply);
  if (seen == SessionTable::Seen::kNew) {
    reply = machine_->apply(request);
    reply.set_seq(request.seq());
    if (!options_.apply_retries_twice)
      sessions_.record(request.client(), request.seq(), request.first_unanswered(), reply, index);
  } else {
    ++(seen == SessionTable::Seen::kDuplicate ? counters_.duplicates : counters_.stale);
  }
  applied_index_ = index;
  digest_ = Hasher(digest_).add(index).add(command).digest();
  if (listener_) listener_->applied(env.self(), index, digest_);

  WriteKey key{request.client(), request.seq()};
  if (seen != SessionTable::Seen::kStale && writes_.count(key)) end_write(env, key, known(reply));
}

// A member's own requests applied inside a snapshot it caught up from: their
// sessions know they applied, not what they answered.
wire::ClientReply ReplicaNode::known(wire::ClientReply reply) {
  if (reply.outcome_case() == wire::ClientReply::OUTCOME_NOT_SET)
    reply.mutable_timed_out()->set_reason(
        "request timed out: applied while this member caught up from a snapshot, which keeps no "
        "result");
  return reply;
}

void ReplicaNode::read_ready(Env& env, uint64_t read) {
  auto it = reads_.find(read);
  if (it == reads_.end()) return;
  end_read(env, read, machine_->read(it->second.request));
}

void ReplicaNode::read_refused(Env& env, uint64_t read, const Refused& why) {
  auto it = reads_.find(read);
  if (it == reads_.end()) return;
  WaitingRead& r = it->second;
  if (r.owned) {
    // Leadership moved under the barrier: this member tries again.
    r.sent_to.reset();
    r.next_try = env.now() + options_.retry_after;
    return;
  }
  if (r.route.member) {
    wire::ReplicaMessage m;
    m.mutable_answer()->set_read(r.route.remote_read);
    m.mutable_answer()->set_try_again(true);
    env.send(*r.route.member, replica_message(m));
  } else {
    refuse(env, r.route.client, r.request.seq(), why);
  }
  reads_.erase(it);
}

std::string ReplicaNode::fresh_snapshot(uint64_t index, std::string state) {
  wire::ReplicaSnapshot snapshot;
  snapshot.set_index(index);
  snapshot.set_state(std::move(state));
  return snapshot.SerializeAsString();
}

std::string ReplicaNode::take_snapshot() {
  // The service's state, framed in place as field `state`, then the small
  // fields: the state, the big part, is never copied.
  std::string out(kFieldRoom, '\0');
  machine_->append_snapshot(&out);
  frame_field(&out, 0, wire::ReplicaSnapshot::kStateFieldNumber);
  wire::ReplicaSnapshot rest;
  rest.set_index(applied_index_);
  rest.set_digest(digest_);
  sessions_.save(rest);
  rest.AppendToString(&out);
  return out;
}

void ReplicaNode::restore_snapshot(Env& env, uint64_t index, std::string_view bytes) {
  wire::ReplicaSnapshot snapshot;
  SYNOD_ASSERT_MSG(snapshot.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())),
                   "a snapshot does not parse");
  SYNOD_ASSERT_MSG(machine_->restore(snapshot.state()), "the service rejected its snapshot");
  sessions_.load(snapshot);
  // The snapshot was taken at the consensus index it is installed at.
  SYNOD_ASSERT(snapshot.index() <= index);
  applied_index_ = index;
  digest_ = snapshot.digest();
  settle_after_restore(env);
}

// Writes applied inside a snapshot never pass through apply() here: answer
// those the restored sessions know.
void ReplicaNode::settle_after_restore(Env& env) {
  for (auto it = writes_.begin(); it != writes_.end();) {
    WriteKey key = (it++)->first;
    wire::ClientReply reply;
    switch (sessions_.check(key.first, key.second, &reply)) {
      case SessionTable::Seen::kDuplicate:
        end_write(env, key, known(reply));
        break;
      case SessionTable::Seen::kStale:
        reply.mutable_timed_out()->set_reason("request timed out: its session moved past it");
        end_write(env, key, reply);
        break;
      case SessionTable::Seen::kNew:
        break;
    }
  }
}

}  // namespace synod::replication
