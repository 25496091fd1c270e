#include "synod/kv/etcd_state_machine.h"

#include "synod/base/assert.h"
#include "synod/protocol/message.h"

namespace synod {

void set_error(wire::EtcdReply* reply, const absl::Status& status) {
  reply->mutable_error()->set_code(static_cast<int>(status.code()));
  reply->mutable_error()->set_message(std::string(status.message()));
}

namespace {
// The answer into `field`, or its error into the reply.
template <typename T>
void answer(wire::EtcdReply* reply, absl::StatusOr<T> out, T* field) {
  if (out.ok())
    *field = std::move(*out);
  else
    set_error(reply, out.status());
}

// Whether any op of the transaction, in either branch and at any depth, is
// one that `is` picks.
template <typename Pick>
bool any_op(const etcdserverpb::TxnRequest& txn, const Pick& is) {
  for (const auto* branch : {&txn.success(), &txn.failure()})
    for (const etcdserverpb::RequestOp& op : *branch)
      if (is(op) || (op.has_request_txn() && any_op(op.request_txn(), is))) return true;
  return false;
}

bool writes(const etcdserverpb::RequestOp& op) {
  return op.has_request_put() || op.has_request_delete_range();
}

}  // namespace

bool EtcdStateMachine::read_only(const etcdserverpb::TxnRequest& txn) {
  return !any_op(txn, writes);
}

bool EtcdStateMachine::is_read(const wire::ClientRequest& request) const {
  if (request.has_kv()) return request.kv().kind() == wire::KvOp::GET;
  if (!request.has_etcd()) return false;
  const wire::EtcdRequest& r = request.etcd();
  return r.has_range() || (r.has_txn() && read_only(r.txn()));
}

void EtcdStateMachine::publish(std::vector<mvccpb::Event>& changes) {
  if (listener_ && !changes.empty()) listener_(changes);
}

wire::ClientReply EtcdStateMachine::apply(const wire::ClientRequest& request) {
  wire::ClientReply reply;
  if (request.has_kv()) {
    *reply.mutable_kv() = apply_kv(request.kv());
  } else if (request.has_etcd()) {
    *reply.mutable_etcd() = apply_etcd(request.etcd());
  } else {
    reply.mutable_rejected()->set_reason("not a command of the etcd store");
  }
  return reply;
}

namespace {

constexpr int64_t kKvOverhead = 256;  // etcd's kvOverhead
constexpr int64_t kLeaseOverhead = 64;

int64_t put_cost(const std::string& key, const std::string& value) {
  return kKvOverhead + static_cast<int64_t>(key.size() + value.size());
}

int64_t txn_cost(const etcdserverpb::TxnRequest& txn) {
  int64_t costliest = 0;
  for (const auto* branch : {&txn.success(), &txn.failure()}) {
    int64_t cost = 0;
    for (const etcdserverpb::RequestOp& op : *branch) {
      if (op.has_request_put()) cost += put_cost(op.request_put().key(), op.request_put().value());
      if (op.has_request_txn()) cost += txn_cost(op.request_txn());
    }
    costliest = std::max(costliest, cost);
  }
  return costliest;
}

}  // namespace

int64_t EtcdStateMachine::write_cost(const wire::ClientRequest& request) {
  if (request.has_kv()) {
    const wire::KvOp& kv = request.kv();
    bool adds = kv.kind() == wire::KvOp::PUT || kv.kind() == wire::KvOp::CAS;
    return adds ? put_cost(kv.key(), kv.value()) : 0;
  }
  const wire::EtcdRequest& e = request.etcd();
  if (e.has_put()) return put_cost(e.put().key(), e.put().value());
  if (e.has_txn()) return txn_cost(e.txn());
  if (e.has_lease_grant()) return kLeaseOverhead;
  return 0;
}

bool EtcdStateMachine::space_alarm() const {
  for (const auto& [member, alarm] : alarms_)
    if (alarm == etcdserverpb::NOSPACE) return true;
  return false;
}

std::optional<wire::ClientReply> EtcdStateMachine::admit(const wire::ClientRequest& request) const {
  int64_t cost = write_cost(request);
  // A write that adds nothing (deletes, compactions) is always taken.
  if (cost == 0) return std::nullopt;
  bool fits = quota_ <= 0 || store_.bytes() + cost < quota_;
  if (fits && !space_alarm()) return std::nullopt;
  wire::ClientReply reply;
  if (request.has_etcd()) {
    set_error(reply.mutable_etcd(), etcd_error::space_exceeded());
  } else {
    reply.mutable_rejected()->set_reason(std::string(etcd_error::space_exceeded().message()));
  }
  return reply;
}

wire::EtcdReply EtcdStateMachine::apply_etcd(const wire::EtcdRequest& r) {
  wire::EtcdReply reply;
  std::vector<mvccpb::Event> changes;
  auto exists = [this](int64_t id) { return lease_exists(id); };
  switch (r.request_case()) {
    case wire::EtcdRequest::kPut: {
      answer(&reply, store_.put(r.put(), exists, &changes), reply.mutable_put());
      break;
    }
    case wire::EtcdRequest::kDeleteRange: {
      answer(&reply, store_.delete_range(r.delete_range(), &changes), reply.mutable_delete_range());
      break;
    }
    case wire::EtcdRequest::kTxn: {
      answer(&reply, store_.txn(r.txn(), exists, &changes), reply.mutable_txn());
      break;
    }
    case wire::EtcdRequest::kCompaction: {
      auto status = store_.compact(r.compaction().revision());
      if (status.ok())
        reply.mutable_compaction();
      else
        set_error(&reply, status);
      break;
    }
    case wire::EtcdRequest::kLeaseGrant: {
      const etcdserverpb::LeaseGrantRequest& g = r.lease_grant();
      // The proposer picks the id; 0 (none picked) takes the next free one,
      // the same on every replica.
      int64_t id = g.id();
      if (id == 0) id = leases_.empty() ? 1 : leases_.rbegin()->first + 1;
      if (id < 0) {
        set_error(&reply, absl::InvalidArgumentError("etcdserver: lease ID must be positive"));
      } else if (g.ttl() > kMaxLeaseTtlSeconds) {
        set_error(&reply, etcd_error::lease_ttl_too_large());
      } else if (leases_.count(id)) {
        set_error(&reply, etcd_error::lease_exists());
      } else {
        leases_[id] = Lease{std::max<int64_t>(g.ttl(), 1)};
        reply.mutable_lease_grant()->set_id(id);
        reply.mutable_lease_grant()->set_ttl(leases_[id].ttl);
        if (lease_listener_) lease_listener_(id, leases_[id].ttl);
      }
      break;
    }
    case wire::EtcdRequest::kLeaseRevoke: {
      int64_t id = r.lease_revoke().id();
      if (!leases_.count(id)) {
        set_error(&reply, etcd_error::lease_not_found());
        break;
      }
      store_.delete_keys_of_lease(id, &changes);
      leases_.erase(id);
      reply.mutable_lease_revoke();
      if (lease_listener_) lease_listener_(id, 0);
      break;
    }
    case wire::EtcdRequest::kLeaseKeepalive: {
      int64_t id = r.lease_keepalive().id();
      auto it = leases_.find(id);
      reply.mutable_lease_keepalive()->set_id(id);
      // An unknown lease answers TTL 0, as etcd does, and is no error.
      reply.mutable_lease_keepalive()->set_ttl(it == leases_.end() ? 0 : it->second.ttl);
      if (it != leases_.end() && lease_listener_) lease_listener_(id, it->second.ttl);
      break;
    }
    case wire::EtcdRequest::kMemberAdd:
    case wire::EtcdRequest::kMemberRemove:
    case wire::EtcdRequest::kMemberPromote:
    case wire::EtcdRequest::kMemberUpdate:
    case wire::EtcdRequest::kMemberPublish: {
      auto out = apply_member_change(r);
      if (!out.ok()) {
        set_error(&reply, out.status());
        break;
      }
      *reply.mutable_member() = std::move(*out);
      for (const auto& [node, m] : members_.members())
        *reply.add_members() = m;
      break;
    }
    case wire::EtcdRequest::kAlarm:
      apply_alarm(r.alarm(), reply.mutable_alarm());
      break;
    case wire::EtcdRequest::kRange:
      return read_etcd(r);  // a read that came through the log: harmless
    case wire::EtcdRequest::REQUEST_NOT_SET:
      set_error(&reply, absl::InvalidArgumentError("etcdserver: empty request"));
      break;
  }
  reply.set_revision(store_.revision());
  publish(changes);
  return reply;
}

// As etcd's alarm store: ACTIVATE raises one, DEACTIVATE disarms one; the
// answer names what changed (GET never comes through the log).
void EtcdStateMachine::apply_alarm(const etcdserverpb::AlarmRequest& r,
                                   etcdserverpb::AlarmResponse* out) {
  std::pair<uint64_t, int> alarm{r.memberid(), r.alarm()};
  bool changed = false;
  if (r.action() == etcdserverpb::AlarmRequest::ACTIVATE && r.alarm() != etcdserverpb::NONE)
    changed = alarms_.insert(alarm).second;
  if (r.action() == etcdserverpb::AlarmRequest::DEACTIVATE) changed = alarms_.erase(alarm) > 0;
  if (!changed) return;
  etcdserverpb::AlarmMember* m = out->add_alarms();
  m->set_memberid(alarm.first);
  m->set_alarm(static_cast<etcdserverpb::AlarmType>(alarm.second));
}

absl::StatusOr<wire::EtcdMember> EtcdStateMachine::apply_member_change(const wire::EtcdRequest& r) {
  switch (r.request_case()) {
    case wire::EtcdRequest::kMemberAdd:
      return members_.add(r.member_add());
    case wire::EtcdRequest::kMemberRemove:
      return members_.remove(r.member_remove());
    case wire::EtcdRequest::kMemberPromote:
      return members_.promote(r.member_promote());
    case wire::EtcdRequest::kMemberUpdate:
      return members_.update(r.member_update());
    case wire::EtcdRequest::kMemberPublish:
      return members_.publish(r.member_publish());
    default:
      SYNOD_UNREACHABLE();
  }
}

wire::KvResult EtcdStateMachine::kv_get(const std::string& key) const {
  etcdserverpb::RangeRequest get;
  get.set_key(key);
  auto out = store_.range(get);
  wire::KvResult result;
  if (out.ok() && out->kvs_size() == 1) {
    result.set_found(true);
    result.set_value(out->kvs(0).value());
  }
  return result;
}

wire::ClientReply EtcdStateMachine::read(const wire::ClientRequest& request) const {
  wire::ClientReply reply;
  if (request.has_kv()) {
    *reply.mutable_kv() = kv_get(request.kv().key());
  } else if (request.has_etcd()) {
    *reply.mutable_etcd() = read_etcd(request.etcd());
  } else {
    reply.mutable_rejected()->set_reason("not a command of the etcd store");
  }
  return reply;
}

wire::EtcdReply EtcdStateMachine::read_etcd(const wire::EtcdRequest& r) const {
  wire::EtcdReply reply;
  if (r.has_range()) {
    answer(&reply, store_.range(r.range()), reply.mutable_range());
  } else if (r.has_txn() && read_only(r.txn())) {
    answer(&reply, store_.read_txn(r.txn()), reply.mutable_txn());
  } else {
    set_error(&reply, absl::InvalidArgumentError("etcdserver: not a read"));
  }
  reply.set_revision(store_.revision());
  return reply;
}

wire::KvResult EtcdStateMachine::apply_kv(const wire::KvOp& op) {
  wire::KvResult result;
  std::vector<mvccpb::Event> changes;
  auto no_lease = [](int64_t) { return false; };
  switch (op.kind()) {
    case wire::KvOp::PUT: {
      etcdserverpb::PutRequest put;
      put.set_key(op.key());
      put.set_value(op.value());
      put.set_prev_kv(true);
      auto out = store_.put(put, no_lease, &changes);
      result.set_found(out.ok() && out->has_prev_kv());
      break;
    }
    case wire::KvOp::DELETE: {
      etcdserverpb::DeleteRangeRequest del;
      del.set_key(op.key());
      auto out = store_.delete_range(del, &changes);
      result.set_found(out.ok() && out->deleted() > 0);
      break;
    }
    case wire::KvOp::CAS: {
      etcdserverpb::TxnRequest txn;
      etcdserverpb::Compare* c = txn.add_compare();
      c->set_key(op.key());
      c->set_target(etcdserverpb::Compare::VALUE);
      c->set_result(etcdserverpb::Compare::EQUAL);
      c->set_value(op.expected());
      etcdserverpb::PutRequest* put = txn.add_success()->mutable_request_put();
      put->set_key(op.key());
      put->set_value(op.value());
      auto out = store_.txn(txn, no_lease, &changes);
      result.set_found(out.ok() && out->succeeded());
      result.set_swapped(out.ok() && out->succeeded());
      break;
    }
    default:
      result = kv_get(op.key());
      break;
  }
  publish(changes);
  return result;
}

std::string EtcdStateMachine::snapshot() const {
  std::string out;
  append_snapshot(&out);
  return out;
}

void EtcdStateMachine::append_snapshot(std::string* out) const {
  // A wire::EtcdSnapshot: the store saved in place as field `mvcc`, then
  // the small fields appended (fields of one message may come in any order).
  size_t start = out->size();
  out->append(kFieldRoom, '\0');
  store_.save(out);
  frame_field(out, start, wire::EtcdSnapshot::kMvccFieldNumber);
  wire::EtcdSnapshot rest;
  for (const auto& [id, lease] : leases_) {
    wire::EtcdLease* l = rest.add_leases();
    l->set_id(id);
    l->set_ttl(lease.ttl);
  }
  members_.save(&rest);
  for (const auto& [member, alarm] : alarms_) {
    etcdserverpb::AlarmMember* a = rest.add_alarms();
    a->set_memberid(member);
    a->set_alarm(static_cast<etcdserverpb::AlarmType>(alarm));
  }
  rest.AppendToString(out);
}

bool EtcdStateMachine::restore(std::string_view bytes) {
  wire::EtcdSnapshot s;
  if (!s.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return false;
  MvccStore store;
  if (!store.load(s.mvcc())) return false;
  std::map<int64_t, Lease> leases;
  for (const wire::EtcdLease& l : s.leases())
    leases[l.id()] = Lease{l.ttl()};
  store_ = std::move(store);
  leases_ = std::move(leases);
  members_.load(s);
  alarms_.clear();
  for (const etcdserverpb::AlarmMember& a : s.alarms())
    alarms_.emplace(a.memberid(), a.alarm());
  if (restore_listener_) restore_listener_();
  return true;
}

}  // namespace synod
