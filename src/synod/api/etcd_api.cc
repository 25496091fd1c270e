#include "synod/api/etcd_api.h"

#include <spdlog/spdlog.h>

#include "synod/api/lease_keeper.h"
#include "synod/api/services.h"
#include "synod/api/watch_hub.h"

namespace synod::api {

grpc::Status to_grpc(const wire::ClientReply& reply) {
  switch (reply.outcome_case()) {
    case wire::ClientReply::kEtcd:
      if (!reply.etcd().has_error()) return grpc::Status::OK;
      return grpc::Status(static_cast<grpc::StatusCode>(reply.etcd().error().code()),
                          reply.etcd().error().message());
    case wire::ClientReply::kRedirect:
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "etcdserver: no leader");
    case wire::ClientReply::kRejected:
      return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                          "etcdserver: " + reply.rejected().reason());
    default:
      return grpc::Status(grpc::StatusCode::INTERNAL, "etcdserver: an answer of the wrong kind");
  }
}

EtcdApi::EtcdApi(asio::io_context& io, net::NodeRuntime& runtime, EtcdStateMachine& machine,
                 std::function<NodeStatus()> status, EtcdApiOptions options)
    : io_(io),
      runtime_(runtime),
      machine_(machine),
      status_(std::move(status)),
      options_(std::move(options)),
      watches_(std::make_unique<WatchHub>(
          machine.store(),
          [this](etcdserverpb::ResponseHeader* h, int64_t revision) { fill(h, revision); })),
      leases_(std::make_unique<LeaseKeeper>()),
      lease_timer_(io) {
  machine_.set_change_listener(
      [this](const std::vector<mvccpb::Event>& changes) { watches_->publish(changes); });
  machine_.set_lease_listener(
      [this](int64_t id, int64_t ttl) { leases_->heard(id, ttl, LeaseKeeper::Clock::now()); });
  services_.push_back(kv_service(*this));
  services_.push_back(watch_service(*this));
  services_.push_back(lease_service(*this));
  services_.push_back(cluster_service(*this));
  services_.push_back(maintenance_service(*this));
}

EtcdApi::~EtcdApi() {
  machine_.set_change_listener(nullptr);
  machine_.set_lease_listener(nullptr);
}

std::vector<grpc::Service*> EtcdApi::services() {
  std::vector<grpc::Service*> out;
  for (auto& s : services_)
    out.push_back(s.get());
  return out;
}

std::vector<std::string> EtcdApi::client_urls(const MemberInfo& m) const {
  if (!m.client_urls.empty()) return m.client_urls;
  const auto& told = runtime_.transport().peer_client_urls();
  auto it = told.find(m.node);
  return it == told.end() ? std::vector<std::string>{} : it->second;
}

void EtcdApi::fill(etcdserverpb::ResponseHeader* header, int64_t revision) const {
  header->set_cluster_id(options_.cluster_id);
  header->set_member_id(options_.member_id);
  header->set_revision(revision);
  header->set_raft_term(status_().term);
}

void EtcdApi::submit(wire::EtcdRequest request, Done done) {
  if (request.ByteSizeLong() > kMaxRequestBytes) {
    auto status = etcd_error::request_too_large();
    done(grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message())),
         {});
    return;
  }
  asio::post(io_, [this, request = std::move(request), done = std::move(done)]() mutable {
    wire::ClientRequest c;
    *c.mutable_etcd() = std::move(request);
    runtime_.submit(std::move(c), options_.request_timeout,
                    [this, done = std::move(done)](const wire::ClientReply& reply) {
                      grpc::Status status = to_grpc(reply);
                      if (!status.ok()) return done(status, {});
                      wire::EtcdReply out = reply.etcd();
                      done(status, out);
                    });
  });
}

void EtcdApi::start() {
  asio::post(io_, [this] { check_leases(); });
}

void EtcdApi::stop() {
  stopped_ = true;
  lease_timer_.cancel();
}

void EtcdApi::check_leases() {
  if (stopped_) return;
  NodeStatus now = status_();
  if (now.leader == options_.member_id) {
    for (int64_t id : leases_->expired(machine_.leases(), now.term, LeaseKeeper::Clock::now())) {
      spdlog::info("lease {:x} expired: revoking it", id);
      wire::EtcdRequest revoke;
      revoke.mutable_lease_revoke()->set_id(id);
      submit(std::move(revoke), [this, id](const grpc::Status& status, const wire::EtcdReply&) {
        leases_->revoke_done(id);  // on failure the next check tries again
        if (!status.ok()) spdlog::warn("lease {:x}: revoke failed: {}", id, status.error_message());
      });
    }
  }
  lease_timer_.expires_after(options_.lease_check_every);
  lease_timer_.async_wait([this](asio::error_code ec) {
    if (!ec) check_leases();
  });
}

}  // namespace synod::api
