#include "synod/net/client_server.h"

#include <spdlog/spdlog.h>

namespace synod::net {

ClientServer::ClientServer(asio::io_context& io, Options options, OnRequest on_request)
    : io_(io), options_(std::move(options)), on_request_(std::move(on_request)), acceptor_(io) {}

ClientServer::~ClientServer() {
  stop();
}

absl::Status ClientServer::listen(const asio::ip::tcp::endpoint& at) {
  if (auto status = listen_on(acceptor_, at, "client port"); !status.ok()) return status;
  accept();
  return absl::OkStatus();
}

asio::ip::tcp::endpoint ClientServer::local_endpoint() const {
  asio::error_code ec;
  return acceptor_.local_endpoint(ec);
}

void ClientServer::stop() {
  if (stopped_) return;
  stopped_ = true;
  asio::error_code ignored;
  acceptor_.close(ignored);
  auto connections = std::move(connections_);
  for (auto& [id, connection] : connections)
    connection->close("shutting down");
}

void ClientServer::accept() {
  acceptor_.async_accept([this](asio::error_code ec, asio::ip::tcp::socket socket) {
    if (stopped_ || ec == asio::error::operation_aborted) return;
    if (!ec) {
      if (on_http2_)
        sniff(std::make_shared<asio::ip::tcp::socket>(std::move(socket)), 0);
      else
        serve_framed(std::move(socket));
    }
    accept();
  });
}

namespace {
// What an HTTP/2 client sends first (RFC 9113, section 3.4); a framed
// client's first four bytes are a little-endian length, never these.
constexpr std::string_view kHttp2Preface = "PRI * HTTP/2.0";
constexpr size_t kSniffBytes = 4;
constexpr int kMaxSniffAttempts = 200;  // 1 ms apart: a client slower than that is framed
}  // namespace

void ClientServer::sniff(std::shared_ptr<asio::ip::tcp::socket> socket, int attempts) {
  socket->async_wait(asio::socket_base::wait_read, [this, socket, attempts](asio::error_code ec) {
    if (stopped_ || ec) return;
    char head[kSniffBytes];
    asio::error_code peek_error;
    size_t n = socket->receive(asio::buffer(head), asio::socket_base::message_peek, peek_error);
    if (peek_error || n == 0) return;  // closed before saying anything
    std::string_view got(head, n);
    if (got == kHttp2Preface.substr(0, n) && n < kSniffBytes && attempts < kMaxSniffAttempts) {
      // A prefix of the preface so far: look again shortly.
      auto later = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(1));
      later->async_wait([this, socket, attempts, later](asio::error_code wait_error) {
        if (!wait_error) sniff(socket, attempts + 1);
      });
      return;
    }
    if (got == kHttp2Preface.substr(0, n) && n == kSniffBytes) {
      // gRPC sets no options on a socket it did not open: without this,
      // Nagle holds small replies for a delayed ACK (40 ms stalls).
      asio::error_code ignored;
      socket->set_option(asio::ip::tcp::no_delay(true), ignored);
      on_http2_(socket->release());
      return;
    }
    serve_framed(std::move(*socket));
  });
}

void ClientServer::serve_framed(asio::ip::tcp::socket socket) {
  auto connection = std::make_shared<Connection>(std::move(socket), options_.limits);
  if (connections_.size() >= options_.max_connections) {
    spdlog::warn("{}: refused a client connection from {}: {} are open already",
                 options_.hello.name(), connection->remote(), connections_.size());
    connection->close("too many connections");
    return;
  }
  // Ids are not reused while the process lives (2 billion connections).
  ProcessId id = next_id_++;
  connections_[id] = connection;
  connection->start(
      {.on_frame =
           [this, id, raw = connection.get()](std::string_view bytes) {
             wire::ClientRequest request;
             if (!request.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
               spdlog::warn("{}: closing client connection {}: a malformed request",
                            options_.hello.name(), raw->remote());
               return false;
             }
             on_request_(id, request);
             return true;
           },
       .on_close =
           [this, id, raw = connection.get()](const std::string&) {
             if (raw->closed_for_bad_input()) ++bad_frames_;
             connections_.erase(id);
           }});
  wire::ServerFrame hello;
  *hello.mutable_hello() = options_.hello;
  connection->send(hello.SerializeAsString());
}

void ClientServer::reply(ProcessId client, const wire::ClientReply& reply) {
  auto it = connections_.find(client);
  if (it == connections_.end()) return;
  wire::ServerFrame frame;
  *frame.mutable_reply() = reply;
  if (!it->second->send(frame.SerializeAsString()))
    // A client that does not read its replies would hold memory without bound.
    it->second->close("the client is not reading its replies");
}

}  // namespace synod::net
