#include "synod/api/services.h"

#include <random>

#include "synod/api/lease_keeper.h"
#include "synod/api/stream_sink.h"
#include "synod/api/unary.h"

namespace synod::api {
namespace {

using grpc::CallbackServerContext;
using grpc::ServerUnaryReactor;
using grpc::Status;

// ---- KV --------------------------------------------------------------------

class KvService final : public etcdserverpb::KV::CallbackService {
 public:
  explicit KvService(EtcdApi& api) : api_(api) {}

  ServerUnaryReactor* Range(CallbackServerContext* ctx, const etcdserverpb::RangeRequest* request,
                            etcdserverpb::RangeResponse* response) override {
    if (request->serializable()) {
      // This member's store as it is: no barrier, perhaps behind the leader.
      ServerUnaryReactor* reactor = ctx->DefaultReactor();
      api_.on_loop([this, reactor, request, response] {
        auto out = api_.machine().store().range(*request);
        if (!out.ok()) return reactor->Finish(from_absl(out.status()));
        *response = std::move(*out);
        api_.fill(response->mutable_header(), api_.machine().store().revision());
        reactor->Finish(Status::OK);
      });
      return reactor;
    }
    wire::EtcdRequest r;
    *r.mutable_range() = *request;
    return through_log(api_, ctx, std::move(r), response,
                       [](const wire::EtcdReply& reply, etcdserverpb::RangeResponse* out) {
                         *out = reply.range();
                       });
  }

  ServerUnaryReactor* Put(CallbackServerContext* ctx, const etcdserverpb::PutRequest* request,
                          etcdserverpb::PutResponse* response) override {
    wire::EtcdRequest r;
    *r.mutable_put() = *request;
    return through_log(
        api_, ctx, std::move(r), response,
        [](const wire::EtcdReply& reply, etcdserverpb::PutResponse* out) { *out = reply.put(); });
  }

  ServerUnaryReactor* DeleteRange(CallbackServerContext* ctx,
                                  const etcdserverpb::DeleteRangeRequest* request,
                                  etcdserverpb::DeleteRangeResponse* response) override {
    wire::EtcdRequest r;
    *r.mutable_delete_range() = *request;
    return through_log(api_, ctx, std::move(r), response,
                       [](const wire::EtcdReply& reply, etcdserverpb::DeleteRangeResponse* out) {
                         *out = reply.delete_range();
                       });
  }

  ServerUnaryReactor* Txn(CallbackServerContext* ctx, const etcdserverpb::TxnRequest* request,
                          etcdserverpb::TxnResponse* response) override {
    wire::EtcdRequest r;
    *r.mutable_txn() = *request;
    return through_log(
        api_, ctx, std::move(r), response,
        [](const wire::EtcdReply& reply, etcdserverpb::TxnResponse* out) { *out = reply.txn(); });
  }

  ServerUnaryReactor* Compact(CallbackServerContext* ctx,
                              const etcdserverpb::CompactionRequest* request,
                              etcdserverpb::CompactionResponse* response) override {
    wire::EtcdRequest r;
    *r.mutable_compaction() = *request;
    return through_log(api_, ctx, std::move(r), response,
                       [](const wire::EtcdReply&, etcdserverpb::CompactionResponse*) {});
  }

 private:
  EtcdApi& api_;
};

// ---- Lease -----------------------------------------------------------------

class KeepAliveStream final : public grpc::ServerBidiReactor<etcdserverpb::LeaseKeepAliveRequest,
                                                             etcdserverpb::LeaseKeepAliveResponse> {
 public:
  explicit KeepAliveStream(EtcdApi& api)
      : api_(api),
        sink_(std::make_shared<StreamSink<etcdserverpb::LeaseKeepAliveResponse>>(
            [this](const etcdserverpb::LeaseKeepAliveResponse* r) { StartWrite(r); },
            [this](const Status& s) { Finish(s); })) {
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) return sink_->finish(Status::OK);  // the client is done
    wire::EtcdRequest r;
    *r.mutable_lease_keepalive() = request_;
    auto sink = sink_;
    // The stream may be gone by the time the answer comes: hold the sink
    // and the api, never `this`.
    api_.submit(std::move(r),
                [&api = api_, sink](const Status& status, const wire::EtcdReply& reply) {
                  if (!status.ok()) return sink->finish(status);
                  etcdserverpb::LeaseKeepAliveResponse out = reply.lease_keepalive();
                  api.fill(out.mutable_header(), reply.revision());
                  sink->send(std::move(out));
                });
    StartRead(&request_);
  }
  void OnWriteDone(bool) override { sink_->written(); }
  void OnDone() override {
    sink_->done();
    delete this;
  }

 private:
  EtcdApi& api_;
  etcdserverpb::LeaseKeepAliveRequest request_;
  std::shared_ptr<StreamSink<etcdserverpb::LeaseKeepAliveResponse>> sink_;
};

class LeaseService final : public etcdserverpb::Lease::CallbackService {
 public:
  explicit LeaseService(EtcdApi& api) : api_(api), ids_(std::random_device{}()) {}

  ServerUnaryReactor* LeaseGrant(CallbackServerContext* ctx,
                                 const etcdserverpb::LeaseGrantRequest* request,
                                 etcdserverpb::LeaseGrantResponse* response) override {
    wire::EtcdRequest r;
    *r.mutable_lease_grant() = *request;
    if (request->id() == 0) {
      // etcd's leader picks a random positive id; the state machine refuses
      // a taken one, which the client sees as "lease already exists".
      std::lock_guard lock(mu_);
      r.mutable_lease_grant()->set_id(static_cast<int64_t>(ids_() >> 1) | 1);
    }
    return through_log(api_, ctx, std::move(r), response,
                       [](const wire::EtcdReply& reply, etcdserverpb::LeaseGrantResponse* out) {
                         *out = reply.lease_grant();
                       });
  }

  ServerUnaryReactor* LeaseRevoke(CallbackServerContext* ctx,
                                  const etcdserverpb::LeaseRevokeRequest* request,
                                  etcdserverpb::LeaseRevokeResponse* response) override {
    wire::EtcdRequest r;
    *r.mutable_lease_revoke() = *request;
    return through_log(api_, ctx, std::move(r), response,
                       [](const wire::EtcdReply&, etcdserverpb::LeaseRevokeResponse*) {});
  }

  grpc::ServerBidiReactor<etcdserverpb::LeaseKeepAliveRequest,
                          etcdserverpb::LeaseKeepAliveResponse>*
  LeaseKeepAlive(CallbackServerContext*) override {
    return new KeepAliveStream(api_);
  }

  ServerUnaryReactor* LeaseTimeToLive(CallbackServerContext* ctx,
                                      const etcdserverpb::LeaseTimeToLiveRequest* request,
                                      etcdserverpb::LeaseTimeToLiveResponse* response) override {
    ServerUnaryReactor* reactor = ctx->DefaultReactor();
    api_.on_loop([this, reactor, request, response] {
      const auto& leases = api_.machine().leases();
      auto it = leases.find(request->id());
      response->set_id(request->id());
      if (it == leases.end()) {
        response->set_ttl(-1);  // etcd: a lease that does not exist
      } else {
        int64_t left = api_.leases().remaining(request->id(), LeaseKeeper::Clock::now());
        response->set_ttl(left < 0 ? it->second.ttl : left);
        response->set_grantedttl(it->second.ttl);
        if (request->keys())
          for (const std::string& key : api_.machine().store().keys_of_lease(request->id()))
            response->add_keys(key);
      }
      api_.fill(response->mutable_header(), api_.machine().store().revision());
      reactor->Finish(Status::OK);
    });
    return reactor;
  }

  ServerUnaryReactor* LeaseLeases(CallbackServerContext* ctx,
                                  const etcdserverpb::LeaseLeasesRequest*,
                                  etcdserverpb::LeaseLeasesResponse* response) override {
    ServerUnaryReactor* reactor = ctx->DefaultReactor();
    api_.on_loop([this, reactor, response] {
      for (const auto& [id, lease] : api_.machine().leases())
        response->add_leases()->set_id(id);
      api_.fill(response->mutable_header(), api_.machine().store().revision());
      reactor->Finish(Status::OK);
    });
    return reactor;
  }

 private:
  EtcdApi& api_;
  std::mutex mu_;
  std::mt19937_64 ids_;  // lease ids only: nothing replicated depends on it
};

}  // namespace

std::unique_ptr<grpc::Service> kv_service(EtcdApi& api) {
  return std::make_unique<KvService>(api);
}
std::unique_ptr<grpc::Service> lease_service(EtcdApi& api) {
  return std::make_unique<LeaseService>(api);
}

}  // namespace synod::api
