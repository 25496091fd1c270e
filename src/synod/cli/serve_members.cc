#include "synod/cli/serve_members.h"

#include <spdlog/spdlog.h>

#include "synod/raft/membership_target.h"

namespace synod::cli {

namespace {
constexpr auto kTick = std::chrono::milliseconds(100);
constexpr auto kLeaderPoll = std::chrono::milliseconds(10);

// Where a member's peer port is, from its first peer URL.
absl::StatusOr<net::PeerAddress> peer_address(asio::io_context& io, const wire::EtcdMember& m) {
  if (m.peer_urls().empty()) return absl::InvalidArgumentError("a member with no peer URL");
  auto at = resolve_url(io, "peer-urls", m.peer_urls(0));
  if (!at.ok()) return at.status();
  return net::PeerAddress{m.name().empty() ? "node " + std::to_string(m.node()) : m.name(), *at};
}
}  // namespace

std::map<NodeId, net::PeerAddress> peers_to_dial(asio::io_context& io, const Identity& identity) {
  std::map<NodeId, net::PeerAddress> peers;
  for (const wire::EtcdMember& m : identity.current) {
    if (m.node() == identity.self) continue;
    // One member's bad address costs its link, not this member's start.
    if (auto at = peer_address(io, m); at.ok())
      peers[m.node()] = *at;
    else
      spdlog::error("member {:x} ({}): {}", m.id(), m.name(), std::string(at.status().message()));
  }
  return peers;
}

ServeMembers::ServeMembers(asio::io_context& io, const ServeConfig& config,
                           const Identity& identity, EtcdStateMachine& machine,
                           raft::RaftEngine& engine, net::NodeRuntime& runtime,
                           std::function<void()> shut_down)
    : io_(io),
      config_(config),
      identity_(identity),
      machine_(machine),
      engine_(engine),
      runtime_(runtime),
      shut_down_(std::move(shut_down)),
      timer_(io) {
  machine_.members().set_listener(
      [this](const wire::EtcdMember& m, bool gone) { changed(m, gone); });
}

ServeMembers::~ServeMembers() {
  machine_.members().set_listener(nullptr);
}

void ServeMembers::start() {
  tick();
}

void ServeMembers::stop() {
  timer_.cancel();
}

uint64_t ServeMembers::member_id(NodeId node) const {
  auto it = machine_.members().members().find(node);
  return it == machine_.members().members().end() ? 0 : it->second.id();
}

void ServeMembers::changed(const wire::EtcdMember& m, bool gone) {
  if (m.node() == identity_.self) {
    if (gone && !removed_at_) {
      removed_at_ = std::chrono::steady_clock::now();
      spdlog::warn("{}: this member is removed from the cluster; it stops once Raft lets it go",
                   config_.name);
    }
    return;
  }
  // A member gone is unlinked by the tick, once Raft has let it go too.
  // After the apply, not in it: finding a peer's address may ask the
  // resolver, which can block.
  asio::post(io_, [this, m, gone] {
    if (!gone) {
      if (auto at = peer_address(io_, m); at.ok())
        runtime_.transport().add_peer(m.node(), *at);
      else
        spdlog::error("{}: member {:x}: {}", config_.name, m.id(),
                      std::string(at.status().message()));
    }
    sync_raft();
  });
}

void ServeMembers::sync_raft() {
  if (!engine_.started()) return;
  raft::WantedMembership wanted;
  for (const auto& [node, m] : machine_.members().members())
    wanted[node] = m.learner();
  auto change = raft::next_change_toward(wanted, engine_.node());
  if (!change) return;
  runtime_.operate([&](Env& env) {
    if (!engine_.change_membership(env, *change))
      spdlog::info("{}: raft membership change: {}", config_.name, change->to_string());
  });
}

void ServeMembers::tick() {
  sync_raft();
  if (engine_.started()) {
    const raft::RaftNode& node = engine_.node();
    for (NodeId peer : runtime_.transport().peers())
      if (!machine_.members().members().contains(peer) && !node.membership().contains(peer))
        runtime_.transport().remove_peer(peer);
    // A removed member stops once Raft has let it go, or, should word of
    // that never reach it (the leader stops replicating to it), once it
    // has waited two election timeouts without leading.
    if (removed_at_ && (!node.membership().contains(identity_.self) ||
                        (node.role() != raft::Role::kLeader &&
                         std::chrono::steady_clock::now() - *removed_at_ >
                             2 * std::chrono::milliseconds(config_.election_timeout_ms)))) {
      spdlog::error("{}: this member was removed from the cluster; stopping", config_.name);
      shut_down_();
      return;
    }
  }
  timer_.expires_after(kTick);
  timer_.async_wait([this](asio::error_code ec) {
    if (!ec) tick();
  });
}

absl::Status ServeMembers::check_change(const wire::EtcdRequest& change) const {
  if (!config_.strict_reconfig_check) return absl::OkStatus();
  return check_reconfiguration(machine_.members(), change, [this](NodeId node) {
    return node == identity_.self || runtime_.transport().stats(node).connected;
  });
}

// etcd's MoveLeader: asked of the leader, answered once the target leads.
void ServeMembers::move_leader(uint64_t target, Done done) {
  const wire::EtcdMember* to = machine_.members().by_id(target);
  if (!engine_.started() || engine_.node().role() != raft::Role::kLeader)
    return done(absl::FailedPreconditionError("etcdserver: not leader"));
  if (!to || to->learner() || !engine_.node().membership().is_voter(to->node()))
    return done(absl::FailedPreconditionError("etcdserver: bad leader transferee"));
  std::optional<raft::Refusal> refused;
  runtime_.operate([&](Env& env) { refused = engine_.transfer_leadership(env, to->node()); });
  if (refused)
    return done(absl::UnavailableError("etcdserver: leadership transfer refused: " +
                                       std::string(raft::refusal_name(*refused))));
  await_leader(
      to->node(),
      std::chrono::steady_clock::now() + 2 * std::chrono::milliseconds(config_.election_timeout_ms),
      std::move(done));
}

void ServeMembers::await_leader(NodeId node, std::chrono::steady_clock::time_point deadline,
                                Done done) {
  if (engine_.node().leader() == node) return done(absl::OkStatus());
  if (std::chrono::steady_clock::now() > deadline)
    return done(absl::DeadlineExceededError(
        "etcdserver: request timed out, leader transfer took too long"));
  auto poll = std::make_shared<asio::steady_timer>(io_, kLeaderPoll);
  poll->async_wait([this, poll, node, deadline, done = std::move(done)](asio::error_code ec) {
    if (!ec) await_leader(node, deadline, done);
  });
}

}  // namespace synod::cli
