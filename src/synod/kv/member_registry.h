#pragma once

#include <functional>
#include <map>
#include <vector>

#include "absl/status/statusor.h"
#include "synod/base/types.h"
#include "synod/wire/etcd_store.pb.h"

namespace synod {

// Who the cluster's members are: node ids, etcd member ids, names and URLs.
// It is part of the replicated state, changed only by commands applied in
// log order, so every member agrees on it; the runtime dials the peers it
// lists and the leader makes Raft's voters and learners follow it.
//
// Every member's registry starts from the same seed (the members the
// cluster was created with), so a member that joins later and replays the
// log from the start reaches the same registry as the others at every index.
class MemberRegistry {
 public:
  // Told after each change: the member changed, and whether it is gone.
  using Listener = std::function<void(const wire::EtcdMember& member, bool removed)>;

  // The members a new cluster starts with; node ids continue after theirs.
  void seed(const std::vector<wire::EtcdMember>& initial);

  absl::StatusOr<wire::EtcdMember> add(const wire::MemberAdd& add);
  absl::StatusOr<wire::EtcdMember> remove(const wire::MemberRemove& remove);
  absl::StatusOr<wire::EtcdMember> promote(const wire::MemberPromote& promote);
  absl::StatusOr<wire::EtcdMember> update(const wire::MemberUpdate& update);
  absl::StatusOr<wire::EtcdMember> publish(const wire::MemberPublish& publish);

  const std::map<NodeId, wire::EtcdMember>& members() const { return members_; }
  const wire::EtcdMember* by_id(uint64_t id) const;
  const wire::EtcdMember* by_peer_url(std::string_view url) const;

  void save(wire::EtcdSnapshot* snapshot) const;
  // A snapshot with no members (from before the registry) keeps the seed.
  void load(const wire::EtcdSnapshot& snapshot);
  void set_listener(Listener listener) { listener_ = std::move(listener); }

  // Bounds: a cluster this big is already far past sensible.
  static constexpr size_t kMaxMembers = 64;
  static constexpr size_t kMaxLearners = 1;  // etcd's default

 private:
  absl::Status check_urls(const google::protobuf::RepeatedPtrField<std::string>& urls,
                          uint64_t except_id) const;
  void changed(const wire::EtcdMember& member, bool removed) const;

  std::map<NodeId, wire::EtcdMember> members_;
  NodeId next_node_ = 0;  // never reused: Raft must not mistake a new member for an old one
  Listener listener_;
};

// etcd's --strict-reconfig-check, from one member's view as etcd's is: a
// member removal, voter addition or promotion must leave a quorum of voters
// that have started (published their name) and that are `active` (this
// member itself, or connected to it); a voter that is down may always be
// removed. Other requests pass.
absl::Status check_reconfiguration(const MemberRegistry& registry, const wire::EtcdRequest& change,
                                   const std::function<bool(NodeId)>& active);

namespace etcd_error {
absl::Status member_exists();
absl::Status peer_url_exists();
absl::Status member_not_found();
absl::Status member_not_learner();
absl::Status learner_not_ready();
absl::Status too_many_learners();
absl::Status member_bad_urls();
absl::Status not_enough_started_members();
absl::Status unhealthy_cluster();
}  // namespace etcd_error

}  // namespace synod
