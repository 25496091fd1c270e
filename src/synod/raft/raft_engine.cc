#include "synod/raft/raft_engine.h"

#include "synod/base/assert.h"
#include "synod/protocol/message.h"

namespace synod::raft {

using replication::Refused;

RaftEngine::RaftEngine(RaftEngineOptions options)
    : options_(std::move(options)), store_(options_.store) {
  SYNOD_ASSERT(options_.tick.count() > 0);
  // Catching up after a pause must pass at least a whole election timeout.
  SYNOD_ASSERT(options_.raft.election_ticks < kMaxCatchUpTicks);
  SYNOD_ASSERT(options_.snapshot_keep <= options_.snapshot_every || options_.snapshot_every == 0);
}

void RaftEngine::start(Env& env, replication::Applier& applier) {
  applier_ = &applier;
  auto recovered = store_.recover(env.storage());
  // Damage that a crash cannot explain: stop rather than serve wrong data.
  SYNOD_ASSERT_MSG(recovered.ok(), std::string(recovered.status().message()).c_str());
  if (recovered->snapshot) {
    const Snapshot& s = *recovered->snapshot;
    applier.restore_snapshot(env, s.meta.index(), *s.data);
    applied_ = last_snapshot_ = s.meta.index();
  }
  RaftOptions raft = options_.raft;
  raft.id = env.self();
  Membership bootstrap = options_.bootstrap.voters().empty()
                             ? Membership::of_voters({env.nodes().begin(), env.nodes().end()})
                             : options_.bootstrap;
  node_ = std::make_unique<RaftNode>(raft, *recovered, bootstrap, env.rng().split("raft"));
  if (env.tracing())
    env.note("recovered term " + std::to_string(node_->term()) + ", log to " +
             std::to_string(node_->log().last_index()) + ", commit " +
             std::to_string(node_->log().commit()));
  last_tick_ = env.now();
  schedule_tick(env);
  flush(env);
}

// Ticks follow the local clock, whatever delayed this input: a node that
// was paused for a second sees a second's worth of ticks before anything
// else (a leader's lease must not outlive a pause).
void RaftEngine::catch_up_ticks(Env& env) {
  int ticks = 0;
  while (env.now() - last_tick_ >= options_.tick) {
    last_tick_ += options_.tick;
    if (++ticks <= kMaxCatchUpTicks) node_->tick();
  }
}

void RaftEngine::schedule_tick(Env& env) {
  env.set_timer(options_.tick - (env.now() - last_tick_), kTickTimer);
}

void RaftEngine::schedule_flush(Env& env) {
  if (flush_scheduled_) return;
  flush_scheduled_ = true;
  env.set_timer(Duration(0), kFlushTimer);
}

void RaftEngine::on_timer(Env& env, uint64_t tag) {
  catch_up_ticks(env);
  if (tag == kTickTimer) schedule_tick(env);
  if (tag == kFlushTimer) flush_scheduled_ = false;
  flush(env);
}

void RaftEngine::on_message(Env& env, const Incoming& message) {
  auto m = parse_message<Message>(message.payload);
  if (!m || is_client(message.from)) return;  // malformed: dropped, never trusted
  catch_up_ticks(env);
  node_->step(message.from, *m);
  flush(env);
}

void RaftEngine::on_synced(Env& env, SyncId id) {
  catch_up_ticks(env);
  store_.on_synced(env.storage(), id);
  while (!held_.empty() && held_.front().sync <= id) {
    Held held = std::move(held_.front());
    held_.pop_front();
    for (const Outgoing& out : held.messages)
      send(env, out);
    if (held.last_entry) node_->on_persisted(held.last_entry->first, held.last_entry->second);
  }
  flush(env);
}

Refused RaftEngine::refused(Refusal refusal) const {
  if (refusal == Refusal::kNotLeader)
    return {Refused::Reason::kNotLeader, node_->leader(), std::string(refusal_name(refusal))};
  return {Refused::Reason::kRetryLater, node_->leader(), std::string(refusal_name(refusal))};
}

std::optional<Refused> RaftEngine::propose(Env& env, std::string command) {
  catch_up_ticks(env);
  auto result = node_->propose(std::move(command));
  if (auto* refusal = std::get_if<Refusal>(&result)) return refused(*refusal);
  if (options_.batch)
    schedule_flush(env);
  else
    flush(env);
  return std::nullopt;
}

std::optional<Refused> RaftEngine::read(Env& env, uint64_t read) {
  catch_up_ticks(env);
  if (options_.bug_stale_reads && node_->role() == Role::kLeader) {
    applier_->read_ready(env, read);  // the bug: whatever this node has applied
    return std::nullopt;
  }
  if (auto refusal = node_->read_index(read)) return refused(*refusal);
  if (options_.batch)
    schedule_flush(env);
  else
    flush(env);
  return std::nullopt;
}

std::optional<NodeId> RaftEngine::leader() const {
  return node_ ? node_->leader() : std::nullopt;
}

std::optional<BrokenInvariant> RaftEngine::check_invariants() const {
  if (!node_) return std::nullopt;  // not started
  if (applied_ > node_->log().commit())
    return BrokenInvariant{"applied-within-commit", "the engine applied " +
                                                        std::to_string(applied_) + ", commit is " +
                                                        std::to_string(node_->log().commit())};
  return node_->check_invariants();
}

std::optional<Refusal> RaftEngine::change_membership(Env& env, const MembershipChange& change) {
  catch_up_ticks(env);
  auto result = node_->propose_membership(change);
  if (env.tracing())
    env.note("membership change " + change.to_string() + ": " +
             (std::holds_alternative<Proposed>(result)
                  ? "proposed"
                  : std::string(refusal_name(std::get<Refusal>(result)))));
  flush(env);
  if (auto* refusal = std::get_if<Refusal>(&result)) return *refusal;
  return std::nullopt;
}

std::optional<Refusal> RaftEngine::transfer_leadership(Env& env, NodeId to) {
  catch_up_ticks(env);
  auto refusal = node_->transfer_leadership(to);
  flush(env);
  return refusal;
}

void RaftEngine::flush(Env& env) {
  while (node_->has_ready())
    handle(env, node_->ready());
  maybe_snapshot(env);
}

void RaftEngine::handle(Env& env, Ready rd) {
  Storage& storage = env.storage();
  // 1. Persist.
  store_.write(storage, rd);
  if (rd.needs_sync) {
    std::optional<std::pair<Index, Term>> last;
    if (!rd.entries.empty())
      last = {rd.entries.back()->index(), rd.entries.back()->term()};
    else if (rd.snapshot)
      last = {rd.snapshot->meta.index(), rd.snapshot->meta.term()};
    held_.push_back({store_.sync(storage), last, {}});
  }
  // 2. Send what does not depend on the disk; 3. hold what does until every
  // write so far is durable.
  for (const Outgoing& out : rd.messages)
    send(env, out);
  if (!rd.messages_after_persist.empty()) {
    if (held_.empty()) {
      for (const Outgoing& out : rd.messages_after_persist)
        send(env, out);
    } else {
      auto& waiting = held_.back().messages;
      for (Outgoing& out : rd.messages_after_persist)
        waiting.push_back(std::move(out));
    }
  }
  // 4. Apply.
  if (rd.snapshot) {
    applier_->restore_snapshot(env, rd.snapshot->meta.index(), *rd.snapshot->data);
    applied_ = last_snapshot_ = rd.snapshot->meta.index();
  }
  for (const Entry* e : rd.committed) {
    // No-ops and membership entries are Raft's own: the service never sees them.
    if (e->type() == wire::RaftEntry::NORMAL && !e->data().empty())
      applier_->apply(env, e->index(), e->data());
    applied_ = e->index();
  }
  if (env.tracing())
    for (const std::string& event : rd.events)
      env.note(event);
  for (const ReadState& r : rd.reads)
    reads_.emplace(r.index, r.id);
  for (uint64_t id : rd.failed_reads)
    applier_->read_refused(env, id, refused(Refusal::kNotLeader));
  node_->advance(rd);
  serve_reads(env);
}

void RaftEngine::serve_reads(Env& env) {
  while (!reads_.empty() && reads_.begin()->first <= applied_) {
    uint64_t id = reads_.begin()->second;
    reads_.erase(reads_.begin());
    applier_->read_ready(env, id);
  }
}

void RaftEngine::send(Env& env, const Outgoing& out) {
  const Message& m = out.message;
  if (m.has_vote_response() && m.vote_response().granted() && !m.vote_response().pre()) {
    promises_.vote = Promises::Vote{m.term(), out.to};
  } else if (m.has_append_response() && m.append_response().success()) {
    Index index = m.append_response().index();
    auto entry_term = node_->log().term(index);
    Promises::Ack ack{m.term(), index, entry_term.value_or(0)};
    if (entry_term && (!promises_.ack || ack.term > promises_.ack->term ||
                       (ack.term == promises_.ack->term && ack.index > promises_.ack->index)))
      promises_.ack = ack;
  }
  send_message(env, out.to, m);
}

void RaftEngine::maybe_snapshot(Env& env) {
  if (options_.snapshot_every == 0 || applied_ < last_snapshot_ + options_.snapshot_every) return;
  auto data = std::make_shared<const std::string>(applier_->take_snapshot());
  if (data->size() > kMaxSnapshotBytes) {
    // It could be neither written as one record nor sent as one frame.
    // The log keeps growing instead; a service bounds its state (serve's
    // space quota) so that this does not happen.
    last_snapshot_ = applied_;
    env.note("snapshot at " + std::to_string(applied_) +
             " skipped: " + std::to_string(data->size()) + " bytes, above the bound of " +
             std::to_string(kMaxSnapshotBytes));
    return;
  }
  Index compact_to = applied_ - options_.snapshot_keep;
  node_->on_snapshot(applied_, data, compact_to);
  store_.save_snapshot(env.storage(), *node_->snapshot(), compact_to);
  last_snapshot_ = applied_;
  ++snapshots_taken_;
  if (env.tracing()) env.note("snapshot taken at " + std::to_string(applied_));
}

}  // namespace synod::raft
