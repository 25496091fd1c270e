#include "synod/toy/naive_primary_backup.h"

#include "synod/protocol/message.h"
#include "synod/wire/toy.pb.h"

namespace synod::toy {

void NaivePrimaryBackupNode::start(Env&) {}

void NaivePrimaryBackupNode::on_message(Env& env, const Incoming& message) {
  auto parsed = parse_message<wire::NaiveMessage>(message.payload);
  if (!parsed || !parsed->has_replicate()) {
    if (env.tracing()) env.note("dropped a malformed message");
    return;
  }
  map_.apply(parsed->replicate().op());
}

void NaivePrimaryBackupNode::on_client_request(Env& env, ProcessId client,
                                               const wire::ClientRequest& request) {
  wire::ClientReply reply;
  reply.set_seq(request.seq());
  if (!request.has_kv()) {
    reply.mutable_rejected()->set_reason("not a key-value command");
    env.reply(client, reply);
    return;
  }
  const wire::KvOp& op = request.kv();
  if (!KvMap::is_write(op)) {
    *reply.mutable_kv() = map_.apply(op);  // from the local copy, however stale
    env.reply(client, reply);
    return;
  }
  if (env.self() != kPrimary) {
    reply.mutable_redirect()->set_known(true);
    reply.mutable_redirect()->set_node(kPrimary);
    env.reply(client, reply);
    return;
  }
  *reply.mutable_kv() = map_.apply(op);
  env.reply(client, reply);  // acknowledged before any backup has it
  wire::NaiveMessage replicate;
  replicate.mutable_replicate()->set_index(++writes_);
  *replicate.mutable_replicate()->mutable_op() = op;
  for (NodeId node : env.nodes())
    if (node != env.self()) send_message(env, node, replicate);
}

}  // namespace synod::toy
