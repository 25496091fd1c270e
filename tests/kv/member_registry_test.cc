#include "synod/kv/member_registry.h"

#include <gtest/gtest.h>

#include <set>

#include "synod/kv/etcd_state_machine.h"

namespace synod {
namespace {

wire::EtcdMember member(NodeId node, uint64_t id, std::string name, std::string peer_url) {
  wire::EtcdMember m;
  m.set_node(node);
  m.set_id(id);
  m.set_name(std::move(name));
  m.add_peer_urls(std::move(peer_url));
  return m;
}

std::vector<wire::EtcdMember> three() {
  return {member(0, 11, "a", "http://127.0.0.1:1"), member(1, 13, "b", "http://127.0.0.1:2"),
          member(2, 15, "c", "http://127.0.0.1:3")};
}

wire::ClientRequest add(uint64_t id, std::string url, bool learner = false) {
  wire::ClientRequest c;
  wire::MemberAdd* a = c.mutable_etcd()->mutable_member_add();
  a->set_id(id);
  a->add_peer_urls(std::move(url));
  a->set_learner(learner);
  return c;
}

wire::ClientRequest remove(uint64_t id) {
  wire::ClientRequest c;
  c.mutable_etcd()->mutable_member_remove()->set_id(id);
  return c;
}

wire::ClientRequest promote(uint64_t id) {
  wire::ClientRequest c;
  c.mutable_etcd()->mutable_member_promote()->set_id(id);
  return c;
}

TEST(MemberRegistry, AddedMembersTakeNewNodeIdsThatAreNeverReused) {
  MemberRegistry r;
  r.seed(three());
  auto d = r.add([] {
    wire::MemberAdd a;
    a.set_id(17);
    a.add_peer_urls("http://127.0.0.1:4");
    return a;
  }());
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->node(), 3u);
  EXPECT_EQ(d->name(), "");  // until it starts and says it
  wire::MemberRemove gone;
  gone.set_id(17);
  ASSERT_TRUE(r.remove(gone).ok());
  wire::MemberAdd again;
  again.set_id(19);
  again.add_peer_urls("http://127.0.0.1:4");
  auto e = r.add(again);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->node(), 4u);  // not 3: Raft must not take it for the member removed
}

TEST(MemberRegistry, RefusesWhatEtcdRefuses) {
  EtcdStateMachine m;
  m.members().seed(three());
  auto error = [&](const wire::ClientRequest& c) { return m.apply(c).etcd().error().message(); };
  EXPECT_EQ(error(add(19, "http://127.0.0.1:2")), "etcdserver: Peer URLs already exists");
  EXPECT_EQ(error(add(13, "http://127.0.0.1:9")), "etcdserver: member ID already exist");
  for (std::string bad : {"127.0.0.1:9", "http://127.0.0.1", "http://127.0.0.1:", "http://h:99999",
                          "http://h:9/path", "http://:9"})
    EXPECT_EQ(error(add(19, bad)), "etcdserver: given member URLs are invalid") << bad;
  EXPECT_EQ(error(remove(99)), "etcdserver: member not found");
  EXPECT_EQ(error(promote(11)), "etcdserver: can only promote a learner member");
  EXPECT_EQ(error(add(19, "http://127.0.0.1:9", true)), "");
  EXPECT_EQ(error(add(21, "http://127.0.0.1:10", true)),
            "etcdserver: too many learner members in cluster");
  EXPECT_EQ(error(promote(19)), "");
  EXPECT_FALSE(m.members().by_id(19)->learner());
  EXPECT_EQ(m.members().members().size(), 4u);
}

TEST(MemberRegistry, ASnapshotCarriesTheMembersAndTellsTheListener) {
  EtcdStateMachine a;
  a.members().seed(three());
  a.apply(add(19, "http://127.0.0.1:9"));
  a.apply(remove(11));
  EtcdStateMachine b;
  b.members().seed(three());
  std::vector<std::pair<NodeId, bool>> told;
  b.members().set_listener(
      [&](const wire::EtcdMember& m, bool removed) { told.emplace_back(m.node(), removed); });
  ASSERT_TRUE(b.restore(a.snapshot()));
  EXPECT_EQ(b.snapshot(), a.snapshot());
  EXPECT_EQ(told.front(), std::make_pair(NodeId{0}, true));  // removed first
  EXPECT_EQ(told.size(), 1u + 3u);
  // And the next member added takes the same node id on both.
  EXPECT_EQ(a.apply(add(23, "http://127.0.0.1:11")).etcd().member().node(),
            b.apply(add(23, "http://127.0.0.1:11")).etcd().member().node());
}

TEST(MemberRegistry, ASnapshotWithoutMembersKeepsTheSeed) {
  EtcdStateMachine old;  // as written before the registry existed
  EtcdStateMachine m;
  m.members().seed(three());
  ASSERT_TRUE(m.restore(old.snapshot()));
  EXPECT_EQ(m.members().members().size(), 3u);
}

// etcd's --strict-reconfig-check: a change must leave a quorum of started,
// connected voters; a voter that is down may be removed.
TEST(MemberRegistry, AChangeThatWouldLoseTheQuorumIsRefused) {
  MemberRegistry r;
  r.seed(three());  // nodes 0, 1, 2 (ids 11, 13, 15), all started
  auto check = [&](const wire::ClientRequest& c, std::set<NodeId> up) {
    absl::Status status =
        check_reconfiguration(r, c.etcd(), [&](NodeId n) { return up.contains(n); });
    return std::string(status.message());
  };
  EXPECT_EQ(check(remove(13), {0, 1, 2}), "");
  EXPECT_EQ(check(remove(13), {0, 1}), "etcdserver: unhealthy cluster") << "leaves 0 alone";
  EXPECT_EQ(check(remove(15), {0, 1}), "") << "the member that is down";
  EXPECT_EQ(check(add(19, "http://127.0.0.1:9"), {0, 1}), "etcdserver: unhealthy cluster");
  EXPECT_EQ(check(add(19, "http://127.0.0.1:9", true), {0}), "") << "a learner never counts";
  EXPECT_EQ(check(add(19, "http://127.0.0.1:9"), {0, 1, 2}), "");
  // Added but never started, they do not count as started: of the four
  // voters left without 13, two have started, fewer than a quorum of three.
  for (uint64_t id : {21, 23}) {
    wire::MemberAdd a;
    a.set_id(id);
    a.add_peer_urls("http://127.0.0.1:" + std::to_string(id));
    ASSERT_TRUE(r.add(a).ok());
  }
  EXPECT_EQ(check(remove(13), {0, 1, 2, 3, 4}),
            "etcdserver: re-configuration failed due to not enough started members");
}

// etcd 3.4's counts: a one-member cluster may add a voter, and a learner
// being promoted counts as started.
TEST(MemberRegistry, AOneMemberClusterMayAddAVoterAndPromoteALearner) {
  MemberRegistry r;
  r.seed({member(0, 11, "a", "http://127.0.0.1:1")});
  auto check = [&](const wire::ClientRequest& c) {
    return std::string(
        check_reconfiguration(r, c.etcd(), [](NodeId n) { return n == 0; }).message());
  };
  EXPECT_EQ(check(add(19, "http://127.0.0.1:9")), "");
  wire::MemberAdd learner;
  learner.set_id(19);
  learner.add_peer_urls("http://127.0.0.1:9");
  learner.set_learner(true);
  ASSERT_TRUE(r.add(learner).ok());
  EXPECT_EQ(check(promote(19)), "");
  // Two voters, one of them never started: a third voter would make three
  // with one started, short of a quorum of two.
  wire::MemberAdd voter;
  voter.set_id(21);
  voter.add_peer_urls("http://127.0.0.1:21");
  ASSERT_TRUE(r.add(voter).ok());
  EXPECT_EQ(check(add(23, "http://127.0.0.1:23")),
            "etcdserver: re-configuration failed due to not enough started members");
}

}  // namespace
}  // namespace synod
