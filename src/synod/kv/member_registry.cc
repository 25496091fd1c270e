#include "synod/kv/member_registry.h"

#include <algorithm>
#include <optional>

#include "synod/base/assert.h"

namespace synod {

namespace etcd_error {
// etcd's messages (api/v3rpc/rpctypes), so clients recognise them.
absl::Status member_exists() {
  return absl::FailedPreconditionError("etcdserver: member ID already exist");
}
absl::Status peer_url_exists() {
  return absl::FailedPreconditionError("etcdserver: Peer URLs already exists");
}
absl::Status member_not_found() {
  return absl::NotFoundError("etcdserver: member not found");
}
absl::Status member_not_learner() {
  return absl::FailedPreconditionError("etcdserver: can only promote a learner member");
}
absl::Status learner_not_ready() {
  return absl::FailedPreconditionError(
      "etcdserver: can only promote a learner member which is in sync with leader");
}
absl::Status too_many_learners() {
  return absl::FailedPreconditionError("etcdserver: too many learner members in cluster");
}
absl::Status member_bad_urls() {
  return absl::InvalidArgumentError("etcdserver: given member URLs are invalid");
}
absl::Status not_enough_started_members() {
  return absl::FailedPreconditionError(
      "etcdserver: re-configuration failed due to not enough started members");
}
absl::Status unhealthy_cluster() {
  return absl::UnavailableError("etcdserver: unhealthy cluster");
}
}  // namespace etcd_error

void MemberRegistry::seed(const std::vector<wire::EtcdMember>& initial) {
  members_.clear();
  next_node_ = 0;
  for (const wire::EtcdMember& m : initial) {
    SYNOD_ASSERT_MSG(!members_.contains(m.node()), "a seed member twice");
    members_[m.node()] = m;
    next_node_ = std::max(next_node_, m.node() + 1);
  }
}

const wire::EtcdMember* MemberRegistry::by_id(uint64_t id) const {
  for (const auto& [node, m] : members_)
    if (m.id() == id) return &m;
  return nullptr;
}

const wire::EtcdMember* MemberRegistry::by_peer_url(std::string_view url) const {
  for (const auto& [node, m] : members_)
    for (const std::string& u : m.peer_urls())
      if (u == url) return &m;
  return nullptr;
}

namespace {
// "http://host:port" or "https://host:port", a port from 1 to 65535 and
// nothing after it: a peer must be reachable at what the registry says.
bool valid_peer_url(std::string_view url) {
  for (std::string_view scheme : {"http://", "https://"})
    if (url.starts_with(scheme)) url.remove_prefix(scheme.size());
  size_t colon = url.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == url.size()) return false;
  std::string_view port = url.substr(colon + 1);
  if (port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return false;
  int n = std::stoi(std::string(port));
  return n >= 1 && n <= 65535;
}
}  // namespace

absl::Status MemberRegistry::check_urls(const google::protobuf::RepeatedPtrField<std::string>& urls,
                                        uint64_t except_id) const {
  if (urls.empty()) return etcd_error::member_bad_urls();
  for (const std::string& url : urls) {
    if ((!url.starts_with("http://") && !url.starts_with("https://")) || !valid_peer_url(url))
      return etcd_error::member_bad_urls();
    const wire::EtcdMember* holder = by_peer_url(url);
    if (holder && holder->id() != except_id) return etcd_error::peer_url_exists();
  }
  return absl::OkStatus();
}

void MemberRegistry::changed(const wire::EtcdMember& member, bool removed) const {
  if (listener_) listener_(member, removed);
}

absl::StatusOr<wire::EtcdMember> MemberRegistry::add(const wire::MemberAdd& add) {
  if (auto status = check_urls(add.peer_urls(), 0); !status.ok()) return status;
  if (add.id() == 0 || by_id(add.id())) return etcd_error::member_exists();
  if (members_.size() >= kMaxMembers)
    return absl::FailedPreconditionError("etcdserver: too many members in cluster");
  size_t learners = std::count_if(members_.begin(), members_.end(),
                                  [](const auto& entry) { return entry.second.learner(); });
  if (add.learner() && learners >= kMaxLearners) return etcd_error::too_many_learners();
  wire::EtcdMember& m = members_[next_node_];
  m.set_node(next_node_++);
  m.set_id(add.id());
  *m.mutable_peer_urls() = add.peer_urls();
  m.set_learner(add.learner());
  changed(m, false);
  return m;
}

absl::StatusOr<wire::EtcdMember> MemberRegistry::remove(const wire::MemberRemove& remove) {
  const wire::EtcdMember* m = by_id(remove.id());
  if (!m) return etcd_error::member_not_found();
  wire::EtcdMember gone = *m;
  members_.erase(gone.node());
  changed(gone, true);
  return gone;
}

absl::StatusOr<wire::EtcdMember> MemberRegistry::promote(const wire::MemberPromote& promote) {
  const wire::EtcdMember* found = by_id(promote.id());
  if (!found) return etcd_error::member_not_found();
  if (!found->learner()) return etcd_error::member_not_learner();
  wire::EtcdMember& m = members_.at(found->node());
  m.set_learner(false);
  changed(m, false);
  return m;
}

absl::StatusOr<wire::EtcdMember> MemberRegistry::update(const wire::MemberUpdate& update) {
  const wire::EtcdMember* found = by_id(update.id());
  if (!found) return etcd_error::member_not_found();
  if (auto status = check_urls(update.peer_urls(), update.id()); !status.ok()) return status;
  wire::EtcdMember& m = members_.at(found->node());
  *m.mutable_peer_urls() = update.peer_urls();
  changed(m, false);
  return m;
}

absl::StatusOr<wire::EtcdMember> MemberRegistry::publish(const wire::MemberPublish& publish) {
  const wire::EtcdMember* found = by_id(publish.id());
  if (!found) return etcd_error::member_not_found();
  wire::EtcdMember& m = members_.at(found->node());
  m.set_name(publish.name());
  *m.mutable_client_urls() = publish.client_urls();
  changed(m, false);
  return m;
}

absl::Status check_reconfiguration(const MemberRegistry& registry, const wire::EtcdRequest& change,
                                   const std::function<bool(NodeId)>& active) {
  std::vector<const wire::EtcdMember*> voters;
  for (const auto& [node, m] : registry.members())
    if (!m.learner()) voters.push_back(&m);
  // Voters that pass `pick`, leaving out `without`.
  auto count = [&](const auto& pick, std::optional<NodeId> without) {
    size_t n = 0;
    for (const wire::EtcdMember* m : voters)
      n += m->node() != without && pick(*m);
    return n;
  };
  auto started = [](const wire::EtcdMember& m) { return !m.name().empty(); };
  auto connected = [&](const wire::EtcdMember& m) { return active(m.node()); };
  if (change.has_member_remove()) {
    const wire::EtcdMember* gone = registry.by_id(change.member_remove().id());
    if (!gone || gone->learner()) return absl::OkStatus();
    size_t quorum = (voters.size() - 1) / 2 + 1;
    if (count(started, gone->node()) < quorum) return etcd_error::not_enough_started_members();
    // A member that is down is safe to remove: it is not in the live quorum.
    if (!active(gone->node())) return absl::OkStatus();
    if (count(connected, gone->node()) < quorum) return etcd_error::unhealthy_cluster();
    return absl::OkStatus();
  }
  bool added_voter = change.has_member_add() && !change.member_add().learner();
  bool promoted = change.has_member_promote();
  if (!added_voter && !promoted) return absl::OkStatus();
  // As etcd 3.4 counts (IsReadyToAddVotingMember, IsReadyToPromoteMember):
  // the voters after the change, and the started among them, a learner
  // being promoted counted as started. A one-member cluster may add a
  // voter (how a cluster restored from a backup grows again).
  size_t after = voters.size() + 1;
  size_t started_after = count(started, std::nullopt) + (promoted ? 1 : 0);
  bool growing_from_one = added_voter && after == 2 && started_after == 1;
  if (!growing_from_one && started_after < after / 2 + 1)
    return etcd_error::not_enough_started_members();
  if (count(connected, std::nullopt) < voters.size()) return etcd_error::unhealthy_cluster();
  return absl::OkStatus();
}

void MemberRegistry::save(wire::EtcdSnapshot* snapshot) const {
  for (const auto& [node, m] : members_)
    *snapshot->add_members() = m;
  snapshot->set_next_node(next_node_);
}

void MemberRegistry::load(const wire::EtcdSnapshot& snapshot) {
  if (snapshot.members().empty()) return;
  std::map<NodeId, wire::EtcdMember> before = std::move(members_);
  members_.clear();
  for (const wire::EtcdMember& m : snapshot.members())
    members_[m.node()] = m;
  next_node_ = snapshot.next_node();
  for (const auto& [node, m] : before)
    if (!members_.contains(node)) changed(m, true);
  for (const auto& [node, m] : members_)
    changed(m, false);
}

}  // namespace synod
