#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "synod/wire/etcd_kv.pb.h"
#include "synod/wire/etcd_rpc.pb.h"
#include "synod/wire/etcd_store.pb.h"

namespace synod {

// etcd's limits, and ours where etcd has none.
inline constexpr size_t kMaxTxnOps = 128;                // etcd's --max-txn-ops default
inline constexpr size_t kMaxRequestBytes = 1536 * 1024;  // etcd's --max-request-bytes default
inline constexpr int64_t kMaxLeaseTtlSeconds = 9'000'000'000;

// Errors as etcd reports them: the gRPC code and the exact message its
// clients match on (etcd's rpctypes).
namespace etcd_error {
absl::Status compacted();        // a revision below the compaction point
absl::Status future_revision();  // a revision above the store's
absl::Status key_not_found();    // ignore_value / ignore_lease on a missing key
absl::Status lease_not_found();
absl::Status lease_exists();
absl::Status lease_ttl_too_large();
absl::Status too_many_txn_ops();
absl::Status duplicate_key();
absl::Status request_too_large();
absl::Status no_leader();
absl::Status space_exceeded();  // the store is at its quota
}  // namespace etcd_error

// A multi-version key-value store with etcd's semantics, in memory and
// deterministic: what every replica applies, in log order.
//
// Each change made by one request (a put, a delete, a whole transaction)
// gets the next revision of the store; each key remembers, per change, its
// create_revision, mod_revision, version and lease, until compaction drops
// what no read at or after the compaction point can see. A delete leaves a
// tombstone, so a read at an earlier revision still sees the key.
class MvccStore {
 public:
  // Leases the store knows of: asked before a put attaches one. The lease
  // table lives beside the store (EtcdStateMachine), which owns both.
  using LeaseExists = std::function<bool(int64_t lease)>;

  MvccStore() = default;
  // Moves keep the index valid (map nodes move whole); copies would not.
  MvccStore(MvccStore&&) = default;
  MvccStore& operator=(MvccStore&&) = default;
  MvccStore(const MvccStore&) = delete;
  MvccStore& operator=(const MvccStore&) = delete;

  int64_t revision() const { return revision_; }
  int64_t compacted() const { return compacted_; }

  absl::StatusOr<etcdserverpb::RangeResponse> range(const etcdserverpb::RangeRequest& r) const;

  // Writes. Each either fails and changes nothing, or changes the store
  // under one new revision and appends what it did to `changes`.
  absl::StatusOr<etcdserverpb::PutResponse> put(const etcdserverpb::PutRequest& r,
                                                const LeaseExists& lease_exists,
                                                std::vector<mvccpb::Event>* changes);
  absl::StatusOr<etcdserverpb::DeleteRangeResponse> delete_range(
      const etcdserverpb::DeleteRangeRequest& r, std::vector<mvccpb::Event>* changes);
  absl::StatusOr<etcdserverpb::TxnResponse> txn(const etcdserverpb::TxnRequest& r,
                                                const LeaseExists& lease_exists,
                                                std::vector<mvccpb::Event>* changes);
  absl::Status compact(int64_t revision);
  // A transaction without writes at any depth, served without a revision.
  absl::StatusOr<etcdserverpb::TxnResponse> read_txn(const etcdserverpb::TxnRequest& r) const;

  // Deletes every key attached to `lease` (its revocation), under one
  // revision if there were any.
  void delete_keys_of_lease(int64_t lease, std::vector<mvccpb::Event>* changes);
  // The live keys attached to `lease`, sorted.
  std::vector<std::string> keys_of_lease(int64_t lease) const;

  // What a watch starting in the past replays, a page at a time: the
  // changes to keys in [key, range_end) from revision `from` on, in
  // revision order. A page ends at a revision boundary once it holds
  // `max_events` events or has looked at `max_scanned` changes (the first
  // revision comes whole, however large), so a watch far behind never holds
  // the loop for the length of the history. `next` is where the next page
  // starts: revision() + 1 once nothing is left. `from` must not be below
  // the compaction point.
  struct ChangesPage {
    std::vector<mvccpb::Event> events;
    int64_t next = 0;
  };
  ChangesPage changes_page(const std::string& key, const std::string& range_end, int64_t from,
                           size_t max_events, size_t max_scanned) const;
  // Every page at once (tests, and small histories).
  std::vector<mvccpb::Event> changes_since(const std::string& key, const std::string& range_end,
                                           int64_t from) const;

  // A hash of every version at or below `revision` (0: all) and above the
  // compaction point: equal on replicas that applied the same log (HashKV).
  uint32_t hash(int64_t revision) const;
  // The same hash a slice at a time, so a large store never holds the loop
  // for the whole of it: writes between slices come after `revision` and
  // change nothing; a compaction between them starts it over.
  struct HashInProgress {
    int64_t upto = 0;
    int64_t compacted = 0;  // the compaction point it began under
    uint32_t crc = 0;
    std::string next_key;  // where the next slice starts
    bool started = false, done = false;
  };
  HashInProgress begin_hash(int64_t revision) const;
  // Hashes at least one key and about `max_versions` versions more.
  void continue_hash(HashInProgress& h, size_t max_versions) const;
  // Bytes held: keys, values and per-version overhead (Status's dbSize).
  int64_t bytes() const { return bytes_; }
  size_t live_keys() const;

  // Snapshot: every version kept, and the two revisions. Appends a
  // serialized wire::MvccSnapshot to `out`, one key at a time: a snapshot of
  // a large store never exists twice over as a tree of messages.
  void save(std::string* out) const;
  bool load(const wire::MvccSnapshot& in);

  // True when `key` falls in etcd's range [key, range_end): range_end empty
  // is the key alone, "\0" is every key from `start` on.
  static bool in_range(const std::string& key, const std::string& start,
                       const std::string& range_end);

 private:
  struct Version {
    int64_t mod_revision = 0;
    int64_t sub = 0;  // order among the changes of one revision
    int64_t create_revision = 0;
    int64_t version = 0;  // 0: a tombstone
    int64_t lease = 0;
    std::string value;
  };
  using History = std::vector<Version>;  // ascending by (mod_revision, sub)

  // The version of a key visible at `revision`, or null if absent then.
  static const Version* at(const History& h, int64_t revision);
  using Keys = std::map<std::string, History>;
  // A stored key (live or not), or keys_.end(): through the index.
  Keys::const_iterator find(const std::string& key) const;
  // The key's entry, created with an empty history (and indexed) if new.
  Keys::iterator entry_of(const std::string& key);
  History& history_of(const std::string& key) { return entry_of(key)->second; }
  static mvccpb::Event event_of(const std::string& key, const History& h, size_t i);
  ChangesPage key_changes(const std::string& key, int64_t from, size_t max_events) const;
  ChangesPage range_changes(const std::string& key, const std::string& range_end, int64_t from,
                            size_t max_events, size_t max_scanned) const;
  void log_change(const std::string& stored_key, int64_t revision, int64_t sub);
  void rebuild_changelog();
  // Its latest version, or null if that is a tombstone.
  static const Version* live(const History& h);
  const Version* latest(const std::string& key) const;
  // The stored keys (live or not) in etcd's range [key, range_end).
  using Span = std::pair<Keys::const_iterator, Keys::const_iterator>;
  Span span(const std::string& key, const std::string& range_end) const;
  static mvccpb::KeyValue to_kv(const std::string& key, const Version& v, bool keys_only = false);

  // One write request in progress: the changes it made so far share one
  // revision (revision_ + 1) and are visible to the rest of the request.
  struct Batch {
    int64_t sub = 0;
    std::vector<mvccpb::Event>* changes;
  };
  void write_put(Batch& b, const std::string& key, std::string value, int64_t lease);
  int64_t write_delete(Batch& b, const std::string& key, const std::string& range_end,
                       std::vector<mvccpb::KeyValue>* prev);
  void finish(Batch& b);

  absl::StatusOr<etcdserverpb::RangeResponse> range_at(const etcdserverpb::RangeRequest& r,
                                                       int64_t current) const;
  etcdserverpb::RangeResponse range_in_key_order(const etcdserverpb::RangeRequest& r, int64_t rev,
                                                 int64_t current, bool descending) const;
  absl::Status check_put(const etcdserverpb::PutRequest& r, const LeaseExists& lease_exists) const;
  etcdserverpb::PutResponse apply_put(Batch& b, const etcdserverpb::PutRequest& r);
  etcdserverpb::DeleteRangeResponse apply_delete(Batch& b,
                                                 const etcdserverpb::DeleteRangeRequest& r);
  bool compare(const etcdserverpb::Compare& c) const;
  // What one transaction's path writes: a key is put at most once, and
  // never inside a range the same path deletes.
  struct TxnWrites {
    std::set<std::string> puts;
    std::vector<std::pair<std::string, std::string>> deletes;
  };
  void choose_path(const etcdserverpb::TxnRequest& r, std::vector<bool>* path) const;
  absl::Status check_txn(const etcdserverpb::TxnRequest& r, const LeaseExists& lease_exists,
                         const std::vector<bool>& path, size_t* step, TxnWrites* writes) const;
  etcdserverpb::TxnResponse apply_txn(Batch& b, const etcdserverpb::TxnRequest& r,
                                      const std::vector<bool>& path, size_t* step);

  void account(const std::string& key, const Version& v, int sign);
  // Moves `key`'s live version from lease `from` to lease `to` in the
  // index (0: none).
  void relink(const std::string& key, int64_t from, int64_t to);
  etcdserverpb::TxnResponse read_path(const etcdserverpb::TxnRequest& r,
                                      const std::vector<bool>& path, size_t* step) const;

  Keys keys_;
  // Every key of keys_, hashed: a put or a compare on one key finds it
  // without the ordered map's walk of string compares, each a cache miss
  // in a large store (the hottest function of a put before). Only looked
  // up, never iterated, so its order reaches nothing.
  std::unordered_map<std::string_view, Keys::iterator> index_;
  // The live keys attached to each lease: a revocation touches its own keys
  // only, not the whole store.
  std::map<int64_t, std::set<std::string>> by_lease_;
  // Every change kept (at or after the compaction point), in revision
  // order, naming its key (keys_'s own string: map nodes never move): a
  // watch on a range pages through this, not through every key's history.
  struct Change {
    int64_t revision;
    int64_t sub;
    const std::string* key;
  };
  std::deque<Change> changelog_;
  int64_t revision_ = 1;  // etcd starts at 1: an empty store has revision 1
  int64_t compacted_ = 0;
  int64_t bytes_ = 0;
};

}  // namespace synod
