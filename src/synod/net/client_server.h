#pragma once

#include <asio.hpp>
#include <functional>
#include <map>
#include <memory>

#include "absl/status/status.h"
#include "synod/base/types.h"
#include "synod/net/connection.h"
#include "synod/wire/peer.pb.h"

namespace synod::net {

// The client port: clients send framed wire::ClientRequests and get framed
// wire::ServerFrames back, a ServerHello first. Each connection is a client
// process to the protocol (ids from kFirstClientId up), so a reply finds the
// connection its request came on.
//
// The same port serves gRPC (the etcd API), as etcd's client URL does: a
// connection whose first bytes are HTTP/2's preface is handed, socket and
// all, to `on_http2` when one is set.
class ClientServer {
 public:
  using OnRequest = std::function<void(ProcessId client, const wire::ClientRequest& request)>;
  // Takes ownership of the socket's file descriptor.
  using OnHttp2 = std::function<void(int fd)>;
  struct Options {
    wire::ServerHello hello;
    // Client frames are small commands; a reply may carry a large value.
    Connection::Limits limits{.max_frame_bytes = 4 << 20, .max_queue_bytes = 64 << 20};
    size_t max_connections = 4096;
  };

  ClientServer(asio::io_context& io, Options options, OnRequest on_request);
  ~ClientServer();

  absl::Status listen(const asio::ip::tcp::endpoint& at);
  void stop();
  asio::ip::tcp::endpoint local_endpoint() const;
  void set_http2_handler(OnHttp2 handler) { on_http2_ = std::move(handler); }

  // Drops the reply when the client has gone.
  void reply(ProcessId client, const wire::ClientReply& reply);

  size_t connections() const { return connections_.size(); }
  uint64_t closed_for_bad_frames() const { return bad_frames_; }

 private:
  void accept();
  // Reads, without consuming, enough of a new connection to tell HTTP/2
  // from a framed client, then hands it to one or the other.
  void sniff(std::shared_ptr<asio::ip::tcp::socket> socket, int attempts);
  void serve_framed(asio::ip::tcp::socket socket);

  asio::io_context& io_;
  Options options_;
  OnRequest on_request_;
  OnHttp2 on_http2_;
  asio::ip::tcp::acceptor acceptor_;
  std::map<ProcessId, std::shared_ptr<Connection>> connections_;
  ProcessId next_id_ = kFirstClientId;
  uint64_t bad_frames_ = 0;
  bool stopped_ = false;
};

}  // namespace synod::net
