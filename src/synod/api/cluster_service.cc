// etcd's Cluster service. Who the members are is replicated state (the
// MemberRegistry): adds, removals, promotions and updates are commands in
// the log, and the leader makes Raft's voters and learners follow them.

#include <mutex>
#include <random>

#include "synod/api/services.h"
#include "synod/api/unary.h"

namespace synod::api {
namespace {

using grpc::CallbackServerContext;
using grpc::ServerUnaryReactor;

void to_etcd(const EtcdApi& api, const wire::EtcdMember& m, etcdserverpb::Member* out) {
  out->set_id(m.id());
  out->set_name(m.name());
  for (const auto& u : m.peer_urls())
    out->add_peerurls(u);
  for (const auto& u : api.client_urls(m))
    out->add_clienturls(u);
  out->set_islearner(m.learner());
}

// Every member after a change, from the reply.
template <typename Response>
void members_of(const EtcdApi& api, const wire::EtcdReply& reply, Response* response) {
  for (const wire::EtcdMember& m : reply.members())
    to_etcd(api, m, response->add_members());
}

class ClusterService final : public etcdserverpb::Cluster::CallbackService {
 public:
  explicit ClusterService(EtcdApi& api) : api_(api), ids_(std::random_device{}()) {}

  ServerUnaryReactor* MemberList(CallbackServerContext* ctx, const etcdserverpb::MemberListRequest*,
                                 etcdserverpb::MemberListResponse* response) override {
    return on_loop(api_, ctx, response, [this](etcdserverpb::MemberListResponse* out) {
      for (const auto& [node, m] : api_.machine().members().members())
        to_etcd(api_, m, out->add_members());
      return grpc::Status::OK;
    });
  }

  ServerUnaryReactor* MemberAdd(CallbackServerContext* ctx,
                                const etcdserverpb::MemberAddRequest* request,
                                etcdserverpb::MemberAddResponse* response) override {
    wire::EtcdRequest r;
    wire::MemberAdd* add = r.mutable_member_add();
    add->set_id(next_id());
    *add->mutable_peer_urls() = request->peerurls();
    add->set_learner(request->islearner());
    return through_log(api_, ctx, std::move(r), response,
                       [this](const wire::EtcdReply& reply, etcdserverpb::MemberAddResponse* out) {
                         to_etcd(api_, reply.member(), out->mutable_member());
                         members_of(api_, reply, out);
                       });
  }

  ServerUnaryReactor* MemberRemove(CallbackServerContext* ctx,
                                   const etcdserverpb::MemberRemoveRequest* request,
                                   etcdserverpb::MemberRemoveResponse* response) override {
    wire::EtcdRequest r;
    r.mutable_member_remove()->set_id(request->id());
    return change(ctx, std::move(r), response);
  }

  ServerUnaryReactor* MemberUpdate(CallbackServerContext* ctx,
                                   const etcdserverpb::MemberUpdateRequest* request,
                                   etcdserverpb::MemberUpdateResponse* response) override {
    wire::EtcdRequest r;
    r.mutable_member_update()->set_id(request->id());
    *r.mutable_member_update()->mutable_peer_urls() = request->peerurls();
    return change(ctx, std::move(r), response);
  }

  // The registry takes the learner as a voter at once; Raft promotes it
  // once it has nearly caught up (see raft/membership_target.h).
  ServerUnaryReactor* MemberPromote(CallbackServerContext* ctx,
                                    const etcdserverpb::MemberPromoteRequest* request,
                                    etcdserverpb::MemberPromoteResponse* response) override {
    wire::EtcdRequest r;
    r.mutable_member_promote()->set_id(request->id());
    return change(ctx, std::move(r), response);
  }

 private:
  // A membership change through the log, answered with the members after it.
  template <typename Response>
  ServerUnaryReactor* change(CallbackServerContext* ctx, wire::EtcdRequest r, Response* response) {
    return through_log(
        api_, ctx, std::move(r), response,
        [this](const wire::EtcdReply& reply, Response* out) { members_of(api_, reply, out); });
  }

  // A new member's id: random, as etcd's are; the log decides whether it
  // is free, so nothing replicated depends on this generator.
  uint64_t next_id() {
    std::lock_guard lock(mu_);
    return ids_() | 1;
  }

  EtcdApi& api_;
  std::mutex mu_;
  std::mt19937_64 ids_;
};

}  // namespace

std::unique_ptr<grpc::Service> cluster_service(EtcdApi& api) {
  return std::make_unique<ClusterService>(api);
}

}  // namespace synod::api
