#include "synod/replication/replica_node.h"

#include "synod/base/assert.h"
#include "synod/base/hash64.h"
#include "synod/protocol/message.h"

namespace synod::replication {

ReplicaNode::ReplicaNode(std::unique_ptr<Replicator> engine, std::unique_ptr<StateMachine> machine,
                         ReplicaOptions options, ApplyListener* listener)
    : engine_(std::move(engine)),
      machine_(std::move(machine)),
      options_(options),
      listener_(listener) {
  SYNOD_ASSERT(engine_ && machine_);
}

void ReplicaNode::start(Env& env) {
  engine_->start(env, *this);
}

void ReplicaNode::on_message(Env& env, const Incoming& message) {
  engine_->on_message(env, message);
}

void ReplicaNode::on_timer(Env& env, uint64_t tag) {
  engine_->on_timer(env, tag);
}

void ReplicaNode::on_synced(Env& env, SyncId id) {
  engine_->on_synced(env, id);
}

std::optional<BrokenInvariant> ReplicaNode::check_invariants() const {
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
    return;
  }
  if (writes_.size() + reads_.size() >= options_.max_waiting) {
    refuse(env, client, request.seq(), {Refused::Reason::kRetryLater, {}, "too many waiting"});
    return;
  }
  if (machine_->is_read(request)) {
    uint64_t id = next_read_++;
    reads_[id] = {client, request};
    if (auto refused = engine_->read(env, id)) {
      reads_.erase(id);
      refuse(env, client, request.seq(), *refused);
    }
    return;
  }
  if (!options_.apply_retries_twice && !request.one_shot()) {
    // Already applied? Answer from the session; older than that: the client
    // moved on and waits for nothing.
    wire::ClientReply reply;
    switch (sessions_.check(request.client(), request.seq(), &reply)) {
      case SessionTable::Seen::kDuplicate:
        env.reply(client, reply);
        return;
      case SessionTable::Seen::kStale:
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
  writes_[request.client()] = {client, request.seq()};
  if (auto refused = engine_->propose(env, request.SerializeAsString())) {
    writes_.erase(request.client());
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
  bool tracked = !options_.apply_retries_twice && !request.one_shot();
  SessionTable::Seen seen =
      tracked ? sessions_.check(request.client(), request.seq(), &reply) : SessionTable::Seen::kNew;
  if (seen == SessionTable::Seen::kNew) {
    reply = machine_->apply(request);
    reply.set_seq(request.seq());
    if (tracked) sessions_.record(request.client(), request.seq(), reply, index);
  }
  applied_index_ = index;
  digest_ = Hasher(digest_).add(index).add(command).digest();
  if (listener_) listener_->applied(env.self(), index, digest_);

  auto waiting = writes_.find(request.client());
  if (waiting != writes_.end() && waiting->second.seq == request.seq() &&
      seen != SessionTable::Seen::kStale) {
    env.reply(waiting->second.reply_to, reply);
    writes_.erase(waiting);
  }
}

void ReplicaNode::read_ready(Env& env, uint64_t read) {
  auto it = reads_.find(read);
  if (it == reads_.end()) return;
  wire::ClientReply reply = machine_->read(it->second.request);
  reply.set_seq(it->second.request.seq());
  env.reply(it->second.reply_to, reply);
  reads_.erase(it);
}

void ReplicaNode::read_refused(Env& env, uint64_t read, const Refused& why) {
  auto it = reads_.find(read);
  if (it == reads_.end()) return;
  refuse(env, it->second.reply_to, it->second.request.seq(), why);
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

void ReplicaNode::restore_snapshot(Env&, uint64_t index, std::string_view bytes) {
  wire::ReplicaSnapshot snapshot;
  SYNOD_ASSERT_MSG(snapshot.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())),
                   "a snapshot does not parse");
  SYNOD_ASSERT_MSG(machine_->restore(snapshot.state()), "the service rejected its snapshot");
  sessions_.load(snapshot);
  // The snapshot was taken at the consensus index it is installed at.
  SYNOD_ASSERT(snapshot.index() <= index);
  applied_index_ = index;
  digest_ = snapshot.digest();
}

}  // namespace synod::replication
