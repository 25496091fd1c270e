// etcd's Maintenance service: status, consistency hashes, alarms,
// defragment, snapshots and leadership moves.

#include "synod/api/services.h"
#include "synod/api/snapshot_file.h"
#include "synod/api/unary.h"

namespace synod::api {
namespace {

using grpc::CallbackServerContext;
using grpc::ServerUnaryReactor;

// Versions hashed per loop turn: a large store's hash shares the loop with
// every other request instead of holding it for the whole store.
constexpr size_t kHashSliceVersions = 20'000;

// Hashes the store a slice per loop turn, then hands the result over.
void hash_in_slices(EtcdApi& api, std::shared_ptr<MvccStore::HashInProgress> h,
                    std::function<void(const MvccStore::HashInProgress&)> done) {
  api.on_loop([&api, h, done = std::move(done)]() mutable {
    api.machine().store().continue_hash(*h, kHashSliceVersions);
    if (h->done) return done(*h);
    hash_in_slices(api, std::move(h), std::move(done));
  });
}

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
    ServerUnaryReactor* reactor = ctx->DefaultReactor();
    api_.on_loop([this, reactor, response] {
      int64_t revision = api_.machine().store().revision();
      auto h =
          std::make_shared<MvccStore::HashInProgress>(api_.machine().store().begin_hash(revision));
      hash_in_slices(api_, h, [this, reactor, response, revision](const auto& done) {
        response->set_hash(done.crc);
        api_.fill(response->mutable_header(), revision);
        reactor->Finish(grpc::Status::OK);
      });
    });
    return reactor;
  }

  ServerUnaryReactor* HashKV(CallbackServerContext* ctx, const etcdserverpb::HashKVRequest* request,
                             etcdserverpb::HashKVResponse* response) override {
    ServerUnaryReactor* reactor = ctx->DefaultReactor();
    api_.on_loop([this, reactor, request, response] {
      const MvccStore& store = api_.machine().store();
      if (request->revision() > store.revision())
        return reactor->Finish(from_absl(etcd_error::future_revision()));
      int64_t revision = store.revision();
      auto h = std::make_shared<MvccStore::HashInProgress>(store.begin_hash(request->revision()));
      hash_in_slices(api_, h, [this, reactor, response, revision](const auto& done) {
        response->set_hash(done.crc);
        response->set_compact_revision(done.compacted);
        api_.fill(response->mutable_header(), revision);
        reactor->Finish(grpc::Status::OK);
      });
    });
    return reactor;
  }

  // etcd's alarms: listed from the replicated state; raised and disarmed
  // through the log (etcdctl alarm disarm asks for each alarm listed).
  ServerUnaryReactor* Alarm(CallbackServerContext* ctx, const etcdserverpb::AlarmRequest* request,
                            etcdserverpb::AlarmResponse* response) override {
    if (request->action() == etcdserverpb::AlarmRequest::GET) {
      return on_loop(api_, ctx, response, [this, request](etcdserverpb::AlarmResponse* out) {
        for (const auto& [member, alarm] : api_.machine().alarms()) {
          if (request->alarm() != etcdserverpb::NONE && request->alarm() != alarm) continue;
          etcdserverpb::AlarmMember* a = out->add_alarms();
          a->set_memberid(member);
          a->set_alarm(static_cast<etcdserverpb::AlarmType>(alarm));
        }
        return grpc::Status::OK;
      });
    }
    wire::EtcdRequest r;
    *r.mutable_alarm() = *request;
    return through_log(api_, ctx, std::move(r), response,
                       [](const wire::EtcdReply& reply, etcdserverpb::AlarmResponse* out) {
                         *out = reply.alarm();
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
