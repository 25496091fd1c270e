#pragma once

#include <asio.hpp>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "synod/base/rng.h"
#include "synod/base/types.h"
#include "synod/net/connection.h"
#include "synod/wire/peer.pb.h"

namespace synod::net {

// The peer protocol's version, in every hello and join: members of another
// version refuse each other, with the reason. 2: client requests passed on
// to the leader travel as the replicated service's own messages.
inline constexpr uint32_t kPeerWireVersion = 2;

struct PeerAddress {
  std::string name;
  asio::ip::tcp::endpoint endpoint;
};

struct PeerTransportOptions {
  uint64_t cluster_id = 0;
  NodeId self = 0;
  std::string self_name;
  std::map<NodeId, PeerAddress> peers;   // every other node of the cluster
  std::vector<std::string> client_urls;  // this node's, told to its peers
  Connection::Limits limits;
  // Reconnection waits a random time in [backoff/2, backoff]; backoff
  // doubles after each failure, from min up to max, and resets on success.
  Duration backoff_min = std::chrono::milliseconds(50);
  Duration backoff_max = std::chrono::seconds(2);
  // A dialer must say who it is within this long, and at most this many
  // connections may be waiting to.
  Duration hello_timeout = std::chrono::seconds(5);
  size_t max_unidentified = 64;
  // Answers a member that asks to join (a PeerJoin instead of a hello)
  // with a join_answer or a refusal; unset: every join is refused.
  std::function<wire::PeerFrame(const wire::PeerJoin& join)> answer_join;
};

// Asks the members at `peers`, in turn, who a newly added member is: its
// node id, the cluster, the members to start from. Blocks; for a member's
// first start, before its loop runs.
absl::StatusOr<wire::PeerJoinAnswer> ask_to_join(asio::io_context& io,
                                                 const std::vector<asio::ip::tcp::endpoint>& peers,
                                                 const wire::PeerJoin& join, Duration timeout);

// Messages between the nodes of one cluster over TCP. Each node dials every
// peer and sends on that connection only; it receives on the connections its
// peers dialed. A dialer first says who it is (cluster id, its node id, the
// node it means to reach); a connection from another cluster, or from a
// node that is not a member, is refused with a reason and logged.
//
// Delivery is what a protocol expects of a network: messages may be lost
// (while a peer is down or its queue is full) but arrive in order on one
// connection, unaltered. A frame that does not parse, or is over the limit,
// closes its connection; the node goes on.
class PeerTransport {
 public:
  using Deliver = std::function<void(NodeId from, wire::PeerMessage& message)>;

  PeerTransport(asio::io_context& io, PeerTransportOptions options, Rng rng, Deliver deliver);
  ~PeerTransport();

  absl::Status listen(const asio::ip::tcp::endpoint& at);
  void start();  // dials every peer
  void stop();   // closes everything; nothing is delivered after it

  // Takes the message: its payload moves into the frame, not copied. To a
  // node that is not (or no longer) a peer it is dropped.
  void send(NodeId to, wire::PeerMessage message);

  // Members come and go while the cluster runs. A peer added is dialed at
  // once (after start); a peer removed is closed and refused from then on.
  // Node ids are never reused, so a removed one stays removed.
  void add_peer(NodeId id, PeerAddress address);
  void remove_peer(NodeId id);
  bool is_peer(NodeId id) const;
  std::vector<NodeId> peers() const;  // every peer not removed

  struct PeerStats {
    bool connected = false;
    uint64_t sent = 0;
    uint64_t dropped = 0;  // while disconnected or over the queue bound
    uint64_t received = 0;
  };
  PeerStats stats(NodeId peer) const;
  uint64_t refused_connections() const { return refused_; }
  uint64_t closed_for_bad_frames() const { return bad_frames_; }
  // The client URLs each peer said it serves, once it has dialed in.
  const std::map<NodeId, std::vector<std::string>>& peer_client_urls() const {
    return peer_client_urls_;
  }
  asio::ip::tcp::endpoint local_endpoint() const;

 private:
  struct Link;
  void dial(Link& link);
  void connected(Link& link, asio::ip::tcp::socket socket);
  void lost(Link& link, const std::string& why);
  void accept();
  void identify(const std::shared_ptr<Connection>& connection);
  // What an accepted connection has said of itself so far.
  struct Inbound {
    enum Stage { kWaiting, kIdentified, kRefused } stage = kWaiting;
    NodeId from = 0;
  };
  bool check_hello(const std::shared_ptr<Connection>& connection, std::string_view frame,
                   Inbound& state);
  // Sends `answer` and closes the connection shortly after.
  void answer_and_close(const std::shared_ptr<Connection>& connection,
                        const wire::PeerFrame& answer, Inbound& state);
  std::string who(NodeId node) const;

  asio::io_context& io_;
  PeerTransportOptions options_;
  Rng rng_;
  Deliver deliver_;
  asio::ip::tcp::acceptor acceptor_;
  std::map<NodeId, std::unique_ptr<Link>> links_;
  std::set<std::shared_ptr<Connection>> inbound_;
  size_t unidentified_ = 0;
  std::map<NodeId, uint64_t> received_;
  uint64_t refused_ = 0;
  uint64_t bad_frames_ = 0;
  std::map<NodeId, std::vector<std::string>> peer_client_urls_;
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace synod::net
