#include "synod/net/peer_transport.h"

#include <spdlog/spdlog.h>

#include "synod/base/assert.h"

namespace synod::net {

namespace {
constexpr uint32_t kWireVersion = 1;

std::string frame_of(const wire::PeerFrame& frame) {
  return frame.SerializeAsString();
}
}  // namespace

// The dialing side of one peer.
struct PeerTransport::Link {
  NodeId id = 0;
  PeerAddress address;
  std::shared_ptr<Connection> connection;  // null while down
  std::unique_ptr<asio::ip::tcp::socket> dialing;
  asio::steady_timer retry;
  Duration backoff{};
  bool was_up = false;       // log a loss once, not every failed retry
  bool warned_down = false;  // log the first failed dial only
  PeerStats stats;

  Link(asio::io_context& io, NodeId id, PeerAddress address, Duration backoff)
      : id(id), address(std::move(address)), retry(io), backoff(backoff) {}
};

PeerTransport::PeerTransport(asio::io_context& io, PeerTransportOptions options, Rng rng,
                             Deliver deliver)
    : io_(io),
      options_(std::move(options)),
      rng_(std::move(rng)),
      deliver_(std::move(deliver)),
      acceptor_(io) {
  for (const auto& [id, address] : options_.peers) {
    SYNOD_ASSERT(id != options_.self);
    links_.emplace(id, std::make_unique<Link>(io_, id, address, options_.backoff_min));
  }
}

PeerTransport::~PeerTransport() {
  stop();
}

std::string PeerTransport::who(NodeId node) const {
  auto link = links_.find(node);
  if (link == links_.end()) return "node " + std::to_string(node);
  return link->second->address.name + " (" + to_string(link->second->address.endpoint) + ")";
}

absl::Status PeerTransport::listen(const asio::ip::tcp::endpoint& at) {
  if (auto status = listen_on(acceptor_, at, "peer port"); !status.ok()) return status;
  accept();
  return absl::OkStatus();
}

asio::ip::tcp::endpoint PeerTransport::local_endpoint() const {
  asio::error_code ec;
  return acceptor_.local_endpoint(ec);
}

void PeerTransport::start() {
  for (auto& [id, link] : links_)
    dial(*link);
}

void PeerTransport::stop() {
  if (stopped_) return;
  stopped_ = true;
  asio::error_code ignored;
  acceptor_.close(ignored);
  for (auto& [id, link] : links_) {
    link->retry.cancel();
    if (link->dialing) link->dialing->close(ignored);
    if (link->connection) link->connection->close("shutting down");
  }
  auto inbound = std::move(inbound_);
  for (const auto& connection : inbound)
    connection->close("shutting down");
}

// --- dialing ---

void PeerTransport::dial(Link& link) {
  if (stopped_) return;
  link.dialing = std::make_unique<asio::ip::tcp::socket>(io_);
  link.dialing->async_connect(link.address.endpoint, [this, &link](asio::error_code ec) {
    if (stopped_ || ec == asio::error::operation_aborted) return;
    if (ec) {
      lost(link, "cannot connect: " + ec.message());
      return;
    }
    connected(link, std::move(*link.dialing));
  });
}

void PeerTransport::connected(Link& link, asio::ip::tcp::socket socket) {
  link.dialing.reset();
  auto connection = std::make_shared<Connection>(std::move(socket), options_.limits);
  link.connection = connection;
  link.backoff = options_.backoff_min;
  link.was_up = true;
  link.warned_down = false;
  link.stats.connected = true;
  spdlog::info("{}: connected to peer {}", options_.self_name, who(link.id));

  // The dialer only listens for a refusal: nothing else comes back this way.
  connection->start({.on_frame =
                         [this, &link](std::string_view bytes) {
                           wire::PeerFrame frame;
                           if (frame.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())) &&
                               frame.has_refusal())
                             spdlog::error("{}: peer {} refused us: {}", options_.self_name,
                                           who(link.id), frame.refusal().reason());
                           return false;
                         },
                     .on_close =
                         [this, &link](const std::string& why) {
                           if (!stopped_) lost(link, why);
                         }});
  wire::PeerFrame hello;
  hello.mutable_hello()->set_cluster_id(options_.cluster_id);
  hello.mutable_hello()->set_from(options_.self);
  hello.mutable_hello()->set_to(link.id);
  hello.mutable_hello()->set_version(kWireVersion);
  for (const std::string& url : options_.client_urls)
    hello.mutable_hello()->add_client_urls(url);
  connection->send(frame_of(hello));
}

void PeerTransport::lost(Link& link, const std::string& why) {
  link.connection.reset();
  link.dialing.reset();
  link.stats.connected = false;
  if (link.was_up) {
    spdlog::warn("{}: lost peer {}: {}", options_.self_name, who(link.id), why);
    link.was_up = false;
  } else if (!link.warned_down) {
    spdlog::warn("{}: peer {} is not reachable yet ({}); retrying with backoff", options_.self_name,
                 who(link.id), why);
    link.warned_down = true;
  }
  Duration wait = rng_.uniform_duration(link.backoff / 2, link.backoff);
  link.backoff = std::min(link.backoff * 2, options_.backoff_max);
  link.retry.expires_after(wait);
  link.retry.async_wait([this, &link](asio::error_code ec) {
    if (!ec) dial(link);
  });
}

void PeerTransport::send(NodeId to, wire::PeerMessage message) {
  auto it = links_.find(to);
  SYNOD_ASSERT_MSG(it != links_.end(), "send to a node that is not a peer");
  Link& link = *it->second;
  wire::PeerFrame frame;
  *frame.mutable_message() = std::move(message);
  if (link.connection && link.connection->send(frame_of(frame)))
    ++link.stats.sent;
  else
    ++link.stats.dropped;
}

PeerTransport::PeerStats PeerTransport::stats(NodeId peer) const {
  auto it = links_.find(peer);
  if (it == links_.end()) return {};
  PeerStats stats = it->second->stats;
  auto received = received_.find(peer);
  if (received != received_.end()) stats.received = received->second;
  return stats;
}

// --- accepting ---

void PeerTransport::accept() {
  acceptor_.async_accept([this](asio::error_code ec, asio::ip::tcp::socket socket) {
    if (stopped_ || ec == asio::error::operation_aborted) return;
    if (!ec) {
      auto connection = std::make_shared<Connection>(std::move(socket), options_.limits);
      if (unidentified_ >= options_.max_unidentified) {
        spdlog::warn("{}: refused a peer connection from {}: {} others have not said who they are",
                     options_.self_name, connection->remote(), unidentified_);
        connection->close("too many unidentified connections");
      } else {
        identify(connection);
      }
    }
    accept();
  });
}

void PeerTransport::identify(const std::shared_ptr<Connection>& connection) {
  ++unidentified_;
  inbound_.insert(connection);
  auto state = std::make_shared<Inbound>();
  auto timer = std::make_shared<asio::steady_timer>(io_, options_.hello_timeout);
  timer->async_wait([this, weak = std::weak_ptr(connection), state](asio::error_code ec) {
    auto connection = weak.lock();
    if (ec || stopped_ || !connection || state->stage != Inbound::kWaiting) return;
    spdlog::warn(
        "{}: closed a peer connection from {}: no hello within {} ms", options_.self_name,
        connection->remote(),
        std::chrono::duration_cast<std::chrono::milliseconds>(options_.hello_timeout).count());
    ++bad_frames_;
    connection->close("no hello");
  });
  connection->start(
      {.on_frame =
           [this, raw = connection.get(), state, timer](std::string_view bytes) {
             if (state->stage == Inbound::kRefused) return true;  // closing shortly
             if (state->stage == Inbound::kIdentified) {
               wire::PeerFrame frame;
               if (!frame.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())) ||
                   !frame.has_message()) {
                 spdlog::error(
                     "{}: closing the connection from peer {}: a malformed frame of {} "
                     "bytes",
                     options_.self_name, who(state->from), bytes.size());
                 return false;
               }
               ++received_[state->from];
               deliver_(state->from, *frame.mutable_message());
               return true;
             }
             // inbound_ holds the connection while it is open.
             if (!check_hello(raw->shared_from_this(), bytes, *state)) return false;
             timer->cancel();
             if (state->stage == Inbound::kIdentified) --unidentified_;
             return true;
           },
       .on_close =
           [this, raw = connection.get(), state](const std::string& why) {
             if (stopped_) return;
             if (raw->closed_for_bad_input()) ++bad_frames_;
             bool identified = state->stage == Inbound::kIdentified;
             if (!identified) --unidentified_;
             if (identified && why != "closed by the other side")
               spdlog::warn("{}: connection from peer {} closed: {}", options_.self_name,
                            who(state->from), why);
             else if (state->stage == Inbound::kWaiting && why != "bad frame" && why != "no hello")
               spdlog::warn("{}: closed an unidentified peer connection from {}: {}",
                            options_.self_name, raw->remote(), why);
             inbound_.erase(raw->shared_from_this());
           }});
}

// Checks a dialer's hello; refuses, with its reason, anything that does not
// belong to this cluster.
bool PeerTransport::check_hello(const std::shared_ptr<Connection>& connection,
                                std::string_view bytes, Inbound& state) {
  wire::PeerFrame frame;
  std::string refusal;
  if (!frame.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())) || !frame.has_hello()) {
    spdlog::error("{}: closed a peer connection from {}: the first frame is not a hello",
                  options_.self_name, connection->remote());
    return false;
  }
  const wire::PeerHello& hello = frame.hello();
  if (hello.version() != kWireVersion)
    refusal = "wire version " + std::to_string(hello.version()) + ", expected " +
              std::to_string(kWireVersion);
  else if (hello.cluster_id() != options_.cluster_id)
    refusal = "cluster id " + std::to_string(hello.cluster_id()) + ", expected " +
              std::to_string(options_.cluster_id) +
              " (check --initial-cluster and --initial-cluster-token)";
  else if (hello.to() != options_.self)
    refusal = "meant for node " + std::to_string(hello.to()) + ", this is node " +
              std::to_string(options_.self);
  else if (!links_.contains(hello.from()))
    refusal = "node " + std::to_string(hello.from()) + " is not a member";
  if (!refusal.empty()) {
    ++refused_;
    spdlog::error("{}: refused a peer connection from {}: {}", options_.self_name,
                  connection->remote(), refusal);
    wire::PeerFrame answer;
    answer.mutable_refusal()->set_reason(refusal);
    connection->send(frame_of(answer));
    // Let the refusal go out before closing.
    auto linger = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(100));
    linger->async_wait([connection, linger](asio::error_code) { connection->close("refused"); });
    state.stage = Inbound::kRefused;
    return true;
  }
  state.stage = Inbound::kIdentified;
  state.from = hello.from();
  peer_client_urls_[hello.from()] = {hello.client_urls().begin(), hello.client_urls().end()};
  return true;
}

}  // namespace synod::net
