#include "synod/net/kv_client.h"

#include "synod/base/assert.h"

namespace synod::net {

KvClient::KvClient(asio::io_context& io, std::shared_ptr<ClusterDirectory> directory,
                   uint64_t client_id, KvClientOptions options)
    : io_(io),
      directory_(std::move(directory)),
      client_id_(client_id),
      options_(options),
      attempt_timer_(io),
      retry_timer_(io) {
  SYNOD_ASSERT(!directory_->endpoints.empty());
  target_ = client_id % directory_->endpoints.size();  // spread clients over the nodes
}

KvClient::~KvClient() {
  close();
}

void KvClient::close() {
  attempt_timer_.cancel();
  retry_timer_.cancel();
  ++generation_;
  if (connection_) connection_->close("client closed");
  connection_.reset();
}

void KvClient::submit(const wire::KvOp& op, Done done) {
  SYNOD_ASSERT_MSG(!request_, "one request at a time per client");
  request_.emplace();
  request_->set_client(client_id_);
  request_->set_seq(++seq_);
  *request_->mutable_kv() = op;
  done_ = std::move(done);
  last_error_.clear();
  deadline_ = std::chrono::steady_clock::now() + options_.deadline;
  attempt();
}

void KvClient::connect(size_t endpoint) {
  // A new generation first: closing the old connection must not run its
  // handlers as if it were current (they would start yet another attempt).
  uint64_t generation = ++generation_;
  if (connection_) connection_->close("switching node");
  connection_.reset();
  connected_to_ = endpoint;
  auto socket = std::make_shared<asio::ip::tcp::socket>(io_);
  socket->async_connect(
      directory_->endpoints[endpoint], [this, socket, generation](asio::error_code ec) {
        if (generation != generation_ || ec == asio::error::operation_aborted) return;
        if (ec) {
          connected_to_ = SIZE_MAX;
          try_next("cannot connect to " + to_string(directory_->endpoints[target_]) + ": " +
                   ec.message());
          return;
        }
        connection_ = std::make_shared<Connection>(std::move(*socket), options_.limits);
        connection_->start({.on_frame =
                                [this, generation](std::string_view bytes) {
                                  if (generation == generation_) on_frame(bytes);
                                  return true;
                                },
                            .on_close =
                                [this, generation](const std::string& why) {
                                  if (generation != generation_) return;
                                  connection_.reset();
                                  connected_to_ = SIZE_MAX;
                                  if (request_) try_next("connection lost: " + why);
                                }});
        if (request_) connection_->send(request_->SerializeAsString());
      });
}

void KvClient::attempt() {
  if (!request_) return;
  if (std::chrono::steady_clock::now() >= deadline_) {
    finish({KvOutcome::Kind::kUnknown, {}, last_error_.empty() ? "deadline passed" : last_error_});
    return;
  }
  attempt_timer_.expires_after(options_.attempt_timeout);
  attempt_timer_.async_wait([this, seq = seq_](asio::error_code ec) {
    if (ec || !request_ || request_->seq() != seq) return;
    try_next("no answer from " + to_string(directory_->endpoints[target_]) + " within " +
             std::to_string(options_.attempt_timeout.count() / 1'000'000) + " ms");
  });
  if (connected_to_ == target_ && connection_) {
    connection_->send(request_->SerializeAsString());
  } else {
    connect(target_);
  }
}

void KvClient::on_frame(std::string_view bytes) {
  wire::ServerFrame frame;
  if (!frame.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    connection_->close("a malformed frame from the server");
    return;
  }
  if (frame.has_hello()) {
    directory_->node_endpoint[frame.hello().node()] = connected_to_;
    return;
  }
  if (!frame.has_reply() || !request_ || frame.reply().seq() != request_->seq()) return;
  const wire::ClientReply& reply = frame.reply();
  switch (reply.outcome_case()) {
    case wire::ClientReply::kKv:
      finish({KvOutcome::Kind::kOk, reply.kv(), {}});
      return;
    case wire::ClientReply::kRedirect:
      try_next("redirected", reply.redirect().known()
                                 ? std::optional<NodeId>(reply.redirect().node())
                                 : std::nullopt);
      return;
    case wire::ClientReply::kTimedOut:
      // It may still apply; a copy under the same number is safe anywhere.
      try_next("timed out at the member: " + reply.timed_out().reason(), std::nullopt);
      return;
    case wire::ClientReply::kEtcd:  // this client sends only KvOps: not its answer
    case wire::ClientReply::kRejected:
    case wire::ClientReply::OUTCOME_NOT_SET:
      // Not taken this time (no leader yet, overloaded): the same node again, soon.
      last_error_ = "refused: " + reply.rejected().reason();
      attempt_timer_.cancel();
      retry_timer_.expires_after(options_.retry_delay);
      retry_timer_.async_wait([this](asio::error_code ec) {
        if (!ec) attempt();
      });
      return;
  }
}

void KvClient::try_next(const std::string& why, std::optional<NodeId> leader) {
  if (!request_) return;
  attempt_timer_.cancel();
  last_error_ = why;
  auto known = leader ? directory_->node_endpoint.find(*leader) : directory_->node_endpoint.end();
  bool to_leader = known != directory_->node_endpoint.end() && known->second != target_;
  if (leader && !to_leader && directory_->node_endpoint.size() == directory_->endpoints.size()) {
    // Every endpoint has said which node it is, and none is the leader.
    finish(
        {KvOutcome::Kind::kUnknown,
         {},
         "the leader is node " + std::to_string(*leader) + ", which is not among the endpoints"});
    return;
  }
  target_ = to_leader ? known->second : (target_ + 1) % directory_->endpoints.size();
  // Straight to a known leader; otherwise pause a little before going round.
  if (to_leader) {
    attempt();
    return;
  }
  retry_timer_.expires_after(options_.retry_delay);
  retry_timer_.async_wait([this](asio::error_code ec) {
    if (!ec) attempt();
  });
}

void KvClient::finish(const KvOutcome& outcome) {
  attempt_timer_.cancel();
  retry_timer_.cancel();
  request_.reset();
  Done done = std::move(done_);
  done_ = nullptr;
  done(outcome);
}

}  // namespace synod::net
