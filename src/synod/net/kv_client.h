#pragma once

#include <asio.hpp>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "synod/base/types.h"
#include "synod/net/connection.h"
#include "synod/wire/peer.pb.h"

namespace synod::net {

// What the client knows of the cluster, shared by every KvClient of one
// process: the endpoints it may use and, once heard, which node each is.
struct ClusterDirectory {
  std::vector<asio::ip::tcp::endpoint> endpoints;
  std::map<NodeId, size_t> node_endpoint;  // learned from ServerHellos
};

struct KvClientOptions {
  // One attempt waits this long for an answer, then tries the next node.
  Duration attempt_timeout = std::chrono::seconds(1);
  // Asked to retry later (no leader yet, overloaded): wait this long.
  Duration retry_delay = std::chrono::milliseconds(20);
  // A request with no answer by then is given up: its outcome is unknown.
  Duration deadline = std::chrono::seconds(10);
  Connection::Limits limits{.max_frame_bytes = 64 << 20, .max_queue_bytes = 64 << 20};
};

struct KvOutcome {
  enum class Kind {
    kOk,
    kUnknown,  // no answer by the deadline: a write may or may not have taken effect
  };
  Kind kind = Kind::kUnknown;
  wire::KvResult result;
  std::string error;  // for kUnknown: the last thing that went wrong
};

// One client session of the synod client protocol (client id, sequence
// numbers), with one request outstanding at a time. A request is retried,
// with the same sequence number, on whichever node redirects or answers,
// until it gets a result or its deadline passes; the replicated session
// table makes the retries of a write apply once.
class KvClient {
 public:
  using Done = std::function<void(const KvOutcome& outcome)>;

  KvClient(asio::io_context& io, std::shared_ptr<ClusterDirectory> directory, uint64_t client_id,
           KvClientOptions options);
  ~KvClient();

  void submit(const wire::KvOp& op, Done done);
  void close();

 private:
  void attempt();
  void on_frame(std::string_view bytes);
  void try_next(const std::string& why, std::optional<NodeId> leader = std::nullopt);
  void finish(const KvOutcome& outcome);
  void connect(size_t endpoint);

  asio::io_context& io_;
  std::shared_ptr<ClusterDirectory> directory_;
  uint64_t client_id_;
  KvClientOptions options_;
  size_t target_ = 0;  // index into directory_->endpoints
  std::shared_ptr<Connection> connection_;
  size_t connected_to_ = SIZE_MAX;
  uint64_t generation_ = 0;  // of the connection; stale callbacks are ignored

  uint64_t seq_ = 0;
  std::optional<wire::ClientRequest> request_;
  Done done_;
  std::string last_error_;
  std::chrono::steady_clock::time_point deadline_;
  asio::steady_timer attempt_timer_;
  asio::steady_timer retry_timer_;
};

}  // namespace synod::net
