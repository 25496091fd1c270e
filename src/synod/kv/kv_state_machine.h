#pragma once

#include "synod/kv/kv_map.h"
#include "synod/replication/state_machine.h"

namespace synod {

// The replicated key-value store: put, get, delete and compare-and-set
// (wire::KvOp) on a KvMap, as a state machine any replication protocol can
// run. Its snapshot is every pair, sorted by key.
class KvStateMachine final : public replication::StateMachine {
 public:
  bool is_read(const wire::ClientRequest& request) const override;
  wire::ClientReply apply(const wire::ClientRequest& request) override;
  wire::ClientReply read(const wire::ClientRequest& request) const override;
  std::string snapshot() const override;
  bool restore(std::string_view snapshot) override;

  const KvMap& map() const { return map_; }

 private:
  KvMap map_;
};

}  // namespace synod
