#include "synod/paxos/single_decree.h"

#include <bit>

#include "synod/base/assert.h"
#include "synod/protocol/message.h"

namespace synod::paxos {

SingleDecreeNode::SingleDecreeNode(SingleDecreeOptions options, Value proposal)
    : options_(options), proposal_(std::move(proposal)) {
  SYNOD_ASSERT(options_.backoff.count() > 0 && options_.attempt_timeout.count() > 0);
}

void SingleDecreeNode::start(Env& env) {
  self_ = env.self();
  cluster_size_ = env.nodes().size();
  outbox_.start(self_, options_.observer);
  SYNOD_ASSERT(cluster_size_ >= 1 && cluster_size_ <= 64);
  rng_ = env.rng().split("synod");
  auto recovered = store_.recover(env.storage());
  SYNOD_ASSERT_MSG(recovered.ok(), std::string(recovered.status().message()).c_str());
  promised_ = recovered->promised;
  max_round_seen_ = promised_.round;
  if (auto it = recovered->slots.find(kSlot); it != recovered->slots.end()) {
    accepted_ = it->second;
    if (accepted_->chosen()) decided_ = accepted_->value();
  }
  started_ = true;
  if (env.tracing())
    env.note("recovered promise " + promised_.to_string() +
             (decided_    ? ", decided"
              : accepted_ ? ", accepted in " + ballot_of(*accepted_).to_string()
                          : ""));
  schedule_attempt(env);
}

void SingleDecreeNode::on_message(Env& env, const Incoming& message) {
  if (is_client(message.from) || message.from >= cluster_size_ || message.from == self_) return;
  auto m = parse_message<Message>(message.payload);
  if (!m) return;  // malformed: dropped, never trusted
  handle(env, message.from, *m);
  settle(env);
}

void SingleDecreeNode::on_timer(Env& env, uint64_t tag) {
  if (tag == kAttemptTimer) {
    attempt(env);
  } else if (tag == kTimeoutTag + attempts_ && phase_ != Phase::kIdle) {
    if (env.tracing()) env.note("attempt " + ballot_.to_string() + " timed out");
    give_up(env);
  }
  settle(env);
}

void SingleDecreeNode::on_synced(Env& env, SyncId id) {
  outbox_.on_synced(env, id);
  settle(env);
}

bool SingleDecreeNode::is_majority(uint64_t mask) const {
  return static_cast<uint64_t>(std::popcount(mask)) >= majority(cluster_size_);
}

// ---- proposer --------------------------------------------------------------

void SingleDecreeNode::schedule_attempt(Env& env) {
  if (decided_) return;
  Duration range = options_.backoff * (int64_t{1} << std::min(failures_, 5));
  env.set_timer(Duration(static_cast<int64_t>(rng_.uniform(static_cast<uint64_t>(range.count())))),
                kAttemptTimer);
}

void SingleDecreeNode::give_up(Env& env) {
  phase_ = Phase::kIdle;
  ++failures_;
  schedule_attempt(env);
}

void SingleDecreeNode::attempt(Env& env) {
  if (decided_ || phase_ != Phase::kIdle) return;
  ++attempts_;
  ballot_ = {std::max(max_round_seen_, promised_.round) + 1, self_};
  max_round_seen_ = ballot_.round;
  phase_ = Phase::kPreparing;
  promises_.clear();
  if (env.tracing()) env.note("prepare " + ballot_.to_string());
  Message m;
  *m.mutable_ballot() = ballot_.to_wire();
  m.mutable_prepare()->set_from_slot(kSlot);
  broadcast(env, m);
  env.set_timer(options_.attempt_timeout, kTimeoutTag + attempts_);
}

void SingleDecreeNode::on_promise(Env& env, NodeId from, const Message& m) {
  if (phase_ != Phase::kPreparing || Ballot::of(m.ballot()) != ballot_) return;
  auto& report = promises_[from];
  for (const SlotState& s : m.promise().slots())
    if (s.slot() == kSlot) report = s;
  uint64_t promised = 0;
  for (const auto& [node, unused] : promises_)
    promised |= uint64_t{1} << node;
  // Its own promise too, heard only once durable: the ballot must survive a
  // crash, or the node could propose another value in it after a restart.
  if (!is_majority(promised) || !promises_.count(self_)) return;
  std::vector<const SlotState*> reports;
  for (const auto& [node, r] : promises_)
    if (r) reports.push_back(&*r);
  const SlotState* pick = value_to_propose(reports);
  proposing_ = pick && !options_.bugs.ignore_promised_values ? pick->value() : proposal_;
  phase_ = Phase::kAccepting;
  accepts_ = 0;
  if (env.tracing())
    env.note(std::string("accept ") + ballot_.to_string() + " with " +
             (pick ? "the value of ballot " + ballot_of(*pick).to_string() : "its own value"));
  Message accept;
  *accept.mutable_ballot() = ballot_.to_wire();
  SlotState* p = accept.mutable_accept()->add_proposals();
  p->set_slot(kSlot);
  *p->mutable_value() = proposing_;
  broadcast(env, accept);
}

void SingleDecreeNode::on_accepted(Env& env, NodeId from, const Message& m) {
  if (phase_ != Phase::kAccepting || Ballot::of(m.ballot()) != ballot_) return;
  accepts_ |= uint64_t{1} << from;
  if (!is_majority(accepts_)) return;
  SlotState chosen;
  chosen.set_slot(kSlot);
  *chosen.mutable_ballot() = ballot_.to_wire();
  *chosen.mutable_value() = proposing_;
  chosen.set_chosen(true);
  decide(env, chosen);
  // The distinguished learner tells everyone.
  Message m2;
  *m2.mutable_ballot() = ballot_.to_wire();
  *m2.mutable_chosen()->add_slots() = chosen;
  for (NodeId n = 0; n < cluster_size_; ++n)
    if (n != self_) send(env, {n, m2, {}});
}

// ---- acceptor and learner ---------------------------------------------------

void SingleDecreeNode::handle(Env& env, NodeId from, const Message& m) {
  Ballot b = Ballot::of(m.ballot());
  max_round_seen_ = std::max(max_round_seen_, b.round);
  switch (m.body_case()) {
    case Message::kPrepare:
      on_prepare(env, from, m);
      break;
    case Message::kPromise:
      on_promise(env, from, m);
      break;
    case Message::kAccept:
      on_accept(env, from, m);
      break;
    case Message::kAccepted:
      on_accepted(env, from, m);
      break;
    case Message::kReject:
      if (phase_ != Phase::kIdle && b > ballot_) {
        if (env.tracing())
          env.note("attempt " + ballot_.to_string() + " outranked by " + b.to_string());
        give_up(env);
      }
      break;
    case Message::kChosen:
      for (const SlotState& s : m.chosen().slots())
        if (s.slot() == kSlot && s.chosen()) decide(env, s);
      break;
    default:
      break;  // Multi-Paxos's other messages mean nothing here
  }
}

// A node that knows the decision answers with it instead of taking part.
bool SingleDecreeNode::answer_with_decision(Env& env, NodeId to) {
  if (!decided_ || to == self_) return false;
  Message m;
  *m.mutable_ballot() = promised_.to_wire();
  SlotState* s = m.mutable_chosen()->add_slots();
  *s = *accepted_;
  send(env, {to, std::move(m), {}});
  return true;
}

void SingleDecreeNode::raise_promise(Ballot ballot) {
  if (ballot <= promised_) return;
  promised_ = ballot;
  if (options_.bugs.forget_promises) return;  // the bug: memory only
  store_.promise(ballot);
  sync_wanted_ = true;
}

void SingleDecreeNode::on_prepare(Env& env, NodeId from, const Message& m) {
  if (answer_with_decision(env, from)) return;
  Ballot b = Ballot::of(m.ballot());
  Message reply;
  if (b < promised_) {
    *reply.mutable_ballot() = promised_.to_wire();
    reply.mutable_reject();
    send(env, {from, std::move(reply), {}});
    return;
  }
  raise_promise(b);
  *reply.mutable_ballot() = b.to_wire();
  reply.mutable_promise()->set_from_slot(kSlot);
  if (accepted_) *reply.mutable_promise()->add_slots() = *accepted_;
  if (options_.bugs.forget_promises)
    send(env, {from, std::move(reply), {}});
  else
    outbox_.reply_when_durable({from, std::move(reply), {}});
}

void SingleDecreeNode::on_accept(Env& env, NodeId from, const Message& m) {
  if (answer_with_decision(env, from)) return;
  Ballot b = Ballot::of(m.ballot());
  Message reply;
  if (b < promised_ || m.accept().proposals_size() != 1 ||
      m.accept().proposals(0).slot() != kSlot) {
    *reply.mutable_ballot() = promised_.to_wire();
    reply.mutable_reject();
    send(env, {from, std::move(reply), {}});
    return;
  }
  raise_promise(b);
  const Value& value = m.accept().proposals(0).value();
  if (!accepted_ || ballot_of(*accepted_) != b) {
    accepted_.emplace();
    accepted_->set_slot(kSlot);
    *accepted_->mutable_ballot() = b.to_wire();
    *accepted_->mutable_value() = value;
    store_.slot(*accepted_);
    sync_wanted_ = true;
  }
  *reply.mutable_ballot() = b.to_wire();
  reply.mutable_accepted()->add_slots(kSlot);
  Reply r{from, std::move(reply), {}};
  if (options_.observer) r.accepted.emplace_back(kSlot, value);
  outbox_.reply_when_durable(std::move(r));
}

void SingleDecreeNode::decide(Env& env, const SlotState& state) {
  if (decided_) return;
  decided_ = state.value();
  phase_ = Phase::kIdle;
  if (options_.observer) options_.observer->learned(self_, kSlot, *decided_);
  // Kept, so a restarted node answers with it: as the slot's value, which a
  // promise would report as chosen anyway.
  accepted_ = state;
  accepted_->set_chosen(true);
  store_.slot(*accepted_);
  sync_wanted_ = true;
  if (env.tracing()) env.note("decided");
}

// ---- sending -----------------------------------------------------------------

void SingleDecreeNode::broadcast(Env& env, const Message& m) {
  for (NodeId n = 0; n < cluster_size_; ++n)
    send(env, {n, m, {}});
}

// After each input: handle what this node sent itself, then persist and hold
// the replies that depend on it.
void SingleDecreeNode::settle(Env& env) {
  do {
    while (auto m = outbox_.next_to_self())
      handle(env, self_, *m);
    std::optional<SyncId> sync;
    if (sync_wanted_) {
      sync_wanted_ = false;
      sync = store_.sync(env.storage());
    }
    outbox_.flush(env, sync);
  } while (outbox_.has_to_self());
}

}  // namespace synod::paxos
