#include "synod/paxos/paxos_store.h"

#include "absl/status/status.h"
#include "synod/base/record.h"
#include "synod/protocol/record_log.h"

namespace synod::paxos {
namespace {

void frame(std::string& out, const wire::PaxosRecord& record) {
  append_record(out, record.SerializeAsString());
}

}  // namespace

absl::StatusOr<Recovered> PaxosStore::recover(Storage& storage) {
  Recovered out;
  pending_.clear();
  snapshot_unsynced_ = false;
  compaction_after_.reset();
  if (auto file = storage.read(kSnapshotFile)) {
    auto payload = single_record(*file);
    wire::PaxosSnapshotRecord record;
    if (!payload || !record.ParseFromArray(payload->data(), static_cast<int>(payload->size())))
      return absl::DataLossError("paxos snapshot file is damaged");
    out.snapshot_slot = record.slot();
    out.snapshot = std::make_shared<const std::string>(std::move(*record.mutable_data()));
  }
  auto records = read_record_log<wire::PaxosRecord>(storage, kLogFile);
  if (!records.ok()) return records.status();
  for (wire::PaxosRecord& record : *records) {
    switch (record.body_case()) {
      case wire::PaxosRecord::kPromise:
        out.promised = std::max(out.promised, Ballot::of(record.promise()));
        break;
      case wire::PaxosRecord::kSlot: {
        SlotState& s = *record.mutable_slot();
        if (s.slot() <= out.snapshot_slot) break;
        out.promised = std::max(out.promised, ballot_of(s));  // accepting promises too
        auto [it, fresh] = out.slots.try_emplace(s.slot());
        if (!fresh && it->second.chosen() && !s.chosen()) {
          // Accepted again in a later ballot: the same value (it was chosen).
          *it->second.mutable_ballot() = s.ballot();
          break;
        }
        it->second = std::move(s);
        break;
      }
      case wire::PaxosRecord::kChosenUpto:
        for (auto it = out.slots.begin();
             it != out.slots.end() && it->first <= record.chosen_upto(); ++it)
          it->second.set_chosen(true);
        break;
      case wire::PaxosRecord::BODY_NOT_SET:
        return absl::DataLossError("paxos log: an empty record");
    }
  }
  return out;
}

void PaxosStore::promise(Ballot ballot) {
  wire::PaxosRecord record;
  *record.mutable_promise() = ballot.to_wire();
  frame(pending_, record);
}

void PaxosStore::slot(const SlotState& slot) {
  wire::PaxosRecord record;
  *record.mutable_slot() = slot;
  frame(pending_, record);
}

void PaxosStore::chosen_upto(Slot slot) {
  wire::PaxosRecord record;
  record.set_chosen_upto(slot);
  frame(pending_, record);
}

void PaxosStore::write(Storage& storage) {
  if (pending_.empty()) return;
  storage.append(kLogFile, pending_);
  pending_.clear();
}

void PaxosStore::save_snapshot(Storage& storage, Slot slot, const std::string& data) {
  wire::PaxosSnapshotRecord record;
  record.set_slot(slot);
  record.set_data(data);
  std::string file;
  append_record(file, record.SerializeAsString());
  storage.overwrite(kSnapshotFile, file);
  snapshot_unsynced_ = true;
}

SyncId PaxosStore::sync(Storage& storage) {
  write(storage);
  SyncId id = storage.sync();
  if (snapshot_unsynced_) {
    snapshot_unsynced_ = false;
    compaction_after_ = id;
  }
  return id;
}

bool PaxosStore::compaction_due(SyncId synced) {
  if (!compaction_after_ || *compaction_after_ > synced) return false;
  compaction_after_.reset();
  return true;
}

void PaxosStore::rewrite(Storage& storage, Ballot promised, const std::map<Slot, SlotState>& slots,
                         Slot chosen_upto) {
  std::string file;
  promise(promised);
  for (const auto& [slot, state] : slots)
    this->slot(state);
  if (chosen_upto > 0) this->chosen_upto(chosen_upto);
  file.swap(pending_);
  storage.overwrite(kLogFile, file);
}

}  // namespace synod::paxos
