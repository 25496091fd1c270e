#include "synod/net/peer_transport.h"

#include <spdlog/spdlog.h>

#include "synod/base/assert.h"
#include "synod/net/frame.h"

namespace synod::net {

namespace {

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
  // Removed from the cluster: closed, never dialed again. The link stays
  // (handlers may still hold it), and ids are never reused.
  bool removed = false;
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
  started_ = true;
  for (auto& [id, link] : links_)
    if (!link->removed) dial(*link);
}

bool PeerTransport::is_peer(NodeId id) const {
  auto it = links_.find(id);
  return it != links_.end() && !it->second->removed;
}

std::vector<NodeId> PeerTransport::peers() const {
  std::vector<NodeId> out;
  for (const auto& [id, link] : links_)
    if (!link->removed) out.push_back(id);
  return out;
}

void PeerTransport::add_peer(NodeId id, PeerAddress address) {
  SYNOD_ASSERT(id != options_.self);
  auto it = links_.find(id);
  if (it != links_.end()) {
    Link& link = *it->second;
    if (link.removed || link.address.endpoint == address.endpoint) {
      link.address.name = address.name;
      return;
    }
    // Moved (a member update): drop the old connection; lost() redials.
    spdlog::info("{}: peer {} moves to {}", options_.self_name, who(id),
                 to_string(address.endpoint));
    link.address = std::move(address);
    if (link.connection) link.connection->close("the peer moved");
    return;
  }
  spdlog::info("{}: new peer node {}: {} ({})", options_.self_name, id, address.name,
               to_string(address.endpoint));
  auto& link = links_[id] =
      std::make_unique<Link>(io_, id, std::move(address), options_.backoff_min);
  if (started_ && !stopped_) dial(*link);
}

void PeerTransport::remove_peer(NodeId id) {
  auto it = links_.find(id);
  if (it == links_.end() || it->second->removed) return;
  Link& link = *it->second;
  spdlog::info("{}: peer {} left the cluster", options_.self_name, who(id));
  link.removed = true;
  link.retry.cancel();
  asio::error_code ignored;
  if (link.dialing) link.dialing->close(ignored);
  if (link.connection) link.connection->close("the peer left the cluster");
  link.stats.connected = false;
  // What it dialed in with closes at its next frame (see identify).
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
  if (stopped_ || link.removed) return;
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
  hello.mutable_hello()->set_version(kPeerWireVersion);
  for (const std::string& url : options_.client_urls)
    hello.mutable_hello()->add_client_urls(url);
  connection->send(frame_of(hello));
}

void PeerTransport::lost(Link& link, const std::string& why) {
  link.connection.reset();
  link.dialing.reset();
  link.stats.connected = false;
  if (link.removed) return;
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
  // A Raft membership can name a node a moment before this member has
  // applied the change that says where it is.
  if (it == links_.end()) return;
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
               if (!is_peer(state->from)) return false;  // it left the cluster
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
  if (!frame.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())) ||
      !(frame.has_hello() || frame.has_join())) {
    spdlog::error("{}: closed a peer connection from {}: the first frame is not a hello",
                  options_.self_name, connection->remote());
    return false;
  }
  if (frame.has_join()) {
    wire::PeerFrame answer;
    if (frame.join().version() != kPeerWireVersion)
      answer.mutable_refusal()->set_reason("wire version " +
                                           std::to_string(frame.join().version()) + ", expected " +
                                           std::to_string(kPeerWireVersion));
    else if (options_.answer_join)
      answer = options_.answer_join(frame.join());
    else
      answer.mutable_refusal()->set_reason("this member does not take joins");
    if (answer.has_refusal())
      spdlog::warn("{}: refused {} ({}) asking to join: {}", options_.self_name,
                   frame.join().name(), connection->remote(), answer.refusal().reason());
    else
      spdlog::info("{}: told {} ({}) it is node {}", options_.self_name, frame.join().name(),
                   connection->remote(), answer.join_answer().node());
    answer_and_close(connection, answer, state);
    return true;
  }
  const wire::PeerHello& hello = frame.hello();
  if (hello.version() != kPeerWireVersion)
    refusal = "wire version " + std::to_string(hello.version()) + ", expected " +
              std::to_string(kPeerWireVersion);
  else if (hello.cluster_id() != options_.cluster_id)
    refusal = "cluster id " + std::to_string(hello.cluster_id()) + ", expected " +
              std::to_string(options_.cluster_id) +
              " (check --initial-cluster and --initial-cluster-token)";
  else if (hello.to() != options_.self)
    refusal = "meant for node " + std::to_string(hello.to()) + ", this is node " +
              std::to_string(options_.self);
  else if (!is_peer(hello.from()))
    refusal = "node " + std::to_string(hello.from()) + " is not a member";
  if (!refusal.empty()) {
    ++refused_;
    spdlog::error("{}: refused a peer connection from {}: {}", options_.self_name,
                  connection->remote(), refusal);
    wire::PeerFrame answer;
    answer.mutable_refusal()->set_reason(refusal);
    answer_and_close(connection, answer, state);
    return true;
  }
  state.stage = Inbound::kIdentified;
  state.from = hello.from();
  peer_client_urls_[hello.from()] = {hello.client_urls().begin(), hello.client_urls().end()};
  return true;
}

void PeerTransport::answer_and_close(const std::shared_ptr<Connection>& connection,
                                     const wire::PeerFrame& answer, Inbound& state) {
  connection->send(frame_of(answer));
  // Let the answer go out before closing.
  auto linger = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(100));
  linger->async_wait([connection, linger](asio::error_code) { connection->close("answered"); });
  state.stage = Inbound::kRefused;
}

absl::StatusOr<wire::PeerJoinAnswer> ask_to_join(asio::io_context& io,
                                                 const std::vector<asio::ip::tcp::endpoint>& peers,
                                                 const wire::PeerJoin& join, Duration timeout) {
  wire::PeerFrame request;
  *request.mutable_join() = join;
  request.mutable_join()->set_version(kPeerWireVersion);
  std::string out;
  append_frame(out, request.SerializeAsString());
  std::string last_error = "no peers to ask";
  for (const asio::ip::tcp::endpoint& at : peers) {
    // One synchronous exchange. The socket's receive and send timeouts bound
    // each system call, not the exchange: Asio waits again after one
    // expires, so a peer that accepts and never answers holds the join.
    asio::ip::tcp::socket socket(io);
    asio::error_code ec;
    socket.connect(at, ec);
    if (ec) {
      last_error = to_string(at) + ": " + ec.message();
      continue;
    }
    timeval tv{};
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(timeout).count();
    tv.tv_sec = us / 1'000'000;
    tv.tv_usec = us % 1'000'000;
    ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    asio::write(socket, asio::buffer(out), ec);
    FrameReader reader(1 << 20);
    std::string_view frame;
    FrameReader::Status status = FrameReader::Status::kNeedMore;
    while (!ec && status == FrameReader::Status::kNeedMore) {
      char* room = reader.prepare(4096);
      size_t n = socket.read_some(asio::buffer(room, 4096), ec);
      reader.commit(n);
      status = reader.next(&frame);
    }
    if (status != FrameReader::Status::kFrame) {
      last_error = to_string(at) + ": no answer (" + (ec ? ec.message() : "frame too large") + ")";
      continue;
    }
    wire::PeerFrame answer;
    if (!answer.ParseFromArray(frame.data(), static_cast<int>(frame.size()))) {
      last_error = to_string(at) + ": an answer that does not parse";
      continue;
    }
    if (answer.has_join_answer()) return answer.join_answer();
    last_error = to_string(at) + ": " +
                 (answer.has_refusal() ? answer.refusal().reason() : "an answer of the wrong kind");
  }
  return absl::UnavailableError("cannot join the cluster: " + last_error);
}

}  // namespace synod::net
