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
  t.record(7, 1, reply(1, "first"), 10);
  wire::ClientReply got;
  EXPECT_EQ(t.check(7, 1, &got), SessionTable::Seen::kDuplicate);
  EXPECT_EQ(got.kv().value(), "first");
  EXPECT_EQ(t.check(7, 2, nullptr), SessionTable::Seen::kNew);
  t.record(7, 2, reply(2, "second"), 11);
  EXPECT_EQ(t.check(7, 1, nullptr), SessionTable::Seen::kStale);
  EXPECT_EQ(t.check(8, 1, nullptr), SessionTable::Seen::kNew) << "clients are separate";
}

TEST(SessionTable, TheSessionUsedLongestAgoIsEvictedPastTheLimit) {
  SessionTable t(2);
  t.record(1, 1, reply(1, "a"), 10);
  t.record(2, 1, reply(1, "b"), 11);
  t.record(1, 2, reply(2, "c"), 12);  // client 1 is now the more recent
  t.record(3, 1, reply(1, "d"), 13);
  EXPECT_EQ(t.size(), 2u);
  EXPECT_EQ(t.check(2, 1, nullptr), SessionTable::Seen::kNew) << "client 2 was evicted";
  EXPECT_EQ(t.check(1, 2, nullptr), SessionTable::Seen::kDuplicate);
}

TEST(SessionTable, ASnapshotCarriesTheSessions) {
  SessionTable t;
  t.record(1, 5, reply(5, "x"), 20);
  t.record(2, 9, reply(9, "y"), 21);
  wire::ReplicaSnapshot snapshot;
  t.save(snapshot);
  SessionTable restored;
  restored.load(snapshot);
  wire::ClientReply got;
  EXPECT_EQ(restored.check(2, 9, &got), SessionTable::Seen::kDuplicate);
  EXPECT_EQ(got.kv().value(), "y");
  EXPECT_EQ(restored.check(1, 4, nullptr), SessionTable::Seen::kStale);
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
