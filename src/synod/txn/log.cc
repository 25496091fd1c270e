#include "synod/txn/log.h"

#include "absl/status/status.h"
#include "synod/base/record.h"

namespace synod::txn {

absl::StatusOr<std::vector<wire::TxnRecord>> TxnLog::recover(Storage& storage) {
  pending_.clear();
  waiting_.clear();
  held_.clear();
  std::vector<wire::TxnRecord> out;
  auto file = storage.read(kFile);
  if (!file) return out;
  RecordReader reader(*file);
  while (auto payload = reader.next()) {
    wire::TxnRecord r;
    if (!r.ParseFromArray(payload->data(), static_cast<int>(payload->size())))
      return absl::DataLossError("txn log: a record with a valid checksum does not parse");
    out.push_back(std::move(r));
  }
  if (reader.stop() == RecordReader::Stop::kCorrupt)
    return absl::DataLossError("txn log is corrupt at offset " +
                               std::to_string(reader.valid_bytes()) +
                               " (a bad record with data after it)");
  if (reader.stop() == RecordReader::Stop::kTornTail)
    storage.overwrite(kFile, std::string_view(*file).substr(0, reader.valid_bytes()));
  return out;
}

void TxnLog::record(const wire::TxnRecord& r) {
  append_record(pending_, r.SerializeAsString());
}

void TxnLog::send_when_durable(NodeId to, const wire::TxnMessage& m) {
  waiting_.push_back({to, m.SerializeAsString()});
}

std::optional<SyncId> TxnLog::flush(Env& env) {
  std::vector<Out> out;
  out.swap(waiting_);
  if (!pending_.empty()) {
    env.storage().append(kFile, pending_);
    pending_.clear();
    SyncId id = env.storage().sync();
    held_.push_back({id, std::move(out)});
    return id;
  }
  if (!held_.empty()) {
    for (Out& o : out)
      held_.back().out.push_back(std::move(o));
  } else {
    for (Out& o : out)
      env.send(o.to, std::move(o.bytes));
  }
  return std::nullopt;
}

void TxnLog::on_synced(Env& env, SyncId id) {
  while (!held_.empty() && held_.front().sync <= id) {
    for (Out& o : held_.front().out)
      env.send(o.to, std::move(o.bytes));
    held_.pop_front();
  }
}

}  // namespace synod::txn
