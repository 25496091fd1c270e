#include "synod/txn/participant.h"

#include "synod/base/assert.h"
#include "synod/protocol/message.h"

namespace synod::txn {
size_t Participant::in_doubt() const {
  size_t n = 0;
  for (const auto& [id, t] : txns_)
    n += t.state == State::kPrepared;
  return n;
}

void Participant::start(Env& env) {
  self_ = env.self();
  for (int i = 0; i < options_.accounts_per_participant; ++i)
    balances_[account_name(self_, i)] = kInitialBalance;
  auto records = log_.recover(env.storage());
  // Damage that a crash cannot explain: stop rather than serve wrong data.
  SYNOD_ASSERT_MSG(records.ok(), std::string(records.status().message()).c_str());
  for (const wire::TxnRecord& r : *records) {
    if (r.has_prepared()) {
      Txn& t = txns_[r.txn()];
      t.ops.assign(r.prepared().ops().begin(), r.prepared().ops().end());
      t.participants.assign(r.prepared().participants().begin(), r.prepared().participants().end());
      for (const wire::TxnOp& op : t.ops)
        locks_[op.account()] = r.txn();
    } else if (r.has_decided()) {
      Txn& t = txns_[r.txn()];
      if (t.state != State::kPrepared) continue;
      for (const wire::TxnOp& op : t.ops) {
        if (r.decided().commit()) balances_[op.account()] += op.delta();
        locks_.erase(op.account());
      }
      t.state = r.decided().commit() ? State::kCommitted : State::kAborted;
    }
  }
  // Still in doubt after a restart: ask at the next tick.
  for (auto& [id, t] : txns_)
    if (t.state == State::kPrepared) t.in_doubt_since = t.asked = env.now() - options_.timeout;
  started_ = true;
  if (env.tracing())
    env.note("recovered " + std::to_string(txns_.size()) + " transactions, " +
             std::to_string(in_doubt()) + " in doubt");
  env.set_timer(options_.tick, kTickTimer);
}

void Participant::on_message(Env& env, const Incoming& message) {
  if (is_client(message.from)) return;
  auto m = parse_message<wire::TxnMessage>(message.payload);
  if (!m) return;  // malformed: dropped, never trusted
  switch (m->body_case()) {
    case wire::TxnMessage::kPrepare:
      on_prepare(env, message.from, m->txn(), m->prepare());
      break;
    case wire::TxnMessage::kDecision:
      on_decision(env, message.from, m->txn(), m->decision().commit());
      break;
    case wire::TxnMessage::kQuery:
      on_query(message.from, m->txn());
      break;
    case wire::TxnMessage::kState:
      on_state(env, m->txn(), m->state().state());
      break;
    default:
      break;
  }
  log_.flush(env);
}

void Participant::on_timer(Env& env, uint64_t tag) {
  if (tag != kTickTimer) return;
  for (auto& [id, t] : txns_)
    if (t.state == State::kPrepared && env.now() - t.asked >= options_.timeout &&
        !options_.bugs.no_retry)
      ask(env, id, t);
  log_.flush(env);
  env.set_timer(options_.tick, kTickTimer);
}

void Participant::on_synced(Env& env, SyncId id) {
  log_.on_synced(env, id);
}

void Participant::on_prepare(Env& env, NodeId from, TxnId txn, const wire::TxnPrepare& p) {
  wire::TxnMessage vote = message(txn);
  if (auto it = txns_.find(txn); it != txns_.end()) {
    // Asked again (a duplicate): the same answer.
    vote.mutable_vote()->set_commit(it->second.state != State::kAborted);
    log_.send_when_durable(from, vote);
    return;
  }
  bool ok = !p.ops().empty();
  std::map<std::string, int64_t> after;
  for (const wire::TxnOp& op : p.ops()) {
    auto balance = balances_.find(op.account());
    if (balance == balances_.end() || locks_.count(op.account())) {
      ok = false;
      break;
    }
    auto [it, fresh] = after.try_emplace(op.account(), balance->second);
    it->second += op.delta();
    if (it->second < 0) ok = false;
  }
  if (options_.observer) options_.observer->voted(self_, txn, ok);
  vote.mutable_vote()->set_commit(ok);
  if (!ok) {
    // Abort alone: nobody can have decided commit, so nothing needs to be
    // durable; remembered so that a duplicate prepare gets the same vote.
    txns_[txn].state = State::kAborted;
    env.send(from, vote.SerializeAsString());
    return;
  }
  Txn& t = txns_[txn];
  t.ops.assign(p.ops().begin(), p.ops().end());
  t.participants.assign(p.participants().begin(), p.participants().end());
  t.in_doubt_since = t.asked = env.now();
  for (const wire::TxnOp& op : t.ops)
    locks_[op.account()] = txn;
  wire::TxnRecord r;
  r.set_txn(txn);
  *r.mutable_prepared() = p;
  if (options_.bugs.vote_without_persist) {
    env.send(from, vote.SerializeAsString());  // the bug: before the record is written
    log_.record(r);
    return;
  }
  log_.record(r);
  log_.send_when_durable(from, vote);
}

void Participant::finish(Env& env, TxnId txn, Txn& t, bool commit) {
  SYNOD_ASSERT(t.state == State::kPrepared);
  for (const wire::TxnOp& op : t.ops) {
    if (commit) balances_[op.account()] += op.delta();
    locks_.erase(op.account());
  }
  t.state = commit ? State::kCommitted : State::kAborted;
  wire::TxnRecord r;
  r.set_txn(txn);
  r.mutable_decided()->set_commit(commit);
  log_.record(r);
  if (TxnObserver* o = options_.observer) {
    o->applied(self_, txn, commit);
    o->unblocked(self_, txn, env.now() - t.in_doubt_since);
  }
  if (env.tracing())
    env.note(std::string(commit ? "committed " : "aborted ") + std::to_string(txn));
}

void Participant::on_decision(Env& env, NodeId from, TxnId txn, bool commit) {
  auto it = txns_.find(txn);
  if (it != txns_.end() && it->second.state == State::kPrepared)
    finish(env, txn, it->second, commit);
  // Acknowledged once the outcome is durable (or, if this node never
  // prepared it, at once: it has nothing to do).
  wire::TxnMessage ack = message(txn);
  ack.mutable_ack();
  log_.send_when_durable(from, ack);
}

void Participant::on_query(NodeId from, TxnId txn) {
  wire::TxnMessage answer = message(txn);
  auto it = txns_.find(txn);
  if (it == txns_.end()) {
    // Never prepared here: abort it now, for good.
    Txn& t = txns_[txn];
    t.state = State::kAborted;
    wire::TxnRecord r;
    r.set_txn(txn);
    r.mutable_decided()->set_commit(false);
    log_.record(r);
    answer.mutable_state()->set_state(wire::TxnState::ABORTED);
  } else {
    switch (it->second.state) {
      case State::kPrepared:
        answer.mutable_state()->set_state(wire::TxnState::PREPARED);
        break;
      case State::kCommitted:
        answer.mutable_state()->set_state(wire::TxnState::COMMITTED);
        break;
      case State::kAborted:
        answer.mutable_state()->set_state(wire::TxnState::ABORTED);
        break;
    }
  }
  log_.send_when_durable(from, answer);
}

void Participant::on_state(Env& env, TxnId txn, wire::TxnState::State state) {
  auto it = txns_.find(txn);
  if (it == txns_.end() || it->second.state != State::kPrepared) return;
  if (state == wire::TxnState::COMMITTED) finish(env, txn, it->second, true);
  if (state == wire::TxnState::ABORTED) finish(env, txn, it->second, false);
}

void Participant::ask(Env& env, TxnId txn, Txn& t) {
  t.asked = env.now();
  wire::TxnMessage query = message(txn);
  query.mutable_query();
  std::string bytes = query.SerializeAsString();
  for (NodeId c : options_.coordinators)
    env.send(c, bytes);
  if (options_.cooperative)
    for (NodeId peer : t.participants)
      if (peer != self_) env.send(peer, bytes);
}

}  // namespace synod::txn
