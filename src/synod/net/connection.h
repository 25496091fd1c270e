#pragma once

#include <asio.hpp>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "synod/net/frame.h"

namespace synod::net {

// One TCP connection carrying frames both ways. Reads run continuously and
// hand each whole frame to on_frame; sends are queued and written in
// batches (whatever was queued while a write was in flight goes out in the
// next single write). Every buffer has a bound: a frame over
// max_frame_bytes closes the connection, and a send that would take the
// queue past max_queue_bytes is refused.
//
// Lives on one io_context thread. Handlers in flight hold a shared_ptr, so
// the object outlives its owner's interest until they finish.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  struct Handlers {
    // A whole frame, valid during the call. Return false to close.
    std::function<bool(std::string_view frame)> on_frame;
    // Called once, when the connection closes for any reason.
    std::function<void(const std::string& why)> on_close;
  };
  struct Limits {
    size_t max_frame_bytes = 64 << 20;
    size_t max_queue_bytes = 64 << 20;
  };

  Connection(asio::ip::tcp::socket socket, Limits limits);

  void start(Handlers handlers);
  // Queues one frame; false (and nothing queued) when the queue is full or
  // the connection is closed.
  bool send(std::string_view payload);
  void close(const std::string& why);

  bool is_open() const { return open_; }
  // Closed for what was read: a frame over the limit, or one on_frame refused.
  bool closed_for_bad_input() const { return bad_input_; }
  const std::string& remote() const { return remote_; }
  size_t queued_bytes() const { return pending_.size() + in_flight_.size(); }

 private:
  void read();
  void write();

  asio::ip::tcp::socket socket_;
  Limits limits_;
  Handlers handlers_;
  FrameReader reader_;
  std::string pending_;    // frames waiting for the next write
  std::string in_flight_;  // the write under way
  bool writing_ = false;
  bool open_ = true;
  bool bad_input_ = false;
  std::string remote_;
};

// "host:port" of an endpoint, for logs.
std::string to_string(const asio::ip::tcp::endpoint& endpoint);

// Opens, binds and listens; an error says `what` (the port's purpose), the
// address, the step that failed and why.
absl::Status listen_on(asio::ip::tcp::acceptor& acceptor, const asio::ip::tcp::endpoint& at,
                       std::string_view what);

// A host name or address and a port as an endpoint: the first IPv4 answer
// when there is one, so "localhost" means the same address to every member.
absl::StatusOr<asio::ip::tcp::endpoint> resolve(asio::io_context& io, const std::string& host,
                                                uint16_t port);

}  // namespace synod::net
