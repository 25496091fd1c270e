#include "synod/cli/serve_identity.h"

#include <spdlog/spdlog.h>

#include <thread>

#include "synod/base/hash64.h"
#include "synod/net/connection.h"
#include "synod/net/peer_transport.h"

namespace synod::cli {

namespace {

// The identity, kept as the join answer it was (or would have been).
constexpr std::string_view kIdentityFile = "identity";
// A line a person can read: which cluster and member the directory is.
constexpr std::string_view kMemberFile = "member";

std::string member_record(uint64_t cluster_id, const std::string& name) {
  return "cluster " + std::to_string(cluster_id) + " member " + name + "\n";
}

Identity from_answer(const wire::PeerJoinAnswer& answer) {
  return {answer.cluster_id(),
          answer.node(),
          {answer.initial().begin(), answer.initial().end()},
          {answer.current().begin(), answer.current().end()}};
}

wire::PeerJoinAnswer to_answer(const Identity& identity) {
  wire::PeerJoinAnswer answer;
  answer.set_cluster_id(identity.cluster_id);
  answer.set_node(identity.self);
  for (const wire::EtcdMember& m : identity.initial)
    *answer.add_initial() = m;
  for (const wire::EtcdMember& m : identity.current)
    *answer.add_current() = m;
  return answer;
}

Identity from_layout(const ClusterLayout& layout) {
  Identity identity;
  identity.cluster_id = layout.cluster_id;
  identity.self = layout.self;
  for (size_t i = 0; i < layout.members.size(); ++i) {
    const ClusterMember& c = layout.members[i];
    wire::EtcdMember m;
    m.set_node(static_cast<NodeId>(i));
    m.set_id(c.id);
    m.set_name(c.name);
    m.add_peer_urls("http://" + c.host + ":" + std::to_string(c.port));
    identity.initial.push_back(std::move(m));
  }
  identity.current = identity.initial;
  return identity;
}

absl::StatusOr<Identity> join(const ServeConfig& config, const ClusterLayout& layout,
                              asio::io_context& io) {
  std::vector<asio::ip::tcp::endpoint> peers;
  for (size_t i = 0; i < layout.members.size(); ++i) {
    if (i == layout.self) continue;
    auto at = net::resolve(io, layout.members[i].host, layout.members[i].port);
    if (at.ok()) peers.push_back(*at);
  }
  wire::PeerJoin ask;
  ask.add_peer_urls(config.initial_advertise_peer_urls);
  ask.set_name(config.name);
  // The members may still be applying the member add: ask for a while.
  absl::Status last;
  for (int attempt = 0; attempt < 20; ++attempt) {
    auto answer = net::ask_to_join(io, peers, ask, std::chrono::seconds(2));
    if (answer.ok()) {
      spdlog::info("{}: joined cluster {:016x} as node {}", config.name, answer->cluster_id(),
                   answer->node());
      return from_answer(*answer);
    }
    last = answer.status();
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  return absl::UnavailableError(
      std::string(last.message()) + " (was the member added first, with `etcdctl member add " +
      config.name + " --peer-urls=" + config.initial_advertise_peer_urls + "`?)");
}

}  // namespace

wire::PeerFrame answer_join(const Identity& identity, const MemberRegistry& registry,
                            const wire::PeerJoin& join) {
  wire::PeerFrame answer;
  const std::string url = join.peer_urls().empty() ? "" : join.peer_urls(0);
  const wire::EtcdMember* m = registry.by_peer_url(url);
  if (!m) {
    answer.mutable_refusal()->set_reason("no member has peer URL " + url +
                                         " (add it first: etcdctl member add)");
    return answer;
  }
  wire::PeerJoinAnswer* a = answer.mutable_join_answer();
  a->set_cluster_id(identity.cluster_id);
  a->set_node(m->node());
  for (const wire::EtcdMember& i : identity.initial)
    *a->add_initial() = i;
  for (const auto& [node, c] : registry.members())
    *a->add_current() = c;
  return answer;
}

absl::StatusOr<Identity> establish_identity(const ServeConfig& config, asio::io_context& io,
                                            storage::FileStorage& files) {
  std::optional<Identity> identity;
  if (auto kept = files.read(kIdentityFile)) {
    wire::PeerJoinAnswer answer;
    if (!answer.ParseFromString(*kept))
      return absl::DataLossError("the identity file in " + config.data_dir + " does not parse");
    identity = from_answer(answer);
  }
  auto member = files.read(kMemberFile);
  if (!identity) {
    auto layout = cluster_layout(config);
    if (!layout.ok()) return layout.status();
    if (member || config.initial_cluster_state == "new") {
      // Created with the cluster (or a directory from before identity
      // files, which only such members had).
      identity = from_layout(*layout);
    } else {
      auto joined = join(config, *layout, io);
      if (!joined.ok()) return joined.status();
      identity = *joined;
    }
  }
  std::string record = member_record(identity->cluster_id, config.name);
  if (member && *member != record)
    return absl::FailedPreconditionError("data directory " + config.data_dir +
                                         " belongs to another member or cluster (" + *member +
                                         "); this is " + record);
  if (!member || !files.read(kIdentityFile)) {
    files.overwrite(kIdentityFile, to_answer(*identity).SerializeAsString());
    files.overwrite(kMemberFile, record);
    files.sync();
    files.drain();
  }
  return *identity;
}

}  // namespace synod::cli
