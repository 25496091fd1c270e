#include "synod/txn/coordinator.h"

#include <algorithm>

#include "synod/base/assert.h"
#include "synod/protocol/message.h"

namespace synod::txn {
void Coordinator::start(Env& env) {
  SYNOD_ASSERT(env.self() == kCoordinator);
  cluster_size_ = env.nodes().size();
  for (NodeId p = 1; p < cluster_size_; ++p)
    participants_.push_back(p);
  rng_ = env.rng().split("txn");
  auto records = log_.recover(env.storage());
  SYNOD_ASSERT_MSG(records.ok(), std::string(records.status().message()).c_str());
  for (const wire::TxnRecord& r : *records) {
    if (r.has_epoch()) epoch_ = std::max(epoch_, r.epoch());
    if (r.has_decided()) {
      Decision& d = decisions_[r.txn()];
      d.commit = r.decided().commit();
      d.participants.assign(r.decided().participants().begin(), r.decided().participants().end());
    }
    if (r.has_done() && r.done()) decisions_[r.txn()].done = true;
  }
  // A new epoch, durable before any transaction of it: ids never repeat.
  ++epoch_;
  wire::TxnRecord r;
  r.set_epoch(epoch_);
  log_.record(r);
  started_ = true;
  if (env.tracing()) env.note("epoch " + std::to_string(epoch_));
  env.set_timer(options_.tick, kTickTimer);
  epoch_sync_ = *log_.flush(env);
}

void Coordinator::on_synced(Env& env, SyncId id) {
  if (id >= epoch_sync_) ready_ = true;  // the epoch is durable
  log_.on_synced(env, id);
}

void Coordinator::on_message(Env& env, const Incoming& message) {
  if (is_client(message.from) || message.from >= cluster_size_) return;
  auto m = parse_message<wire::TxnMessage>(message.payload);
  if (!m) return;
  switch (m->body_case()) {
    case wire::TxnMessage::kVote:
      on_vote(env, message.from, m->txn(), m->vote().commit());
      break;
    case wire::TxnMessage::kAck:
      on_ack(env, message.from, m->txn());
      break;
    case wire::TxnMessage::kQuery:
      on_query(env, message.from, m->txn());
      break;
    default:
      break;
  }
  log_.flush(env);
}

void Coordinator::on_timer(Env& env, uint64_t tag) {
  if (tag != kTickTimer) return;
  env.set_timer(options_.tick, kTickTimer);
  // Votes missing after the timeout: abort.
  for (auto& [txn, participants] : take_late(voting_, env.now(), options_.timeout))
    decide(env, txn, options_.bugs.commit_on_timeout, std::move(participants));
  // Decisions not acknowledged: again.
  for (auto& [txn, d] : decisions_) {
    if (d.done || options_.bugs.no_retry || env.now() - d.sent < options_.timeout) continue;
    for (NodeId p : d.participants)
      if (std::find(d.acked.begin(), d.acked.end(), p) == d.acked.end())
        send_decision(env, txn, d, p);
  }
  if (ready_ && participants_.size() >= 2 && env.now() - last_begin_ >= options_.interval &&
      static_cast<int>(voting_.size()) < options_.max_in_flight)
    begin(env);
  log_.flush(env);
}

void Coordinator::begin(Env& env) {
  last_begin_ = env.now();
  ++begun_;
  start_transfer(env, epoch_ << 32 | ++seq_, participants_, options_.accounts_per_participant, rng_,
                 voting_);
}

void Coordinator::on_vote(Env& env, NodeId from, TxnId txn, bool commit) {
  auto it = voting_.find(txn);
  if (it == voting_.end()) return;  // decided already
  std::optional<bool> outcome = it->second.add(from, commit);
  if (!outcome) return;
  std::vector<NodeId> participants = it->second.participants;
  voting_.erase(it);
  decide(env, txn, *outcome, std::move(participants));
}

void Coordinator::decide(Env& env, TxnId txn, bool commit, std::vector<NodeId> participants) {
  Decision& d = decisions_[txn];
  d.commit = commit;
  d.participants = std::move(participants);
  wire::TxnRecord r;
  r.set_txn(txn);
  r.mutable_decided()->set_commit(commit);
  for (NodeId p : d.participants)
    r.mutable_decided()->add_participants(p);
  log_.record(r);
  if (options_.observer) options_.observer->decided(txn, commit, d.participants);
  if (env.tracing()) env.note(std::string(commit ? "commit " : "abort ") + std::to_string(txn));
  for (NodeId p : d.participants)
    send_decision(env, txn, d, p);
}

void Coordinator::send_decision(Env& env, TxnId txn, Decision& d, NodeId to) {
  d.sent = env.now();
  wire::TxnMessage m = message(txn);
  m.mutable_decision()->set_commit(d.commit);
  if (options_.bugs.commit_before_persist)
    env.send(to, m.SerializeAsString());  // the bug: the decision may not be on disk yet
  else
    log_.send_when_durable(to, m);
}

void Coordinator::on_ack(Env&, NodeId from, TxnId txn) {
  auto it = decisions_.find(txn);
  if (it == decisions_.end() || it->second.done) return;
  Decision& d = it->second;
  if (std::find(d.acked.begin(), d.acked.end(), from) == d.acked.end()) d.acked.push_back(from);
  if (d.acked.size() < d.participants.size()) return;
  d.done = true;
  wire::TxnRecord r;
  r.set_txn(txn);
  r.set_done(true);
  log_.record(r);
}

void Coordinator::on_query(Env& env, NodeId from, TxnId txn) {
  wire::TxnMessage answer = message(txn);
  if (auto it = decisions_.find(txn); it != decisions_.end()) {
    answer.mutable_state()->set_state(it->second.commit ? wire::TxnState::COMMITTED
                                                        : wire::TxnState::ABORTED);
    if (options_.bugs.commit_before_persist)
      env.send(from, answer.SerializeAsString());
    else
      log_.send_when_durable(from, answer);
    return;
  }
  if (voting_.count(txn)) {
    answer.mutable_state()->set_state(wire::TxnState::UNKNOWN);  // not decided yet
    env.send(from, answer.SerializeAsString());
    return;
  }
  // Begun before a crash, never decided: presumed abort, recorded first.
  std::vector<NodeId> participants{from};
  decide(env, txn, false, std::move(participants));
  answer.mutable_state()->set_state(wire::TxnState::ABORTED);
  log_.send_when_durable(from, answer);
}

}  // namespace synod::txn
