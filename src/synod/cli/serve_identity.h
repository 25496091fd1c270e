#pragma once

#include <asio.hpp>
#include <vector>

#include "absl/status/statusor.h"
#include "synod/cli/serve_config.h"
#include "synod/kv/member_registry.h"
#include "synod/storage/file_storage.h"
#include "synod/wire/etcd_store.pb.h"
#include "synod/wire/peer.pb.h"

namespace synod::cli {

// Who this member is: its node id, in which cluster, and the members the
// cluster started with (every member's registry and Raft start from them).
//
// A member the cluster was created with takes it from --initial-cluster. One
// added later (`etcdctl member add`, then --initial-cluster-state existing)
// asks a running member, which knows it by its peer URL. Either way it is
// written to the data directory at the first start, and from then on the
// directory decides, whatever the flags say: etcd too ignores the
// --initial-* flags once a member has data.
struct Identity {
  uint64_t cluster_id = 0;
  NodeId self = 0;
  std::vector<wire::EtcdMember> initial;
  std::vector<wire::EtcdMember> current;  // whom to dial at start
};

absl::StatusOr<Identity> establish_identity(const ServeConfig& config, asio::io_context& io,
                                            storage::FileStorage& files);

// The answer to a member that asks to join (net::PeerTransport's
// answer_join): who it is, by its peer URL in the registry, or a refusal.
wire::PeerFrame answer_join(const Identity& identity, const MemberRegistry& registry,
                            const wire::PeerJoin& join);

}  // namespace synod::cli
