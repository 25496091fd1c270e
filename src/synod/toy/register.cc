#include "synod/toy/register.h"

#include "synod/base/assert.h"
#include "synod/base/record.h"
#include "synod/wire/toy.pb.h"

namespace synod::toy {

void RegisterNode::start(Env& env) {
  if (env.self() != kServer) return;
  auto log = env.storage().read(kLogFile);
  if (!log) return;
  RecordReader reader(*log);
  while (auto payload = reader.next()) {
    wire::RegisterRecord record;
    SYNOD_ASSERT_MSG(record.ParseFromArray(payload->data(), static_cast<int>(payload->size())),
                     "register log record has a valid checksum but does not parse");
    map_.apply(record.op());
    Session& session = sessions_[record.client()];
    session.seq = record.seq();
    session.reply.set_seq(record.seq());
    *session.reply.mutable_kv() = record.result();
  }
  // Damage before the tail is not a crash: refuse to serve wrong data.
  SYNOD_ASSERT_MSG(reader.stop() != RecordReader::Stop::kCorrupt, "register log is corrupt");
  if (reader.stop() == RecordReader::Stop::kTornTail) {
    // Cut the torn record off before appending after it.
    env.storage().overwrite(kLogFile, std::string_view(*log).substr(0, reader.valid_bytes()));
    unsynced_writes_ = true;
    if (env.tracing()) env.note("recovered: dropped a torn log tail");
  }
}

void RegisterNode::on_message(Env&, const Incoming&) {
  // The register has no peer messages: a message here is noise, dropped.
}

void RegisterNode::on_client_request(Env& env, ProcessId client,
                                     const wire::ClientRequest& request) {
  if (env.self() != kServer) {
    wire::ClientReply redirect;
    redirect.set_seq(request.seq());
    redirect.mutable_redirect()->set_known(true);
    redirect.mutable_redirect()->set_node(kServer);
    env.reply(client, redirect);
    return;
  }
  if (!request.has_kv()) {
    wire::ClientReply rejected;
    rejected.set_seq(request.seq());
    rejected.mutable_rejected()->set_reason("not a key-value command");
    env.reply(client, rejected);
    return;
  }

  // At most once: a retry of the last applied request gets the same answer.
  Session& session = sessions_[request.client()];
  if (request.seq() < session.seq) return;  // older than what the client already moved past
  if (request.seq() == session.seq) {
    answer(env, client, session.reply);
    return;
  }

  const wire::KvOp& op = request.kv();
  wire::ClientReply reply;
  reply.set_seq(request.seq());
  *reply.mutable_kv() = map_.apply(op);
  if (KvMap::is_write(op)) {
    wire::RegisterRecord record;
    record.set_client(request.client());
    record.set_seq(request.seq());
    *record.mutable_op() = op;
    *record.mutable_result() = reply.kv();
    std::string framed;
    append_record(framed, record.SerializeAsString());
    env.storage().append(kLogFile, framed);
    unsynced_writes_ = true;
    session.seq = request.seq();
    session.reply = reply;
    if (options_.ack_before_sync) {
      env.reply(client, reply);
      last_requested_ = env.storage().sync();
      unsynced_writes_ = false;
      return;
    }
  }
  answer(env, client, std::move(reply));
}

// Replies once every write applied so far is durable: a read must not show a
// write that a crash could still take back.
void RegisterNode::answer(Env& env, ProcessId client, wire::ClientReply reply) {
  if (unsynced_writes_) {
    last_requested_ = env.storage().sync();  // one sync covers every write so far
    unsynced_writes_ = false;
  }
  if (last_synced_ >= last_requested_) {
    env.reply(client, reply);
    return;
  }
  waiting_.push_back({client, std::move(reply), last_requested_});
}

void RegisterNode::on_synced(Env& env, SyncId id) {
  SYNOD_ASSERT(id > last_synced_);  // syncs complete in order
  last_synced_ = id;
  while (!waiting_.empty() && waiting_.front().needs <= last_synced_) {
    env.reply(waiting_.front().client, waiting_.front().reply);
    waiting_.pop_front();
  }
}

}  // namespace synod::toy
