#include "synod/paxos/multi_paxos.h"

#include <algorithm>
#include <bit>

#include "synod/base/assert.h"
#include "synod/protocol/message.h"

namespace synod::paxos {

using replication::Refused;

std::string_view role_name(MultiPaxosEngine::Role role) {
  switch (role) {
    case MultiPaxosEngine::Role::kFollower:
      return "follower";
    case MultiPaxosEngine::Role::kCandidate:
      return "candidate";
    case MultiPaxosEngine::Role::kLeader:
      return "leader";
  }
  return "?";
}

MultiPaxosEngine::MultiPaxosEngine(MultiPaxosOptions options) : options_(std::move(options)) {
  SYNOD_ASSERT(options_.tick.count() > 0);
  SYNOD_ASSERT(options_.heartbeat_ticks > 0 && options_.election_ticks > options_.heartbeat_ticks);
  SYNOD_ASSERT(options_.election_ticks < kMaxCatchUpTicks);
  SYNOD_ASSERT(options_.max_batch > 0 && options_.max_inflight > 0);
  SYNOD_ASSERT(options_.snapshot_keep <= options_.snapshot_every || options_.snapshot_every == 0);
}

// ---- inputs -------------------------------------------------------------------

void MultiPaxosEngine::start(Env& env, replication::Applier& applier) {
  applier_ = &applier;
  self_ = env.self();
  cluster_size_ = env.nodes().size();
  outbox_.start(self_, options_.observer);
  // Acks are kept as one bit per node.
  SYNOD_ASSERT(cluster_size_ >= 1 && cluster_size_ <= 64);
  SYNOD_ASSERT(env.nodes().back() < cluster_size_);
  rng_ = env.rng().split("paxos");
  peer_chosen_.assign(cluster_size_, 0);
  auto recovered = store_.recover(env.storage());
  // Damage that a crash cannot explain: stop rather than serve wrong data.
  SYNOD_ASSERT_MSG(recovered.ok(), std::string(recovered.status().message()).c_str());
  if (recovered->snapshot) {
    snapshot_ = recovered->snapshot;
    snapshot_slot_ = compacted_upto_ = chosen_upto_ = applied_ = recovered->snapshot_slot;
    applier.restore_snapshot(env, snapshot_slot_, *snapshot_);
  }
  promised_ = recovered->promised;
  max_round_seen_ = promised_.round;
  slots_ = std::move(recovered->slots);
  advance(env);
  recorded_chosen_upto_ = chosen_upto_;
  if (env.tracing())
    env.note("recovered promise " + promised_.to_string() + ", " + std::to_string(slots_.size()) +
             " slots, chosen to " + std::to_string(chosen_upto_));
  last_tick_ = env.now();
  env.set_timer(options_.tick, kTickTimer);
  settle(env);
}

// Ticks follow the local clock whatever delayed this input, as in Raft's engine.
void MultiPaxosEngine::catch_up_ticks(Env& env) {
  int ticks = 0;
  while (env.now() - last_tick_ >= options_.tick) {
    last_tick_ += options_.tick;
    if (++ticks <= kMaxCatchUpTicks) tick(env);
  }
}

void MultiPaxosEngine::on_timer(Env& env, uint64_t tag) {
  catch_up_ticks(env);
  if (tag == kTickTimer) env.set_timer(options_.tick - (env.now() - last_tick_), kTickTimer);
  if (tag == kFlushTimer) {
    flush_scheduled_ = false;
    send_proposals(env);
  }
  settle(env);
}

void MultiPaxosEngine::on_message(Env& env, const Incoming& message) {
  if (is_client(message.from) || message.from >= cluster_size_ || message.from == self_) return;
  auto m = parse_message<Message>(message.payload);
  if (!m) return;  // malformed: dropped, never trusted
  catch_up_ticks(env);
  handle(env, message.from, *m);
  settle(env);
}

void MultiPaxosEngine::on_synced(Env& env, SyncId id) {
  catch_up_ticks(env);
  if (store_.compaction_due(id) && compact_to_) {
    // The snapshot is durable: drop what it covers, from memory and disk.
    slots_.erase(slots_.begin(), slots_.upper_bound(*compact_to_));
    compacted_upto_ = std::max(compacted_upto_, *compact_to_);
    compact_to_.reset();
    store_.rewrite(env.storage(), promised_, slots_, chosen_upto_);
    recorded_chosen_upto_ = chosen_upto_;
    sync_wanted_ = true;
  }
  outbox_.on_synced(env, id);
  settle(env);
}

std::optional<Refused> MultiPaxosEngine::propose(Env& env, std::string command) {
  catch_up_ticks(env);
  if (role_ != Role::kLeader) return not_leader();
  if (inflight_.size() >= options_.max_inflight)
    return Refused{Refused::Reason::kRetryLater, self_, "too many slots in flight"};
  Slot s = next_slot_++;
  InFlight& slot = inflight_[s];
  slot.value.set_command(std::move(command));
  slot.sent_tick = ticks_;
  unsent_.push_back(s);
  if (options_.batch)
    schedule_flush(env);
  else
    send_proposals(env);
  settle(env);
  return std::nullopt;
}

std::optional<Refused> MultiPaxosEngine::read(Env& env, uint64_t read) {
  catch_up_ticks(env);
  if (role_ != Role::kLeader) return not_leader();
  reads_.push_back({read, next_slot_ - 1, heartbeat_round_ + 1});
  round_wanted_ = true;
  if (options_.batch)
    schedule_flush(env);
  else
    send_proposals(env);
  serve_reads(env);  // a cluster of one confirms alone
  settle(env);
  return std::nullopt;
}

std::optional<NodeId> MultiPaxosEngine::leader() const {
  return role_ == Role::kLeader ? std::optional<NodeId>(self_) : leader_;
}

const SlotState* MultiPaxosEngine::slot(Slot s) const {
  auto it = slots_.find(s);
  return it == slots_.end() ? nullptr : &it->second;
}

Refused MultiPaxosEngine::not_leader() const {
  return {Refused::Reason::kNotLeader, leader_, std::string(role_name(role_))};
}

bool MultiPaxosEngine::is_majority(uint64_t mask) const {
  return static_cast<uint64_t>(std::popcount(mask)) >= majority(cluster_size_);
}

// ---- time ---------------------------------------------------------------------

void MultiPaxosEngine::tick(Env& env) {
  ++ticks_;
  if (catching_up_ && ticks_ - catching_up_->asked_tick >= 2 * options_.heartbeat_ticks)
    catching_up_.reset();  // lost, or the peer died
  if (!catching_up_) {
    // Ask the next peer known to be ahead, in turn, so a dead one is not
    // asked forever.
    for (NodeId k = 1; k <= cluster_size_; ++k) {
      NodeId peer = static_cast<NodeId>((last_asked_ + k) % cluster_size_);
      if (peer != self_ && peer_chosen_[peer] > chosen_upto_) {
        maybe_catch_up(env, peer, peer_chosen_[peer]);
        break;
      }
    }
  }
  switch (role_) {
    case Role::kLeader: {
      // Slots known chosen at takeover that nobody up can hand over (the
      // node that knew died): a new phase 1, without it, recovers them from
      // the values its quorum accepted.
      if (chosen_upto_ < known_chosen_ && ticks_ - leader_since_ >= options_.election_ticks) {
        step_down(env, ballot_, "cannot learn slots chosen before it led");
        campaign(env);
        return;
      }
      if (ticks_ % options_.heartbeat_ticks == 0) {
        heartbeat(env);
        retransmit(env);
      }
      // Check quorum: a leader cut off from a majority steps down, so its
      // clients look elsewhere.
      if (ticks_ - campaign_started_ >= options_.election_ticks) {
        uint64_t heard = node_bit(self_);
        for (auto [peer, tick] : last_heard_)
          if (ticks_ - tick < options_.election_ticks) heard |= node_bit(peer);
        if (!is_majority(heard)) step_down(env, ballot_, "lost touch with a majority");
      }
      return;
    }
    case Role::kCandidate:
      if (ticks_ - campaign_started_ >= options_.election_ticks) {
        ++failed_campaigns_;
        step_down(env, ballot_, "no majority of promises");
      } else if ((ticks_ - campaign_started_) % options_.heartbeat_ticks == 0) {
        // Ask again whoever has not answered (lost messages).
        Message m = envelope(ballot_);
        m.mutable_prepare()->set_from_slot(prepare_from_);
        for (NodeId n = 0; n < cluster_size_; ++n)
          if (n != self_ && !promises_.count(n)) send(env, {n, m, {}});
      }
      return;
    case Role::kFollower: {
      bool suspect = leader_ && detector_ && detector_->heard()
                         ? detector_->phi(env.now()) > options_.detector.threshold
                         : ticks_ - last_leader_tick_ >= options_.election_ticks;
      if (!suspect) {
        campaign_tick_.reset();
        return;
      }
      // Randomized backoff, growing with each failed attempt, so that
      // duelling proposers do not livelock.
      if (!campaign_tick_) {
        int64_t range = int64_t{options_.election_ticks} << std::min(failed_campaigns_, 4);
        campaign_tick_ = ticks_ + static_cast<int64_t>(rng_.uniform(static_cast<uint64_t>(range)));
      }
      if (ticks_ >= *campaign_tick_) campaign(env);
      return;
    }
  }
}

void MultiPaxosEngine::schedule_flush(Env& env) {
  if (flush_scheduled_) return;
  flush_scheduled_ = true;
  env.set_timer(Duration(0), kFlushTimer);
}

// ---- sending ------------------------------------------------------------------

MultiPaxosEngine::Message MultiPaxosEngine::envelope(Ballot ballot) const {
  Message m;
  *m.mutable_ballot() = ballot.to_wire();
  m.set_chosen_upto(chosen_upto_);
  return m;
}

void MultiPaxosEngine::broadcast(Env& env, const Message& m, bool to_self) {
  for (NodeId n = 0; n < cluster_size_; ++n)
    if (n != self_ || to_self) send(env, {n, m, {}});
}

void MultiPaxosEngine::record(const SlotState& state) {
  store_.slot(state);
  sync_wanted_ = true;
}

// Writes what this input changed and holds the replies that depend on it
// until a sync makes it durable. A reply that changed nothing still waits
// for earlier writes it may depend on.
void MultiPaxosEngine::persist(Env& env) {
  std::optional<SyncId> sync;
  if (sync_wanted_) {
    // The record says every slot the log holds up to it is chosen. Not while
    // a snapshot is unsynced: an installed one moved chosen_upto_ past slots
    // whose held values were never chosen, and a crash could keep the record
    // but lose the snapshot. The rewrite after it records the prefix.
    if (chosen_upto_ > recorded_chosen_upto_ && !compact_to_) {
      store_.chosen_upto(chosen_upto_);
      recorded_chosen_upto_ = chosen_upto_;
    }
    sync_wanted_ = false;
    sync = store_.sync(env.storage());
  }
  outbox_.flush(env, sync);
}

void MultiPaxosEngine::settle(Env& env) {
  do {
    while (auto m = outbox_.next_to_self())
      handle(env, self_, *m);
    persist(env);
  } while (outbox_.has_to_self());
  maybe_snapshot(env);
  persist(env);
}

// ---- messages -------------------------------------------------------------------

void MultiPaxosEngine::handle(Env& env, NodeId from, const Message& m) {
  max_round_seen_ = std::max(max_round_seen_, m.ballot().round());
  peer_chosen_[from] = m.chosen_upto();
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
      on_reject(env, m);
      break;
    case Message::kHeartbeat:
      on_heartbeat(env, from, m);
      break;
    case Message::kHeartbeatReply:
      on_heartbeat_reply(env, from, m);
      break;
    case Message::kCatchUp:
      on_catch_up(env, from, m);
      break;
    case Message::kChosen:
      on_chosen(env, from, m);
      break;
    case Message::kSnapshot:
      on_snapshot(env, from, m);
      break;
    case Message::BODY_NOT_SET:
      break;
  }
  // Every message says how far its sender has learned. A node still behind
  // after handling it (an accept or heartbeat may have taught it the rest)
  // asks for what it misses.
  maybe_catch_up(env, from, m.chosen_upto());
}

// ---- acceptor -------------------------------------------------------------------

// A request in a ballot below the promise is refused with the promise, so
// its proposer learns that it was outranked.
bool MultiPaxosEngine::outranked(Env& env, NodeId from, Ballot ballot) {
  if (ballot >= promised_) return false;
  Message reject = envelope(promised_);
  reject.mutable_reject();
  send(env, {from, std::move(reject), {}});
  return true;
}

void MultiPaxosEngine::raise_promise(Env& env, Ballot ballot) {
  if (ballot <= promised_) return;
  promised_ = ballot;
  if (!options_.bugs.forget_promises) {
    store_.promise(ballot);
    sync_wanted_ = true;
  }
  if (env.tracing()) env.note("promised " + ballot.to_string());
}

// A request from a proposer at or above the promise: it leads, or is trying to.
void MultiPaxosEngine::follow(Env& env, Ballot ballot) {
  if (ballot.node == self_) return;
  if (role_ != Role::kFollower && ballot > ballot_) step_down(env, ballot, "outranked");
  if (role_ != Role::kFollower) return;
  if (leader_ != ballot.node) {
    leader_ = ballot.node;
    detector_.emplace(options_.detector);
    if (env.tracing()) env.note("following " + std::to_string(ballot.node));
  }
  detector_->heartbeat(env.now());
  last_leader_tick_ = ticks_;
  campaign_tick_.reset();
  failed_campaigns_ = 0;
}

void MultiPaxosEngine::on_prepare(Env& env, NodeId from, const Message& m) {
  Ballot b = Ballot::of(m.ballot());
  if (outranked(env, from, b)) return;
  raise_promise(env, b);
  if (b.node != self_) {
    if (role_ != Role::kFollower && b > ballot_) step_down(env, b, "a higher ballot prepared");
    // Whoever we followed is outranked now: give the new proposer a whole
    // election timeout before trying ourselves.
    leader_.reset();
    detector_.reset();
    last_leader_tick_ = ticks_;
    campaign_tick_.reset();
  }
  Message promise = envelope(b);
  Slot from_slot = m.prepare().from_slot();
  promise.mutable_promise()->set_from_slot(from_slot);
  // Every slot accepted from from_slot on, and the values of slots known
  // chosen too (as many as a catch-up carries): a new leader then needs no
  // catch-up from this node, which may be gone by the time it asks.
  size_t chosen = 0;
  for (auto it = slots_.lower_bound(from_slot); it != slots_.end(); ++it) {
    if (it->second.chosen() && it->first <= chosen_upto_ && ++chosen > kMaxCatchUpSlots) continue;
    *promise.mutable_promise()->add_slots() = it->second;
  }
  if (options_.bugs.forget_promises)
    send(env, {from, std::move(promise), {}});  // the bug: before the promise is durable
  else
    outbox_.reply_when_durable({from, std::move(promise), {}});
}

void MultiPaxosEngine::on_accept(Env& env, NodeId from, const Message& m) {
  Ballot b = Ballot::of(m.ballot());
  if (outranked(env, from, b)) return;
  raise_promise(env, b);
  follow(env, b);
  Outgoing reply{from, envelope(b), {}};
  auto* acked = reply.message.mutable_accepted()->mutable_slots();
  for (const SlotState& p : m.accept().proposals()) {
    Slot s = p.slot();
    if (s == 0) continue;
    acked->Add(s);
    if (options_.observer) reply.accepted.emplace_back(s, p.value());
    if (s <= compacted_upto_) continue;  // chosen and compacted: the same value
    auto [it, fresh] = slots_.try_emplace(s);
    SlotState& held = it->second;
    if (!fresh && ballot_of(held) >= b) continue;  // a retransmission
    held.set_slot(s);
    *held.mutable_ballot() = m.ballot();
    // A slot known chosen keeps its value (a correct leader proposes the
    // same), but its new ballot is recorded all the same: a restarted
    // acceptor must not report an older ballot than it acknowledged.
    if (!held.chosen()) *held.mutable_value() = p.value();
    record(held);
  }
  mark_chosen_upto(env, m.accept().commit(), b);
  outbox_.reply_when_durable(std::move(reply));
}

void MultiPaxosEngine::on_heartbeat(Env& env, NodeId from, const Message& m) {
  Ballot b = Ballot::of(m.ballot());
  if (outranked(env, from, b)) return;
  // Promising a ballot without reporting anything only narrows what this
  // acceptor takes; it lets the echo below confirm the leader for reads.
  raise_promise(env, b);
  follow(env, b);
  mark_chosen_upto(env, m.heartbeat().commit(), b);
  // Echo the round with the promise: it confirms the leader only if no
  // higher ballot was promised since.
  Message reply = envelope(promised_);
  reply.mutable_heartbeat_reply()->set_round(m.heartbeat().round());
  outbox_.reply_when_durable({from, std::move(reply), {}});
}

// ---- proposer -------------------------------------------------------------------

void MultiPaxosEngine::campaign(Env& env) {
  role_ = Role::kCandidate;
  leader_.reset();
  detector_.reset();
  campaign_tick_.reset();
  ballot_ = {std::max(max_round_seen_, promised_.round) + 1, self_};
  max_round_seen_ = ballot_.round;
  campaign_started_ = ticks_;
  promises_.clear();
  prepare_from_ = chosen_upto_ + 1;
  if (env.tracing())
    env.note("prepare " + ballot_.to_string() + " from slot " + std::to_string(prepare_from_));
  Message m = envelope(ballot_);
  m.mutable_prepare()->set_from_slot(prepare_from_);
  broadcast(env, m, true);
}

void MultiPaxosEngine::on_promise(Env& env, NodeId from, const Message& m) {
  Ballot b = Ballot::of(m.ballot());
  if (b > ballot_ && role_ != Role::kFollower) step_down(env, b, "outranked");
  if (role_ != Role::kCandidate || b != ballot_ || m.promise().from_slot() != prepare_from_) return;
  auto& [chosen_upto, slots] = promises_[from];
  chosen_upto = m.chosen_upto();
  slots.assign(m.promise().slots().begin(), m.promise().slots().end());
  uint64_t promised = 0;
  for (const auto& [node, unused] : promises_)
    promised |= node_bit(node);
  // Its own promise too, which it hears only once durable: a node that led
  // in a ballot its disk does not hold could pick that ballot again after a
  // crash and propose other values in it.
  if (is_majority(promised) && promises_.count(self_)) become_leader(env);
}

// Phase 1 is done for every slot from prepare_from_ on. Re-propose what
// may have been chosen, fill the gaps with no-ops, and lead.
void MultiPaxosEngine::become_leader(Env& env) {
  failed_campaigns_ = 0;
  Slot known_chosen = chosen_upto_;
  std::map<Slot, std::vector<const SlotState*>> reports;
  for (const auto& [node, promise] : promises_) {
    known_chosen = std::max(known_chosen, promise.first);
    for (const SlotState& s : promise.second)
      reports[s.slot()].push_back(&s);
  }
  Slot last = std::max(known_chosen, reports.empty() ? Slot{0} : reports.rbegin()->first);
  inflight_.clear();
  unsent_.clear();
  last_heard_.clear();
  confirmed_round_.clear();
  for (Slot s = std::max(prepare_from_, chosen_upto_ + 1); s <= last; ++s) {
    if (const SlotState* held = slot(s); held && held->chosen()) continue;
    auto r = reports.find(s);
    const SlotState* pick = r == reports.end() ? nullptr : value_to_propose(r->second);
    if (pick && pick->chosen()) {
      learn(env, s, *pick);
      continue;
    }
    if (s <= known_chosen) continue;  // chosen at a peer: fetched by catch-up
    InFlight& slot = inflight_[s];
    if (pick && !options_.bugs.ignore_promised_values)
      slot.value = pick->value();
    else
      slot.value.set_noop(true);  // the bug does this even where a value was reported
    slot.sent_tick = ticks_;
    unsent_.push_back(s);
  }
  // Only now: learn() above is a candidate's, not a leader's.
  role_ = Role::kLeader;
  leader_ = self_;
  next_slot_ = last + 1;
  known_chosen_ = known_chosen;
  leader_since_ = ticks_;
  promises_.clear();
  if (env.tracing())
    env.note("leading ballot " + ballot_.to_string() + ", re-proposing " +
             std::to_string(unsent_.size()) + " slots, next slot " + std::to_string(next_slot_));
  send_proposals(env);
  heartbeat(env);
}

void MultiPaxosEngine::on_accepted(Env& env, NodeId from, const Message& m) {
  Ballot b = Ballot::of(m.ballot());
  if (b > ballot_ && role_ != Role::kFollower) step_down(env, b, "outranked");
  if (role_ != Role::kLeader || b != ballot_) return;
  last_heard_[from] = ticks_;
  for (Slot s : m.accepted().slots()) {
    auto it = inflight_.find(s);
    if (it == inflight_.end()) continue;
    it->second.acks |= node_bit(from);
    if (!is_majority(it->second.acks)) continue;
    SlotState chosen;
    chosen.set_slot(s);
    *chosen.mutable_ballot() = ballot_.to_wire();
    *chosen.mutable_value() = std::move(it->second.value);
    inflight_.erase(it);
    learn(env, s, std::move(chosen));
  }
}

void MultiPaxosEngine::on_reject(Env& env, const Message& m) {
  Ballot b = Ballot::of(m.ballot());
  if (role_ != Role::kFollower && b > ballot_) {
    if (role_ == Role::kCandidate) ++failed_campaigns_;
    step_down(env, b, "rejected by a higher ballot");
  }
}

void MultiPaxosEngine::on_heartbeat_reply(Env& env, NodeId from, const Message& m) {
  Ballot b = Ballot::of(m.ballot());
  if (b > ballot_ && role_ != Role::kFollower) step_down(env, b, "outranked");
  if (role_ != Role::kLeader || b != ballot_) return;
  last_heard_[from] = ticks_;
  uint64_t& round = confirmed_round_[from];
  round = std::max(round, m.heartbeat_reply().round());
  serve_reads(env);
}

void MultiPaxosEngine::step_down(Env& env, Ballot seen, std::string_view why) {
  if (env.tracing())
    env.note(std::string(role_name(role_)) + " " + ballot_.to_string() +
             " steps down: " + std::string(why));
  max_round_seen_ = std::max(max_round_seen_, seen.round);
  role_ = Role::kFollower;
  leader_.reset();
  detector_.reset();
  last_leader_tick_ = ticks_;
  campaign_tick_.reset();
  inflight_.clear();
  unsent_.clear();
  promises_.clear();
  fail_reads(env);
}

void MultiPaxosEngine::send_accepts(Env& env, std::optional<NodeId> to,
                                    const std::vector<Slot>& slots) {
  for (size_t i = 0; i < slots.size(); i += options_.max_batch) {
    Message m = envelope(ballot_);
    auto* accept = m.mutable_accept();
    accept->set_commit(chosen_upto_);
    for (size_t j = i; j < std::min(slots.size(), i + options_.max_batch); ++j) {
      SlotState* p = accept->add_proposals();
      p->set_slot(slots[j]);
      *p->mutable_value() = inflight_.at(slots[j]).value;
    }
    if (to)
      send(env, {*to, std::move(m), {}});
    else
      broadcast(env, m, true);
  }
}

void MultiPaxosEngine::send_proposals(Env& env) {
  if (role_ != Role::kLeader) {
    unsent_.clear();
    return;
  }
  if (!unsent_.empty()) {
    std::vector<Slot> slots;
    slots.swap(unsent_);
    send_accepts(env, std::nullopt, slots);  // to every node, this one too
  }
  if (round_wanted_) heartbeat(env);
}

void MultiPaxosEngine::heartbeat(Env& env) {
  round_wanted_ = false;
  Message m = envelope(ballot_);
  m.mutable_heartbeat()->set_commit(chosen_upto_);
  m.mutable_heartbeat()->set_round(++heartbeat_round_);
  broadcast(env, m, false);
}

// Accepts lost on the way, or their replies: sent again to whoever has not
// answered within a heartbeat.
void MultiPaxosEngine::retransmit(Env& env) {
  for (NodeId n = 0; n < cluster_size_; ++n) {
    if (n == self_) continue;
    std::vector<Slot> slots;
    for (const auto& [s, slot] : inflight_) {
      if (slots.size() >= options_.max_batch) break;
      if (!(slot.acks & node_bit(n)) && ticks_ - slot.sent_tick >= options_.heartbeat_ticks)
        slots.push_back(s);
    }
    send_accepts(env, n, slots);
  }
  for (auto& [s, slot] : inflight_)
    if (ticks_ - slot.sent_tick >= options_.heartbeat_ticks) slot.sent_tick = ticks_;
}

// ---- learner ----------------------------------------------------------------------

void MultiPaxosEngine::learn(Env& env, Slot s, SlotState state) {
  if (s <= chosen_upto_ || s <= compacted_upto_) return;
  if (role_ == Role::kLeader) {
    // Chosen without this leader: its own proposal there was outranked, or
    // (past next_slot_) it never proposed there. Either way a higher ballot
    // has led, and this leader's commit index, which tells acceptors that
    // their values of its ballot are chosen, must not cover such slots.
    auto mine = inflight_.find(s);
    bool other_value =
        mine != inflight_.end() && (mine->second.value.noop() != state.value().noop() ||
                                    mine->second.value.command() != state.value().command());
    if (mine != inflight_.end()) inflight_.erase(mine);
    if (other_value || s >= next_slot_)
      step_down(env, ballot_, "a slot was chosen in a higher ballot");
  }
  auto [it, fresh] = slots_.try_emplace(s);
  SlotState& held = it->second;
  if (held.chosen()) return;
  if (fresh || ballot_of(held) != ballot_of(state)) {
    state.set_slot(s);
    state.set_chosen(true);
    held = std::move(state);
    record(held);
  } else {
    held.set_chosen(true);  // on disk by the next chosen_upto record, or learned again
  }
  if (options_.observer) options_.observer->learned(self_, s, held.value());
  advance(env);
}

// The leader of `ballot` says every slot up to `commit` is chosen: so is
// what this node accepted in that ballot (a leader proposes one value per
// slot, and only the chosen one where one was).
void MultiPaxosEngine::mark_chosen_upto(Env& env, Slot commit, Ballot ballot) {
  for (auto it = slots_.upper_bound(chosen_upto_); it != slots_.end() && it->first <= commit;) {
    Slot s = it->first;
    bool match = !it->second.chosen() && ballot_of(it->second) == ballot;
    ++it;  // learn() may add slots, never remove them
    if (match) learn(env, s, slots_.at(s));
  }
}

void MultiPaxosEngine::advance(Env& env) {
  auto it = slots_.upper_bound(chosen_upto_);
  for (; it != slots_.end() && it->first == chosen_upto_ + 1 && it->second.chosen(); ++it)
    ++chosen_upto_;
  if (applied_ < chosen_upto_) {
    for (it = slots_.upper_bound(applied_); applied_ < chosen_upto_; ++it) {
      SYNOD_ASSERT(it != slots_.end() && it->first == applied_ + 1);
      if (!it->second.value().noop()) applier_->apply(env, it->first, it->second.value().command());
      applied_ = it->first;
    }
  }
  serve_reads(env);
}

void MultiPaxosEngine::maybe_catch_up(Env& env, NodeId peer, Slot peer_chosen_upto) {
  if (peer == self_ || peer_chosen_upto <= chosen_upto_ || catching_up_) return;
  catching_up_ = CatchUp{peer, ticks_};
  last_asked_ = peer;
  Message m = envelope(promised_);
  m.mutable_catch_up()->set_from_slot(chosen_upto_ + 1);
  send(env, {peer, std::move(m), {}});
}

void MultiPaxosEngine::on_catch_up(Env& env, NodeId from, const Message& m) {
  Slot from_slot = m.catch_up().from_slot();
  if (from_slot == 0 || from_slot > chosen_upto_) return;
  Message reply = envelope(promised_);
  if (from_slot <= compacted_upto_) {
    if (!snapshot_) return;
    reply.mutable_snapshot()->set_slot(snapshot_slot_);
    reply.mutable_snapshot()->set_data(*snapshot_);
  } else {
    size_t bytes = 0;
    auto* chosen = reply.mutable_chosen();
    for (auto it = slots_.find(from_slot);
         it != slots_.end() && it->first <= chosen_upto_ &&
         static_cast<size_t>(chosen->slots_size()) < kMaxCatchUpSlots && bytes < kMaxCatchUpBytes;
         ++it) {
      *chosen->add_slots() = it->second;
      bytes += it->second.value().command().size();
    }
  }
  send(env, {from, std::move(reply), {}});
}

void MultiPaxosEngine::on_chosen(Env& env, NodeId from, const Message& m) {
  if (catching_up_ && catching_up_->peer == from) catching_up_.reset();
  for (const SlotState& s : m.chosen().slots())
    if (s.chosen()) learn(env, s.slot(), s);
}

void MultiPaxosEngine::on_snapshot(Env& env, NodeId from, const Message& m) {
  if (catching_up_ && catching_up_->peer == from) catching_up_.reset();
  Slot s = m.snapshot().slot();
  // One snapshot at a time: a second waits until the first is durable.
  if (s <= chosen_upto_ || compact_to_) return;
  if (role_ == Role::kLeader &&
      (s >= next_slot_ || (!inflight_.empty() && inflight_.begin()->first <= s)))
    step_down(env, ballot_, "a snapshot covers slots chosen in a higher ballot");
  auto data = std::make_shared<const std::string>(m.snapshot().data());
  applier_->restore_snapshot(env, s, *data);
  store_.save_snapshot(env.storage(), s, *data);
  sync_wanted_ = true;
  snapshot_ = std::move(data);
  snapshot_slot_ = chosen_upto_ = applied_ = s;
  compact_to_ = s;
  if (env.tracing()) env.note("installed snapshot at " + std::to_string(s));
  advance(env);
}

void MultiPaxosEngine::serve_reads(Env& env) {
  while (!reads_.empty()) {
    const Read& r = reads_.front();
    uint64_t confirmed = node_bit(self_);
    for (auto [peer, round] : confirmed_round_)
      if (round >= r.round) confirmed |= node_bit(peer);
    if (!is_majority(confirmed) || applied_ < r.barrier) return;
    uint64_t id = r.id;
    reads_.pop_front();
    applier_->read_ready(env, id);
  }
}

void MultiPaxosEngine::fail_reads(Env& env) {
  std::deque<Read> failed;
  failed.swap(reads_);
  for (const Read& r : failed)
    applier_->read_refused(env, r.id, not_leader());
}

void MultiPaxosEngine::maybe_snapshot(Env& env) {
  if (options_.snapshot_every == 0 || compact_to_ ||
      applied_ < snapshot_slot_ + options_.snapshot_every)
    return;
  auto data = std::make_shared<const std::string>(applier_->take_snapshot());
  store_.save_snapshot(env.storage(), applied_, *data);
  sync_wanted_ = true;
  snapshot_ = std::move(data);
  snapshot_slot_ = applied_;
  compact_to_ = applied_ - options_.snapshot_keep;
  ++snapshots_taken_;
  if (env.tracing()) env.note("snapshot taken at " + std::to_string(applied_));
}

}  // namespace synod::paxos
