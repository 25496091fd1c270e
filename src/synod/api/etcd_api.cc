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
    case wire::ClientReply::kTimedOut:
      // etcd's ErrTimeout; the reason says more in the member's log only.
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "etcdserver: request timed out");
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
          [this](etcdserverpb::ResponseHeader* h, int64_t revision) { fill(h, revision); },
          [this](bool later) { wake_watches(later); })),
      leases_(std::make_unique<LeaseKeeper>()),
      lease_timer_(io),
      watch_timer_(io) {
  machine_.set_change_listener(
      [this](const std::vector<mvccpb::Event>& changes) { watches_->publish(changes); });
  machine_.set_lease_listener(
      [this](int64_t id, int64_t ttl) { leases_->heard(id, ttl, LeaseKeeper::Clock::now()); });
  machine_.set_restore_listener([this] {
    watches_->restored();
    leases_->reset(machine_.leases(), LeaseKeeper::Clock::now());
  });
  services_.push_back(kv_service(*this));
  services_.push_back(watch_service(*this));
  services_.push_back(lease_service(*this));
  services_.push_back(cluster_service(*this));
  services_.push_back(maintenance_service(*this));
}

EtcdApi::~EtcdApi() {
  machine_.set_change_listener(nullptr);
  machine_.set_lease_listener(nullptr);
  machine_.set_restore_listener(nullptr);
}

std::vector<grpc::Service*> EtcdApi::services() {
  std::vector<grpc::Service*> out;
  for (auto& s : services_)
    out.push_back(s.get());
  return out;
}

std::vector<std::string> EtcdApi::client_urls(const wire::EtcdMember& m) const {
  if (m.id() == options_.member_id) return options_.client_urls;
  if (!m.client_urls().empty()) return {m.client_urls().begin(), m.client_urls().end()};
  const auto& told = runtime_.transport().peer_client_urls();
  auto it = told.find(m.node());
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
    bool member_change =
        request.has_member_add() || request.has_member_remove() || request.has_member_promote();
    if (member_change && options_.check_member_change) {
      if (auto refused = options_.check_member_change(request); !refused.ok())
        return done(grpc::Status(static_cast<grpc::StatusCode>(refused.code()),
                                 std::string(refused.message())),
                    {});
    }
    wire::ClientRequest c;
    *c.mutable_etcd() = std::move(request);
    runtime_.submit(std::move(c), options_.request_timeout,
                    [this, done = std::move(done)](const wire::ClientReply& reply) {
                      grpc::Status status = to_grpc(reply);
                      if (!status.ok()) {
                        if (status.error_message() == etcd_error::space_exceeded().message())
                          raise_space_alarm();
                        return done(status, {});
                      }
                      wire::EtcdReply out = reply.etcd();
                      done(status, out);
                    });
  });
}

// As etcd's quota check does when it refuses a write: NOSPACE is raised for
// this member through the log, so every member refuses writes that add
// until an operator disarms it (etcdctl alarm disarm).
void EtcdApi::raise_space_alarm() {
  if (raising_alarm_ || machine_.alarms().count({options_.member_id, etcdserverpb::NOSPACE}))
    return;
  raising_alarm_ = true;
  wire::EtcdRequest r;
  r.mutable_alarm()->set_action(etcdserverpb::AlarmRequest::ACTIVATE);
  r.mutable_alarm()->set_memberid(options_.member_id);
  r.mutable_alarm()->set_alarm(etcdserverpb::NOSPACE);
  submit(std::move(r), [this](const grpc::Status& status, const wire::EtcdReply&) {
    raising_alarm_ = false;
    if (!status.ok()) spdlog::warn("raising the NOSPACE alarm: {}", status.error_message());
  });
}

// Watches behind replay their history a page per loop turn; when every
// stream they write to is full, they wait a moment for clients to read.
void EtcdApi::wake_watches(bool later) {
  if (stopped_) return;
  if (!later)
    return asio::post(io_, [this] {
      if (!stopped_) watches_->pump();
    });
  watch_timer_.expires_after(WatchHub::kPumpPause);
  watch_timer_.async_wait([this](asio::error_code ec) {
    if (!ec && !stopped_) watches_->pump();
  });
}

void EtcdApi::start() {
  asio::post(io_, [this] {
    last_progress_ = std::chrono::steady_clock::now();
    tick();
  });
}

void EtcdApi::tick() {
  if (stopped_) return;
  check_leases();
  publish_self();
  auto now = std::chrono::steady_clock::now();
  if (now - last_progress_ >= options_.progress_notify_every) {
    last_progress_ = now;
    watches_->notify_progress();
  }
  lease_timer_.expires_after(options_.lease_check_every);
  lease_timer_.async_wait([this](asio::error_code ec) {
    if (!ec) tick();
  });
}

// etcd's publish: a member says its name and client URLs through the log
// once it runs, so every member lists them. Retried until the registry
// shows them.
void EtcdApi::publish_self() {
  const wire::EtcdMember* me = machine_.members().by_id(options_.member_id);
  if (!me || publishing_) return;
  bool current = me->name() == options_.name &&
                 std::equal(me->client_urls().begin(), me->client_urls().end(),
                            options_.client_urls.begin(), options_.client_urls.end());
  auto now = std::chrono::steady_clock::now();
  if (current || now - last_publish_ < std::chrono::seconds(1) || status_().leader == 0) return;
  last_publish_ = now;
  publishing_ = true;
  wire::EtcdRequest publish;
  publish.mutable_member_publish()->set_id(options_.member_id);
  publish.mutable_member_publish()->set_name(options_.name);
  for (const std::string& url : options_.client_urls)
    publish.mutable_member_publish()->add_client_urls(url);
  submit(std::move(publish), [this](const grpc::Status& status, const wire::EtcdReply&) {
    publishing_ = false;
    if (!status.ok()) spdlog::debug("publishing this member failed: {}", status.error_message());
  });
}

void EtcdApi::stop() {
  stopped_ = true;
  lease_timer_.cancel();
  watch_timer_.cancel();
}

void EtcdApi::check_leases() {
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
}

}  // namespace synod::api
