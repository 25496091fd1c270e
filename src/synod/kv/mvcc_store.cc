#include "synod/kv/mvcc_store.h"

#include <algorithm>
#include <limits>
#include <set>

#include "synod/base/assert.h"
#include "synod/base/crc32c.h"

namespace synod {

namespace etcd_error {
// The messages are etcd's own (its rpctypes package): clients compare them.
absl::Status compacted() {
  return absl::OutOfRangeError("etcdserver: mvcc: required revision has been compacted");
}
absl::Status future_revision() {
  return absl::OutOfRangeError("etcdserver: mvcc: required revision is a future revision");
}
absl::Status key_not_found() {
  return absl::InvalidArgumentError("etcdserver: key not found");
}
absl::Status lease_not_found() {
  return absl::NotFoundError("etcdserver: requested lease not found");
}
absl::Status lease_exists() {
  return absl::FailedPreconditionError("etcdserver: lease already exists");
}
absl::Status lease_ttl_too_large() {
  return absl::OutOfRangeError("etcdserver: too large lease TTL");
}
absl::Status too_many_txn_ops() {
  return absl::InvalidArgumentError("etcdserver: too many operations in txn request");
}
absl::Status duplicate_key() {
  return absl::InvalidArgumentError("etcdserver: duplicate key given in txn request");
}
absl::Status request_too_large() {
  return absl::InvalidArgumentError("etcdserver: request is too large");
}
absl::Status no_leader() {
  return absl::UnavailableError("etcdserver: no leader");
}
absl::Status space_exceeded() {
  return absl::ResourceExhaustedError("etcdserver: mvcc: database space exceeded");
}
}  // namespace etcd_error

namespace {

// Per-version bookkeeping counted in bytes(), beside key and value.
constexpr int64_t kVersionOverheadBytes = 48;

bool is_all_from(const std::string& range_end) {
  return range_end.size() == 1 && range_end[0] == '\0';
}

}  // namespace

bool MvccStore::in_range(const std::string& key, const std::string& start,
                         const std::string& range_end) {
  if (range_end.empty()) return key == start;
  if (is_all_from(range_end)) return key >= start;
  return key >= start && key < range_end;
}

const MvccStore::Version* MvccStore::at(const History& h, int64_t revision) {
  // The last version at or below `revision`.
  auto it = std::upper_bound(h.begin(), h.end(), revision,
                             [](int64_t rev, const Version& v) { return rev < v.mod_revision; });
  if (it == h.begin()) return nullptr;
  const Version& v = *std::prev(it);
  return v.version == 0 ? nullptr : &v;
}

const MvccStore::Version* MvccStore::live(const History& h) {
  return h.empty() || h.back().version == 0 ? nullptr : &h.back();
}

MvccStore::Keys::const_iterator MvccStore::find(const std::string& key) const {
  auto hit = index_.find(key);
  return hit == index_.end() ? keys_.end() : Keys::const_iterator(hit->second);
}

MvccStore::Keys::iterator MvccStore::entry_of(const std::string& key) {
  // The hash index first: the ordered map's walk of string compares only
  // for a key it has never held.
  if (auto hit = index_.find(key); hit != index_.end()) return hit->second;
  auto [it, created] = keys_.try_emplace(key);
  SYNOD_ASSERT(created);
  index_.emplace(it->first, it);
  return it;
}

const MvccStore::Version* MvccStore::latest(const std::string& key) const {
  auto it = find(key);
  return it == keys_.end() ? nullptr : live(it->second);
}

MvccStore::Span MvccStore::span(const std::string& key, const std::string& range_end) const {
  if (range_end.empty()) {
    auto it = find(key);
    return it == keys_.end() ? Span{it, it} : Span{it, std::next(it)};
  }
  auto first = keys_.lower_bound(key);
  if (is_all_from(range_end)) return {first, keys_.end()};
  if (range_end <= key) return {first, first};  // an empty range, as etcd reads it
  return {first, keys_.lower_bound(range_end)};
}

mvccpb::KeyValue MvccStore::to_kv(const std::string& key, const Version& v, bool keys_only) {
  mvccpb::KeyValue kv;
  kv.set_key(key);
  kv.set_create_revision(v.create_revision);
  kv.set_mod_revision(v.mod_revision);
  kv.set_version(v.version);
  kv.set_lease(v.lease);
  if (!keys_only) kv.set_value(v.value);
  return kv;
}

void MvccStore::account(const std::string& key, const Version& v, int sign) {
  bytes_ += sign * static_cast<int64_t>(key.size() + v.value.size() + kVersionOverheadBytes);
}

// ---- reads -------------------------------------------------------------------

absl::StatusOr<etcdserverpb::RangeResponse> MvccStore::range(
    const etcdserverpb::RangeRequest& r) const {
  return range_at(r, revision_);
}

absl::StatusOr<etcdserverpb::RangeResponse> MvccStore::range_at(const etcdserverpb::RangeRequest& r,
                                                                int64_t current) const {
  int64_t rev = r.revision() > 0 ? r.revision() : current;
  if (rev > current) return etcd_error::future_revision();
  if (rev < compacted_) return etcd_error::compacted();

  auto order = r.sort_order();
  if (order == etcdserverpb::RangeRequest::NONE &&
      r.sort_target() != etcdserverpb::RangeRequest::KEY)
    order = etcdserverpb::RangeRequest::ASCEND;  // as etcd: a target alone means ascending
  bool filtered = r.min_mod_revision() > 0 || r.max_mod_revision() > 0 ||
                  r.min_create_revision() > 0 || r.max_create_revision() > 0;
  if (!filtered && r.sort_target() == etcdserverpb::RangeRequest::KEY)
    return range_in_key_order(r, rev, current, order == etcdserverpb::RangeRequest::DESCEND);

  std::vector<mvccpb::KeyValue> found;
  auto visit = [&](const std::string& key, const History& h) {
    const Version* v = at(h, rev);
    if (!v) return;
    found.push_back(to_kv(key, *v, r.keys_only()));
  };
  for (auto [it, end] = span(r.key(), r.range_end()); it != end; ++it)
    visit(it->first, it->second);

  etcdserverpb::RangeResponse out;
  out.set_count(static_cast<int64_t>(found.size()));
  auto filtered_out = [&](const mvccpb::KeyValue& kv) {
    return (r.min_mod_revision() > 0 && kv.mod_revision() < r.min_mod_revision()) ||
           (r.max_mod_revision() > 0 && kv.mod_revision() > r.max_mod_revision()) ||
           (r.min_create_revision() > 0 && kv.create_revision() < r.min_create_revision()) ||
           (r.max_create_revision() > 0 && kv.create_revision() > r.max_create_revision());
  };
  found.erase(std::remove_if(found.begin(), found.end(), filtered_out), found.end());

  if (order != etcdserverpb::RangeRequest::NONE) {
    auto less = [&](const mvccpb::KeyValue& a, const mvccpb::KeyValue& b) {
      switch (r.sort_target()) {
        case etcdserverpb::RangeRequest::VERSION:
          return a.version() < b.version();
        case etcdserverpb::RangeRequest::CREATE:
          return a.create_revision() < b.create_revision();
        case etcdserverpb::RangeRequest::MOD:
          return a.mod_revision() < b.mod_revision();
        case etcdserverpb::RangeRequest::VALUE:
          return a.value() < b.value();
        default:
          return a.key() < b.key();
      }
    };
    std::stable_sort(found.begin(), found.end(), less);
    if (order == etcdserverpb::RangeRequest::DESCEND) std::reverse(found.begin(), found.end());
  }

  if (r.limit() > 0 && static_cast<int64_t>(found.size()) > r.limit()) {
    found.resize(static_cast<size_t>(r.limit()));
    out.set_more(true);
  }
  if (!r.count_only())
    for (auto& kv : found)
      *out.add_kvs() = std::move(kv);
  out.mutable_header()->set_revision(current);
  return out;
}

// The keys' own order, forwards or backwards, with nothing to filter: count
// every key, but build only the `limit` returned (a range of a million keys
// with limit 10 builds ten).
etcdserverpb::RangeResponse MvccStore::range_in_key_order(const etcdserverpb::RangeRequest& r,
                                                          int64_t rev, int64_t current,
                                                          bool descending) const {
  etcdserverpb::RangeResponse out;
  size_t wanted = r.count_only()  ? 0
                  : r.limit() > 0 ? static_cast<size_t>(r.limit())
                                  : std::numeric_limits<size_t>::max();
  int64_t count = 0;
  auto visit = [&](const std::string& key, const History& h) {
    const Version* v = at(h, rev);
    if (!v) return;
    if (static_cast<size_t>(out.kvs_size()) < wanted)
      *out.add_kvs() = to_kv(key, *v, r.keys_only());
    ++count;
  };
  auto [first, end] = span(r.key(), r.range_end());
  if (descending) {
    for (auto it = end; it != first;) {
      --it;
      visit(it->first, it->second);
    }
  } else {
    for (auto it = first; it != end; ++it)
      visit(it->first, it->second);
  }
  out.set_count(count);
  out.set_more(r.limit() > 0 && count > r.limit());
  out.mutable_header()->set_revision(current);
  return out;
}

std::vector<std::string> MvccStore::keys_of_lease(int64_t lease) const {
  auto it = by_lease_.find(lease);
  if (it == by_lease_.end()) return {};
  return {it->second.begin(), it->second.end()};
}

void MvccStore::relink(const std::string& key, int64_t from, int64_t to) {
  if (from != 0) {
    auto it = by_lease_.find(from);
    SYNOD_ASSERT(it != by_lease_.end() && it->second.erase(key) == 1);
    if (it->second.empty()) by_lease_.erase(it);
  }
  if (to != 0) by_lease_[to].insert(key);
}

size_t MvccStore::live_keys() const {
  size_t n = 0;
  for (const auto& [key, h] : keys_)
    n += live(h) != nullptr;
  return n;
}

mvccpb::Event MvccStore::event_of(const std::string& key, const History& h, size_t i) {
  const Version& v = h[i];
  mvccpb::Event e;
  if (v.version == 0) {
    e.set_type(mvccpb::Event::DELETE);
    e.mutable_kv()->set_key(key);
    e.mutable_kv()->set_mod_revision(v.mod_revision);
  } else {
    e.set_type(mvccpb::Event::PUT);
    *e.mutable_kv() = to_kv(key, v);
  }
  if (i > 0 && h[i - 1].version != 0) *e.mutable_prev_kv() = to_kv(key, h[i - 1]);
  return e;
}

MvccStore::ChangesPage MvccStore::changes_page(const std::string& key, const std::string& range_end,
                                               int64_t from, size_t max_events,
                                               size_t max_scanned) const {
  SYNOD_ASSERT(max_events > 0);
  SYNOD_ASSERT(max_scanned > 0);
  // One key: its own history is all there is to look at.
  if (range_end.empty()) return key_changes(key, from, max_events);
  return range_changes(key, range_end, from, max_events, max_scanned);
}

MvccStore::ChangesPage MvccStore::key_changes(const std::string& key, int64_t from,
                                              size_t max_events) const {
  ChangesPage page;
  page.next = revision_ + 1;
  auto it = find(key);
  if (it == keys_.end()) return page;
  const History& h = it->second;
  auto first = std::lower_bound(h.begin(), h.end(), from,
                                [](const Version& v, int64_t rev) { return v.mod_revision < rev; });
  for (auto v = first; v != h.end(); ++v) {
    if (page.events.size() >= max_events && v->mod_revision != std::prev(v)->mod_revision) {
      page.next = v->mod_revision;
      return page;
    }
    page.events.push_back(event_of(key, h, static_cast<size_t>(v - h.begin())));
  }
  return page;
}

MvccStore::ChangesPage MvccStore::range_changes(const std::string& key,
                                                const std::string& range_end, int64_t from,
                                                size_t max_events, size_t max_scanned) const {
  ChangesPage page;
  page.next = revision_ + 1;
  auto it = std::lower_bound(changelog_.begin(), changelog_.end(), from,
                             [](const Change& c, int64_t rev) { return c.revision < rev; });
  size_t scanned = 0;
  for (; it != changelog_.end(); ++it) {
    bool new_revision = it != changelog_.begin() && it->revision != std::prev(it)->revision;
    if (new_revision && (page.events.size() >= max_events || scanned >= max_scanned)) {
      page.next = it->revision;
      return page;
    }
    ++scanned;
    if (!in_range(*it->key, key, range_end)) continue;
    const History& h = find(*it->key)->second;
    auto v = std::lower_bound(h.begin(), h.end(), std::pair{it->revision, it->sub},
                              [](const Version& v, std::pair<int64_t, int64_t> at) {
                                return std::pair{v.mod_revision, v.sub} < at;
                              });
    SYNOD_ASSERT(v != h.end() && v->mod_revision == it->revision && v->sub == it->sub);
    page.events.push_back(event_of(*it->key, h, static_cast<size_t>(v - h.begin())));
  }
  return page;
}

std::vector<mvccpb::Event> MvccStore::changes_since(const std::string& key,
                                                    const std::string& range_end,
                                                    int64_t from) const {
  std::vector<mvccpb::Event> out;
  while (from <= revision_) {
    ChangesPage page = changes_page(key, range_end, from, 1 << 16, 1 << 20);
    for (auto& e : page.events)
      out.push_back(std::move(e));
    SYNOD_ASSERT(page.next > from);  // every page moves on
    from = page.next;
  }
  return out;
}

void MvccStore::log_change(const std::string& stored_key, int64_t revision, int64_t sub) {
  bool in_order = changelog_.empty() || changelog_.back().revision < revision ||
                  (changelog_.back().revision == revision && changelog_.back().sub < sub);
  SYNOD_ASSERT(in_order);
  changelog_.push_back({revision, sub, &stored_key});
}

// After a snapshot is loaded: every version kept, in revision order.
void MvccStore::rebuild_changelog() {
  changelog_.clear();
  std::vector<Change> all;
  for (const auto& [key, h] : keys_)
    for (const Version& v : h)
      if (v.mod_revision >= compacted_) all.push_back({v.mod_revision, v.sub, &key});
  std::sort(all.begin(), all.end(), [](const Change& a, const Change& b) {
    return std::pair{a.revision, a.sub} < std::pair{b.revision, b.sub};
  });
  changelog_.assign(all.begin(), all.end());
}

uint32_t MvccStore::hash(int64_t revision) const {
  HashInProgress h = begin_hash(revision);
  continue_hash(h, std::numeric_limits<size_t>::max());
  SYNOD_ASSERT(h.done);
  return h.crc;
}

MvccStore::HashInProgress MvccStore::begin_hash(int64_t revision) const {
  HashInProgress h;
  h.upto = revision > 0 ? revision : revision_;
  h.compacted = compacted_;
  return h;
}

void MvccStore::continue_hash(HashInProgress& h, size_t max_versions) const {
  if (h.done) return;
  if (h.compacted != compacted_) h = begin_hash(h.upto);  // compacted meanwhile: start over
  auto it = h.started ? keys_.lower_bound(h.next_key) : keys_.begin();
  h.started = true;
  size_t hashed = 0;
  for (; it != keys_.end(); ++it) {
    if (hashed >= max_versions) {
      h.next_key = it->first;
      return;
    }
    for (const Version& v : it->second) {
      if (v.mod_revision > h.upto || v.mod_revision <= h.compacted) continue;
      h.crc = crc32c(it->first, h.crc);
      std::string fixed(reinterpret_cast<const char*>(&v.mod_revision), 8);
      fixed.append(reinterpret_cast<const char*>(&v.version), 8);
      fixed.append(reinterpret_cast<const char*>(&v.lease), 8);
      h.crc = crc32c(fixed, h.crc);
      h.crc = crc32c(v.value, h.crc);
    }
    hashed += it->second.size();
  }
  h.done = true;
}

// ---- writes ------------------------------------------------------------------

void MvccStore::write_put(Batch& b, const std::string& key, std::string value, int64_t lease) {
  int64_t rev = revision_ + 1;
  auto entry = entry_of(key);
  History& h = entry->second;
  Version v;
  v.mod_revision = rev;
  v.sub = b.sub++;
  log_change(entry->first, v.mod_revision, v.sub);
  const Version* prev = live(h);
  v.create_revision = prev ? prev->create_revision : rev;
  v.version = prev ? prev->version + 1 : 1;
  v.lease = lease;
  v.value = std::move(value);
  mvccpb::Event e;
  e.set_type(mvccpb::Event::PUT);
  *e.mutable_kv() = to_kv(key, v);
  if (prev) *e.mutable_prev_kv() = to_kv(key, *prev);
  account(key, v, +1);
  relink(key, prev ? prev->lease : 0, v.lease);
  h.push_back(std::move(v));
  if (b.changes) b.changes->push_back(std::move(e));
}

int64_t MvccStore::write_delete(Batch& b, const std::string& key, const std::string& range_end,
                                std::vector<mvccpb::KeyValue>* prev) {
  int64_t rev = revision_ + 1;
  std::vector<std::string> doomed;
  for (auto [it, end] = span(key, range_end); it != end; ++it)
    if (live(it->second)) doomed.push_back(it->first);
  for (const std::string& k : doomed) {
    auto entry = index_.at(k);  // just seen in span()
    History& h = entry->second;
    mvccpb::Event e;
    e.set_type(mvccpb::Event::DELETE);
    e.mutable_kv()->set_key(k);
    e.mutable_kv()->set_mod_revision(rev);
    *e.mutable_prev_kv() = to_kv(k, h.back());
    if (prev) prev->push_back(e.prev_kv());
    Version tombstone;
    tombstone.mod_revision = rev;
    tombstone.sub = b.sub++;
    log_change(entry->first, tombstone.mod_revision, tombstone.sub);
    account(k, tombstone, +1);
    relink(k, h.back().lease, 0);
    h.push_back(std::move(tombstone));
    if (b.changes) b.changes->push_back(std::move(e));
  }
  return static_cast<int64_t>(doomed.size());
}

void MvccStore::finish(Batch& b) {
  if (b.sub > 0) ++revision_;  // a request that changed nothing takes no revision
}

absl::Status MvccStore::check_put(const etcdserverpb::PutRequest& r,
                                  const LeaseExists& lease_exists) const {
  if (r.key().empty()) return absl::InvalidArgumentError("etcdserver: key is not provided");
  if ((r.ignore_value() || r.ignore_lease()) && !latest(r.key()))
    return etcd_error::key_not_found();
  if (r.ignore_value() && !r.value().empty())
    return absl::InvalidArgumentError("etcdserver: value is provided");
  if (r.ignore_lease() && r.lease() != 0)
    return absl::InvalidArgumentError("etcdserver: lease is provided");
  if (!r.ignore_lease() && r.lease() != 0 && !lease_exists(r.lease()))
    return etcd_error::lease_not_found();
  return absl::OkStatus();
}

etcdserverpb::PutResponse MvccStore::apply_put(Batch& b, const etcdserverpb::PutRequest& r) {
  etcdserverpb::PutResponse out;
  const Version* prev = latest(r.key());
  // Checked before: the key exists, and nothing in the same request deleted it.
  SYNOD_ASSERT(prev || (!r.ignore_value() && !r.ignore_lease()));
  if (r.prev_kv() && prev) *out.mutable_prev_kv() = to_kv(r.key(), *prev);
  std::string value = r.ignore_value() ? prev->value : r.value();
  int64_t lease = r.ignore_lease() ? prev->lease : r.lease();
  write_put(b, r.key(), std::move(value), lease);
  return out;
}

etcdserverpb::DeleteRangeResponse MvccStore::apply_delete(
    Batch& b, const etcdserverpb::DeleteRangeRequest& r) {
  etcdserverpb::DeleteRangeResponse out;
  std::vector<mvccpb::KeyValue> prev;
  out.set_deleted(write_delete(b, r.key(), r.range_end(), r.prev_kv() ? &prev : nullptr));
  for (auto& kv : prev)
    *out.add_prev_kvs() = std::move(kv);
  return out;
}

absl::StatusOr<etcdserverpb::PutResponse> MvccStore::put(const etcdserverpb::PutRequest& r,
                                                         const LeaseExists& lease_exists,
                                                         std::vector<mvccpb::Event>* changes) {
  if (auto s = check_put(r, lease_exists); !s.ok()) return s;
  Batch b{0, changes};
  etcdserverpb::PutResponse out = apply_put(b, r);
  finish(b);
  out.mutable_header()->set_revision(revision_);
  return out;
}

absl::StatusOr<etcdserverpb::DeleteRangeResponse> MvccStore::delete_range(
    const etcdserverpb::DeleteRangeRequest& r, std::vector<mvccpb::Event>* changes) {
  if (r.key().empty()) return absl::InvalidArgumentError("etcdserver: key is not provided");
  Batch b{0, changes};
  auto out = apply_delete(b, r);
  finish(b);
  out.mutable_header()->set_revision(revision_);
  return out;
}

void MvccStore::delete_keys_of_lease(int64_t lease, std::vector<mvccpb::Event>* changes) {
  Batch b{0, changes};
  for (const std::string& key : keys_of_lease(lease))
    write_delete(b, key, "", nullptr);
  finish(b);
}

// ---- transactions ------------------------------------------------------------

bool MvccStore::compare(const etcdserverpb::Compare& c) const {
  auto holds = [&](const Version* v) {
    int64_t have = 0, want = 0;
    switch (c.target()) {
      case etcdserverpb::Compare::VALUE: {
        if (!v) return false;  // a value compares only against a key that exists
        int cmp = v->value.compare(c.value());
        have = cmp;
        want = 0;
        break;
      }
      case etcdserverpb::Compare::VERSION:
        have = v ? v->version : 0;
        want = c.version();
        break;
      case etcdserverpb::Compare::CREATE:
        have = v ? v->create_revision : 0;
        want = c.create_revision();
        break;
      case etcdserverpb::Compare::MOD:
        have = v ? v->mod_revision : 0;
        want = c.mod_revision();
        break;
      case etcdserverpb::Compare::LEASE:
        have = v ? v->lease : 0;
        want = c.lease();
        break;
      default:
        return false;
    }
    switch (c.result()) {
      case etcdserverpb::Compare::EQUAL:
        return have == want;
      case etcdserverpb::Compare::NOT_EQUAL:
        return have != want;
      case etcdserverpb::Compare::GREATER:
        return have > want;
      case etcdserverpb::Compare::LESS:
        return have < want;
      default:
        return false;
    }
  };
  if (c.range_end().empty()) return holds(latest(c.key()));
  // Over a range: every key in it must satisfy the comparison; a range with
  // no key compares as one absent key does, as etcd's does (a value compare
  // fails, version > 0 is false, version = 0 holds).
  bool any = false;
  for (auto [it, end] = span(c.key(), c.range_end()); it != end; ++it) {
    const Version* v = live(it->second);
    if (!v) continue;
    any = true;
    if (!holds(v)) return false;
  }
  return any || holds(nullptr);
}

// etcd decides a transaction's whole path (which branch of it and of each
// nested transaction runs) against the store as it was before it, then
// checks that path, then applies it; applying cannot fail.
void MvccStore::choose_path(const etcdserverpb::TxnRequest& r, std::vector<bool>* path) const {
  bool ok = std::all_of(r.compare().begin(), r.compare().end(),
                        [&](const etcdserverpb::Compare& c) { return compare(c); });
  path->push_back(ok);
  for (const etcdserverpb::RequestOp& op : ok ? r.success() : r.failure())
    if (op.has_request_txn()) choose_path(op.request_txn(), path);
}

absl::Status MvccStore::check_txn(const etcdserverpb::TxnRequest& r,
                                  const LeaseExists& lease_exists, const std::vector<bool>& path,
                                  size_t* step, TxnWrites* writes) const {
  if (static_cast<size_t>(r.compare_size()) > kMaxTxnOps ||
      static_cast<size_t>(r.success_size()) > kMaxTxnOps ||
      static_cast<size_t>(r.failure_size()) > kMaxTxnOps)
    return etcd_error::too_many_txn_ops();
  bool ok = path.at((*step)++);
  for (const etcdserverpb::RequestOp& op : ok ? r.success() : r.failure()) {
    switch (op.request_case()) {
      case etcdserverpb::RequestOp::kRequestRange: {
        int64_t rev = op.request_range().revision();
        if (rev > revision_) return etcd_error::future_revision();
        if (rev > 0 && rev < compacted_) return etcd_error::compacted();
        break;
      }
      case etcdserverpb::RequestOp::kRequestPut: {
        const etcdserverpb::PutRequest& put = op.request_put();
        if (auto s = check_put(put, lease_exists); !s.ok()) return s;
        // Within one path a key is written at most once (etcd's rule).
        if (!writes->puts.insert(put.key()).second) return etcd_error::duplicate_key();
        break;
      }
      case etcdserverpb::RequestOp::kRequestDeleteRange:
        if (op.request_delete_range().key().empty())
          return absl::InvalidArgumentError("etcdserver: key is not provided");
        writes->deletes.emplace_back(op.request_delete_range().key(),
                                     op.request_delete_range().range_end());
        break;
      case etcdserverpb::RequestOp::kRequestTxn:
        if (auto s = check_txn(op.request_txn(), lease_exists, path, step, writes); !s.ok())
          return s;
        break;
      case etcdserverpb::RequestOp::REQUEST_NOT_SET:
        break;
    }
  }
  return absl::OkStatus();
}

etcdserverpb::TxnResponse MvccStore::apply_txn(Batch& b, const etcdserverpb::TxnRequest& r,
                                               const std::vector<bool>& path, size_t* step) {
  etcdserverpb::TxnResponse out;
  bool ok = path.at((*step)++);
  out.set_succeeded(ok);
  for (const etcdserverpb::RequestOp& op : ok ? r.success() : r.failure()) {
    etcdserverpb::ResponseOp* res = out.add_responses();
    switch (op.request_case()) {
      case etcdserverpb::RequestOp::kRequestRange: {
        // Reads in a transaction see its earlier writes.
        auto read = range_at(op.request_range(), revision_ + (b.sub > 0 ? 1 : 0));
        SYNOD_ASSERT(read.ok());  // checked
        *res->mutable_response_range() = std::move(*read);
        break;
      }
      case etcdserverpb::RequestOp::kRequestPut:
        *res->mutable_response_put() = apply_put(b, op.request_put());
        break;
      case etcdserverpb::RequestOp::kRequestDeleteRange:
        *res->mutable_response_delete_range() = apply_delete(b, op.request_delete_range());
        break;
      case etcdserverpb::RequestOp::kRequestTxn:
        *res->mutable_response_txn() = apply_txn(b, op.request_txn(), path, step);
        break;
      case etcdserverpb::RequestOp::REQUEST_NOT_SET:
        break;
    }
  }
  return out;
}

absl::StatusOr<etcdserverpb::TxnResponse> MvccStore::txn(const etcdserverpb::TxnRequest& r,
                                                         const LeaseExists& lease_exists,
                                                         std::vector<mvccpb::Event>* changes) {
  std::vector<bool> path;
  choose_path(r, &path);
  size_t step = 0;
  TxnWrites writes;
  if (auto s = check_txn(r, lease_exists, path, &step, &writes); !s.ok()) return s;
  for (const std::string& key : writes.puts)
    for (const auto& [start, end] : writes.deletes)
      if (in_range(key, start, end)) return etcd_error::duplicate_key();
  Batch b{0, changes};
  step = 0;
  etcdserverpb::TxnResponse out = apply_txn(b, r, path, &step);
  finish(b);
  out.mutable_header()->set_revision(revision_);
  return out;
}

absl::StatusOr<etcdserverpb::TxnResponse> MvccStore::read_txn(
    const etcdserverpb::TxnRequest& r) const {
  std::vector<bool> path;
  choose_path(r, &path);
  size_t step = 0;
  TxnWrites writes;
  if (auto s = check_txn(
          r, [](int64_t) { return false; }, path, &step, &writes);
      !s.ok())
    return s;
  step = 0;
  etcdserverpb::TxnResponse out = read_path(r, path, &step);
  out.mutable_header()->set_revision(revision_);
  return out;
}

etcdserverpb::TxnResponse MvccStore::read_path(const etcdserverpb::TxnRequest& r,
                                               const std::vector<bool>& path, size_t* step) const {
  etcdserverpb::TxnResponse out;
  bool ok = path.at((*step)++);
  out.set_succeeded(ok);
  for (const etcdserverpb::RequestOp& op : ok ? r.success() : r.failure()) {
    etcdserverpb::ResponseOp* res = out.add_responses();
    SYNOD_ASSERT_MSG(!op.has_request_put() && !op.has_request_delete_range(),
                     "read_txn given a transaction that writes");
    if (op.has_request_range()) {
      auto read = range_at(op.request_range(), revision_);
      SYNOD_ASSERT(read.ok());  // checked
      *res->mutable_response_range() = std::move(*read);
    } else if (op.has_request_txn()) {
      *res->mutable_response_txn() = read_path(op.request_txn(), path, step);
    }
  }
  return out;
}

absl::Status MvccStore::compact(int64_t revision) {
  if (revision <= compacted_) return etcd_error::compacted();
  if (revision > revision_) return etcd_error::future_revision();
  // The changelog keeps what a watch from `revision` on can replay; its
  // changes at `revision` itself are set aside while their keys may go.
  while (!changelog_.empty() && changelog_.front().revision < revision)
    changelog_.pop_front();
  std::vector<std::pair<std::string, int64_t>> at_revision;
  while (!changelog_.empty() && changelog_.front().revision == revision) {
    at_revision.emplace_back(*changelog_.front().key, changelog_.front().sub);
    changelog_.pop_front();
  }
  for (auto it = keys_.begin(); it != keys_.end();) {
    History& h = it->second;
    // Keep the last version at or below `revision` (what a read there
    // sees) unless it is a tombstone, and everything after it.
    auto first_after =
        std::upper_bound(h.begin(), h.end(), revision,
                         [](int64_t rev, const Version& v) { return rev < v.mod_revision; });
    auto keep_from = first_after;
    if (first_after != h.begin() && std::prev(first_after)->version != 0) --keep_from;
    for (auto v = h.begin(); v != keep_from; ++v)
      account(it->first, *v, -1);
    h.erase(h.begin(), keep_from);
    if (h.empty()) index_.erase(it->first);
    it = h.empty() ? keys_.erase(it) : std::next(it);
  }
  compacted_ = revision;
  // Back in front, in order, those whose version survived.
  for (auto c = at_revision.rbegin(); c != at_revision.rend(); ++c) {
    auto entry = find(c->first);
    if (entry == keys_.end()) continue;
    const History& h = entry->second;
    bool kept = std::any_of(h.begin(), h.end(), [&](const Version& v) {
      return v.mod_revision == revision && v.sub == c->second;
    });
    if (kept) changelog_.push_front({revision, c->second, &entry->first});
  }
  SYNOD_ASSERT(index_.size() == keys_.size());
  return absl::OkStatus();
}

// ---- snapshot ----------------------------------------------------------------

void MvccStore::save(std::string* out) const {
  wire::MvccSnapshot head;
  head.set_revision(revision_);
  head.set_compacted(compacted_);
  head.AppendToString(out);
  // Then each key as one element of the repeated field `keys`: a message
  // of one field is that field's bytes, so they append one by one.
  wire::MvccSnapshot one;
  wire::MvccKey* k = one.add_keys();
  for (const auto& [key, h] : keys_) {
    k->Clear();
    k->set_key(key);
    for (const Version& v : h) {
      wire::MvccVersion* w = k->add_versions();
      w->set_mod_revision(v.mod_revision);
      w->set_sub(v.sub);
      w->set_create_revision(v.create_revision);
      w->set_version(v.version);
      w->set_lease(v.lease);
      w->set_value(v.value);
    }
    one.AppendToString(out);
  }
}

bool MvccStore::load(const wire::MvccSnapshot& in) {
  MvccStore fresh;
  fresh.revision_ = in.revision();
  fresh.compacted_ = in.compacted();
  if (fresh.revision_ < 1 || fresh.compacted_ < 0 || fresh.compacted_ > fresh.revision_)
    return false;
  for (const wire::MvccKey& k : in.keys()) {
    History& h = fresh.history_of(k.key());
    for (const wire::MvccVersion& w : k.versions()) {
      Version v{w.mod_revision(), w.sub(), w.create_revision(), w.version(), w.lease(), w.value()};
      if (v.mod_revision > fresh.revision_ ||
          (!h.empty() && v.mod_revision < h.back().mod_revision))
        return false;
      fresh.account(k.key(), v, +1);
      h.push_back(std::move(v));
    }
    if (const Version* v = live(h); v && v->lease != 0) fresh.by_lease_[v->lease].insert(k.key());
  }
  *this = std::move(fresh);
  rebuild_changelog();
  SYNOD_ASSERT(index_.size() == keys_.size());
  return true;
}

}  // namespace synod
