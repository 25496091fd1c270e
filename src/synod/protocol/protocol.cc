#include "synod/protocol/protocol.h"

namespace synod {

// Defaults for inputs a protocol does not use. A protocol that serves no
// clients says so, so a client that reached it tries elsewhere.
void Protocol::on_client_request(Env& env, ProcessId client, const wire::ClientRequest& request) {
  wire::ClientReply reply;
  reply.set_seq(request.seq());
  reply.mutable_rejected()->set_reason("this protocol serves no client requests");
  env.reply(client, reply);
}

void Protocol::on_timer(Env&, uint64_t) {}
void Protocol::on_response(Env&, CallId, std::string_view) {}
void Protocol::on_call_failed(Env&, CallId) {}
void Protocol::on_synced(Env&, SyncId) {}

}  // namespace synod
