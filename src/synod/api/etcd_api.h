#pragma once

#include <asio.hpp>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "synod/kv/etcd_state_machine.h"
#include "synod/net/node_runtime.h"
#include "synod/wire/etcd_rpc.grpc.pb.h"

namespace synod::api {

// What the node's consensus says now (read on the loop).
struct NodeStatus {
  uint64_t leader = 0;  // member id; 0: none known
  uint64_t term = 0;
  uint64_t commit = 0;
  uint64_t applied = 0;
};

struct EtcdApiOptions {
  uint64_t cluster_id = 0;
  uint64_t member_id = 0;
  // This member's, published to the others through the log.
  std::string name;
  std::vector<std::string> client_urls;
  // A request with no answer by then fails with etcd's "request timed out".
  std::chrono::milliseconds request_timeout{5000};
  // How often the leader looks for expired leases.
  std::chrono::milliseconds lease_check_every{100};
  // Watches that ask for it hear the revision this often when idle.
  std::chrono::milliseconds progress_notify_every{std::chrono::minutes(10)};
  // Hands leadership to the member with this id; this member must lead.
  // On the loop; `done` may run later, on the loop too.
  std::function<void(uint64_t member_id, std::function<void(absl::Status)> done)> move_leader;
  // Asked on the loop before a member add, removal or promotion is
  // proposed (etcd's --strict-reconfig-check); unset: none is refused.
  std::function<absl::Status(const wire::EtcdRequest& change)> check_member_change;
  std::string version = "3.4.0";  // what etcd clients expect to parse
};

class WatchHub;
class LeaseKeeper;

// The etcd v3 API over gRPC, served by one member: the KV, Watch, Lease,
// Cluster and Maintenance services, for the gRPC server to register.
//
// Threads: gRPC calls the services on its own threads; every one of them
// hands its work to the member's loop (asio::post), where the store and the
// protocol live, and answers from there. Writes and linearizable reads go
// through consensus with NodeRuntime::submit (which passes them on to the
// leader); serializable reads, watches and lease lookups are served from
// this member's store.
class EtcdApi {
 public:
  EtcdApi(asio::io_context& io, net::NodeRuntime& runtime, EtcdStateMachine& machine,
          std::function<NodeStatus()> status, EtcdApiOptions options);
  ~EtcdApi();

  std::vector<grpc::Service*> services();
  // Starts the member's clock (on the loop): lease expiry, publishing this
  // member, progress notifications. stop() before the loop stops.
  void start();
  void stop();

  // ---- for the services (any thread) ----
  using Done = std::function<void(const grpc::Status& status, const wire::EtcdReply& reply)>;
  // Through consensus; `done` runs on the loop.
  void submit(wire::EtcdRequest request, Done done);
  // On the loop, with this member's state.
  void on_loop(std::function<void()> work) { asio::post(io_, std::move(work)); }
  void fill(etcdserverpb::ResponseHeader* header, int64_t revision) const;  // loop only
  const EtcdStateMachine& machine() const { return machine_; }              // loop only
  NodeStatus status() const { return status_(); }                           // loop only
  const EtcdApiOptions& options() const { return options_; }
  // A member's client URLs: this one's from the options, another's as it
  // published them or, before that, as it said when it dialed in. Loop only.
  std::vector<std::string> client_urls(const wire::EtcdMember& m) const;
  void move_leader(uint64_t member_id, std::function<void(absl::Status)> done) {
    options_.move_leader(member_id, std::move(done));
  }
  WatchHub& watches() { return *watches_; }
  LeaseKeeper& leases() { return *leases_; }

 private:
  // Every lease_check_every: leases, this member's published attributes,
  // and now and then progress notifications.
  void tick();
  void check_leases();
  void wake_watches(bool later);
  void raise_space_alarm();  // loop only
  void publish_self();

  asio::io_context& io_;
  net::NodeRuntime& runtime_;
  EtcdStateMachine& machine_;
  std::function<NodeStatus()> status_;
  EtcdApiOptions options_;
  std::unique_ptr<WatchHub> watches_;
  std::unique_ptr<LeaseKeeper> leases_;
  asio::steady_timer lease_timer_;
  asio::steady_timer watch_timer_;  // watches behind wait for room in their streams
  std::chrono::steady_clock::time_point last_publish_{};
  std::chrono::steady_clock::time_point last_progress_{};
  bool publishing_ = false;
  bool raising_alarm_ = false;
  bool stopped_ = false;
  std::vector<std::unique_ptr<grpc::Service>> services_;
};

// etcd's error for a reply that is not an answer, and the reply's own error.
grpc::Status to_grpc(const wire::ClientReply& reply);

}  // namespace synod::api
