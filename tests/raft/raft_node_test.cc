// Scenario tests of RaftNode: each sets up logs and deliveries the way the
// Raft paper's figures do, then checks roles, terms and indexes.

#include "synod/raft/raft_node.h"

#include <gtest/gtest.h>

#include "raft/cluster.h"
#include "synod/raft/lease.h"

namespace synod::raft {
namespace {

using testing::Cluster;
using testing::Disk;
using testing::entry;

RaftOptions options() {
  return testing::scenario_options();
}

RaftOptions one_append_in_flight() {
  RaftOptions o = options();
  o.max_inflight_appends = 1;
  return o;
}

// With one append in flight per follower, node 0 leads and commits "x"
// through node 1 while node 2's window is still full with it. Returns x.
Index commit_while_node_2_is_full(Cluster& c) {
  c.campaign(0);
  c.deliver_all();
  Index x = c.propose(0, "x");
  c.deliver_if([](NodeId, NodeId to, const Message&) { return to == 1; });
  c.deliver_if([](NodeId from, NodeId to, const Message&) { return from == 1 && to == 0; });
  return x;
}

Disk disk_with(Term term, std::vector<Term> log_terms, std::optional<NodeId> vote = std::nullopt) {
  Disk d;
  d.hard_state.set_term(term);
  if (vote) d.hard_state.set_vote(*vote);
  for (size_t i = 0; i < log_terms.size(); ++i)
    d.entries.push_back(entry(i + 1, log_terms[i], "e" + std::to_string(i + 1)));
  return d;
}

// A candidate's request for a (real) vote in `term`, with a log that ends at
// (last_index, last_term).
Message vote_request(Term term, Index last_index, Term last_term) {
  Message m;
  m.set_term(term);
  m.mutable_vote()->set_last_index(last_index);
  m.mutable_vote()->set_last_term(last_term);
  return m;
}

// ---- elections -------------------------------------------------------------

TEST(RaftElection, ThreeNodesElectOneLeaderAndReplicate) {
  Cluster c(3, options());
  NodeId leader = c.elect_anyone();
  Index index = c.propose(leader, "x");
  c.deliver_all();
  for (NodeId id = 0; id < 3; ++id) {
    EXPECT_EQ(c.node(id).log().commit(), index) << "node " << id;
    ASSERT_TRUE(c.applied(id).count(index));
    EXPECT_EQ(c.applied(id).at(index).data(), "x");
  }
  int leaders = 0;
  for (NodeId id = 0; id < 3; ++id)
    leaders += c.node(id).role() == Role::kLeader;
  EXPECT_EQ(leaders, 1);
}

TEST(RaftElection, ASingleNodeLeadsAndCommitsAlone) {
  Cluster c(1, options());
  c.campaign(0);
  ASSERT_EQ(c.node(0).role(), Role::kLeader);
  Index index = c.propose(0, "solo");
  c.process();
  EXPECT_EQ(c.node(0).log().commit(), index);
}

TEST(RaftElection, AVoteLeavesOnlyAfterItIsPersisted) {
  Cluster c(3, options());
  c.tick(0, 100);  // node 0 campaigns (pre-vote, then for real once granted)
  c.deliver_if([](NodeId, NodeId, const Message& m) { return m.has_vote() && m.vote().pre(); });
  c.deliver_if([](NodeId, NodeId, const Message& m) { return m.has_vote_response(); });
  // Node 0 now asks for real votes; node 1 grants one.
  RaftNode& voter = c.node(1);
  Message request = vote_request(c.node(0).term(), 10, c.node(0).term());
  voter.step(0, request);
  Ready rd = voter.ready();
  ASSERT_TRUE(rd.hard_state.has_value());
  EXPECT_EQ(rd.hard_state->vote(), 0u);
  EXPECT_TRUE(rd.messages.empty());
  ASSERT_EQ(rd.messages_after_persist.size(), 1u);
  EXPECT_TRUE(rd.messages_after_persist[0].message.vote_response().granted());
  voter.advance(rd);
}

TEST(RaftElection, TheVoteWithoutPersistBugSendsAtOnceAndPersistsNoVote) {
  RaftOptions o = options();
  o.bugs.vote_without_persist = true;
  Cluster c(3, o);
  RaftNode& voter = c.node(1);
  Message request = vote_request(5, 10, 5);
  voter.step(0, request);
  Ready rd = voter.ready();
  ASSERT_TRUE(rd.hard_state.has_value());
  EXPECT_FALSE(rd.hard_state->has_vote());
  ASSERT_EQ(rd.messages.size(), 1u);
  EXPECT_TRUE(rd.messages[0].message.vote_response().granted());
  voter.advance(rd);
}

TEST(RaftElection, ACandidateAsksAgainWhenRequestsAreLost) {
  Cluster c(3, options());
  while (c.node(0).role() == Role::kFollower)
    c.tick(0);
  ASSERT_EQ(c.node(0).role(), Role::kPreCandidate);
  c.drop_queued();  // every pre-vote request lost
  c.tick(0);        // a heartbeat later, it asks again
  c.deliver_if([](NodeId, NodeId, const Message& m) { return m.has_vote() && m.vote().pre(); });
  c.deliver_if([](NodeId, NodeId, const Message& m) { return m.has_vote_response(); });
  ASSERT_EQ(c.node(0).role(), Role::kCandidate) << "the pre-vote passed";
  c.drop_queued();  // every real vote request lost too
  c.tick(0);
  c.deliver_all();
  EXPECT_EQ(c.node(0).role(), Role::kLeader) << "without waiting for another election timeout";
}

// A single voter wins at once, before its new term is on disk. Were its
// appends to leave now, a crash could lose the term, the node could win the
// same term again and send different entries under it (found by the
// simulator: log matching broken on the learners).
TEST(RaftElection, ASingleVoterSendsNothingInANewTermUntilTheTermIsDurable) {
  RaftOptions o = options();
  o.id = 0;
  RaftNode n(o, Recovered{}, *Membership::of({0}, {1}), Rng(1));
  while (n.role() != Role::kLeader)
    n.tick();
  Ready rd = n.ready();
  ASSERT_TRUE(rd.hard_state.has_value());
  ASSERT_FALSE(rd.entries.empty());
  Index noop = rd.entries.back()->index();
  EXPECT_TRUE(rd.messages.empty());
  EXPECT_FALSE(rd.messages_after_persist.empty()) << "the append to the learner waits";
  n.advance(rd);
  n.tick();
  rd = n.ready();
  EXPECT_TRUE(rd.messages.empty()) << "a heartbeat waits too";
  n.advance(rd);
  n.on_persisted(noop, n.term());
  n.tick();
  rd = n.ready();
  EXPECT_FALSE(rd.messages.empty()) << "once the term is durable, messages go at once";
  n.advance(rd);
}

TEST(RaftElection, ANodeVotesOncePerTerm) {
  Cluster c(3, options());
  Message request = vote_request(3, 0, 0);
  c.node(2).step(0, request);
  c.node(2).step(1, request);
  Ready rd = c.node(2).ready();
  ASSERT_EQ(rd.messages.size() + rd.messages_after_persist.size(), 2u);
  EXPECT_TRUE(rd.messages_after_persist.at(0).message.vote_response().granted());
  EXPECT_FALSE(rd.messages.at(0).message.vote_response().granted());
  c.node(2).advance(rd);
}

TEST(RaftElection, AStaleLogDoesNotWin) {
  // Node 0's log is behind: nobody votes for it (5.4.1).
  Cluster c({disk_with(2, {1}), disk_with(2, {1, 2}), disk_with(2, {1, 2})}, options());
  c.campaign(0);
  EXPECT_NE(c.node(0).role(), Role::kLeader);
  c.campaign(1);
  EXPECT_EQ(c.node(1).role(), Role::kLeader);
}

TEST(RaftPreVote, APartitionedNodeDoesNotDisruptTheLeaderWhenItReturns) {
  Cluster c(3, options());
  c.campaign(0);
  ASSERT_EQ(c.node(0).role(), Role::kLeader);
  Term term = c.node(0).term();
  c.isolate(2);
  for (int i = 0; i < 10; ++i) {  // node 2 keeps trying, alone
    c.tick(2, 30);
    c.tick(0);
    c.tick(1);
    c.deliver_all();
  }
  EXPECT_EQ(c.node(2).term(), term) << "pre-vote failed, so the term never rose";
  c.heal();
  c.tick_all(3);
  c.deliver_all();
  EXPECT_EQ(c.node(0).role(), Role::kLeader);
  EXPECT_EQ(c.node(0).term(), term);
}

TEST(RaftPreVote, WithoutPreVoteAReturningNodeForcesAnElection) {
  // The counterpart: what pre-vote prevents does happen without it.
  RaftOptions o = options();
  o.pre_vote = false;
  o.check_quorum = false;
  Cluster c(3, o);
  c.campaign(0);
  Term term = c.node(0).term();
  c.isolate(2);
  c.tick(2, 100);
  c.deliver_all();
  EXPECT_GT(c.node(2).term(), term);
  c.heal();
  c.run(30);  // node 2 campaigns again, at its higher term
  EXPECT_GT(c.node(0).term(), term) << "the old leader was deposed by the higher term";
}

TEST(RaftCheckQuorum, ALeaderInTheMinorityStepsDown) {
  Cluster c(5, options());
  c.campaign(0);
  ASSERT_EQ(c.node(0).role(), Role::kLeader);
  for (NodeId n : {2, 3, 4}) {
    c.cut(0, n);
    c.cut(1, n);
  }
  for (int i = 0; i < 25; ++i) {
    c.tick(0);
    c.tick(1);
    c.deliver_all();
  }
  EXPECT_EQ(c.node(0).role(), Role::kFollower);
}

TEST(RaftCheckQuorum, AFollowerThatHearsItsLeaderIgnoresVoteRequests) {
  Cluster c(3, options());
  c.campaign(0);
  Term term = c.node(0).term();
  Message request = vote_request(term + 1, 100, term + 1);
  c.node(1).step(2, request);
  EXPECT_EQ(c.node(1).term(), term);
  EXPECT_FALSE(c.node(1).has_ready() && !c.node(1).ready().messages_after_persist.empty());
}

// ---- log replication -------------------------------------------------------

// Figure 7: a leader of term 8 and followers with every kind of log: missing
// entries, extra uncommitted ones, both. The leader brings all of them in line.
TEST(RaftReplication, Figure7FollowersConvergeOnTheLeadersLog) {
  std::vector<Term> leader = {1, 1, 1, 4, 4, 5, 5, 6, 6, 6};
  std::vector<Disk> disks = {
      disk_with(8, leader),
      disk_with(8, {1, 1, 1, 4, 4, 5, 5, 6, 6}),           // (a) one short
      disk_with(8, {1, 1, 1, 4}),                          // (b) far behind
      disk_with(8, {1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6}),     // (c) one extra
      disk_with(8, {1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7}),  // (d) extra of term 7
      disk_with(8, {1, 1, 1, 4, 4, 4, 4}),                 // (e) divergent term 4
      disk_with(8, {1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3}),     // (f) terms 2 and 3
  };
  RaftOptions o = options();
  Cluster c(disks, o);
  // Only node 0 campaigns; (c) and (d) would also win some votes, so give
  // node 0 the votes it needs by campaigning until it leads.
  for (int attempt = 0; attempt < 10 && c.node(0).role() != Role::kLeader; ++attempt)
    c.campaign(0);
  ASSERT_EQ(c.node(0).role(), Role::kLeader);
  c.propose(0, "new");
  c.deliver_all();
  c.tick_all(2);
  c.deliver_all();
  const RaftLog& l = c.node(0).log();
  for (NodeId id = 1; id < 7; ++id) {
    const RaftLog& f = c.node(id).log();
    ASSERT_EQ(f.last_index(), l.last_index()) << "follower " << id;
    for (Index i = 1; i <= l.last_index(); ++i)
      ASSERT_EQ(f.term(i), l.term(i)) << "follower " << id << " index " << i;
    EXPECT_EQ(f.commit(), l.commit());
  }
}

// Figure 8: an entry of an earlier term on a majority is not committed by
// counting; a later leader may still overwrite it. With the bug, the leader
// commits it, and the overwrite that follows loses a committed entry.
struct Figure8 {
  explicit Figure8(bool bug) {
    RaftOptions o = options();
    o.max_entries_per_append = 1;  // so S3 acknowledges index 2 before index 3
    o.bugs.commit_earlier_term = bug;
    // (b): S1 led term 2 and put index 2 on S2; S5 led term 3 (voted by S3,
    // S4, S5) and wrote its own index 2. All are at term 3 now.
    cluster = std::make_unique<Cluster>(
        std::vector<Disk>{disk_with(3, {1, 2}), disk_with(3, {1, 2}), disk_with(3, {1}, 4),
                          disk_with(3, {1}, 4), disk_with(3, {1, 3}, 4)},
        o);
    Cluster& c = *cluster;
    // (c): S5 is down; S1 is elected in term 4 and replicates index 2 to S3.
    c.crash(4);
    c.elect_only(0);
  }

  // S2 takes S1's term-4 no-op (index 3); S3 rejects S1's first probe, then
  // receives index 2 and acknowledges it, while index 3 stays on its way.
  // Index 2 (term 2) is now on S1, S2 and S3; index 3 only on S1 and S2.
  void replicate_index_2_to_s3() {
    Cluster& c = *cluster;
    for (int round = 0; round < 3; ++round) {
      c.deliver_if([&](NodeId, NodeId to, const Message& m) {
        if (to == 1) return true;
        if (to != 2 || !m.has_append()) return false;
        bool has_2 = c.node(2).log().last_index() >= 2;
        return !has_2 || m.append().entries().empty() ||
               m.append().entries().rbegin()->index() <= 2;
      });
      c.deliver_if([](NodeId from, NodeId, const Message& m) {
        return (from == 1 || from == 2) && m.has_append_response();
      });
    }
  }

  // S1 crashes; the others' election timers run out; S5 restarts and is
  // elected by S2, S3 and S4 (its last term, 3, beats their 2).
  // (S5, down during term 4, first learns that term from a refusal.)
  void s5_takes_over() {
    Cluster& c = *cluster;
    c.crash(0);
    for (NodeId n : {1, 2, 3})
      c.tick(n, 10);
    c.drop_queued();
    c.restart(4);
    for (int attempt = 0; attempt < 4 && c.node(4).role() != Role::kLeader; ++attempt)
      c.elect_only(4);
  }

  std::unique_ptr<Cluster> cluster;
};

TEST(RaftCommitRule, Figure8AnEarlierTermEntryOnAMajorityIsNotCommittedByCounting) {
  Figure8 f(false);
  Cluster& c = *f.cluster;
  ASSERT_EQ(c.node(0).role(), Role::kLeader);
  ASSERT_EQ(c.node(0).term(), 4u);
  // Let S3 acknowledge index 2 (term 2) and nothing later.
  f.replicate_index_2_to_s3();
  ASSERT_EQ(c.node(2).log().term(2), std::optional<Term>(2));
  ASSERT_EQ(c.node(1).log().term(3), std::optional<Term>(4));
  EXPECT_LT(c.node(0).log().commit(), 2u) << "index 2 (term 2) is on S1, S2, S3 but not committed";
  // (d): S5 is elected and overwrites index 2. Nothing committed was lost.
  f.s5_takes_over();
  ASSERT_EQ(c.node(4).role(), Role::kLeader);
  c.deliver_all();
  EXPECT_EQ(c.node(4).log().term(2), std::optional<Term>(3));
  EXPECT_EQ(c.node(2).log().term(2), std::optional<Term>(3));
}

TEST(RaftCommitRule, Figure8TheBugCommitsTheEarlierTermEntry) {
  Figure8 f(true);
  Cluster& c = *f.cluster;
  ASSERT_EQ(c.node(0).role(), Role::kLeader);
  f.replicate_index_2_to_s3();
  EXPECT_EQ(c.node(0).log().commit(), 2u) << "the bug counts replicas of a term-2 entry";
  EXPECT_TRUE(c.applied(0).count(2));
  // ...and then loses it: S5 is elected and overwrites the "committed" entry.
  f.s5_takes_over();
  ASSERT_EQ(c.node(4).role(), Role::kLeader);
  c.deliver_all();
  EXPECT_EQ(c.node(2).log().term(2), std::optional<Term>(3)) << "committed index 2 overwritten";
}

TEST(RaftReplication, ALongDivergentFollowerIsRepairedInFewRoundTrips) {
  // Node 2 was leader of term 2 alone and wrote 500 entries nobody else has.
  std::vector<Term> common(50, 1);
  std::vector<Term> divergent = common;
  divergent.insert(divergent.end(), 500, 2);
  std::vector<Term> majority = common;
  majority.insert(majority.end(), 100, 3);
  RaftOptions o = options();
  Cluster c({disk_with(3, majority), disk_with(3, majority), disk_with(3, divergent)}, o);
  c.campaign(0);
  ASSERT_EQ(c.node(0).role(), Role::kLeader);
  size_t rejections = 0;
  for (int round = 0; round < 10; ++round) {
    c.deliver_if([&](NodeId from, NodeId, const Message& m) {
      if (from == 2 && m.has_append_response() && !m.append_response().success()) ++rejections;
      return true;
    });
  }
  c.deliver_all();
  EXPECT_LE(rejections, 2u) << "the conflict hint skips a whole term per round trip";
  EXPECT_EQ(c.node(2).log().last_index(), c.node(0).log().last_index());
  EXPECT_EQ(c.node(2).log().term(300), std::nullopt);
  EXPECT_EQ(c.node(2).log().term(51), std::optional<Term>(3));
}

TEST(RaftReplication, PipeliningIsBoundedByTheInflightWindow) {
  RaftOptions o = options();
  o.max_entries_per_append = 1;
  o.max_inflight_appends = 4;
  Cluster c(3, o);
  c.campaign(0);
  c.deliver_all();
  c.isolate(1);  // node 1 stops answering; node 2 keeps up
  for (int i = 0; i < 20; ++i)
    c.propose(0, "p" + std::to_string(i));
  c.process();
  size_t to_node_1 = 0;
  c.deliver_if([&](NodeId, NodeId to, const Message& m) {
    if (to == 1 && m.has_append() && !m.append().entries().empty()) ++to_node_1;
    return true;
  });
  EXPECT_EQ(to_node_1, 4u);
  ASSERT_NE(c.node(0).progress(1), nullptr);
  EXPECT_TRUE(c.node(0).progress(1)->paused());
  c.deliver_all();
  EXPECT_EQ(c.node(0).log().commit(), c.node(0).log().last_index()) << "node 2 made a majority";
}

TEST(RaftReplication, AnAppendLostFromAFullWindowIsSentAgain) {
  RaftOptions o = options();
  o.max_entries_per_append = 1;
  o.max_inflight_appends = 1;
  Cluster c(3, o);
  c.campaign(0);
  c.deliver_all();
  c.propose(0, "lost");
  c.process();
  c.drop_queued();  // the only append in flight to each follower is lost
  Index last = c.propose(0, "next");
  c.run(5);  // heartbeats: the followers answer, the window makes room
  EXPECT_EQ(c.node(1).log().last_index(), last);
  EXPECT_EQ(c.node(0).log().commit(), last);
}

TEST(RaftReplication, AFollowerWhoseWindowWasFullHearsTheCommitWithoutWaitingForAHeartbeat) {
  Cluster c(3, one_append_in_flight());
  Index last = commit_while_node_2_is_full(c);
  ASSERT_EQ(c.node(0).log().commit(), last);
  ASSERT_LT(c.node(2).log().commit(), last);
  c.deliver_all();  // no tick: no heartbeat can carry it
  EXPECT_EQ(c.node(2).log().commit(), last);
}

TEST(RaftReplication, ProposalsAreRefusedWhenTooMuchIsUncommitted) {
  RaftOptions o = options();
  o.max_uncommitted_bytes = 1000;
  Cluster c(3, o);
  c.campaign(0);
  c.deliver_all();
  c.isolate(0);
  int accepted = 0;
  for (int i = 0; i < 100; ++i)
    accepted += std::holds_alternative<Proposed>(c.node(0).propose(std::string(100, 'v')));
  EXPECT_GT(accepted, 0);
  EXPECT_LT(accepted, 100);
  EXPECT_EQ(std::get<Refusal>(c.node(0).propose("more")), Refusal::kOverloaded);
}

TEST(RaftReplication, AFollowerRefusesProposals) {
  Cluster c(3, options());
  c.campaign(0);
  auto r = c.node(1).propose("x");
  ASSERT_TRUE(std::holds_alternative<Refusal>(r));
  EXPECT_EQ(std::get<Refusal>(r), Refusal::kNotLeader);
  EXPECT_EQ(c.node(1).leader(), std::optional<NodeId>(0));
}

TEST(RaftReplication, TheLeaderCountsItselfOnlyForEntriesItsDiskHolds) {
  Cluster c(3, options());
  c.campaign(0);
  c.deliver_all();
  RaftNode& leader = c.node(0);
  auto p = leader.propose("x");
  ASSERT_TRUE(std::holds_alternative<Proposed>(p));
  Index index = std::get<Proposed>(p).index;
  Ready rd = leader.ready();  // written, but the sync has not completed
  leader.advance(rd);
  Message ack;
  ack.set_term(leader.term());
  ack.mutable_append_response()->set_success(true);
  ack.mutable_append_response()->set_index(index);
  leader.step(1, ack);
  EXPECT_LT(leader.log().commit(), index) << "node 1 and an unsynced leader are not a majority";
  leader.on_persisted(index, leader.term());
  EXPECT_EQ(leader.log().commit(), index) << "once synced, the leader and node 1 are";
}

// ---- reads -----------------------------------------------------------------

TEST(RaftReadIndex, AReadIsReleasedOnlyAfterAMajorityEchoesAHeartbeat) {
  Cluster c(3, options());
  c.campaign(0);
  c.deliver_all();
  ASSERT_FALSE(c.node(0).read_index(7).has_value());
  c.process();
  EXPECT_TRUE(c.reads(0).empty()) << "no round has come back yet";
  c.deliver_all();
  ASSERT_EQ(c.reads(0).size(), 1u);
  EXPECT_EQ(c.reads(0)[0].id, 7u);
  EXPECT_EQ(c.reads(0)[0].index, c.node(0).log().commit());
}

TEST(RaftReadIndex, ADeposedLeaderCannotServeAReadAndFailsIt) {
  Cluster c(3, options());
  c.campaign(0);
  c.deliver_all();
  c.isolate(0);
  ASSERT_FALSE(c.node(0).read_index(9).has_value());
  c.deliver_all();
  EXPECT_TRUE(c.reads(0).empty());
  // The majority stops hearing the leader and elects someone else; the old
  // leader learns of it.
  c.tick(1, 10);
  c.tick(2, 10);
  c.campaign(1);
  ASSERT_EQ(c.node(1).role(), Role::kLeader);
  c.heal();
  c.tick_all(2);
  c.deliver_all();
  EXPECT_NE(c.node(0).role(), Role::kLeader);
  EXPECT_TRUE(c.reads(0).empty());
  ASSERT_EQ(c.failed_reads(0).size(), 1u);
  EXPECT_EQ(c.failed_reads(0)[0], 9u);
}

TEST(RaftReadIndex, ANewLeaderWaitsForItsNoopBeforeServingReads) {
  Cluster c(3, options());
  c.tick(0, 100);
  // Elect node 0 but hold back every append: its no-op stays uncommitted.
  for (int i = 0; i < 4; ++i)
    c.deliver_if([](NodeId, NodeId, const Message& m) { return !m.has_append(); });
  ASSERT_EQ(c.node(0).role(), Role::kLeader);
  ASSERT_FALSE(c.node(0).read_index(1).has_value());
  c.deliver_if([](NodeId, NodeId, const Message& m) { return m.has_heartbeat(); });
  c.deliver_if([](NodeId, NodeId, const Message& m) { return m.has_heartbeat_response(); });
  EXPECT_TRUE(c.reads(0).empty());
  c.deliver_all();
  EXPECT_EQ(c.reads(0).size(), 1u);
}

// ---- leases ----------------------------------------------------------------

RaftOptions lease_options() {
  RaftOptions o = options();
  o.lease_ticks = 5;
  return o;
}

// Node 0 leads and a majority answered one heartbeat round. (With leases a
// starting node refuses votes for an election timeout, so the first leader
// is whoever times out first; it hands over to node 0.)
Cluster cluster_with_lease() {
  Cluster c(3, lease_options());
  NodeId first = c.elect_anyone();
  if (first != 0) {
    EXPECT_FALSE(c.node(first).transfer_leadership(0).has_value());
    c.deliver_all();
  }
  EXPECT_EQ(c.node(0).role(), Role::kLeader);
  c.tick(0);
  c.deliver_all();
  return c;
}

TEST(RaftLease, ALeaderInItsLeaseServesAReadWithoutARound) {
  Cluster c = cluster_with_lease();
  ASSERT_FALSE(c.node(0).read_index(7).has_value());
  c.process();
  ASSERT_EQ(c.reads(0).size(), 1u) << "served before any message was delivered";
  EXPECT_EQ(c.reads(0)[0].index, c.node(0).log().commit());
}

TEST(RaftLease, TheLeaseEndsLeaseTicksAfterTheLastAnsweredRoundWasSent) {
  Cluster c = cluster_with_lease();
  c.isolate(0);
  c.tick(0, 4);
  c.deliver_all();
  ASSERT_FALSE(c.node(0).read_index(1).has_value());
  c.process();
  EXPECT_EQ(c.reads(0).size(), 1u) << "4 ticks after the round: still in the lease";
  c.tick(0, 1);
  c.deliver_all();
  ASSERT_FALSE(c.node(0).read_index(2).has_value());
  c.process();
  EXPECT_EQ(c.reads(0).size(), 1u) << "5 ticks after: the read waits for a round";
}

TEST(RaftLease, AFollowerRefusesVotesForAnElectionTimeoutAfterHearingTheLeader) {
  Cluster c = cluster_with_lease();
  Term term = c.node(0).term();
  Message request = vote_request(term + 1, 100, term + 1);
  c.isolate(1);
  c.tick(1, 9);
  c.node(1).step(2, request);
  EXPECT_EQ(c.node(1).term(), term) << "9 ticks after the leader: refused";
  c.tick(1, 1);
  c.node(1).step(2, request);
  EXPECT_EQ(c.node(1).term(), term + 1) << "10 ticks after: the leader may be gone";
}

TEST(RaftLease, ARestartedNodeKeepsThePromiseItMayHaveMadeBeforeItCrashed) {
  Cluster c = cluster_with_lease();
  Term term = c.node(0).term();
  c.crash(1);
  c.restart(1);
  Message request = vote_request(term + 1, 100, term + 1);
  c.node(1).step(2, request);
  EXPECT_EQ(c.node(1).term(), term) << "it does not know when it last heard the leader";
  c.isolate(1);
  c.tick(1, 10);
  c.node(1).step(2, request);
  EXPECT_EQ(c.node(1).term(), term + 1);
}

TEST(RaftLease, ATransferGivesUpTheLease) {
  Cluster c = cluster_with_lease();
  ASSERT_FALSE(c.node(0).transfer_leadership(2).has_value());
  ASSERT_FALSE(c.node(0).read_index(3).has_value());
  c.process();
  EXPECT_TRUE(c.reads(0).empty()) << "node 2 may be elected without waiting out the lease";
}

TEST(RaftLease, TheSafeLengthLeavesRoomForDriftAndJumps) {
  using std::chrono::milliseconds;
  EXPECT_EQ(max_safe_lease_ticks(20, milliseconds(10), {}), 19);
  EXPECT_EQ(max_safe_lease_ticks(20, milliseconds(10), {1e-3, milliseconds(100)}), 8);
  EXPECT_EQ(max_safe_lease_ticks(50, milliseconds(10), {0.1, milliseconds(0)}), 40);
  EXPECT_EQ(max_safe_lease_ticks(20, milliseconds(10), {0, milliseconds(200)}), 0);
  EXPECT_EQ(max_safe_lease_ticks(20, milliseconds(0), {}), 0);
}

// ---- leadership transfer ---------------------------------------------------

TEST(RaftTransfer, LeadershipMovesToTheChosenNode) {
  Cluster c(3, options());
  c.campaign(0);
  c.propose(0, "a");
  c.deliver_all();
  ASSERT_FALSE(c.node(0).transfer_leadership(2).has_value());
  EXPECT_EQ(std::get<Refusal>(c.node(0).propose("b")), Refusal::kTransferring);
  c.deliver_all();
  EXPECT_EQ(c.node(2).role(), Role::kLeader);
  EXPECT_EQ(c.node(0).role(), Role::kFollower);
}

TEST(RaftTransfer, ALaggingTargetIsCaughtUpFirst) {
  Cluster c(3, options());
  c.campaign(0);
  c.deliver_all();
  c.cut(0, 2);
  for (int i = 0; i < 5; ++i)
    c.propose(0, "x" + std::to_string(i));
  c.deliver_all();
  c.heal();
  ASSERT_FALSE(c.node(0).transfer_leadership(2).has_value());
  c.deliver_all();
  EXPECT_EQ(c.node(2).role(), Role::kLeader);
  EXPECT_EQ(c.node(2).log().last_term(), c.node(2).term());
}

// ---- membership ------------------------------------------------------------

TEST(RaftMembership, ALearnerCatchesUpIsPromotedAndThenVotes) {
  Cluster c(4, options());
  // Start with voters {0,1,2}: remove 3 first (a 4-voter cluster).
  c.campaign(0);
  c.deliver_all();
  ASSERT_EQ(c.node(0).role(), Role::kLeader);
  auto removed = c.node(0).propose_membership({MembershipChange::Kind::kRemove, 3});
  ASSERT_TRUE(std::holds_alternative<Proposed>(removed));
  c.deliver_all();
  EXPECT_FALSE(c.node(0).membership().contains(3));
  auto learner = c.node(0).propose_membership({MembershipChange::Kind::kAddLearner, 3});
  ASSERT_TRUE(std::holds_alternative<Proposed>(learner));
  c.deliver_all();
  EXPECT_TRUE(c.node(0).membership().is_learner(3));
  EXPECT_EQ(c.node(3).log().last_index(), c.node(0).log().last_index()) << "the learner caught up";
  auto promoted = c.node(0).propose_membership({MembershipChange::Kind::kAddVoter, 3});
  ASSERT_TRUE(std::holds_alternative<Proposed>(promoted));
  c.deliver_all();
  EXPECT_TRUE(c.node(0).membership().is_voter(3));
  EXPECT_TRUE(c.node(3).membership().is_voter(3));
}

TEST(RaftMembership, OneChangeAtATime) {
  Cluster c(3, options());
  c.campaign(0);
  c.deliver_all();
  c.isolate(0);  // nothing commits
  ASSERT_TRUE(std::holds_alternative<Proposed>(
      c.node(0).propose_membership({MembershipChange::Kind::kAddLearner, 5})));
  EXPECT_EQ(std::get<Refusal>(c.node(0).propose_membership({MembershipChange::Kind::kRemove, 1})),
            Refusal::kNotYet);
}

TEST(RaftMembership, ALeaderThatRemovesItselfStepsDownOnceCommitted) {
  Cluster c(3, options());
  c.campaign(0);
  c.deliver_all();
  ASSERT_TRUE(std::holds_alternative<Proposed>(
      c.node(0).propose_membership({MembershipChange::Kind::kRemove, 0})));
  c.deliver_all();
  EXPECT_NE(c.node(0).role(), Role::kLeader);
  EXPECT_FALSE(c.node(1).membership().contains(0));
  NodeId next = c.elect_anyone();
  EXPECT_NE(next, 0u);
  Index index = c.propose(next, "after");
  c.deliver_all();
  EXPECT_EQ(c.node(next).log().commit(), index);
}

TEST(RaftMembership, AFollowerRemovedWhileItsWindowIsFullHearsOfIt) {
  Cluster c(3, one_append_in_flight());
  Index x = commit_while_node_2_is_full(c);
  ASSERT_EQ(c.node(0).log().commit(), x);
  ASSERT_LT(c.node(2).log().commit(), x);
  ASSERT_TRUE(std::holds_alternative<Proposed>(
      c.node(0).propose_membership({MembershipChange::Kind::kRemove, 2})));
  c.deliver_all();
  EXPECT_GE(c.node(2).log().commit(), x) << "it learns what committed before it left";
  EXPECT_FALSE(c.node(2).membership().contains(2)) << "and holds its own removal";
}

TEST(RaftMembership, ALeaderDeposedBeforeItsOwnRemovalCommitsCanStillFinishIt) {
  // Voters {0,1}: leader 1 proposes its own removal while node 0 hears
  // nothing, then loses its leadership. Node 1 alone holds the change (so
  // node 0 cannot win its vote); node 1 must still campaign, win with node
  // 0's vote under the new membership {0}, and commit its removal.
  Cluster c(3, options());
  c.campaign(1);
  c.deliver_all();
  ASSERT_EQ(c.node(1).role(), Role::kLeader);
  ASSERT_TRUE(std::holds_alternative<Proposed>(
      c.node(1).propose_membership({MembershipChange::Kind::kRemove, 2})));
  c.deliver_all();
  c.crash(2);
  c.cut(0, 1);
  ASSERT_TRUE(std::holds_alternative<Proposed>(
      c.node(1).propose_membership({MembershipChange::Kind::kRemove, 1})));
  c.run(40);  // node 1 cannot reach node 0: it steps down
  ASSERT_NE(c.node(1).role(), Role::kLeader);
  EXPECT_FALSE(c.node(1).membership().is_voter(1));
  c.heal();
  c.run(200);
  EXPECT_EQ(c.node(0).role(), Role::kLeader);
  EXPECT_EQ(c.node(0).membership().voters(), std::vector<NodeId>{0});
}

TEST(RaftMembership, ATruncatedChangeIsRolledBack) {
  Cluster c(3, options());
  c.campaign(0);
  c.deliver_all();
  c.isolate(0);
  ASSERT_TRUE(std::holds_alternative<Proposed>(
      c.node(0).propose_membership({MembershipChange::Kind::kRemove, 2})));
  c.process();
  EXPECT_FALSE(c.node(0).membership().contains(2)) << "in effect once appended";
  c.tick(1, 10);
  c.tick(2, 10);
  c.campaign(1);
  ASSERT_EQ(c.node(1).role(), Role::kLeader);
  c.propose(1, "x");
  c.deliver_all();
  c.heal();
  c.tick_all(2);
  c.deliver_all();
  EXPECT_TRUE(c.node(0).membership().contains(2)) << "the uncommitted change was overwritten";
}

// ---- snapshots -------------------------------------------------------------

TEST(RaftSnapshot, AFollowerBehindTheCompactedLogGetsASnapshot) {
  Cluster c(3, options());
  c.campaign(0);
  c.deliver_all();
  c.isolate(2);
  Index last = 0;
  for (int i = 0; i < 20; ++i)
    last = c.propose(0, "v" + std::to_string(i));
  c.deliver_all();
  ASSERT_EQ(c.node(0).log().commit(), last);
  c.node(0).on_snapshot(last, std::make_shared<const std::string>("state@" + std::to_string(last)),
                        last);
  EXPECT_EQ(c.node(0).log().snapshot_index(), last);
  c.heal();
  c.tick_all(2);
  c.deliver_all();
  ASSERT_TRUE(c.disk(2).snapshot.has_value());
  EXPECT_EQ(c.disk(2).snapshot->meta.index(), last);
  EXPECT_EQ(*c.disk(2).snapshot->data, "state@" + std::to_string(last));
  EXPECT_EQ(c.node(2).log().commit(), last);
  Index next = c.propose(0, "after");
  c.deliver_all();
  EXPECT_EQ(c.node(2).log().commit(), next);
}

TEST(RaftSnapshot, ALostSnapshotIsSentAgain) {
  Cluster c(3, options());
  c.campaign(0);
  c.deliver_all();
  c.isolate(2);
  Index last = 0;
  for (int i = 0; i < 5; ++i)
    last = c.propose(0, "v");
  c.deliver_all();
  c.node(0).on_snapshot(last, std::make_shared<const std::string>("s"), last);
  c.heal();
  c.tick(0);
  c.deliver_if([](NodeId, NodeId, const Message& m) { return !m.has_install_snapshot(); });
  c.drop_queued();  // the snapshot is lost
  c.run(25);
  EXPECT_EQ(c.node(2).log().commit(), last);
}

TEST(RaftSnapshot, ARestartRecoversFromSnapshotAndLog) {
  Cluster c(3, options());
  c.campaign(0);
  for (int i = 0; i < 10; ++i)
    c.propose(0, "v" + std::to_string(i));
  c.deliver_all();
  Index commit = c.node(1).log().commit();
  c.crash(1);
  c.restart(1);
  EXPECT_EQ(c.node(1).log().last_index(), commit);
  c.process();
  EXPECT_EQ(c.applied(1).size(), commit) << "the committed entries are applied again";
}

}  // namespace
}  // namespace synod::raft
