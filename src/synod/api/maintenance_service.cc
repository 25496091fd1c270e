// etcd's Maintenance service: status, consistency hashes, alarms,
// defragment, snapshots and leadership moves.

#include "synod/api/services.h"
#include "synod/api/snapshot_file.h"
#include "synod/api/unary.h"

namespace synod::api {
namespace {

using grpc::CallbackServerContext;
using grpc::ServerUnaryReactor;

// Streams one snapshot in chunks; the bytes were taken on the loop.
class SnapshotStream final : public grpc::ServerWriteReactor<etcdserverpb::SnapshotResponse> {
 public:
  static constexpr size_t kChunkBytes = 64 << 10;

  SnapshotStream(EtcdApi& api) {
    // The state as of one instant, taken on the loop; gRPC threads send it.
    api.on_loop([this, &api] {
      bytes_ = encode_snapshot_file(api.machine().snapshot());
      api.fill(response_.mutable_header(), api.machine().store().revision());
      next();
    });
  }

  void OnWriteDone(bool ok) override {
    if (!ok) return Finish(grpc::Status::CANCELLED);
    next();
  }
  void OnDone() override { delete this; }

 private:
  void next() {
    if (sent_ == bytes_.size()) return Finish(grpc::Status::OK);
    size_t n = std::min(kChunkBytes, bytes_.size() - sent_);
    response_.set_blob(bytes_.substr(sent_, n));
    sent_ += n;
    response_.set_remaining_bytes(bytes_.size() - sent_);
    StartWrite(&response_);
  }

  std::string bytes_;
  size_t sent_ = 0;
  etcdserverpb::SnapshotResponse response_;
};

class MaintenanceService final : public etcdserverpb::Maintenance::CallbackService {
 public:
  explicit MaintenanceService(EtcdApi& api) : api_(api) {}

  ServerUnaryReactor* Status(CallbackServerContext* ctx, const etcdserverpb::StatusRequest*,
                             etcdserverpb::StatusResponse* response) override {
    return on_loop(api_, ctx, response, [this](etcdserverpb::StatusResponse* out) {
      NodeStatus s = api_.status();
      out->set_version(api_.options().version);
      out->set_dbsize(api_.machine().store().bytes());
      out->set_dbsizeinuse(api_.machine().store().bytes());
      out->set_leader(s.leader);
      out->set_raftindex(s.commit);
      out->set_raftterm(s.term);
      out->set_raftappliedindex(s.applied);
      const wire::EtcdMember* me = api_.machine().members().by_id(api_.options().member_id);
      out->set_islearner(me && me->learner());
      return grpc::Status::OK;
    });
  }

  // Of the whole key-value state at this member's revision: members that
  // applied the same log agree on it.
  ServerUnaryReactor* Hash(CallbackServerContext* ctx, const etcdserverpb::HashRequest*,
                           etcdserverpb::HashResponse* response) override {
    return on_loop(api_, ctx, response, [this](etcdserverpb::HashResponse* out) {
      const MvccStore& store = api_.machine().store();
      out->set_hash(static_cast<uint32_t>(store.hash(store.revision())));
      return grpc::Status::OK;
    });
  }

  ServerUnaryReactor* HashKV(CallbackServerContext* ctx, const etcdserverpb::HashKVRequest* request,
                             etcdserverpb::HashKVResponse* response) override {
    return on_loop(api_, ctx, response, [this, request](etcdserverpb::HashKVResponse* out) {
      const MvccStore& store = api_.machine().store();
      if (request->revision() > store.revision()) return from_absl(etcd_error::future_revision());
      out->set_hash(store.hash(request->revision()));
      out->set_compact_revision(store.compacted());
      return grpc::Status::OK;
    });
  }

  // NOSPACE while this member's store is over its quota, as etcd lists it.
  // Unlike etcd's, the alarm is not replicated and needs no disarming: it
  // goes when a compaction or delete brings the store under the quota.
  ServerUnaryReactor* Alarm(CallbackServerContext* ctx, const etcdserverpb::AlarmRequest*,
                            etcdserverpb::AlarmResponse* response) override {
    return on_loop(api_, ctx, response, [this](etcdserverpb::AlarmResponse* out) {
      if (api_.machine().over_quota()) {
        etcdserverpb::AlarmMember* alarm = out->add_alarms();
        alarm->set_memberid(api_.options().member_id);
        alarm->set_alarm(etcdserverpb::NOSPACE);
      }
      return grpc::Status::OK;
    });
  }

  // Nothing to defragment: the store lives in memory and the WAL is
  // compacted by snapshots.
  ServerUnaryReactor* Defragment(CallbackServerContext* ctx, const etcdserverpb::DefragmentRequest*,
                                 etcdserverpb::DefragmentResponse* response) override {
    return on_loop(api_, ctx, response,
                   [](etcdserverpb::DefragmentResponse*) { return grpc::Status::OK; });
  }

  grpc::ServerWriteReactor<etcdserverpb::SnapshotResponse>* Snapshot(
      CallbackServerContext*, const etcdserverpb::SnapshotRequest*) override {
    return new SnapshotStream(api_);
  }

  // Asked of the leader, as etcd's clients do; answered once the target
  // leads (or the move failed).
  ServerUnaryReactor* MoveLeader(CallbackServerContext* ctx,
                                 const etcdserverpb::MoveLeaderRequest* request,
                                 etcdserverpb::MoveLeaderResponse* response) override {
    ServerUnaryReactor* reactor = ctx->DefaultReactor();
    api_.on_loop([this, reactor, response, target = request->targetid()] {
      api_.move_leader(target, [this, reactor, response](absl::Status status) {
        if (status.ok()) api_.fill(response->mutable_header(), api_.machine().store().revision());
        reactor->Finish(from_absl(status));
      });
    });
    return reactor;
  }

 private:
  EtcdApi& api_;
};

}  // namespace

std::unique_ptr<grpc::Service> maintenance_service(EtcdApi& api) {
  return std::make_unique<MaintenanceService>(api);
}

}  // namespace synod::api
