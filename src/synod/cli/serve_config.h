#pragma once

#include <asio.hpp>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "synod/base/types.h"

namespace synod::cli {

// The settings of `synod serve`. Where a setting means what it means in
// etcd it has etcd's name and form, so an etcd start script runs synod by
// changing the binary. Defaults are etcd's.
struct ServeConfig {
  std::string name = "default";
  std::string data_dir;  // empty: "<name>.synod"
  std::string listen_peer_urls = "http://localhost:2380";
  std::string initial_advertise_peer_urls = "http://localhost:2380";
  std::string listen_client_urls = "http://localhost:2379";
  std::string advertise_client_urls = "http://localhost:2379";
  std::string listen_metrics_urls;  // empty: no metrics port
  std::string initial_cluster;      // empty: "<name>=<initial-advertise-peer-urls>"
  std::string initial_cluster_state = "new";
  std::string initial_cluster_token = "etcd-cluster";
  uint64_t snapshot_count = 100'000;
  uint64_t heartbeat_interval_ms = 100;
  uint64_t election_timeout_ms = 1000;
  bool unsafe_no_fsync = false;
  bool strict_reconfig_check = true;       // etcd's default since 3.4
  uint64_t max_request_bytes = 1'572'864;  // etcd's --max-request-bytes
  // etcd's --quota-backend-bytes. The store lives in memory and a snapshot
  // of it is one piece (a file record, a peer frame), so both the default
  // and the bound are far below etcd's 2 GiB and 8 GiB.
  uint64_t quota_backend_bytes = 256u << 20;
  Duration watch_progress_notify_interval = std::chrono::minutes(10);
  std::string log_level = "info";
};

// The largest --quota-backend-bytes: a snapshot of a store this size, with
// room for the writes in flight past it, fits a log record and a peer frame.
inline constexpr uint64_t kMaxQuotaBytes = 512u << 20;

// Every setting: its flag / config-file key and what it means, for --help.
struct SettingInfo {
  std::string_view key;
  std::string_view help;
};
const std::vector<SettingInfo>& serve_settings();

// Sets one setting from its text form (a flag's value, or a config file's
// value turned to text). Errors name the key and say what was expected.
absl::Status set_setting(ServeConfig& config, std::string_view key, std::string_view value);

// Reads a TOML config file into config: each key is a setting's name
// (`data-dir = "/var/lib/synod"`). Unknown keys are errors.
absl::Status load_config_file(ServeConfig& config, const std::string& path);

// One member of --initial-cluster.
struct ClusterMember {
  std::string name;
  std::string host;
  uint16_t port = 0;
  std::string url;  // as --initial-cluster gives it
  uint64_t id = 0;  // etcd's member id (etcd_member_id)
};

// "a,b,c" as its items (empty ones dropped).
std::vector<std::string_view> split_list(std::string_view list);

struct HostPort {
  std::string host;
  uint16_t port = 0;
};
// "http://host:port" (one URL; a list of several is refused for now).
absl::StatusOr<HostPort> parse_url(std::string_view setting, std::string_view url);

// parse_url, then net::resolve; errors name the setting.
absl::StatusOr<asio::ip::tcp::endpoint> resolve_url(asio::io_context& io, std::string_view setting,
                                                    std::string_view url);

// The cluster as every member must see it: members sorted by name, so that
// node ids (their positions) agree whatever order the flag lists them in.
struct ClusterLayout {
  std::vector<ClusterMember> members;
  uint32_t self = 0;
  uint64_t cluster_id = 0;  // etcd's: from the members' ids (etcd_cluster_id)
};
absl::StatusOr<ClusterLayout> cluster_layout(const ServeConfig& config);

// Ids as etcd derives them, so a cluster started with etcd's flags reports
// the ids etcd would: a member's is the first 8 bytes (big-endian) of the
// SHA-1 of its sorted peer URLs and the cluster token; the cluster's, of
// the SHA-1 of its members' ids, sorted, 8 bytes each, big-endian.
uint64_t etcd_member_id(std::vector<std::string> peer_urls, std::string_view token);
uint64_t etcd_cluster_id(std::vector<uint64_t> member_ids);

// Checks the settings against each other and fills derived defaults.
absl::Status finish_config(ServeConfig& config);

}  // namespace synod::cli
