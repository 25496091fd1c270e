// synod serve: one member of a replicated key-value store, for real: Raft
// and the etcd store that pass the simulator, driven by an Asio loop over
// TCP and a write-ahead log on disk, serving etcd's v3 API over gRPC.

#include <grpcpp/grpcpp.h>
#include <grpcpp/resource_quota.h>
#include <grpcpp/server_posix.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <asio.hpp>
#include <csignal>
#include <random>
#include <thread>

#include "synod/api/etcd_api.h"
#include "synod/base/record.h"
#include "synod/cli/commands.h"
#include "synod/cli/serve_config.h"
#include "synod/cli/serve_identity.h"
#include "synod/cli/serve_members.h"
#include "synod/kv/etcd_state_machine.h"
#include "synod/net/http_server.h"
#include "synod/net/metrics.h"
#include "synod/net/node_runtime.h"
#include "synod/raft/raft_engine.h"
#include "synod/replication/replica_node.h"
#include "synod/storage/dir_lock.h"
#include "synod/storage/file_storage.h"

namespace synod::cli {

namespace {

constexpr int kExitCannotServe = 1;
// What gRPC may hold for the client port: calls in flight, their buffers.
constexpr size_t kGrpcMemoryBytes = size_t{1} << 30;
constexpr int kGrpcMaxThreads = 64;

std::string metrics_text(const raft::RaftEngine& engine, const replication::ReplicaNode& replica,
                         const net::NodeRuntime& runtime, const MemberRegistry& members,
                         NodeId self, const storage::FileStorage& disk,
                         const net::Histogram& fsync) {
  net::MetricsText m;
  const raft::RaftNode& node = engine.node();
  m.gauge("synod_raft_term", "the current Raft term", static_cast<double>(node.term()));
  for (raft::Role role : {raft::Role::kFollower, raft::Role::kPreCandidate, raft::Role::kCandidate,
                          raft::Role::kLeader})
    m.gauge("synod_raft_role", "1 for this member's current Raft role", node.role() == role ? 1 : 0,
            {{"role", std::string(raft::role_name(role))}});
  m.gauge("synod_server_has_leader", "1 when a leader is known", node.leader().has_value() ? 1 : 0);
  m.gauge("synod_raft_commit_index", "the highest log index known committed",
          static_cast<double>(node.log().commit()));
  m.gauge("synod_raft_applied_index", "the highest log index applied to the store",
          static_cast<double>(replica.applied_index()));
  m.counter("synod_raft_snapshots_total", "snapshots this process took",
            static_cast<double>(engine.snapshots_taken()));
  m.counter("synod_client_requests_total", "client requests received",
            static_cast<double>(runtime.client_requests()));
  m.counter("synod_client_replies_total", "client replies sent",
            static_cast<double>(runtime.client_replies()));
  m.gauge("synod_client_connections", "open client connections",
          static_cast<double>(runtime.client_server().connections()));
  const auto& requests = replica.counters();
  m.gauge("synod_requests_waiting",
          "client requests this member holds: to apply, to read, or to try again",
          static_cast<double>(replica.waiting()));
  m.counter("synod_requests_retried_total",
            "requests this member tried again (no leader, a new leader, nothing came of it)",
            static_cast<double>(requests.retries));
  m.counter("synod_requests_timed_out_total", "requests answered at their deadline",
            static_cast<double>(requests.timed_out));
  m.counter("synod_requests_duplicates_total",
            "copies of a request answered from its session, not applied again",
            static_cast<double>(requests.duplicates));
  m.counter("synod_requests_stale_total", "late copies skipped: their sender had moved on",
            static_cast<double>(requests.stale));
  m.counter("synod_requests_passed_on_total", "requests other members passed on to this one",
            static_cast<double>(requests.forwarded_in));
  m.counter("synod_disk_syncs_total", "syncs asked for",
            static_cast<double>(disk.syncs_completed()));
  m.counter("synod_disk_fsync_rounds_total", "fdatasync rounds (syncs share them: group commit)",
            static_cast<double>(disk.rounds()));
  m.histogram("synod_disk_wal_fsync_duration_seconds",
              "time of one group-commit round of fdatasyncs", fsync);
  for (const auto& [node, member] : members.members()) {
    if (node == self) continue;
    auto stats = runtime.transport().stats(node);
    net::Labels peer = {{"peer", member.name().empty() ? std::to_string(node) : member.name()}};
    m.gauge("synod_peer_connected", "1 while the connection to the peer is up",
            stats.connected ? 1 : 0, peer);
    m.counter("synod_peer_sent_messages_total", "messages sent to the peer",
              static_cast<double>(stats.sent), peer);
    m.counter("synod_peer_dropped_messages_total",
              "messages dropped: the peer was down or its queue full",
              static_cast<double>(stats.dropped), peer);
    m.counter("synod_peer_received_messages_total", "messages received from the peer",
              static_cast<double>(stats.received), peer);
  }
  m.counter("synod_peer_refused_connections_total",
            "peer connections refused (wrong cluster, unknown node)",
            static_cast<double>(runtime.transport().refused_connections()));
  m.counter("synod_bad_frames_total",
            "connections closed for a malformed or oversized frame, or no hello",
            static_cast<double>(runtime.transport().closed_for_bad_frames() +
                                runtime.client_server().closed_for_bad_frames()));
  return m.str();
}

int serve(ServeConfig config) {
  // Logs go to standard error, unbuffered, as etcd's do.
  spdlog::set_default_logger(spdlog::stderr_color_mt("synod"));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  spdlog::set_level(spdlog::level::from_str(config.log_level));
  auto layout = cluster_layout(config);
  if (!layout.ok()) {
    spdlog::error("{}", std::string(layout.status().message()));
    return kExitBadArguments;
  }
  asio::io_context io(1);
  net::NodeRuntimeOptions options;
  auto listen_peers = resolve_url(io, "listen-peer-urls", config.listen_peer_urls);
  auto listen_clients = resolve_url(io, "listen-client-urls", config.listen_client_urls);
  for (const auto* at : {&listen_peers, &listen_clients})
    if (!at->ok()) {
      spdlog::error("{}", std::string(at->status().message()));
      return kExitBadArguments;
    }

  auto lock = storage::DirLock::acquire(config.data_dir);
  if (!lock.ok()) {
    spdlog::error("{}", std::string(lock.status().message()));
    return kExitCannotServe;
  }
  if (config.unsafe_no_fsync)
    spdlog::warn(
        "--unsafe-no-fsync: NOTHING IS FSYNCED. A power failure or kernel crash can lose "
        "acknowledged writes and break the cluster's safety. Use it for throwaway test clusters "
        "only.");

  net::Histogram fsync_latency = net::Histogram::latency();
  net::NodeRuntime* runtime_ptr = nullptr;
  auto disk =
      storage::FileStorage::open(config.data_dir, {.fsync = !config.unsafe_no_fsync},
                                 [&io, &runtime_ptr, &fsync_latency](SyncId id, Duration took) {
                                   fsync_latency.observe(took);
                                   asio::post(io, [&runtime_ptr, id] {
                                     if (runtime_ptr) runtime_ptr->synced(id);
                                   });
                                 });
  if (!disk.ok()) {
    spdlog::error("{}", std::string(disk.status().message()));
    return kExitCannotServe;
  }
  storage::FileStorage& files = **disk;

  // Which member of which cluster this is: from --initial-cluster, from a
  // running member (a member added later), or from the data directory.
  auto identity = establish_identity(config, io, files);
  if (!identity.ok()) {
    spdlog::error("{}", std::string(identity.status().message()));
    return kExitCannotServe;
  }
  options.peers.peers = peers_to_dial(io, *identity);

  raft::RaftEngineOptions engine_options;
  engine_options.tick = std::chrono::milliseconds(config.heartbeat_interval_ms);
  engine_options.raft.heartbeat_ticks = 1;
  engine_options.raft.election_ticks =
      static_cast<int>(config.election_timeout_ms / config.heartbeat_interval_ms);
  // One append in flight per follower: whatever the leader appends while
  // it waits goes out in the next one (up to max_bytes_per_append). Under
  // load a follower then writes and syncs fewer, larger batches; on two
  // shared cores that was 10% more puts at 64 clients and 13% more at 256
  // (bench/RESULTS.md). A lone write is not delayed: nothing is in flight.
  engine_options.raft.max_inflight_appends = 1;
  engine_options.snapshot_every = config.snapshot_count;
  engine_options.snapshot_keep = std::min<uint64_t>(5'000, config.snapshot_count);
  std::vector<NodeId> initial_voters;
  for (const wire::EtcdMember& m : identity->initial)
    initial_voters.push_back(m.node());
  engine_options.bootstrap = raft::Membership::of_voters(initial_voters);

  // Damage a crash cannot explain (a bad record with valid ones after it)
  // stops the node here, with the reason, before anything is served.
  {
    raft::LogStore check(engine_options.store);
    auto recovered = check.recover(files);
    if (!recovered.ok()) {
      spdlog::critical("refusing to start: the write-ahead log in {} is damaged: {}",
                       config.data_dir, std::string(recovered.status().message()));
      return kExitCannotServe;
    }
    files.sync();
    files.drain();
  }

  auto engine_owner = std::make_unique<raft::RaftEngine>(engine_options);
  raft::RaftEngine& engine = *engine_owner;
  auto machine_owner = std::make_unique<EtcdStateMachine>();
  EtcdStateMachine& machine = *machine_owner;
  machine.set_quota(static_cast<int64_t>(config.quota_backend_bytes));
  machine.members().seed(identity->initial);
  replication::ReplicaNode replica(std::move(engine_owner), std::move(machine_owner));

  options.peers.cluster_id = identity->cluster_id;
  options.peers.self = identity->self;
  options.peers.self_name = config.name;
  for (std::string_view url : split_list(config.advertise_client_urls))
    options.peers.client_urls.emplace_back(url);
  // A snapshot travels to a follower as one frame, and waits in one queue.
  static_assert(kMaxRecordBytes >= 2 * kMaxQuotaBytes);
  options.peers.limits.max_frame_bytes = kMaxRecordBytes;
  options.peers.limits.max_queue_bytes = kMaxRecordBytes + (64 << 20);
  options.clients.hello.set_cluster_id(identity->cluster_id);
  options.clients.hello.set_node(identity->self);
  options.clients.hello.set_name(config.name);
  options.clients.limits.max_frame_bytes = config.max_request_bytes;
  options.listen_peers = *listen_peers;
  options.listen_clients = *listen_clients;
  options.seed = std::random_device{}() ^ (uint64_t{std::random_device{}()} << 32);
  options.describe = [&engine, &config] {
    if (!engine.started()) return config.name;
    return config.name + " term " + std::to_string(engine.node().term());
  };
  // A member added to the cluster asks who it is on its first start.
  options.peers.answer_join = [&machine, &identity](const wire::PeerJoin& join) {
    return answer_join(*identity, machine.members(), join);
  };
  net::NodeRuntime runtime(io, options, files, replica);
  runtime_ptr = &runtime;

  // Shutting down: on a signal, or when this member is removed.
  std::function<void()> shut_down;
  ServeMembers members(io, config, *identity, machine, engine, runtime, [&] { shut_down(); });

  std::unique_ptr<net::HttpServer> http;
  if (!config.listen_metrics_urls.empty()) {
    auto at = resolve_url(io, "listen-metrics-urls", config.listen_metrics_urls);
    if (!at.ok()) {
      spdlog::error("{}", std::string(at.status().message()));
      return kExitBadArguments;
    }
    auto server = net::HttpServer::listen(io, *at, [&](std::string_view path) {
      net::HttpServer::Response response;
      if (path == "/metrics") {
        response.body = metrics_text(engine, replica, runtime, machine.members(), identity->self,
                                     files, fsync_latency);
      } else if (path == "/health") {
        bool leader = engine.started() && engine.node().leader().has_value();
        response.status = leader ? 200 : 503;
        response.content_type = "application/json";
        response.body = leader ? R"({"health":"true","reason":""})"
                               : R"({"health":"false","reason":"no leader"})";
      } else {
        response.status = 404;
        response.body = "not found: try /metrics or /health\n";
      }
      return response;
    });
    if (!server.ok()) {
      spdlog::error("{}", std::string(server.status().message()));
      return kExitCannotServe;
    }
    http = std::move(*server);
  }

  // The etcd API: gRPC on the client port, beside the framed protocol.
  api::EtcdApiOptions api_options;
  api_options.cluster_id = identity->cluster_id;
  api_options.name = config.name;
  for (std::string_view url : split_list(config.advertise_client_urls))
    api_options.client_urls.emplace_back(url);
  for (const wire::EtcdMember& m : identity->current)
    if (m.node() == identity->self) api_options.member_id = m.id();
  api_options.progress_notify_every =
      std::chrono::duration_cast<std::chrono::milliseconds>(config.watch_progress_notify_interval);
  api_options.check_member_change = [&members](const wire::EtcdRequest& change) {
    return members.check_change(change);
  };
  api_options.move_leader = [&members](uint64_t target, ServeMembers::Done done) {
    members.move_leader(target, std::move(done));
  };
  api::EtcdApi etcd_api(
      io, runtime, machine,
      [&engine, &replica, &members] {
        api::NodeStatus s;
        if (!engine.started()) return s;
        const raft::RaftNode& node = engine.node();
        if (auto leader = node.leader()) s.leader = members.member_id(*leader);
        s.term = node.term();
        s.commit = node.log().commit();
        s.applied = replica.applied_index();
        return s;
      },
      api_options);
  grpc::ServerBuilder builder;
  // etcd's bound on a request, plus room for gRPC's own framing.
  builder.SetMaxReceiveMessageSize(static_cast<int>(kMaxRequestBytes + (512 << 10)));
  builder.SetMaxSendMessageSize(std::numeric_limits<int>::max());
  // gRPC's own buffers and threads, bounded: past them new calls are refused
  // with RESOURCE_EXHAUSTED rather than growing the member without end.
  grpc::ResourceQuota grpc_quota("synod-serve");
  grpc_quota.Resize(kGrpcMemoryBytes);
  grpc_quota.SetMaxThreads(kGrpcMaxThreads);
  builder.SetResourceQuota(grpc_quota);
  for (grpc::Service* service : etcd_api.services())
    builder.RegisterService(service);
  std::unique_ptr<grpc::Server> grpc_server = builder.BuildAndStart();
  if (!grpc_server) {
    spdlog::error("{}: the gRPC server did not start", config.name);
    return kExitCannotServe;
  }
  runtime.client_server().set_http2_handler(
      [&grpc_server](int fd) { grpc::AddInsecureChannelFromFd(grpc_server.get(), fd); });

  if (auto status = runtime.start(); !status.ok()) {
    spdlog::error("{}", std::string(status.message()));
    grpc_server->Shutdown();
    return kExitCannotServe;
  }
  etcd_api.start();
  members.start();
  spdlog::info(
      "{}: serving as node {} of {} (cluster {:016x}); peers on {}, clients on {}{}{}, data in {}",
      config.name, identity->self, machine.members().members().size(), identity->cluster_id,
      net::to_string(runtime.peer_endpoint()), net::to_string(runtime.client_endpoint()),
      http ? ", metrics on " : "", http ? net::to_string(http->local_endpoint()) : "",
      config.data_dir);

  std::thread stopper;
  asio::signal_set signals(io, SIGTERM, SIGINT);
  bool shutting_down = false;
  shut_down = [&] {
    if (shutting_down) return;
    shutting_down = true;
    signals.cancel();
    members.stop();
    etcd_api.stop();
    runtime.stop();  // answers every request still waiting on it
    // gRPC's shutdown waits for calls in flight, which finish on this
    // loop: so it runs on its own thread while the loop goes on.
    stopper = std::thread([&] {
      grpc_server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
      asio::post(io, [&] {
        if (http) http->stop();
        io.stop();
      });
    });
  };
  signals.async_wait([&](asio::error_code ec, int signal) {
    if (ec) return;
    spdlog::info("{}: {} received, shutting down", config.name,
                 signal == SIGTERM ? "SIGTERM" : "SIGINT");
    shut_down();
  });
  io.run();
  if (stopper.joinable()) stopper.join();
  grpc_server->Wait();
  // Whatever was written is made durable before the process ends; nothing
  // is acknowledged after stop(), so this only saves work.
  files.sync();
  files.drain();
  runtime_ptr = nullptr;
  spdlog::info("{}: stopped", config.name);
  return members.removed() ? kExitCannotServe : kExitOk;
}

}  // namespace

void add_serve_command(CLI::App& app, int& exit_code) {
  CLI::App* cmd = app.add_subcommand(
      "serve",
      "run one member of a replicated key-value store (Raft, TCP, a write-ahead log).\n"
      "Flags take etcd's names and defaults; a TOML file (--config-file) may hold any of\n"
      "them as keys (data-dir = \"/var/lib/synod\"), and flags override it.");
  auto given = std::make_shared<std::map<std::string, std::string>>();
  auto config_file = std::make_shared<std::string>();
  cmd->add_option("--config-file", *config_file, "a TOML file of settings");
  for (const SettingInfo& s : serve_settings()) {
    std::string key(s.key);
    if (key == "unsafe-no-fsync") {
      cmd->add_flag_callback(
          "--" + key, [given, key] { (*given)[key] = "true"; }, std::string(s.help));
      continue;
    }
    cmd->add_option_function<std::string>(
        "--" + key, [given, key](const std::string& v) { (*given)[key] = v; }, std::string(s.help));
  }
  cmd->callback([given, config_file, &exit_code] {
    ServeConfig config;
    absl::Status status;
    if (!config_file->empty()) status = load_config_file(config, *config_file);
    for (const auto& [key, value] : *given)
      if (status.ok()) status = set_setting(config, key, value);
    if (status.ok()) status = finish_config(config);
    if (!status.ok()) {
      std::fprintf(stderr, "synod serve: %s\n", std::string(status.message()).c_str());
      exit_code = kExitBadArguments;
      return;
    }
    exit_code = serve(std::move(config));
  });
}

}  // namespace synod::cli
