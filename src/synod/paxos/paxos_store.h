#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "synod/paxos/ballot.h"
#include "synod/protocol/storage.h"

namespace synod::paxos {

// What an acceptor and learner keep on disk, and get back after a crash.
struct Recovered {
  Ballot promised;
  std::map<Slot, SlotState> slots;  // above the snapshot
  Slot snapshot_slot = 0;
  std::shared_ptr<const std::string> snapshot;  // null: none taken or installed
};

// Multi-Paxos's durable state on a Storage (the simulated disk, or files):
//
//   paxos/snapshot  the latest snapshot, replaced atomically
//   paxos/log       framed records (base/record.h) of wire::PaxosRecord:
//                   promises, slots accepted or learned, chosen prefixes
//
// The log is only appended to, until a snapshot is durable: then it is
// rewritten, atomically, as what the node holds above the snapshot's
// compaction point. So a crash leaves the old log or the new one, plus
// perhaps a torn tail, which recovery cuts off. A bad record with valid data
// after it is damage, not a crash: recovery refuses it.
class PaxosStore {
 public:
  static constexpr std::string_view kLogFile = "paxos/log";
  static constexpr std::string_view kSnapshotFile = "paxos/snapshot";

  absl::StatusOr<Recovered> recover(Storage& storage);

  // Records to append; they reach storage at the next write().
  void promise(Ballot ballot);
  void slot(const SlotState& slot);
  void chosen_upto(Slot slot);
  void write(Storage& storage);

  // Saves a snapshot; once a sync after it completes, compaction_due()
  // says the log may be rewritten without the slots the snapshot covers.
  void save_snapshot(Storage& storage, Slot slot, const std::string& data);
  SyncId sync(Storage& storage);
  bool compaction_due(SyncId synced);
  void rewrite(Storage& storage, Ballot promised, const std::map<Slot, SlotState>& slots,
               Slot chosen_upto);

 private:
  std::string pending_;  // framed records not yet appended
  bool snapshot_unsynced_ = false;
  std::optional<SyncId> compaction_after_;
};

}  // namespace synod::paxos
