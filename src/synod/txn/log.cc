#include "synod/txn/log.h"

#include "synod/base/record.h"
#include "synod/protocol/record_log.h"

namespace synod::txn {

absl::StatusOr<std::vector<wire::TxnRecord>> TxnLog::recover(Storage& storage) {
  pending_.clear();
  waiting_.clear();
  held_.clear();
  return read_record_log<wire::TxnRecord>(storage, kFile);
}

void TxnLog::record(const wire::TxnRecord& r) {
  append_record(pending_, r.SerializeAsString());
}

void TxnLog::send_when_durable(NodeId to, const wire::TxnMessage& m) {
  waiting_.push_back({to, m.SerializeAsString()});
}

std::optional<SyncId> TxnLog::flush(Env& env) {
  std::optional<SyncId> sync;
  if (!pending_.empty()) {
    env.storage().append(kFile, pending_);
    pending_.clear();
    sync = env.storage().sync();
  }
  std::vector<Out> waiting;
  waiting.swap(waiting_);
  for (Out& o : held_.hold(sync, std::move(waiting)))
    env.send(o.to, std::move(o.bytes));
  return sync;
}

void TxnLog::on_synced(Env& env, SyncId id) {
  for (Out& o : held_.release(id))
    env.send(o.to, std::move(o.bytes));
}

}  // namespace synod::txn
