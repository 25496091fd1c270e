#pragma once

#include <deque>
#include <optional>
#include <utility>
#include <vector>

#include "synod/paxos/observer.h"
#include "synod/protocol/durable_queue.h"
#include "synod/protocol/message.h"
#include "synod/protocol/storage.h"
#include "synod/wire/paxos.pb.h"

namespace synod::paxos {

// A message a node sends, with what its observer is to hear of it.
struct Reply {
  NodeId to = 0;
  wire::PaxosMessage message;
  std::vector<std::pair<Slot, Value>> accepted;  // filled only when there is an observer
};

// How a Paxos node sends. To a peer through the Env; to itself (its own
// acceptor answering its own proposer) through an inbox the node drains
// before the input returns. An acceptor's replies wait until what they
// promise is durable (DurableQueue). The observer hears of each message as
// it leaves.
class Outbox {
 public:
  void start(NodeId self, PaxosObserver* observer) {
    self_ = self;
    observer_ = observer;
  }

  void send(Env& env, Reply reply) {
    report(reply);
    if (reply.to == self_)
      inbox_.push_back(std::move(reply.message));
    else
      send_message(env, reply.to, reply.message);
  }

  // Sent once what this input wrote is durable (see flush).
  void reply_when_durable(Reply reply) { replies_.push_back(std::move(reply)); }

  // The end of an input's writes: `sync` covers them, if it wrote any.
  void flush(Env& env, std::optional<SyncId> sync) {
    std::vector<Reply> replies;
    replies.swap(replies_);
    for (Reply& r : held_.hold(sync, std::move(replies)))
      send(env, std::move(r));
  }

  // Sync `synced` completed: what waited for it leaves, in order.
  void on_synced(Env& env, SyncId synced) {
    for (Reply& r : held_.release(synced))
      send(env, std::move(r));
  }

  // The oldest message this node sent itself and has not handled yet.
  std::optional<wire::PaxosMessage> next_to_self() {
    if (inbox_.empty()) return std::nullopt;
    wire::PaxosMessage m = std::move(inbox_.front());
    inbox_.pop_front();
    return m;
  }
  bool has_to_self() const { return !inbox_.empty(); }

 private:
  void report(const Reply& reply) const {
    if (!observer_) return;
    const wire::PaxosMessage& m = reply.message;
    if (m.has_promise() || m.has_accepted()) observer_->promised(self_, Ballot::of(m.ballot()));
    for (const auto& [slot, value] : reply.accepted)
      observer_->accepted(self_, slot, Ballot::of(m.ballot()), value);
  }

  NodeId self_ = 0;
  PaxosObserver* observer_ = nullptr;
  DurableQueue<Reply> held_;
  std::vector<Reply> replies_;  // made by the current input
  std::deque<wire::PaxosMessage> inbox_;
};

}  // namespace synod::paxos
