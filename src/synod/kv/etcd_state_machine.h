#pragma once

#include <functional>
#include <map>
#include <set>
#include <vector>

#include "synod/kv/member_registry.h"
#include "synod/kv/mvcc_store.h"
#include "synod/replication/state_machine.h"

namespace synod {

// The replicated store behind the etcd API: an MvccStore and the lease
// table, applying wire::EtcdRequest commands in log order. It also serves
// the plain key-value commands (wire::KvOp) on the same keys, so `synod kv`
// and the simulator's workload drive the same store.
//
// Lease expiry is not decided here (no clocks in a state machine): the
// leader's LeaseKeeper proposes a revoke when a lease runs out, and every
// replica deletes its keys when that revoke applies.
class EtcdStateMachine final : public replication::StateMachine {
 public:
  // Told of every change as it applies, in revision order: watches.
  using ChangeListener = std::function<void(const std::vector<mvccpb::Event>& changes)>;

  struct Lease {
    int64_t ttl = 0;  // seconds, as granted
  };

  bool is_read(const wire::ClientRequest& request) const override;
  wire::ClientReply apply(const wire::ClientRequest& request) override;
  wire::ClientReply read(const wire::ClientRequest& request) const override;
  // Refuses a write that adds (a put, a txn that puts, a lease grant, a
  // plain put or CAS) with etcd's "database space exceeded" when the store's
  // size plus what the write would add reaches the quota, or while the
  // NOSPACE alarm is raised; a write that only deletes is always taken.
  std::optional<wire::ClientReply> admit(const wire::ClientRequest& request) const override;
  std::string snapshot() const override;
  void append_snapshot(std::string* out) const override;
  bool restore(std::string_view snapshot) override;

  void set_change_listener(ChangeListener listener) { listener_ = std::move(listener); }
  // Told when a lease is granted or renewed (ttl > 0) or goes (ttl 0), as
  // it applies: the member's LeaseKeeper keeps the clock on it.
  using LeaseListener = std::function<void(int64_t id, int64_t ttl)>;
  void set_lease_listener(LeaseListener listener) { lease_listener_ = std::move(listener); }
  // Told after the whole state was replaced by a snapshot.
  void set_restore_listener(std::function<void()> listener) {
    restore_listener_ = std::move(listener);
  }

  // etcd's --quota-backend-bytes: see admit(). 0: no quota.
  void set_quota(int64_t bytes) { quota_ = bytes; }
  // etcd's alarms, replicated: raised (a member refused a write for space)
  // and disarmed through the log. While NOSPACE is raised every member
  // refuses writes that add, as etcd does, until an operator disarms it.
  const std::set<std::pair<uint64_t, int>>& alarms() const { return alarms_; }
  bool space_alarm() const;
  // What etcd's quota check counts a write as adding (its quota.go): 256
  // bytes of metadata per key-value put, plus key and value; for a
  // transaction the costlier branch; 64 bytes for a lease. 0: adds nothing.
  static int64_t write_cost(const wire::ClientRequest& request);

  const MvccStore& store() const { return store_; }
  const MemberRegistry& members() const { return members_; }
  MemberRegistry& members() { return members_; }  // to seed it and listen
  const std::map<int64_t, Lease>& leases() const { return leases_; }

  // A transaction that only reads, at any depth: served as a read.
  static bool read_only(const etcdserverpb::TxnRequest& txn);

 private:
  wire::EtcdReply apply_etcd(const wire::EtcdRequest& request);
  wire::EtcdReply read_etcd(const wire::EtcdRequest& request) const;
  absl::StatusOr<wire::EtcdMember> apply_member_change(const wire::EtcdRequest& request);
  void apply_alarm(const etcdserverpb::AlarmRequest& request, etcdserverpb::AlarmResponse* out);
  wire::KvResult apply_kv(const wire::KvOp& op);
  wire::KvResult kv_get(const std::string& key) const;
  bool lease_exists(int64_t id) const { return leases_.count(id) > 0; }
  void publish(std::vector<mvccpb::Event>& changes);

  MvccStore store_;
  std::map<int64_t, Lease> leases_;
  MemberRegistry members_;
  int64_t quota_ = 0;
  std::set<std::pair<uint64_t, int>> alarms_;  // (member id, etcdserverpb::AlarmType)
  ChangeListener listener_;
  LeaseListener lease_listener_;
  std::function<void()> restore_listener_;
};

// etcd's error for `status`, on the wire.
void set_error(wire::EtcdReply* reply, const absl::Status& status);

}  // namespace synod
