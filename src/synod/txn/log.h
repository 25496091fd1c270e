#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "synod/protocol/durable_queue.h"
#include "synod/protocol/protocol.h"
#include "synod/wire/txn.pb.h"

namespace synod::txn {

// A node's durable log, txn/log: framed records (base/record.h) of
// wire::TxnRecord, appended, replayed in order on start. A torn tail (a
// crash mid-append) is cut off; a bad record with valid data after it is
// damage, and refused.
//
// With it, the messages that must wait for the disk: those made by one
// input leave once that input's records are synced, or, if it wrote none,
// behind whatever already waits.
class TxnLog {
 public:
  static constexpr std::string_view kFile = "txn/log";

  absl::StatusOr<std::vector<wire::TxnRecord>> recover(Storage& storage);

  void record(const wire::TxnRecord& r);
  // A message to send once everything recorded so far is durable.
  void send_when_durable(NodeId to, const wire::TxnMessage& m);
  // The end of an input: write and sync what it recorded (the sync's id, if
  // it wrote anything); send what may go.
  std::optional<SyncId> flush(Env& env);
  // Sync `id` completed: send what waited for it.
  void on_synced(Env& env, SyncId id);

 private:
  struct Out {
    NodeId to;
    std::string bytes;
  };
  std::string pending_;       // framed records not yet written
  std::vector<Out> waiting_;  // made by the current input
  DurableQueue<Out> held_;
};

}  // namespace synod::txn
