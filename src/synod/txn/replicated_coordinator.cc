#include "synod/txn/replicated_coordinator.h"

#include <algorithm>

#include "synod/base/assert.h"
#include "synod/protocol/message.h"

namespace synod::txn {

ReplicatedCoordinator::ReplicatedCoordinator(TxnOptions options, raft::RaftEngineOptions raft)
    : options_(std::move(options)), engine_([&] {
        raft.bootstrap = raft::Membership::of_voters(options_.coordinators);
        return raft;
      }()) {}

bool ReplicatedCoordinator::leads() const {
  return engine_.started() && engine_.node().role() == raft::Role::kLeader;
}

void ReplicatedCoordinator::start(Env& env) {
  self_ = env.self();
  rng_ = env.rng().split("txn");
  for (NodeId n : env.nodes())
    if (std::find(options_.coordinators.begin(), options_.coordinators.end(), n) ==
        options_.coordinators.end())
      participants_.push_back(n);
  engine_.start(env, *this);
  env.set_timer(options_.tick, kTickTimer);
}

void ReplicatedCoordinator::on_message(Env& env, const Incoming& message) {
  if (is_client(message.from)) return;
  bool replica = std::find(options_.coordinators.begin(), options_.coordinators.end(),
                           message.from) != options_.coordinators.end();
  if (replica) {
    engine_.on_message(env, message);
    return;
  }
  auto m = parse_message<wire::TxnMessage>(message.payload);
  if (m) on_txn(env, message.from, *m);
}

void ReplicatedCoordinator::on_timer(Env& env, uint64_t tag) {
  if (tag != kTickTimer) {
    engine_.on_timer(env, tag);
    return;
  }
  env.set_timer(options_.tick, kTickTimer);
  tick(env);
}

void ReplicatedCoordinator::on_synced(Env& env, SyncId id) {
  engine_.on_synced(env, id);
}

void ReplicatedCoordinator::tick(Env& env) {
  if (!leads()) {
    leading_ = false;
    voting_.clear();
    proposed_.clear();
    sending_.clear();
    asking_.clear();
    return;
  }
  if (!leading_ || term_ != engine_.node().term()) {
    // Leading now: every decision on record goes out again (whoever led
    // before may not have delivered it), and new transactions carry this
    // term.
    leading_ = true;
    term_ = engine_.node().term();
    seq_ = 0;
    voting_.clear();  // a leadership lost and won back between two ticks
    proposed_.clear();
    sending_.clear();
    asking_.clear();
    for (const auto& [txn, commit] : decisions_)
      sending_[txn] = {decision_participants_[txn], {}, env.now() - options_.timeout};
    if (env.tracing()) env.note("coordinating, term " + std::to_string(term_));
  }
  for (const auto& [txn, participants] : take_late(voting_, env.now(), options_.timeout))
    propose(env, txn, options_.bugs.commit_on_timeout, participants);
  for (auto& [txn, s] : sending_) {
    if (options_.bugs.no_retry || env.now() - s.sent < options_.timeout) continue;
    for (NodeId p : s.participants)
      if (!s.acked.count(p)) send_decision(env, txn, p);
    s.sent = env.now();
  }
  if (participants_.size() >= 2 && env.now() - last_begin_ >= options_.interval &&
      static_cast<int>(voting_.size()) < options_.max_in_flight)
    begin(env);
}

void ReplicatedCoordinator::begin(Env& env) {
  last_begin_ = env.now();
  ++begun_;
  start_transfer(env, term_ << 32 | ++seq_, participants_, options_.accounts_per_participant, rng_,
                 voting_);
}

void ReplicatedCoordinator::propose(Env& env, TxnId txn, bool commit,
                                    const std::vector<NodeId>& participants) {
  if (decisions_.count(txn) || proposed_.count(txn)) return;
  wire::TxnRecord r;
  r.set_txn(txn);
  r.mutable_decided()->set_commit(commit);
  for (NodeId p : participants)
    r.mutable_decided()->add_participants(p);
  if (engine_.propose(env, r.SerializeAsString())) return;  // refused: not leader
  proposed_.insert(txn);
  if (options_.bugs.commit_before_persist && commit) {
    // The bug: participants hear commit before a majority of replicas hold it.
    if (options_.observer) options_.observer->decided(txn, commit, participants);
    wire::TxnMessage m;
    m.set_txn(txn);
    m.mutable_decision()->set_commit(true);
    for (NodeId p : participants)
      env.send(p, m.SerializeAsString());
  }
}

void ReplicatedCoordinator::apply(Env& env, uint64_t, std::string_view command) {
  wire::TxnRecord r;
  if (!r.ParseFromArray(command.data(), static_cast<int>(command.size())) || !r.has_decided())
    return;
  TxnId txn = r.txn();
  if (decisions_.count(txn)) return;  // the first decision in the log wins
  bool commit = r.decided().commit();
  std::vector<NodeId> participants(r.decided().participants().begin(),
                                   r.decided().participants().end());
  decisions_[txn] = commit;
  decision_participants_[txn] = participants;
  if (options_.observer) options_.observer->decided(txn, commit, participants);
  if (!leading_) return;
  sending_[txn] = {participants, {}, env.now()};
  for (NodeId p : participants)
    send_decision(env, txn, p);
  if (auto a = asking_.find(txn); a != asking_.end()) {
    for (NodeId p : a->second)
      answer(env, p, txn, commit);
    asking_.erase(a);
  }
}

void ReplicatedCoordinator::send_decision(Env& env, TxnId txn, NodeId to) {
  wire::TxnMessage m;
  m.set_txn(txn);
  m.mutable_decision()->set_commit(decisions_.at(txn));
  env.send(to, m.SerializeAsString());
}

void ReplicatedCoordinator::answer(Env& env, NodeId to, TxnId txn, bool commit) {
  wire::TxnMessage m;
  m.set_txn(txn);
  m.mutable_state()->set_state(commit ? wire::TxnState::COMMITTED : wire::TxnState::ABORTED);
  env.send(to, m.SerializeAsString());
}

void ReplicatedCoordinator::on_txn(Env& env, NodeId from, const wire::TxnMessage& m) {
  TxnId txn = m.txn();
  switch (m.body_case()) {
    case wire::TxnMessage::kVote: {
      auto it = voting_.find(txn);
      if (!leading_ || it == voting_.end()) return;
      std::optional<bool> outcome = it->second.add(from, m.vote().commit());
      if (!outcome) return;
      std::vector<NodeId> participants = it->second.participants;
      voting_.erase(it);
      propose(env, txn, *outcome, participants);
      return;
    }
    case wire::TxnMessage::kAck: {
      auto it = sending_.find(txn);
      if (it == sending_.end()) return;
      it->second.acked.insert(from);
      if (it->second.acked.size() >= it->second.participants.size()) sending_.erase(it);
      return;
    }
    case wire::TxnMessage::kQuery: {
      if (auto d = decisions_.find(txn); d != decisions_.end()) {
        answer(env, from, txn, d->second);
        return;
      }
      if (!leading_ || voting_.count(txn)) return;  // not decided yet: ask again later
      // Its leader fell while collecting votes: abort, through the log.
      asking_[txn].insert(from);
      propose(env, txn, false, {from});
      return;
    }
    default:
      return;
  }
}

std::string ReplicatedCoordinator::take_snapshot() {
  wire::TxnDecisions all;
  for (const auto& [txn, commit] : decisions_) {
    wire::TxnRecord* r = all.add_decisions();
    r->set_txn(txn);
    r->mutable_decided()->set_commit(commit);
    for (NodeId p : decision_participants_[txn])
      r->mutable_decided()->add_participants(p);
  }
  return all.SerializeAsString();
}

void ReplicatedCoordinator::restore_snapshot(Env&, uint64_t, std::string_view snapshot) {
  wire::TxnDecisions all;
  SYNOD_ASSERT(all.ParseFromArray(snapshot.data(), static_cast<int>(snapshot.size())));
  decisions_.clear();
  decision_participants_.clear();
  for (const wire::TxnRecord& r : all.decisions()) {
    decisions_[r.txn()] = r.decided().commit();
    decision_participants_[r.txn()].assign(r.decided().participants().begin(),
                                           r.decided().participants().end());
  }
}

}  // namespace synod::txn
