#pragma once

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace synod::net {

// A request head larger than this is answered 400: a bound on what one
// client can make us buffer.
inline constexpr size_t kMaxHttpHeadBytes = 8 << 10;
// At most this many connections at once; more are closed on accept. A
// scraper needs one; the bound keeps a flood from exhausting descriptors.
inline constexpr size_t kMaxHttpConnections = 64;

// A minimal HTTP/1.1 server for /metrics and /health: one GET per
// connection, answered with Content-Length and `Connection: close`. It only
// parses; the handler decides what each path means (404 included).
//
// Everything runs on the io_context, which must be run by one thread; the
// handler is called there. stop() may be called from any thread (it is
// dispatched to the io_context), and the destructor calls it. After stop(),
// the server's pending operations finish with errors, so a run() with no
// other work returns.
class HttpServer {
 public:
  struct Response {
    int status = 200;
    std::string content_type = "text/plain; version=0.0.4";
    std::string body;
  };
  using Handler = std::function<Response(std::string_view path)>;  // path without ?query

  // Binds and starts accepting. Errors (port in use, bad address) name the
  // address.
  static absl::StatusOr<std::unique_ptr<HttpServer>> listen(asio::io_context& io,
                                                            const asio::ip::tcp::endpoint& at,
                                                            Handler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // The bound address, with the real port when listening on port 0.
  asio::ip::tcp::endpoint local_endpoint() const { return local_endpoint_; }
  // Closes the acceptor and every open connection. Idempotent.
  void stop();

 private:
  struct State;
  class Connection;
  HttpServer(std::shared_ptr<State> state, asio::ip::tcp::endpoint local_endpoint);

  // Shared with the pending operations, which keep it alive after the
  // server object is gone.
  std::shared_ptr<State> state_;
  asio::ip::tcp::endpoint local_endpoint_;
};

}  // namespace synod::net
