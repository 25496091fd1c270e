#pragma once

#include "synod/kv/kv_map.h"
#include "synod/protocol/protocol.h"

namespace synod::toy {

// A deliberately naive asynchronous primary-backup store, to prove that the
// checker finds what is wrong with it. Node 0 is the primary: it applies a
// write, acknowledges it at once, and only then sends it to the backups,
// one-way, never retried. Any node answers reads from its own copy. Nothing is
// written to disk. Stale reads from a lagging backup, writes lost with a
// crashed primary, and backups that diverge under loss all break
// linearizability; `synod sim explore --protocol naive-primary-backup` finds
// them.
class NaivePrimaryBackupNode final : public Protocol {
 public:
  void start(Env& env) override;
  void on_message(Env& env, const Incoming& message) override;
  void on_client_request(Env& env, ProcessId client, const wire::ClientRequest& request) override;

  static constexpr NodeId kPrimary = 0;

 private:
  KvMap map_;
  uint64_t writes_ = 0;
};

}  // namespace synod::toy
