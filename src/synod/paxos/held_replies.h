#pragma once

#include <deque>
#include <optional>
#include <utility>
#include <vector>

#include "synod/paxos/observer.h"
#include "synod/protocol/storage.h"
#include "synod/wire/paxos.pb.h"

namespace synod::paxos {

// A message a node sends, with what its observer is to hear of it.
struct Reply {
  NodeId to = 0;
  wire::PaxosMessage message;
  std::vector<std::pair<Slot, Value>> accepted;  // filled only when there is an observer
};

// Tells the observer what a reply promises as it leaves.
inline void report_sent(PaxosObserver* observer, NodeId self, const Reply& reply) {
  if (!observer) return;
  const wire::PaxosMessage& m = reply.message;
  if (m.has_promise() || m.has_accepted()) observer->promised(self, Ballot::of(m.ballot()));
  for (const auto& [slot, value] : reply.accepted)
    observer->accepted(self, slot, Ballot::of(m.ballot()), value);
}

// An acceptor answers only once what it promised or accepted is durable.
// Replies made by one input wait for that input's sync, or, if it wrote
// nothing, behind whatever already waits (they may depend on those writes).
class HeldReplies {
 public:
  // Returns the replies that may leave now.
  std::vector<Reply> hold(std::optional<SyncId> sync, std::vector<Reply> replies) {
    if (sync) {
      held_.push_back({*sync, std::move(replies)});
      return {};
    }
    if (held_.empty()) return replies;
    for (Reply& r : replies)
      held_.back().replies.push_back(std::move(r));
    return {};
  }

  // Sync `synced` completed: the replies that waited for it, in order.
  std::vector<Reply> release(SyncId synced) {
    std::vector<Reply> out;
    while (!held_.empty() && held_.front().sync <= synced) {
      for (Reply& r : held_.front().replies)
        out.push_back(std::move(r));
      held_.pop_front();
    }
    return out;
  }

 private:
  struct Held {
    SyncId sync;
    std::vector<Reply> replies;
  };
  std::deque<Held> held_;
};

}  // namespace synod::paxos
