#include "synod/kv/etcd_state_machine.h"

#include <gtest/gtest.h>

namespace synod {
namespace {

wire::ClientRequest etcd(wire::EtcdRequest r) {
  wire::ClientRequest c;
  *c.mutable_etcd() = std::move(r);
  return c;
}

wire::ClientRequest put(std::string key, std::string value, int64_t lease = 0) {
  wire::EtcdRequest r;
  r.mutable_put()->set_key(std::move(key));
  r.mutable_put()->set_value(std::move(value));
  r.mutable_put()->set_lease(lease);
  return etcd(r);
}

wire::ClientRequest grant(int64_t id, int64_t ttl) {
  wire::EtcdRequest r;
  r.mutable_lease_grant()->set_id(id);
  r.mutable_lease_grant()->set_ttl(ttl);
  return etcd(r);
}

wire::ClientRequest revoke(int64_t id) {
  wire::EtcdRequest r;
  r.mutable_lease_revoke()->set_id(id);
  return etcd(r);
}

TEST(EtcdStateMachine, RevokingALeaseDeletesItsKeysAndTellsTheWatchers) {
  EtcdStateMachine m;
  std::vector<mvccpb::Event> seen;
  m.set_change_listener([&](const std::vector<mvccpb::Event>& changes) {
    seen.insert(seen.end(), changes.begin(), changes.end());
  });
  EXPECT_EQ(m.apply(put("k", "v", 5)).etcd().error().message(),
            "etcdserver: requested lease not found");
  EXPECT_EQ(m.apply(grant(5, 10)).etcd().lease_grant().id(), 5);
  EXPECT_EQ(m.apply(grant(5, 10)).etcd().error().message(), "etcdserver: lease already exists");
  EXPECT_FALSE(m.apply(put("k", "v", 5)).etcd().has_error());
  EXPECT_FALSE(m.apply(put("free", "v")).etcd().has_error());
  wire::ClientReply revoked = m.apply(revoke(5));
  EXPECT_FALSE(revoked.etcd().has_error());
  EXPECT_EQ(m.store().live_keys(), 1u);
  EXPECT_TRUE(m.leases().empty());
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen.back().type(), mvccpb::Event::DELETE);
  EXPECT_EQ(seen.back().kv().key(), "k");
  EXPECT_EQ(m.apply(revoke(5)).etcd().error().code(),
            static_cast<int>(absl::StatusCode::kNotFound));
}

TEST(EtcdStateMachine, ReadsAreRangesAndReadOnlyTransactions) {
  EtcdStateMachine m;
  wire::EtcdRequest range;
  range.mutable_range()->set_key("k");
  EXPECT_TRUE(m.is_read(etcd(range)));
  EXPECT_FALSE(m.is_read(put("k", "v")));
  wire::EtcdRequest ro;
  *ro.mutable_txn()->add_success()->mutable_request_range() = range.range();
  EXPECT_TRUE(m.is_read(etcd(ro)));
  wire::EtcdRequest rw = ro;
  rw.mutable_txn()
      ->add_failure()
      ->mutable_request_txn()
      ->add_success()
      ->mutable_request_put()
      ->set_key("x");
  EXPECT_FALSE(m.is_read(etcd(rw))) << "a put nested in the failure branch still writes";
  m.apply(put("k", "v"));
  EXPECT_EQ(m.read(etcd(ro)).etcd().txn().responses(0).response_range().kvs(0).value(), "v");
}

TEST(EtcdStateMachine, PlainKeyValueCommandsShareTheStore) {
  EtcdStateMachine m;
  wire::ClientRequest kv_put;
  kv_put.mutable_kv()->set_kind(wire::KvOp::PUT);
  kv_put.mutable_kv()->set_key("k");
  kv_put.mutable_kv()->set_value("1");
  m.apply(kv_put);
  wire::ClientRequest cas;
  cas.mutable_kv()->set_kind(wire::KvOp::CAS);
  cas.mutable_kv()->set_key("k");
  cas.mutable_kv()->set_expected("1");
  cas.mutable_kv()->set_value("2");
  EXPECT_TRUE(m.apply(cas).kv().swapped());
  EXPECT_FALSE(m.apply(cas).kv().swapped());
  wire::ClientRequest get;
  get.mutable_kv()->set_kind(wire::KvOp::GET);
  get.mutable_kv()->set_key("k");
  EXPECT_EQ(m.read(get).kv().value(), "2");
  EXPECT_EQ(m.store().revision(), 3);
}

TEST(EtcdStateMachine, ASnapshotCarriesTheStoreAndTheLeases) {
  EtcdStateMachine m;
  m.apply(grant(9, 30));
  m.apply(put("k", "v", 9));
  EtcdStateMachine copy;
  ASSERT_TRUE(copy.restore(m.snapshot()));
  EXPECT_EQ(copy.store().hash(0), m.store().hash(0));
  ASSERT_EQ(copy.leases().count(9), 1u);
  EXPECT_EQ(copy.leases().at(9).ttl, 30);
  EXPECT_FALSE(copy.restore("not a snapshot at all"));
}

}  // namespace
}  // namespace synod
