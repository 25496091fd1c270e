#include "synod/kv/mvcc_store.h"

#include <gtest/gtest.h>

#include <optional>

namespace synod {
namespace {

using etcdserverpb::Compare;
using etcdserverpb::RangeRequest;

auto no_leases = [](int64_t) { return false; };

etcdserverpb::PutRequest put_of(std::string key, std::string value, int64_t lease = 0) {
  etcdserverpb::PutRequest p;
  p.set_key(std::move(key));
  p.set_value(std::move(value));
  p.set_lease(lease);
  return p;
}

RangeRequest get_of(std::string key, std::string range_end = "", int64_t revision = 0) {
  RangeRequest r;
  r.set_key(std::move(key));
  r.set_range_end(std::move(range_end));
  r.set_revision(revision);
  return r;
}

void put(MvccStore& s, std::string key, std::string value) {
  ASSERT_TRUE(s.put(put_of(std::move(key), std::move(value)), no_leases, nullptr).ok());
}

void del(MvccStore& s, std::string key, std::string range_end = "") {
  etcdserverpb::DeleteRangeRequest d;
  d.set_key(std::move(key));
  d.set_range_end(std::move(range_end));
  ASSERT_TRUE(s.delete_range(d, nullptr).ok());
}

std::vector<std::string> keys(const etcdserverpb::RangeResponse& r) {
  std::vector<std::string> out;
  for (const auto& kv : r.kvs())
    out.push_back(kv.key());
  return out;
}

TEST(MvccStore, EachWriteTakesTheNextRevisionAndKeysCountTheirVersions) {
  MvccStore s;
  EXPECT_EQ(s.revision(), 1);
  put(s, "a", "1");
  put(s, "a", "2");
  put(s, "b", "x");
  EXPECT_EQ(s.revision(), 4);
  auto a = s.range(get_of("a"));
  ASSERT_TRUE(a.ok());
  ASSERT_EQ(a->kvs_size(), 1);
  EXPECT_EQ(a->kvs(0).value(), "2");
  EXPECT_EQ(a->kvs(0).create_revision(), 2);
  EXPECT_EQ(a->kvs(0).mod_revision(), 3);
  EXPECT_EQ(a->kvs(0).version(), 2);
  EXPECT_EQ(a->header().revision(), 4);
}

TEST(MvccStore, AReadAtAnEarlierRevisionSeesThePastAndDeletesLeaveTombstones) {
  MvccStore s;
  put(s, "k", "old");  // 2
  put(s, "k", "new");  // 3
  del(s, "k");         // 4
  EXPECT_EQ(s.range(get_of("k"))->kvs_size(), 0);
  EXPECT_EQ(s.range(get_of("k", "", 2))->kvs(0).value(), "old");
  EXPECT_EQ(s.range(get_of("k", "", 3))->kvs(0).value(), "new");
  put(s, "k", "again");  // 5: a new life, version 1
  auto now = s.range(get_of("k"));
  EXPECT_EQ(now->kvs(0).version(), 1);
  EXPECT_EQ(now->kvs(0).create_revision(), 5);
  EXPECT_FALSE(s.range(get_of("k", "", 6)).ok()) << "a future revision";
  EXPECT_EQ(s.range(get_of("k", "", 6)).status().message(),
            "etcdserver: mvcc: required revision is a future revision");
}

TEST(MvccStore, RangesFollowEtcdsRangeEndConventions) {
  MvccStore s;
  for (std::string k : {"a", "b", "b1", "b2", "c"})
    put(s, k, "v");
  EXPECT_EQ(keys(*s.range(get_of("b"))), (std::vector<std::string>{"b"}));
  EXPECT_EQ(keys(*s.range(get_of("b", "c"))), (std::vector<std::string>{"b", "b1", "b2"}));
  EXPECT_EQ(keys(*s.range(get_of("b1", std::string(1, '\0')))),
            (std::vector<std::string>{"b1", "b2", "c"}));
  EXPECT_EQ(keys(*s.range(get_of(std::string(1, '\0'), std::string(1, '\0')))).size(), 5u);

  RangeRequest limited = get_of("a", std::string(1, '\0'));
  limited.set_limit(2);
  auto r = s.range(limited);
  EXPECT_EQ(keys(*r), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(r->more());
  EXPECT_EQ(r->count(), 5);

  RangeRequest desc = get_of("a", std::string(1, '\0'));
  desc.set_sort_order(RangeRequest::DESCEND);
  desc.set_limit(1);
  EXPECT_EQ(keys(*s.range(desc)), (std::vector<std::string>{"c"}));

  RangeRequest count_only = get_of("b", "c");
  count_only.set_count_only(true);
  auto counted = s.range(count_only);
  EXPECT_EQ(counted->kvs_size(), 0);
  EXPECT_EQ(counted->count(), 3);

  RangeRequest keys_only = get_of("a");
  keys_only.set_keys_only(true);
  EXPECT_EQ(s.range(keys_only)->kvs(0).value(), "");
}

TEST(MvccStore, ARangeThatEndsBeforeItStartsIsEmpty) {
  // Once walked from lower_bound(key) to lower_bound(range_end), past the
  // end of the map.
  MvccStore s;
  for (std::string k : {"a", "b", "c"})
    put(s, k, "v");
  EXPECT_EQ(s.range(get_of("c", "b"))->count(), 0);
  etcdserverpb::DeleteRangeRequest d;
  d.set_key("c");
  d.set_range_end("a");
  EXPECT_EQ(s.delete_range(d, nullptr)->deleted(), 0);
  EXPECT_TRUE(s.changes_since("c", "a", 1).empty());
  EXPECT_EQ(s.live_keys(), 3u);
}

TEST(MvccStore, CompactionDropsWhatNoReadCanSeeAndRefusesOlderRevisions) {
  MvccStore s;
  put(s, "k", "1");     // 2
  put(s, "k", "2");     // 3
  put(s, "gone", "x");  // 4
  del(s, "gone");       // 5
  put(s, "k", "3");     // 6
  int64_t bytes_before = s.bytes();
  ASSERT_TRUE(s.compact(5).ok());
  EXPECT_LT(s.bytes(), bytes_before);
  EXPECT_EQ(s.range(get_of("k", "", 5))->kvs(0).value(), "2") << "the version read at 5 stays";
  EXPECT_EQ(s.range(get_of("k", "", 4)).status().message(),
            "etcdserver: mvcc: required revision has been compacted");
  EXPECT_EQ(s.range(get_of("k", "", 4)).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(s.compact(5).message(), "etcdserver: mvcc: required revision has been compacted");
  EXPECT_EQ(s.compact(7).message(), "etcdserver: mvcc: required revision is a future revision");
  EXPECT_EQ(s.live_keys(), 1u);
}

etcdserverpb::TxnRequest cas(std::string key, std::string expected, std::string value) {
  etcdserverpb::TxnRequest t;
  Compare* c = t.add_compare();
  c->set_key(key);
  c->set_target(Compare::VALUE);
  c->set_result(Compare::EQUAL);
  c->set_value(std::move(expected));
  *t.add_success()->mutable_request_put() = put_of(key, std::move(value));
  *t.add_failure()->mutable_request_range() = get_of(key);
  return t;
}

TEST(MvccStore, ATransactionTakesOneBranchAndOneRevision) {
  MvccStore s;
  put(s, "k", "a");  // 2
  auto lost = s.txn(cas("k", "zzz", "b"), no_leases, nullptr);
  ASSERT_TRUE(lost.ok());
  EXPECT_FALSE(lost->succeeded());
  EXPECT_EQ(lost->responses(0).response_range().kvs(0).value(), "a");
  EXPECT_EQ(s.revision(), 2) << "a transaction that writes nothing takes no revision";

  etcdserverpb::TxnRequest two = cas("k", "a", "b");
  *two.add_success()->mutable_request_put() = put_of("other", "o");
  *two.add_success()->mutable_request_range() = get_of("other");
  std::vector<mvccpb::Event> changes;
  auto won = s.txn(two, no_leases, &changes);
  ASSERT_TRUE(won.ok());
  EXPECT_TRUE(won->succeeded());
  EXPECT_EQ(s.revision(), 3);
  EXPECT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0].kv().mod_revision(), 3);
  EXPECT_EQ(changes[1].kv().mod_revision(), 3);
  EXPECT_EQ(won->responses(2).response_range().kvs(0).value(), "o")
      << "a read in a transaction sees its earlier writes";
}

TEST(MvccStore, ComparesOnVersionCreateModAndLeaseTreatAMissingKeyAsZero) {
  MvccStore s;
  auto check = [&](Compare::CompareTarget target, Compare::CompareResult result, int64_t v) {
    etcdserverpb::TxnRequest t;
    Compare* c = t.add_compare();
    c->set_key("k");
    c->set_target(target);
    c->set_result(result);
    switch (target) {
      case Compare::VERSION:
        c->set_version(v);
        break;
      case Compare::CREATE:
        c->set_create_revision(v);
        break;
      case Compare::MOD:
        c->set_mod_revision(v);
        break;
      default:
        c->set_lease(v);
        break;
    }
    return s.txn(t, no_leases, nullptr)->succeeded();
  };
  EXPECT_TRUE(check(Compare::CREATE, Compare::EQUAL, 0)) << "etcd's lock recipe: the key is free";
  put(s, "k", "v");  // 2
  put(s, "k", "w");  // 3
  EXPECT_TRUE(check(Compare::VERSION, Compare::EQUAL, 2));
  EXPECT_TRUE(check(Compare::CREATE, Compare::EQUAL, 2));
  EXPECT_TRUE(check(Compare::MOD, Compare::GREATER, 2));
  EXPECT_TRUE(check(Compare::MOD, Compare::LESS, 4));
  EXPECT_TRUE(check(Compare::LEASE, Compare::EQUAL, 0));
  EXPECT_FALSE(check(Compare::VERSION, Compare::NOT_EQUAL, 2));
}

// etcd compares a key, or a range, that holds nothing against an empty
// key-value; a value compare on it always fails.
TEST(MvccStore, ARangeOrKeyThatHoldsNothingComparesAsAnEmptyKey) {
  MvccStore s;
  put(s, "a", "1");
  auto holds = [&](const std::string& key, const std::string& end, Compare::CompareTarget target,
                   Compare::CompareResult result, int64_t number, const std::string& value = "") {
    etcdserverpb::TxnRequest t;
    Compare* c = t.add_compare();
    c->set_key(key);
    c->set_range_end(end);
    c->set_target(target);
    c->set_result(result);
    c->set_version(number);
    if (target == Compare::VALUE) c->set_value(value);
    if (target == Compare::CREATE) c->set_create_revision(number);
    if (target == Compare::MOD) c->set_mod_revision(number);
    if (target == Compare::LEASE) c->set_lease(number);
    return s.txn(t, no_leases, nullptr)->succeeded();
  };
  for (std::string end : {"", "y"}) {  // the key "x", or the range [x, y): nothing there
    SCOPED_TRACE("range end '" + end + "'");
    EXPECT_FALSE(holds("x", end, Compare::VERSION, Compare::GREATER, 0));
    EXPECT_TRUE(holds("x", end, Compare::VERSION, Compare::EQUAL, 0));
    EXPECT_TRUE(holds("x", end, Compare::CREATE, Compare::LESS, 5));
    EXPECT_FALSE(holds("x", end, Compare::MOD, Compare::NOT_EQUAL, 0));
    EXPECT_TRUE(holds("x", end, Compare::LEASE, Compare::EQUAL, 0));
    EXPECT_FALSE(holds("x", end, Compare::VALUE, Compare::EQUAL, 0, ""));
    EXPECT_FALSE(holds("x", end, Compare::VALUE, Compare::NOT_EQUAL, 0, "z"));
  }
  // A range with keys in it: each must hold.
  EXPECT_TRUE(holds("a", "b", Compare::VERSION, Compare::GREATER, 0));
  EXPECT_FALSE(holds("a", "b", Compare::VERSION, Compare::EQUAL, 0));
}

TEST(MvccStore, NestedTransactionsTakeThePathChosenBeforeAnyWrite) {
  MvccStore s;
  put(s, "flag", "on");
  etcdserverpb::TxnRequest inner = cas("flag", "on", "off");
  etcdserverpb::TxnRequest outer;
  *outer.add_success()->mutable_request_txn() = inner;
  auto out = s.txn(outer, no_leases, nullptr);
  ASSERT_TRUE(out.ok());
  EXPECT_TRUE(out->responses(0).response_txn().succeeded());
  EXPECT_EQ(s.range(get_of("flag"))->kvs(0).value(), "off");
}

TEST(MvccStore, BadTransactionsAreRefusedWithEtcdsErrorsAndChangeNothing) {
  MvccStore s;
  put(s, "k", "v");
  etcdserverpb::TxnRequest dup;
  *dup.add_success()->mutable_request_put() = put_of("x", "1");
  *dup.add_success()->mutable_request_put() = put_of("x", "2");
  EXPECT_EQ(s.txn(dup, no_leases, nullptr).status().message(),
            "etcdserver: duplicate key given in txn request");

  etcdserverpb::TxnRequest overlap;
  *overlap.add_success()->mutable_request_put() = put_of("b1", "1");
  overlap.add_success()->mutable_request_delete_range()->set_key("b");
  overlap.mutable_success(1)->mutable_request_delete_range()->set_range_end("c");
  EXPECT_FALSE(s.txn(overlap, no_leases, nullptr).ok());

  etcdserverpb::TxnRequest many;
  for (size_t i = 0; i <= kMaxTxnOps; ++i)
    *many.add_success()->mutable_request_range() = get_of("k");
  EXPECT_EQ(s.txn(many, no_leases, nullptr).status().message(),
            "etcdserver: too many operations in txn request");

  etcdserverpb::TxnRequest leased;
  *leased.add_success()->mutable_request_put() = put_of("y", "1", 42);
  EXPECT_EQ(s.txn(leased, no_leases, nullptr).status().message(),
            "etcdserver: requested lease not found");
  EXPECT_EQ(s.revision(), 2);
}

TEST(MvccStore, IgnoreValueAndIgnoreLeaseNeedTheKey) {
  MvccStore s;
  etcdserverpb::PutRequest keep;
  keep.set_key("k");
  keep.set_ignore_value(true);
  EXPECT_EQ(s.put(keep, no_leases, nullptr).status().message(), "etcdserver: key not found");
  put(s, "k", "value");
  auto kept = s.put(keep, no_leases, nullptr);
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(s.range(get_of("k"))->kvs(0).value(), "value");
  EXPECT_EQ(s.range(get_of("k"))->kvs(0).version(), 2);
}

TEST(MvccStore, LeasedKeysAreFoundAndDeletedTogether) {
  MvccStore s;
  auto lease_7 = [](int64_t id) { return id == 7; };
  ASSERT_TRUE(s.put(put_of("a", "1", 7), lease_7, nullptr).ok());
  ASSERT_TRUE(s.put(put_of("b", "2", 7), lease_7, nullptr).ok());
  put(s, "c", "3");
  EXPECT_EQ(s.keys_of_lease(7), (std::vector<std::string>{"a", "b"}));
  std::vector<mvccpb::Event> changes;
  int64_t before = s.revision();
  s.delete_keys_of_lease(7, &changes);
  EXPECT_EQ(s.revision(), before + 1);
  EXPECT_EQ(changes.size(), 2u);
  EXPECT_EQ(s.live_keys(), 1u);
}

TEST(MvccStore, ChangesSinceReplaysEveryChangeInRevisionOrder) {
  MvccStore s;
  put(s, "w/a", "1");  // 2
  put(s, "w/b", "1");  // 3
  put(s, "x", "1");    // 4
  put(s, "w/a", "2");  // 5
  del(s, "w/b");       // 6
  auto events = s.changes_since("w/", "w0", 3);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].kv().key(), "w/b");
  EXPECT_EQ(events[0].kv().mod_revision(), 3);
  EXPECT_EQ(events[1].kv().key(), "w/a");
  EXPECT_EQ(events[1].prev_kv().value(), "1");
  EXPECT_EQ(events[2].type(), mvccpb::Event::DELETE);
  EXPECT_EQ(events[2].kv().mod_revision(), 6);
}

// The store's snapshot bytes, parsed; nullopt if they do not parse.
std::optional<wire::MvccSnapshot> snapshot_of(const MvccStore& s) {
  std::string bytes;
  s.save(&bytes);
  wire::MvccSnapshot snapshot;
  if (!snapshot.ParseFromString(bytes)) return std::nullopt;
  return snapshot;
}

TEST(MvccStore, ASnapshotRestoresTheSameStoreAndHash) {
  MvccStore s;
  put(s, "a", "1");
  put(s, "b", "2");
  del(s, "a");
  put(s, "c", "3");
  ASSERT_TRUE(s.compact(3).ok());
  auto snap = snapshot_of(s);
  ASSERT_TRUE(snap);
  MvccStore copy;
  ASSERT_TRUE(copy.load(*snap));
  EXPECT_EQ(copy.revision(), s.revision());
  EXPECT_EQ(copy.compacted(), s.compacted());
  EXPECT_EQ(copy.hash(0), s.hash(0));
  EXPECT_EQ(copy.bytes(), s.bytes());
  put(copy, "d", "4");
  EXPECT_NE(copy.hash(0), s.hash(0)) << "the hash must see a difference";
  wire::MvccSnapshot bad = *snap;
  bad.set_compacted(bad.revision() + 1);
  EXPECT_FALSE(copy.load(bad));
}

// The lease index against the brute-force answer (every live key's lease),
// through moves between leases, ignore_lease, deletes, revocations and a
// snapshot.
TEST(MvccStore, EachLeaseKnowsItsLiveKeys) {
  auto any_lease = [](int64_t) { return true; };
  MvccStore s;
  auto brute = [&](int64_t lease) {
    std::vector<std::string> out;
    etcdserverpb::RangeRequest all;
    all.set_key(std::string(1, '\0'));
    all.set_range_end(std::string(1, '\0'));
    auto found = s.range(all);
    EXPECT_TRUE(found.ok()) << found.status();
    if (!found.ok()) return out;
    for (const auto& kv : found->kvs())
      if (kv.lease() == lease) out.push_back(kv.key());
    return out;
  };
  auto check = [&] {
    for (int64_t lease : {1, 2, 3})
      EXPECT_EQ(s.keys_of_lease(lease), brute(lease)) << lease;
  };
  ASSERT_TRUE(s.put(put_of("a", "v", 1), any_lease, nullptr).ok());
  ASSERT_TRUE(s.put(put_of("b", "v", 1), any_lease, nullptr).ok());
  ASSERT_TRUE(s.put(put_of("c", "v", 2), any_lease, nullptr).ok());
  check();
  ASSERT_TRUE(s.put(put_of("a", "w", 2), any_lease, nullptr).ok());  // moves to lease 2
  etcdserverpb::PutRequest keep = put_of("c", "x");
  keep.set_ignore_lease(true);  // stays on lease 2
  ASSERT_TRUE(s.put(keep, any_lease, nullptr).ok());
  ASSERT_TRUE(s.put(put_of("b", "w"), any_lease, nullptr).ok());  // detached
  check();
  EXPECT_EQ(s.keys_of_lease(2), (std::vector<std::string>{"a", "c"}));
  EXPECT_TRUE(s.keys_of_lease(1).empty());
  del(s, "c");
  ASSERT_TRUE(s.put(put_of("d", "v", 3), any_lease, nullptr).ok());
  check();
  auto snap = snapshot_of(s);
  ASSERT_TRUE(snap);
  MvccStore copy;
  ASSERT_TRUE(copy.load(*snap));
  for (int64_t lease : {1, 2, 3})
    EXPECT_EQ(copy.keys_of_lease(lease), s.keys_of_lease(lease));
  std::vector<mvccpb::Event> changes;
  s.delete_keys_of_lease(2, &changes);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].kv().key(), "a");
  check();
  EXPECT_EQ(s.keys_of_lease(3), (std::vector<std::string>{"d"}));
}

}  // namespace
}  // namespace synod
