#pragma once

#include "synod/api/etcd_api.h"

// What every unary call of the etcd services does in one of two ways:
// through consensus, or on this member's loop from its own state.
namespace synod::api {

inline grpc::Status from_absl(const absl::Status& s) {
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
}

// Through consensus: `take` moves the answer out of the reply into the
// response, and the header gets the reply's revision.
template <typename Response, typename Take>
grpc::ServerUnaryReactor* through_log(EtcdApi& api, grpc::CallbackServerContext* ctx,
                                      wire::EtcdRequest request, Response* response, Take take) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  api.submit(std::move(request), [&api, reactor, response, take](const grpc::Status& status,
                                                                 const wire::EtcdReply& reply) {
    if (!status.ok()) return reactor->Finish(status);
    take(reply, response);
    api.fill(response->mutable_header(), reply.revision());
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

// On the loop, from this member's state: `answer` fills the response (or
// returns an error); the header gets the store's revision.
template <typename Response, typename Answer>
grpc::ServerUnaryReactor* on_loop(EtcdApi& api, grpc::CallbackServerContext* ctx,
                                  Response* response, Answer answer) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  api.on_loop([&api, reactor, response, answer] {
    grpc::Status status = answer(response);
    if (status.ok()) api.fill(response->mutable_header(), api.machine().store().revision());
    reactor->Finish(status);
  });
  return reactor;
}

}  // namespace synod::api
