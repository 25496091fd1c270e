#include "synod/net/connection.h"

namespace synod::net {

namespace {
constexpr size_t kReadChunk = 64 << 10;
}

std::string to_string(const asio::ip::tcp::endpoint& endpoint) {
  std::string host = endpoint.address().to_string();
  if (endpoint.address().is_v6()) host = "[" + host + "]";
  return host + ":" + std::to_string(endpoint.port());
}

absl::Status listen_on(asio::ip::tcp::acceptor& acceptor, const asio::ip::tcp::endpoint& at,
                       std::string_view what) {
  asio::error_code ec;
  const char* step = "open";
  acceptor.open(at.protocol(), ec);
  if (!ec) acceptor.set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
  if (!ec) {
    step = "bind";
    acceptor.bind(at, ec);
  }
  if (!ec) {
    step = "listen";
    acceptor.listen(asio::socket_base::max_listen_connections, ec);
  }
  if (ec)
    return absl::UnavailableError(std::string(what) + " on " + to_string(at) + ": " + step + ": " +
                                  ec.message());
  return absl::OkStatus();
}

absl::StatusOr<asio::ip::tcp::endpoint> resolve(asio::io_context& io, const std::string& host,
                                                uint16_t port) {
  asio::error_code ec;
  asio::ip::tcp::resolver resolver(io);
  auto results = resolver.resolve(host, std::to_string(port), ec);
  if (ec || results.empty())
    return absl::InvalidArgumentError("cannot resolve '" + host + "': " + ec.message());
  for (const auto& r : results)
    if (r.endpoint().address().is_v4()) return r.endpoint();
  return results.begin()->endpoint();
}

Connection::Connection(asio::ip::tcp::socket socket, Limits limits)
    : socket_(std::move(socket)), limits_(limits), reader_(limits.max_frame_bytes) {
  asio::error_code ec;
  auto peer = socket_.remote_endpoint(ec);
  remote_ = ec ? "(unknown)" : to_string(peer);
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
}

void Connection::start(Handlers handlers) {
  handlers_ = std::move(handlers);
  read();
}

void Connection::read() {
  char* into = reader_.prepare(kReadChunk);
  socket_.async_read_some(
      asio::buffer(into, kReadChunk), [self = shared_from_this()](asio::error_code ec, size_t n) {
        if (!self->open_) return;
        if (ec) {
          self->close(ec == asio::error::eof ? "closed by the other side" : ec.message());
          return;
        }
        self->reader_.commit(n);
        std::string_view frame;
        for (;;) {
          switch (self->reader_.next(&frame)) {
            case FrameReader::Status::kNeedMore:
              self->read();
              return;
            case FrameReader::Status::kTooLarge:
              self->bad_input_ = true;
              self->close("a frame of " + std::to_string(self->reader_.too_large_bytes()) +
                          " bytes is over the limit of " +
                          std::to_string(self->limits_.max_frame_bytes));
              return;
            case FrameReader::Status::kFrame:
              if (!self->handlers_.on_frame(frame)) {
                self->bad_input_ = true;
                self->close("bad frame");
                return;
              }
              if (!self->open_) return;  // the handler closed it
              break;
          }
        }
      });
}

bool Connection::send(std::string_view payload) {
  if (!open_ || queued_bytes() + kFrameHeaderBytes + payload.size() > limits_.max_queue_bytes)
    return false;
  append_frame(pending_, payload);
  if (!writing_) write();
  return true;
}

void Connection::write() {
  writing_ = true;
  in_flight_.swap(pending_);
  pending_.clear();
  asio::async_write(socket_, asio::buffer(in_flight_),
                    [self = shared_from_this()](asio::error_code ec, size_t) {
                      self->writing_ = false;
                      self->in_flight_.clear();
                      if (!self->open_) return;
                      if (ec) {
                        self->close(ec.message());
                        return;
                      }
                      if (!self->pending_.empty()) self->write();
                    });
}

void Connection::close(const std::string& why) {
  if (!open_) return;
  open_ = false;
  asio::error_code ignored;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  pending_.clear();
  // No handler runs once closed, so an owner may go away after this call.
  // (on_frame is left in place: close() may be running inside it.)
  auto on_close = std::move(handlers_.on_close);
  handlers_.on_close = nullptr;
  if (on_close) on_close(why);
}

}  // namespace synod::net
