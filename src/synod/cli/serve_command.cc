// synod serve: one member of a replicated key-value store, for real: Raft
// and the etcd store that pass the simulator, driven by an Asio loop over
// TCP and a write-ahead log on disk, serving etcd's v3 API over gRPC.

#include <grpcpp/grpcpp.h>
#include <grpcpp/server_posix.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <asio.hpp>
#include <csignal>
#include <random>
#include <thread>

#include "synod/api/etcd_api.h"
#include "synod/base/hash64.h"
#include "synod/cli/commands.h"
#include "synod/cli/serve_config.h"
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

// What ties a data directory to one member of one cluster: a directory
// from another cluster, or another member, must not be served as this one.
constexpr std::string_view kMemberFile = "member";

std::string member_record(const ClusterLayout& layout, const ServeConfig& config) {
  return "cluster " + std::to_string(layout.cluster_id) + " member " + config.name + "\n";
}

std::string metrics_text(const raft::RaftEngine& engine, const replication::ReplicaNode& replica,
                         const net::NodeRuntime& runtime, const ClusterLayout& layout,
                         const storage::FileStorage& disk, const net::Histogram& fsync) {
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
  m.counter("synod_disk_syncs_total", "syncs asked for",
            static_cast<double>(disk.syncs_completed()));
  m.counter("synod_disk_fsync_rounds_total", "fdatasync rounds (syncs share them: group commit)",
            static_cast<double>(disk.rounds()));
  m.histogram("synod_disk_wal_fsync_duration_seconds",
              "time of one group-commit round of fdatasyncs", fsync);
  for (size_t i = 0; i < layout.members.size(); ++i) {
    if (i == layout.self) continue;
    auto stats = runtime.transport().stats(static_cast<NodeId>(i));
    net::Labels peer = {{"peer", layout.members[i].name}};
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
  for (size_t i = 0; i < layout->members.size(); ++i) {
    const ClusterMember& m = layout->members[i];
    auto at = net::resolve(io, m.host, m.port);
    if (!at.ok()) {
      spdlog::error("--initial-cluster: {}", std::string(at.status().message()));
      return kExitBadArguments;
    }
    if (i != layout->self) options.peers.peers[static_cast<NodeId>(i)] = {m.name, *at};
  }
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

  std::string member = member_record(*layout, config);
  if (auto existing = files.read(kMemberFile)) {
    if (*existing != member) {
      spdlog::error("data directory {} belongs to another member or cluster ({}); this is {}",
                    config.data_dir, *existing, member);
      return kExitCannotServe;
    }
  } else {
    if (config.initial_cluster_state == "existing") {
      spdlog::error(
          "--initial-cluster-state existing with an empty data directory {}: joining a running "
          "cluster needs a member add, which synod does not have yet; start every member with "
          "--initial-cluster-state new",
          config.data_dir);
      return kExitCannotServe;
    }
    files.overwrite(kMemberFile, member);
    files.sync();
    files.drain();
  }

  raft::RaftEngineOptions engine_options;
  engine_options.tick = std::chrono::milliseconds(config.heartbeat_interval_ms);
  engine_options.raft.heartbeat_ticks = 1;
  engine_options.raft.election_ticks =
      static_cast<int>(config.election_timeout_ms / config.heartbeat_interval_ms);
  engine_options.snapshot_every = config.snapshot_count;
  engine_options.snapshot_keep = std::min<uint64_t>(5'000, config.snapshot_count);

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
  replication::ReplicaNode replica(std::move(engine_owner), std::move(machine_owner));

  options.peers.cluster_id = layout->cluster_id;
  options.peers.self = layout->self;
  options.peers.self_name = config.name;
  for (std::string_view url : split_list(config.advertise_client_urls))
    options.peers.client_urls.emplace_back(url);
  options.peers.limits.max_frame_bytes = 64 << 20;
  options.clients.hello.set_cluster_id(layout->cluster_id);
  options.clients.hello.set_node(layout->self);
  options.clients.hello.set_name(config.name);
  options.clients.limits.max_frame_bytes = config.max_request_bytes;
  options.listen_peers = *listen_peers;
  options.listen_clients = *listen_clients;
  options.seed = std::random_device{}() ^ (uint64_t{std::random_device{}()} << 32);
  options.describe = [&engine, &config] {
    if (!engine.started()) return config.name;
    return config.name + " term " + std::to_string(engine.node().term());
  };
  net::NodeRuntime runtime(io, options, files, replica);
  runtime_ptr = &runtime;

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
        response.body = metrics_text(engine, replica, runtime, *layout, files, fsync_latency);
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
  api_options.cluster_id = layout->cluster_id;
  std::vector<uint64_t> member_ids;
  for (const ClusterMember& m : layout->members) {
    // etcd's member ids are 64-bit and stable: from the cluster and the name.
    uint64_t id = hash64(m.name, layout->cluster_id) | 1;
    member_ids.push_back(id);
    api::MemberInfo info{id,
                         static_cast<NodeId>(member_ids.size() - 1),
                         m.name,
                         {"http://" + m.host + ":" + std::to_string(m.port)},
                         {}};
    if (m.name == config.name)
      for (std::string_view url : split_list(config.advertise_client_urls))
        info.client_urls.emplace_back(url);
    api_options.members.push_back(std::move(info));
  }
  api_options.member_id = member_ids.at(layout->self);
  api::EtcdApi etcd_api(
      io, runtime, machine,
      [&engine, &replica, &member_ids] {
        api::NodeStatus s;
        if (!engine.started()) return s;
        const raft::RaftNode& node = engine.node();
        if (auto leader = node.leader(); leader && *leader < member_ids.size())
          s.leader = member_ids[*leader];
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
  spdlog::info(
      "{}: serving as node {} of {} (cluster {:016x}); peers on {}, clients on {}{}{}, data in {}",
      config.name, layout->self, layout->members.size(), layout->cluster_id,
      net::to_string(runtime.peer_endpoint()), net::to_string(runtime.client_endpoint()),
      http ? ", metrics on " : "", http ? net::to_string(http->local_endpoint()) : "",
      config.data_dir);

  std::thread stopper;
  asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](asio::error_code ec, int signal) {
    if (ec) return;
    spdlog::info("{}: {} received, shutting down", config.name,
                 signal == SIGTERM ? "SIGTERM" : "SIGINT");
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
  return kExitOk;
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
