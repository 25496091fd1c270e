#include "synod/net/http_server.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <asio/dispatch.hpp>
#include <asio/read_until.hpp>
#include <asio/steady_timer.hpp>
#include <asio/write.hpp>
#include <chrono>
#include <map>
#include <optional>
#include <vector>

#include "synod/base/assert.h"
#include "synod/net/connection.h"

namespace synod::net {

using asio::ip::tcp;

namespace {

// From accept to the last byte of the answer: a client that stalls while
// sending its request or while reading ours is dropped.
constexpr auto kConnectionDeadline = std::chrono::seconds(5);
// After a failed accept (such as running out of descriptors, which fails
// again at once), wait this long before trying again rather than spin.
constexpr auto kAcceptRetryDelay = std::chrono::milliseconds(100);
// After answering, bytes read and thrown away while waiting for the client to
// close (see respond()); past this we close anyway.
constexpr size_t kMaxDrainBytes = 64 << 10;

// RFC 9110 token characters: methods and header names.
bool is_tchar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}
bool is_visible(char c) {
  return c > 0x20 && c < 0x7f;
}
bool all_of(std::string_view s, bool (*pred)(char)) {
  return std::all_of(s.begin(), s.end(), pred);
}

struct Request {
  std::string_view method;
  std::string_view path;
};

// `head` is a complete request head, ending in an empty line. Header fields
// are checked for shape but otherwise ignored: nothing here needs them.
std::optional<Request> parse_head(std::string_view head) {
  size_t eol = head.find("\r\n");
  std::string_view line = head.substr(0, eol);
  size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return std::nullopt;
  size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return std::nullopt;
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (method.empty() || !all_of(method, is_tchar)) return std::nullopt;
  if (target.empty() || target[0] != '/' || !all_of(target, is_visible)) return std::nullopt;
  if (version != "HTTP/1.1" && version != "HTTP/1.0") return std::nullopt;

  std::string_view rest = head.substr(eol + 2);
  while (!rest.empty()) {
    eol = rest.find("\r\n");
    line = rest.substr(0, eol);
    rest.remove_prefix(eol + 2);
    if (line.empty()) break;
    size_t colon = line.find(':');
    if (colon == 0 || colon == std::string_view::npos) return std::nullopt;
    if (!all_of(line.substr(0, colon), is_tchar)) return std::nullopt;
    for (char c : line.substr(colon + 1)) {
      if ((c < 0x20 && c != '\t') || c == 0x7f) return std::nullopt;
    }
  }
  return Request{method, target.substr(0, target.find_first_of("?#"))};
}

std::string_view reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "";  // the reason phrase is optional
  }
}

std::string render(const HttpServer::Response& r, std::string_view extra_headers = {}) {
  SYNOD_ASSERT(r.status >= 200 && r.status <= 599);
  SYNOD_ASSERT(r.content_type.find_first_of("\r\n") == std::string::npos);  // no header injection
  std::string out = "HTTP/1.1 " + std::to_string(r.status) + " " + std::string(reason(r.status)) +
                    "\r\nContent-Type: " + r.content_type +
                    "\r\nContent-Length: " + std::to_string(r.body.size()) + "\r\n";
  out += extra_headers;
  out += "Connection: close\r\n\r\n";
  return out + r.body;
}

HttpServer::Response plain(int status, std::string body) {
  return {status, "text/plain; charset=utf-8", std::move(body)};
}

}  // namespace

// What the server and its pending operations share. Touched only on the
// io_context's thread once listen() returns.
struct HttpServer::State : std::enable_shared_from_this<State> {
  State(asio::io_context& io, Handler h) : acceptor(io), retry(io), handler(std::move(h)) {}
  void accept();
  void stop();

  tcp::acceptor acceptor;
  asio::steady_timer retry;
  Handler handler;
  bool stopped = false;
  uint64_t next_id = 0;
  // Weak: a connection lives as long as its pending operations; this is
  // only so stop() can reach it.
  std::map<uint64_t, std::weak_ptr<Connection>> connections;
};

// One request, one answer, then close.
class HttpServer::Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(std::shared_ptr<State> server, uint64_t id, tcp::socket socket)
      : server_(std::move(server)),
        id_(id),
        socket_(std::move(socket)),
        deadline_(socket_.get_executor()) {}

  void start() {
    deadline_.expires_after(kConnectionDeadline);
    deadline_.async_wait([self = shared_from_this()](std::error_code ec) {
      if (!ec) self->close();
    });
    asio::async_read_until(
        socket_, asio::dynamic_buffer(head_, kMaxHttpHeadBytes), "\r\n\r\n",
        [self = shared_from_this()](std::error_code ec, size_t n) { self->on_head(ec, n); });
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    deadline_.cancel();
    std::error_code ignored;
    socket_.close(ignored);
    server_->connections.erase(id_);
  }

 private:
  void on_head(std::error_code ec, size_t n) {
    if (closed_) return;
    if (ec == asio::error::not_found)
      return respond(render(plain(400, "request head too large\n")));
    if (ec == asio::error::eof && !head_.empty())
      return respond(render(plain(400, "bad request\n")));
    if (ec) return close();
    respond(answer(std::string_view(head_).substr(0, n)));
  }

  std::string answer(std::string_view head) {
    std::optional<Request> request = parse_head(head);
    if (!request) return render(plain(400, "bad request\n"));
    if (request->method != "GET") return render(plain(405, "only GET\n"), "Allow: GET\r\n");
    // An exception would leave io_context::run() and take the node's loop
    // with it; a broken metrics page is not worth that.
    try {
      return render(server_->handler(request->path));
    } catch (const std::exception& e) {
      spdlog::error("http: handler for {} failed: {}", request->path, e.what());
      return render(plain(500, "internal error\n"));
    }
  }

  void respond(std::string text) {
    out_ = std::move(text);
    asio::async_write(socket_, asio::buffer(out_),
                      [self = shared_from_this()](std::error_code ec, size_t) {
                        if (self->closed_) return;
                        if (ec) return self->close();
                        // Half-close, then wait for the client to close: closing
                        // with its unread bytes still queued sends a reset, which
                        // can destroy our answer before the client reads it.
                        std::error_code ignored;
                        self->socket_.shutdown(tcp::socket::shutdown_send, ignored);
                        self->drain();
                      });
  }

  void drain() {
    socket_.async_read_some(asio::buffer(drain_buf_),
                            [self = shared_from_this()](std::error_code ec, size_t n) {
                              if (self->closed_) return;
                              self->drained_ += n;
                              if (ec || self->drained_ > kMaxDrainBytes) return self->close();
                              self->drain();
                            });
  }

  std::shared_ptr<State> server_;
  uint64_t id_;
  tcp::socket socket_;
  asio::steady_timer deadline_;
  std::string head_;  // bounded by kMaxHttpHeadBytes
  std::string out_;   // kept alive for async_write
  std::array<char, 4096> drain_buf_;
  size_t drained_ = 0;
  bool closed_ = false;
};

void HttpServer::State::accept() {
  acceptor.async_accept([self = shared_from_this()](std::error_code ec, tcp::socket socket) {
    if (self->stopped) return;
    if (ec) {
      spdlog::warn("http: accept failed: {}", ec.message());
      self->retry.expires_after(kAcceptRetryDelay);
      self->retry.async_wait([self](std::error_code ec) {
        if (!ec && !self->stopped) self->accept();
      });
      return;
    }
    if (self->connections.size() < kMaxHttpConnections) {
      uint64_t id = self->next_id++;
      auto connection = std::make_shared<Connection>(self, id, std::move(socket));
      self->connections.emplace(id, connection);
      connection->start();
    }  // else the socket closes as it goes out of scope
    self->accept();
  });
}

void HttpServer::State::stop() {
  if (stopped) return;
  stopped = true;
  std::error_code ignored;
  acceptor.close(ignored);
  retry.cancel();
  // close() erases from the map, so collect first.
  std::vector<std::shared_ptr<Connection>> open;
  for (auto& [id, weak] : connections) {
    if (auto c = weak.lock()) open.push_back(std::move(c));
  }
  for (auto& c : open)
    c->close();
}

HttpServer::HttpServer(std::shared_ptr<State> state, tcp::endpoint local_endpoint)
    : state_(std::move(state)), local_endpoint_(local_endpoint) {}

HttpServer::~HttpServer() {
  stop();
}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::listen(asio::io_context& io,
                                                               const tcp::endpoint& at,
                                                               Handler handler) {
  SYNOD_ASSERT(handler != nullptr);
  auto state = std::make_shared<State>(io, std::move(handler));
  if (auto status = listen_on(state->acceptor, at, "http server"); !status.ok()) return status;
  std::error_code ec;
  tcp::endpoint local = state->acceptor.local_endpoint(ec);
  if (ec) return absl::UnavailableError("http server on " + to_string(at) + ": " + ec.message());
  state->accept();
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(state), local));
}

void HttpServer::stop() {
  // Runs inline on the io_context's thread, queued from any other.
  asio::dispatch(state_->acceptor.get_executor(), [state = state_] { state->stop(); });
}

}  // namespace synod::net
