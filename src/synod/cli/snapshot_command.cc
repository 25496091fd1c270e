// synod snapshot restore: a new cluster's data directories from a snapshot
// taken with `etcdctl snapshot save` against synod, as `etcdctl snapshot
// restore` does for etcd. Every member of the new cluster is restored from
// the same file with the same --initial-cluster; the store (keys, history,
// revision, leases) comes back, the members are the new ones.

#include <spdlog/spdlog.h>

#include <asio.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "synod/api/snapshot_file.h"
#include "synod/cli/commands.h"
#include "synod/cli/serve_config.h"
#include "synod/cli/serve_identity.h"
#include "synod/kv/etcd_state_machine.h"
#include "synod/raft/log_store.h"
#include "synod/replication/replica_node.h"
#include "synod/storage/file_storage.h"
#include "synod/wire/etcd_store.pb.h"

namespace synod::cli {

namespace {

constexpr int kExitCannotRestore = 1;

int fail(int code, const std::string& why) {
  std::fprintf(stderr, "synod snapshot restore: %s\n", why.c_str());
  return code;
}

int restore(const std::string& path, ServeConfig config) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(kExitBadArguments, "cannot read " + path);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto state = api::decode_snapshot_file(bytes);
  if (!state.ok())
    return fail(kExitCannotRestore, path + ": " + std::string(state.status().message()));
  wire::EtcdSnapshot snapshot;
  if (!snapshot.ParseFromString(*state) || !EtcdStateMachine().restore(*state))
    return fail(kExitCannotRestore, path + ": the state inside is not a store synod can load");
  // A new cluster: its members are the ones the flags name, not the old.
  snapshot.clear_members();
  snapshot.set_next_node(0);

  std::error_code ec;
  if (std::filesystem::exists(config.data_dir, ec) &&
      !std::filesystem::is_empty(config.data_dir, ec))
    return fail(kExitBadArguments,
                "data directory " + config.data_dir + " already exists and is not empty");
  auto layout = cluster_layout(config);
  if (!layout.ok()) return fail(kExitBadArguments, std::string(layout.status().message()));

  asio::io_context io;
  auto disk = storage::FileStorage::open(config.data_dir, {.fsync = true}, [](SyncId, Duration) {});
  if (!disk.ok()) return fail(kExitCannotRestore, std::string(disk.status().message()));
  storage::FileStorage& files = **disk;
  auto identity = establish_identity(config, io, files);
  if (!identity.ok()) return fail(kExitCannotRestore, std::string(identity.status().message()));

  // The store as the first entry of the new log: a Raft snapshot at index 1,
  // term 1, whose membership is the new cluster's voters. Every member
  // restored from the same file starts from the same state.
  std::vector<NodeId> voters;
  for (const wire::EtcdMember& m : identity->initial)
    voters.push_back(m.node());
  raft::Snapshot raft_snapshot;
  raft_snapshot.meta.set_index(1);
  raft_snapshot.meta.set_term(1);
  *raft_snapshot.meta.mutable_membership() = raft::Membership::of_voters(voters).to_wire();
  raft_snapshot.data = std::make_shared<const std::string>(
      replication::ReplicaNode::fresh_snapshot(1, snapshot.SerializeAsString()));
  raft::LogStore store({});
  store.save_snapshot(files, raft_snapshot, 1);
  store.sync(files);
  files.drain();
  std::printf(
      "restored %s into %s: revision %lld, %d keys, %d leases; member %s of a new cluster of %zu. "
      "Start it with synod serve and the same --name, --initial-cluster and "
      "--initial-cluster-token.\n",
      path.c_str(), config.data_dir.c_str(), static_cast<long long>(snapshot.mvcc().revision()),
      snapshot.mvcc().keys_size(), snapshot.leases_size(), config.name.c_str(),
      identity->initial.size());
  return kExitOk;
}

}  // namespace

void add_snapshot_commands(CLI::App& app, int& exit_code) {
  CLI::App* snapshot = app.add_subcommand("snapshot", "work with snapshots of a synod cluster");
  snapshot->require_subcommand(1);
  CLI::App* cmd = snapshot->add_subcommand(
      "restore",
      "make a new member's data directory from a snapshot that `etcdctl snapshot save` took\n"
      "from synod. Restore every member of the new cluster from the same file, each with its\n"
      "own --name and --data-dir and the same --initial-cluster; then start each with synod\n"
      "serve and the same flags. Keys, history, revision and leases come back; the members\n"
      "are the new ones.");
  auto path = std::make_shared<std::string>();
  auto config = std::make_shared<ServeConfig>();
  cmd->add_option("file", *path, "the snapshot file")->required();
  cmd->add_option("--name", config->name, "the member to make")->capture_default_str();
  cmd->add_option("--data-dir", config->data_dir, "where (default: <name>.synod); must not exist");
  cmd->add_option("--initial-cluster", config->initial_cluster,
                  "every member of the new cluster: name1=http://host:port,...");
  cmd->add_option("--initial-cluster-token", config->initial_cluster_token,
                  "the new cluster's token")
      ->capture_default_str();
  cmd->add_option("--initial-advertise-peer-urls", config->initial_advertise_peer_urls,
                  "this member's peer URL, as in --initial-cluster")
      ->capture_default_str();
  cmd->callback([path, config, &exit_code] {
    ServeConfig c = *config;
    c.initial_cluster_state = "new";
    if (auto status = finish_config(c); !status.ok()) {
      exit_code = fail(kExitBadArguments, std::string(status.message()));
      return;
    }
    exit_code = restore(*path, c);
  });
}

}  // namespace synod::cli
