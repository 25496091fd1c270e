#include "synod/cli/serve_config.h"

#include <openssl/sha.h>
#include <toml++/toml.h>

#include <algorithm>
#include <charconv>
#include <functional>

#include "absl/status/status.h"
#include "synod/base/duration.h"
#include "synod/base/hash64.h"
#include "synod/net/connection.h"

namespace synod::cli {

namespace {

absl::StatusOr<uint64_t> parse_count(std::string_view key, std::string_view text) {
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size())
    return absl::InvalidArgumentError("--" + std::string(key) + ": expected a whole number, got '" +
                                      std::string(text) + "'");
  return value;
}

absl::StatusOr<bool> parse_bool(std::string_view key, std::string_view text) {
  if (text == "true" || text == "1") return true;
  if (text == "false" || text == "0") return false;
  return absl::InvalidArgumentError("--" + std::string(key) + ": expected true or false, got '" +
                                    std::string(text) + "'");
}

using Setter = std::function<absl::Status(ServeConfig&, std::string_view key, std::string_view)>;

Setter text(std::string ServeConfig::*field) {
  return [field](ServeConfig& c, std::string_view, std::string_view v) {
    c.*field = std::string(v);
    return absl::OkStatus();
  };
}
Setter count(uint64_t ServeConfig::*field) {
  return [field](ServeConfig& c, std::string_view key, std::string_view v) {
    auto n = parse_count(key, v);
    if (!n.ok()) return n.status();
    c.*field = *n;
    return absl::OkStatus();
  };
}
Setter flag(bool ServeConfig::*field) {
  return [field](ServeConfig& c, std::string_view key, std::string_view v) {
    auto b = parse_bool(key, v);
    if (!b.ok()) return b.status();
    c.*field = *b;
    return absl::OkStatus();
  };
}

Setter duration(Duration ServeConfig::*field) {
  return [field](ServeConfig& c, std::string_view key, std::string_view v) {
    auto d = parse_duration(v);
    if (!d || *d <= Duration::zero())
      return absl::InvalidArgumentError("--" + std::string(key) +
                                        ": expected a duration like 10m, 5s or 250ms, got '" +
                                        std::string(v) + "'");
    c.*field = *d;
    return absl::OkStatus();
  };
}

struct Setting {
  SettingInfo info;
  Setter set;
};

const std::vector<Setting>& settings() {
  static const std::vector<Setting> all = {
      {{"name", "this member's name, as in --initial-cluster"}, text(&ServeConfig::name)},
      {{"data-dir", "where the write-ahead log and snapshots live (default: <name>.synod)"},
       text(&ServeConfig::data_dir)},
      {{"listen-peer-urls", "the URL to listen on for peers"},
       text(&ServeConfig::listen_peer_urls)},
      {{"initial-advertise-peer-urls", "this member's peer URL, as the others reach it"},
       text(&ServeConfig::initial_advertise_peer_urls)},
      {{"listen-client-urls", "the URL to listen on for clients"},
       text(&ServeConfig::listen_client_urls)},
      {{"advertise-client-urls", "this member's client URL, as clients reach it"},
       text(&ServeConfig::advertise_client_urls)},
      {{"listen-metrics-urls", "the URL to serve /metrics and /health on (default: none)"},
       text(&ServeConfig::listen_metrics_urls)},
      {{"initial-cluster", "every member at bootstrap: name1=http://host:port,name2=..."},
       text(&ServeConfig::initial_cluster)},
      {{"initial-cluster-state",
        "new (bootstrap a cluster) or existing (join one: a member added with `etcdctl member "
        "add` starts with this; a member with data ignores it)"},
       text(&ServeConfig::initial_cluster_state)},
      {{"initial-cluster-token", "a name for this cluster; members of other clusters are refused"},
       text(&ServeConfig::initial_cluster_token)},
      {{"snapshot-count", "applied entries between snapshots"},
       count(&ServeConfig::snapshot_count)},
      {{"heartbeat-interval", "milliseconds between a leader's heartbeats"},
       count(&ServeConfig::heartbeat_interval_ms)},
      {{"election-timeout", "milliseconds a follower waits for a leader before it campaigns"},
       count(&ServeConfig::election_timeout_ms)},
      {{"max-request-bytes", "the largest client request accepted"},
       count(&ServeConfig::max_request_bytes)},
      {{"quota-backend-bytes",
        "the store's size, history included, past which writes are refused with etcd's "
        "\"database space exceeded\" until a compaction or delete makes room (0: the default, "
        "256 MiB; at most 512 MiB)"},
       count(&ServeConfig::quota_backend_bytes)},
      {{"unsafe-no-fsync",
        "UNSAFE: never fsync. A power failure or kernel crash can then lose acknowledged "
        "writes and break the cluster's safety; for throwaway test clusters only"},
       flag(&ServeConfig::unsafe_no_fsync)},
      {{"experimental-watch-progress-notify-interval",
        "how often idle watches that asked for progress notifications hear the revision"},
       duration(&ServeConfig::watch_progress_notify_interval)},
      {{"strict-reconfig-check",
        "refuse a member change that would leave too few started or connected members for a "
        "quorum (true or false)"},
       flag(&ServeConfig::strict_reconfig_check)},
      {{"log-level", "debug, info, warn or error"}, text(&ServeConfig::log_level)},
  };
  return all;
}

}  // namespace

const std::vector<SettingInfo>& serve_settings() {
  static const std::vector<SettingInfo> infos = [] {
    std::vector<SettingInfo> out;
    for (const Setting& s : settings())
      out.push_back(s.info);
    return out;
  }();
  return infos;
}

absl::Status set_setting(ServeConfig& config, std::string_view key, std::string_view value) {
  for (const Setting& s : settings())
    if (s.info.key == key) return s.set(config, key, value);
  return absl::InvalidArgumentError("unknown setting '" + std::string(key) + "'");
}

absl::Status load_config_file(ServeConfig& config, const std::string& path) {
  toml::table table;
  try {
    table = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    std::string where;
    if (e.source().begin) where = ":" + std::to_string(e.source().begin.line);
    return absl::InvalidArgumentError("config file " + path + where + ": " +
                                      std::string(e.description()));
  }
  for (const auto& [key, node] : table) {
    std::string value;
    if (auto s = node.value<std::string>())
      value = *s;
    else if (node.is_integer())
      value = std::to_string(*node.value<int64_t>());
    else if (node.is_boolean())
      value = *node.value<bool>() ? "true" : "false";
    else
      return absl::InvalidArgumentError("config file " + path + ": '" + std::string(key.str()) +
                                        "' must be a string, a number or true/false");
    if (auto status = set_setting(config, key.str(), value); !status.ok())
      return absl::InvalidArgumentError("config file " + path + ": " +
                                        std::string(status.message()));
  }
  return absl::OkStatus();
}

absl::StatusOr<HostPort> parse_url(std::string_view setting, std::string_view url) {
  auto bad = [&](std::string why) {
    return absl::InvalidArgumentError("--" + std::string(setting) + " '" + std::string(url) +
                                      "': " + why);
  };
  if (url.find(',') != std::string_view::npos)
    return bad("synod listens on one URL per port; give one");
  if (url.starts_with("https://")) return bad("TLS is not supported yet; use http://");
  if (!url.starts_with("http://")) return bad("expected http://host:port");
  std::string_view rest = url.substr(7);
  while (!rest.empty() && rest.back() == '/')
    rest.remove_suffix(1);
  size_t colon = rest.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return bad("expected http://host:port");
  HostPort out;
  out.host = std::string(rest.substr(0, colon));
  if (out.host.size() > 2 && out.host.front() == '[' && out.host.back() == ']')
    out.host = out.host.substr(1, out.host.size() - 2);
  auto port = parse_count(setting, rest.substr(colon + 1));
  if (!port.ok() || *port == 0 || *port > 65535) return bad("the port must be 1 to 65535");
  out.port = static_cast<uint16_t>(*port);
  return out;
}

std::vector<std::string_view> split_list(std::string_view list) {
  std::vector<std::string_view> items;
  while (!list.empty()) {
    size_t comma = list.find(',');
    if (comma != 0) items.push_back(list.substr(0, comma));
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
  }
  return items;
}

absl::StatusOr<asio::ip::tcp::endpoint> resolve_url(asio::io_context& io, std::string_view setting,
                                                    std::string_view url) {
  auto at = parse_url(setting, url);
  if (!at.ok()) return at.status();
  auto endpoint = net::resolve(io, at->host, at->port);
  if (!endpoint.ok())
    return absl::InvalidArgumentError("--" + std::string(setting) + ": " +
                                      std::string(endpoint.status().message()));
  return endpoint;
}

absl::StatusOr<ClusterLayout> cluster_layout(const ServeConfig& config) {
  ClusterLayout layout;
  for (std::string_view item : split_list(config.initial_cluster)) {
    size_t eq = item.find('=');
    if (eq == std::string_view::npos || eq == 0)
      return absl::InvalidArgumentError("--initial-cluster: expected name=http://host:port, got '" +
                                        std::string(item) + "'");
    auto url = parse_url("initial-cluster", item.substr(eq + 1));
    if (!url.ok()) return url.status();
    layout.members.push_back({std::string(item.substr(0, eq)), url->host, url->port,
                              std::string(item.substr(eq + 1)), 0});
  }
  if (layout.members.empty())
    return absl::InvalidArgumentError("--initial-cluster names no member");
  std::sort(layout.members.begin(), layout.members.end(),
            [](const ClusterMember& a, const ClusterMember& b) { return a.name < b.name; });
  for (size_t i = 1; i < layout.members.size(); ++i)
    if (layout.members[i].name == layout.members[i - 1].name)
      return absl::InvalidArgumentError("--initial-cluster names member '" +
                                        layout.members[i].name + "' twice");
  auto self = std::find_if(layout.members.begin(), layout.members.end(),
                           [&](const ClusterMember& m) { return m.name == config.name; });
  if (self == layout.members.end())
    return absl::InvalidArgumentError("--name '" + config.name + "' is not in --initial-cluster '" +
                                      config.initial_cluster + "'");
  layout.self = static_cast<uint32_t>(self - layout.members.begin());
  auto advertised = parse_url("initial-advertise-peer-urls", config.initial_advertise_peer_urls);
  if (!advertised.ok()) return advertised.status();
  if (advertised->host != self->host || advertised->port != self->port)
    return absl::InvalidArgumentError("--initial-advertise-peer-urls " +
                                      config.initial_advertise_peer_urls +
                                      " does not match this member's entry in --initial-cluster (" +
                                      self->host + ":" + std::to_string(self->port) + ")");
  std::vector<uint64_t> ids;
  for (ClusterMember& m : layout.members) {
    m.id = etcd_member_id({m.url}, config.initial_cluster_token);
    ids.push_back(m.id);
  }
  layout.cluster_id = etcd_cluster_id(ids);
  return layout;
}

namespace {
uint64_t first_8_bytes_of_sha1(const std::string& bytes) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest);
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i)
    v = v << 8 | digest[i];
  return v;
}
}  // namespace

uint64_t etcd_member_id(std::vector<std::string> peer_urls, std::string_view token) {
  std::sort(peer_urls.begin(), peer_urls.end());
  std::string b;
  for (const std::string& url : peer_urls)
    b += url;
  b += token;
  return first_8_bytes_of_sha1(b);
}

uint64_t etcd_cluster_id(std::vector<uint64_t> member_ids) {
  std::sort(member_ids.begin(), member_ids.end());
  std::string b;
  for (uint64_t id : member_ids)
    for (int shift = 56; shift >= 0; shift -= 8)
      b.push_back(static_cast<char>(id >> shift));
  return first_8_bytes_of_sha1(b);
}

absl::Status finish_config(ServeConfig& config) {
  if (config.name.empty()) return absl::InvalidArgumentError("--name must not be empty");
  if (config.data_dir.empty()) config.data_dir = config.name + ".synod";
  if (config.initial_cluster.empty())
    config.initial_cluster = config.name + "=" + config.initial_advertise_peer_urls;
  if (config.initial_cluster_state != "new" && config.initial_cluster_state != "existing")
    return absl::InvalidArgumentError("--initial-cluster-state must be new or existing, not '" +
                                      config.initial_cluster_state + "'");
  if (config.heartbeat_interval_ms == 0)
    return absl::InvalidArgumentError("--heartbeat-interval must be above 0");
  // etcd's rule: an election timeout of fewer heartbeats makes elections
  // start on ordinary jitter.
  if (config.election_timeout_ms < 5 * config.heartbeat_interval_ms)
    return absl::InvalidArgumentError("--election-timeout (" +
                                      std::to_string(config.election_timeout_ms) +
                                      " ms) must be at least 5 times --heartbeat-interval (" +
                                      std::to_string(config.heartbeat_interval_ms) + " ms)");
  if (config.election_timeout_ms > 50'000)
    return absl::InvalidArgumentError("--election-timeout must be at most 50000 ms");
  if (config.snapshot_count == 0)
    return absl::InvalidArgumentError("--snapshot-count must be above 0");
  if (config.max_request_bytes < 1024 || config.max_request_bytes > (64u << 20))
    return absl::InvalidArgumentError("--max-request-bytes must be between 1 KiB and 64 MiB");
  // etcd: 0 is the default quota; any other size is taken, however small
  // (etcd's own tests raise NOSPACE with 53,248 bytes).
  if (config.quota_backend_bytes == 0)
    config.quota_backend_bytes = ServeConfig{}.quota_backend_bytes;
  if (config.quota_backend_bytes > kMaxQuotaBytes)
    return absl::InvalidArgumentError(
        "--quota-backend-bytes must be at most 512 MiB: synod keeps the store in memory and "
        "snapshots it whole");
  static const char* levels[] = {"debug", "info", "warn", "error"};
  if (std::find(std::begin(levels), std::end(levels), config.log_level) == std::end(levels))
    return absl::InvalidArgumentError("--log-level must be debug, info, warn or error");
  return absl::OkStatus();
}

}  // namespace synod::cli
