#include "synod/replication/session_table.h"

#include <gtest/gtest.h>

#include "synod/kv/kv_state_machine.h"

namespace synod::replication {
namespace {

wire::ClientReply reply(uint64_t seq, std::string value) {
  wire::ClientReply r;
  r.set_seq(seq);
  r.mutable_kv()->set_value(std::move(value));
  return r;
}

TEST(SessionTable, ARetryIsAnsweredWithTheRecordedReply) {
  SessionTable t;
  EXPECT_EQ(t.check(7, 1, nullptr), SessionTable::Seen::kNew);
  t.record(7, 1, 0, reply(1, "first"), 10);
  wire::ClientReply got;
  EXPECT_EQ(t.check(7, 1, &got), SessionTable::Seen::kDuplicate);
  EXPECT_EQ(got.kv().value(), "first");
  EXPECT_EQ(t.check(7, 2, nullptr), SessionTable::Seen::kNew);
  t.record(7, 2, 0, reply(2, "second"), 11);
  EXPECT_EQ(t.check(7, 1, nullptr), SessionTable::Seen::kStale);
  EXPECT_EQ(t.check(8, 1, nullptr), SessionTable::Seen::kNew) << "clients are separate";
}

TEST(SessionTable, TheSessionUsedLongestAgoIsEvictedPastTheLimit) {
  SessionTable t(2);
  t.record(1, 1, 0, reply(1, "a"), 10);
  t.record(2, 1, 0, reply(1, "b"), 11);
  t.record(1, 2, 0, reply(2, "c"), 12);  // client 1 is now the more recent
  t.record(3, 1, 0, reply(1, "d"), 13);
  EXPECT_EQ(t.size(), 2u);
  EXPECT_EQ(t.check(2, 1, nullptr), SessionTable::Seen::kNew) << "client 2 was evicted";
  EXPECT_EQ(t.check(1, 2, nullptr), SessionTable::Seen::kDuplicate);
}

TEST(SessionTable, ASnapshotCarriesTheSessions) {
  SessionTable t;
  t.record(1, 5, 0, reply(5, "x"), 20);
  t.record(2, 9, 0, reply(9, "y"), 21);
  wire::ReplicaSnapshot snapshot;
  t.save(snapshot);
  SessionTable restored;
  restored.load(snapshot);
  wire::ClientReply got;
  EXPECT_EQ(restored.check(2, 9, &got), SessionTable::Seen::kDuplicate);
  EXPECT_EQ(got.kv().value(), "y");
  EXPECT_EQ(restored.check(1, 4, nullptr), SessionTable::Seen::kStale);
}

// A member numbers the requests of all its callers in one session: many are
// under way at once, and each says the lowest one still waited for.
TEST(SessionTable, ManyRequestsUnderWayAreEachAppliedOnce) {
  SessionTable t;
  t.record(7, 3, 1, reply(3, "third"), 10);  // 1 and 2 still under way
  EXPECT_EQ(t.check(7, 1, nullptr), SessionTable::Seen::kNew);
  EXPECT_EQ(t.check(7, 2, nullptr), SessionTable::Seen::kNew);
  EXPECT_EQ(t.check(7, 3, nullptr), SessionTable::Seen::kDuplicate);
  t.record(7, 1, 1, reply(1, "first"), 11);
  wire::ClientReply got;
  EXPECT_EQ(t.check(7, 1, &got), SessionTable::Seen::kDuplicate);
  EXPECT_EQ(t.check(7, 3, &got), SessionTable::Seen::kDuplicate);
  EXPECT_EQ(got.outcome_case(), wire::ClientReply::OUTCOME_NOT_SET)
      << "a member answers its callers itself: its replies are not kept";
  // Request 4 says 2 is the lowest still waited for: 1 is forgotten.
  t.record(7, 4, 2, reply(4, "fourth"), 12);
  EXPECT_EQ(t.check(7, 1, nullptr), SessionTable::Seen::kStale);
  EXPECT_EQ(t.check(7, 2, nullptr), SessionTable::Seen::kNew) << "still under way";
  // 2 was given up on: the next request says so, and a late copy of 2 is
  // never applied.
  t.record(7, 5, 5, reply(5, "fifth"), 13);
  EXPECT_EQ(t.check(7, 2, nullptr), SessionTable::Seen::kStale);
  EXPECT_EQ(t.check(7, 3, nullptr), SessionTable::Seen::kStale);
  EXPECT_EQ(t.check(7, 5, nullptr), SessionTable::Seen::kDuplicate);
}

TEST(SessionTable, AClientCannotMoveItsFloorPastItsOwnRequestOrBack) {
  SessionTable t;
  t.record(1, 5, 9, reply(5, "a"), 10);  // claims 9: only 5 counts
  EXPECT_EQ(t.check(1, 5, nullptr), SessionTable::Seen::kDuplicate);
  EXPECT_EQ(t.check(1, 4, nullptr), SessionTable::Seen::kStale);
  EXPECT_EQ(t.check(1, 6, nullptr), SessionTable::Seen::kNew);
  t.record(1, 7, 2, reply(7, "b"), 11);  // the floor never moves back
  EXPECT_EQ(t.check(1, 4, nullptr), SessionTable::Seen::kStale);
  EXPECT_EQ(t.check(1, 5, nullptr), SessionTable::Seen::kDuplicate);
}

TEST(SessionTable, AWindowPastItsLimitForgetsTheOldest) {
  SessionTable t;
  uint64_t n = SessionTable::kMaxWindow + 2;
  for (uint64_t seq = 2; seq <= n; ++seq)
    t.record(1, seq, 1, reply(seq, "v"), seq);
  // Request 1 never came; the window holds the newest kMaxWindow.
  EXPECT_EQ(t.check(1, 1, nullptr), SessionTable::Seen::kStale);
  EXPECT_EQ(t.check(1, 2, nullptr), SessionTable::Seen::kStale);
  EXPECT_EQ(t.check(1, 3, nullptr), SessionTable::Seen::kDuplicate);
  EXPECT_EQ(t.check(1, n, nullptr), SessionTable::Seen::kDuplicate);
}

TEST(SessionTable, ASnapshotKeepsEveryRequestInTheWindow) {
  SessionTable t;
  t.record(7, 3, 1, reply(3, "third"), 10);
  t.record(7, 5, 1, reply(5, "fifth"), 11);
  wire::ReplicaSnapshot snapshot;
  t.save(snapshot);
  SessionTable restored;
  restored.load(snapshot);
  EXPECT_EQ(restored.check(7, 1, nullptr), SessionTable::Seen::kNew);
  EXPECT_EQ(restored.check(7, 3, nullptr), SessionTable::Seen::kDuplicate);
  EXPECT_EQ(restored.check(7, 5, nullptr), SessionTable::Seen::kDuplicate);
}

// Snapshots written before sessions held many requests kept one (seq, reply).
TEST(SessionTable, AnOldSnapshotIsReadAsOneRequestApplied) {
  wire::ReplicaSnapshot snapshot;
  wire::ClientSession& s = *snapshot.add_sessions();
  s.set_client(4);
  s.set_seq(9);
  *s.mutable_reply() = reply(9, "old");
  s.set_index(30);
  SessionTable t;
  t.load(snapshot);
  wire::ClientReply got;
  EXPECT_EQ(t.check(4, 9, &got), SessionTable::Seen::kDuplicate);
  EXPECT_EQ(got.kv().value(), "old");
  EXPECT_EQ(t.check(4, 8, nullptr), SessionTable::Seen::kStale);
  EXPECT_EQ(t.check(4, 10, nullptr), SessionTable::Seen::kNew);
}

TEST(KvStateMachine, ASnapshotRestoresEveryPairAndGarbageIsRefused) {
  KvStateMachine m;
  wire::ClientRequest put;
  put.mutable_kv()->set_kind(wire::KvOp::PUT);
  put.mutable_kv()->set_key("k");
  put.mutable_kv()->set_value("v");
  EXPECT_FALSE(m.is_read(put));
  m.apply(put);
  std::string snapshot = m.snapshot();

  KvStateMachine other;
  ASSERT_TRUE(other.restore(snapshot));
  wire::ClientRequest get;
  get.mutable_kv()->set_kind(wire::KvOp::GET);
  get.mutable_kv()->set_key("k");
  EXPECT_TRUE(other.is_read(get));
  EXPECT_EQ(other.read(get).kv().value(), "v");
  EXPECT_FALSE(other.restore("\xff\xff\xff not a snapshot"));
  EXPECT_EQ(other.read(get).kv().value(), "v") << "a refused restore changes nothing";
}

}  // namespace
}  // namespace synod::replication
