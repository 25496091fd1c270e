#include "synod/raft/raft_node.h"

#include <algorithm>

#include "synod/base/assert.h"
#include "synod/raft/quorum.h"

namespace synod::raft {

std::string_view role_name(Role role) {
  switch (role) {
    case Role::kFollower:
      return "follower";
    case Role::kPreCandidate:
      return "pre-candidate";
    case Role::kCandidate:
      return "candidate";
    case Role::kLeader:
      return "leader";
  }
  return "?";
}

std::string_view refusal_name(Refusal refusal) {
  switch (refusal) {
    case Refusal::kNotLeader:
      return "not the leader";
    case Refusal::kTransferring:
      return "leadership is being transferred";
    case Refusal::kOverloaded:
      return "overloaded";
    case Refusal::kNotYet:
      return "a previous change is still pending";
    case Refusal::kInvalid:
      return "invalid change";
  }
  return "?";
}

namespace {

// An append's entries are trusted only if they are what a leader could have
// sent: contiguous after prev_index, terms never decreasing from prev_term and
// never above the message's term, membership entries that parse.
bool well_formed(const Message& m) {
  const wire::RaftAppend& a = m.append();
  Index index = a.prev_index();
  Term term = a.prev_term();
  for (const Entry& e : a.entries()) {
    if (e.index() != ++index || e.term() < term || e.term() > m.term()) return false;
    term = e.term();
    if (e.type() == wire::RaftEntry::MEMBERSHIP) {
      wire::RaftMembership wire;
      if (!wire.ParseFromString(e.data()) || !Membership::from_wire(wire)) return false;
    }
  }
  return true;
}

}  // namespace

RaftNode::RaftNode(const RaftOptions& options, const Recovered& recovered,
                   const Membership& bootstrap, Rng rng)
    : options_(options), rng_(std::move(rng)) {
  SYNOD_ASSERT(options.heartbeat_ticks >= 1);
  SYNOD_ASSERT(options.election_ticks > options.heartbeat_ticks);
  SYNOD_ASSERT(options.lease_ticks >= 0 && options.lease_ticks < options.election_ticks);
  SYNOD_ASSERT(options.lease_ticks == 0 || options.check_quorum);  // followers keep the lease
  SYNOD_ASSERT(options.max_entries_per_append >= 1 && options.max_inflight_appends >= 1);

  snapshot_membership_ = bootstrap;
  if (recovered.snapshot) {
    const SnapshotMeta& meta = recovered.snapshot->meta;
    log_.restore(meta.index(), meta.term());
    auto membership = Membership::from_wire(meta.membership());
    SYNOD_ASSERT_MSG(membership, "recovered snapshot has an invalid membership");
    snapshot_membership_ = *membership;
    applied_ = meta.index();  // the runtime restored the state machine from it
  }
  if (recovered.snapshot) snapshot_ = recovered.snapshot;
  for (const Entry& e : recovered.entries)
    append_entry(e);
  recompute_membership();
  term_ = recovered.hard_state.term();
  if (recovered.hard_state.has_vote()) vote_ = recovered.hard_state.vote();
  // Entries are written before the hard state that follows them, so a torn
  // write can keep entries of a term the hard state never reached. No vote in
  // that term was ever sent (a vote is sent only once its record is durable),
  // so taking the term without a vote is safe.
  if (log_.last_term() > term_) {
    term_ = log_.last_term();
    vote_.reset();
  }
  log_.commit_to(
      std::min(std::max(recovered.hard_state.commit(), log_.snapshot_index()), log_.last_index()));
  unstable_from_ = log_.last_index() + 1;
  durable_index_ = log_.last_index();
  persisted_hard_state_ = recovered.hard_state;
  become_follower(term_, std::nullopt);
  // A restarted node may have promised a leader, before it crashed, not to
  // vote for an election timeout; with leases, it keeps that promise now.
  // (Its answer may have carried a term its disk lost, so even a node that
  // recovered no term keeps it.)
  restarted_in_lease_ = options_.lease_ticks > 0;
}

// ---- roles -----------------------------------------------------------------

void RaftNode::reset(Term term) {
  if (term != term_) {
    SYNOD_ASSERT(term > term_);  // terms never go back
    term_ = term;
    vote_.reset();
  }
  if (role_ == Role::kLeader) fail_reads();
  leader_.reset();
  election_elapsed_ = 0;
  heartbeat_elapsed_ = 0;
  reset_election_timer();
  votes_.clear();
  progress_.clear();
  transferee_.reset();
  uncommitted_bytes_ = 0;
  pending_broadcast_ = false;
  round_wanted_ = false;
  lease_forfeited_ = false;
}

void RaftNode::reset_election_timer() {
  randomized_election_ticks_ =
      options_.election_ticks +
      static_cast<int>(rng_.uniform(static_cast<uint64_t>(options_.election_ticks)));
}

void RaftNode::become_follower(Term term, std::optional<NodeId> leader) {
  bool was_leader = role_ == Role::kLeader;
  reset(term);
  role_ = Role::kFollower;
  leader_ = leader;
  if (was_leader) event("stepped down, term " + std::to_string(term_));
}

void RaftNode::become_pre_candidate() {
  // Changes no term and no vote: a pre-vote only asks.
  if (role_ == Role::kLeader) fail_reads();
  role_ = Role::kPreCandidate;
  leader_.reset();
  votes_.clear();
  progress_.clear();
}

void RaftNode::become_candidate() {
  SYNOD_ASSERT(role_ != Role::kLeader);
  reset(term_ + 1);
  role_ = Role::kCandidate;
  vote_ = options_.id;
}

void RaftNode::become_leader(bool term_durable) {
  SYNOD_ASSERT(role_ == Role::kCandidate);
  reset(term_);
  role_ = Role::kLeader;
  term_durable_ = term_durable;
  leader_ = options_.id;
  for (NodeId member : membership_.members())
    if (member != options_.id) progress_.emplace(member, new_progress(member));
  // A no-op of the new term: once it commits, so has everything before it,
  // and reads may be served (thesis 6.4).
  Entry noop;
  noop.set_term(term_);
  noop.set_index(log_.last_index() + 1);
  term_start_index_ = noop.index();
  append_entry(std::move(noop));
  uncommitted_bytes_ = 0;
  event("elected leader, term " + std::to_string(term_));
  broadcast_append(true);
}

Progress RaftNode::new_progress(NodeId) const {
  return Progress(log_.last_index() + 1, options_.max_inflight_appends,
                  options_.max_inflight_bytes);
}

void RaftNode::campaign(Campaign kind) {
  if (!promotable()) return;
  bool pre = kind == Campaign::kPreVote;
  if (pre) {
    become_pre_candidate();
  } else {
    become_candidate();
    event("campaigning, term " + std::to_string(term_));
  }
  campaign_ = kind;
  votes_[options_.id] = true;
  if (tally(membership_.voters(), votes_) == VoteOutcome::kWon) {  // a single voter
    if (pre)
      campaign(Campaign::kElection);
    else
      become_leader(/*term_durable=*/false);
    return;
  }
  heartbeat_elapsed_ = 0;
  request_votes();
}

void RaftNode::request_votes() {
  bool pre = campaign_ == Campaign::kPreVote;
  for (NodeId voter : membership_.voters()) {
    if (voter == options_.id || votes_.count(voter)) continue;
    Message m;
    m.set_term(pre ? term_ + 1 : term_);
    wire::RaftVote* v = m.mutable_vote();
    v->set_last_index(log_.last_index());
    v->set_last_term(log_.last_term());
    v->set_pre(pre);
    v->set_transfer(campaign_ == Campaign::kTransfer);
    // A real request waits for our own vote to be durable.
    send(voter, std::move(m), /*after_persist=*/!pre);
  }
}

// ---- inputs ----------------------------------------------------------------

void RaftNode::tick() {
  SYNOD_ASSERT(!ready_out_);
  ++ticks_;
  if (role_ == Role::kLeader) {
    tick_leader();
    return;
  }
  // Capped: a learner or removed node counts on without ever campaigning.
  election_elapsed_ = std::min(election_elapsed_ + 1, 2 * options_.election_ticks);
  if (election_elapsed_ >= options_.election_ticks) {
    restarted_in_lease_ = false;
    // Silent for an election timeout: whoever led may not any more (a
    // learner or removed node never campaigns, so it would never find out).
    if (!promotable()) leader_.reset();
  }
  if (promotable() && election_elapsed_ >= randomized_election_ticks_) {
    election_elapsed_ = 0;
    campaign(options_.pre_vote ? Campaign::kPreVote : Campaign::kElection);
    return;
  }
  bool campaigning = role_ == Role::kPreCandidate || role_ == Role::kCandidate;
  if (campaigning && ++heartbeat_elapsed_ >= options_.heartbeat_ticks) {
    heartbeat_elapsed_ = 0;
    request_votes();
  }
}

void RaftNode::tick_leader() {
  ++heartbeat_elapsed_;
  ++election_elapsed_;
  if (election_elapsed_ >= options_.election_ticks) {
    election_elapsed_ = 0;
    if (options_.check_quorum && !quorum_active()) {
      event("lost contact with a majority");
      become_follower(term_, std::nullopt);
      return;
    }
    for (auto& [id, pr] : progress_)
      pr.recently_active = false;
  }
  if (transferee_ && ++transfer_elapsed_ >= options_.election_ticks) {
    event("leadership transfer to " + std::to_string(*transferee_) + " timed out");
    transferee_.reset();
  }
  for (auto& [id, pr] : progress_) {
    // A snapshot that got no answer in an election timeout was lost: probe again.
    if (pr.state == Progress::State::kSnapshot && ++pr.snapshot_ticks >= options_.election_ticks)
      pr.become_probe();
  }
  if (heartbeat_elapsed_ >= options_.heartbeat_ticks) {
    heartbeat_elapsed_ = 0;
    broadcast_heartbeat();
  }
}

bool RaftNode::quorum_active() const {
  std::map<NodeId, bool> active;
  for (NodeId voter : membership_.voters())
    active[voter] = voter == options_.id || progress_.at(voter).recently_active;
  return tally(membership_.voters(), active) == VoteOutcome::kWon;
}

void RaftNode::step(NodeId from, const Message& m) {
  SYNOD_ASSERT(!ready_out_);
  if (m.body_case() == Message::BODY_NOT_SET || from == options_.id) return;
  if (m.term() > term_) {
    if (!step_higher_term(from, m)) return;
  } else if (m.term() < term_) {
    step_lower_term(from, m);
    return;
  }
  switch (m.body_case()) {
    case Message::kAppend:
      step_append(from, m);
      return;
    case Message::kAppendResponse:
      step_append_response(from, m);
      return;
    case Message::kVote:
      step_vote(from, m);
      return;
    case Message::kVoteResponse:
      step_vote_response(from, m);
      return;
    case Message::kHeartbeat:
      step_heartbeat(from, m);
      return;
    case Message::kHeartbeatResponse:
      step_heartbeat_response(from, m);
      return;
    case Message::kInstallSnapshot:
      step_install_snapshot(from, m);
      return;
    case Message::kTimeoutNow:
      step_timeout_now(from);
      return;
    case Message::BODY_NOT_SET:
      return;
  }
}

bool RaftNode::in_lease() const {
  return options_.check_quorum && (leader_.has_value() || restarted_in_lease_) &&
         election_elapsed_ < options_.election_ticks;
}

bool RaftNode::step_higher_term(NodeId from, const Message& m) {
  if (m.has_vote()) {
    // Leader stickiness: a node that hears from a live leader does not help
    // depose it, unless the leader itself asked (a transfer).
    if (!m.vote().transfer() && in_lease()) return false;
    if (m.vote().pre()) return true;  // a pre-vote changes nothing here
    become_follower(m.term(), std::nullopt);
    return true;
  }
  if (m.has_vote_response() && m.vote_response().pre() && m.vote_response().granted())
    return true;  // carries the term we would campaign in, not a newer one
  bool from_leader =
      m.has_append() || m.has_heartbeat() || m.has_install_snapshot() || m.has_timeout_now();
  become_follower(m.term(), from_leader ? std::optional<NodeId>(from) : std::nullopt);
  return true;
}

void RaftNode::step_lower_term(NodeId from, const Message& m) {
  if ((options_.check_quorum || options_.pre_vote) && (m.has_append() || m.has_heartbeat())) {
    // A leader of an older term that does not know it: tell it our term so
    // it steps down (with pre-vote, nobody else would raise its term).
    Message reply;
    reply.set_term(term_);
    reply.mutable_append_response()->set_success(false);
    send(from, std::move(reply), false);
  } else if (m.has_vote() && m.vote().pre()) {
    Message reply;
    reply.set_term(term_);
    reply.mutable_vote_response()->set_pre(true);
    send(from, std::move(reply), false);
  }
}

void RaftNode::step_vote(NodeId from, const Message& m) {
  const wire::RaftVote& v = m.vote();
  bool pre = v.pre();
  bool can_vote = vote_ == from || (!vote_ && !leader_) || (pre && m.term() > term_);
  Message reply;
  reply.mutable_vote_response()->set_pre(pre);
  if (can_vote && log_.is_up_to_date(v.last_index(), v.last_term())) {
    reply.set_term(m.term());
    reply.mutable_vote_response()->set_granted(true);
    if (pre) {
      send(from, std::move(reply), false);
      return;
    }
    vote_ = from;
    election_elapsed_ = 0;
    event("voted for " + std::to_string(from) + " in term " + std::to_string(term_));
    // The vote is a promise: it leaves only once it is durable.
    send(from, std::move(reply), /*after_persist=*/!options_.bugs.vote_without_persist);
    return;
  }
  reply.set_term(term_);
  send(from, std::move(reply), false);
}

void RaftNode::step_vote_response(NodeId from, const Message& m) {
  const wire::RaftVoteResponse& r = m.vote_response();
  bool counts =
      (role_ == Role::kPreCandidate && r.pre()) || (role_ == Role::kCandidate && !r.pre());
  if (!counts || votes_.count(from)) return;
  votes_[from] = r.granted();
  switch (tally(membership_.voters(), votes_)) {
    case VoteOutcome::kWon:
      if (role_ == Role::kPreCandidate)
        campaign(Campaign::kElection);  // the pre-vote passed: now the real one
      else
        become_leader(/*term_durable=*/true);
      return;
    case VoteOutcome::kLost:
      become_follower(term_, std::nullopt);
      return;
    case VoteOutcome::kPending:
      return;
  }
}

void RaftNode::step_append(NodeId from, const Message& m) {
  if (!well_formed(m)) {
    event("dropped a malformed append from " + std::to_string(from));
    return;
  }
  if (role_ != Role::kFollower) become_follower(term_, from);
  leader_ = from;
  election_elapsed_ = 0;
  const wire::RaftAppend& a = m.append();
  Message reply;
  reply.set_term(term_);
  wire::RaftAppendResponse* r = reply.mutable_append_response();

  if (a.prev_index() < log_.commit()) {
    // An old append: what it carries up to our commit index we already hold.
    r->set_success(true);
    r->set_index(log_.commit());
    send(from, std::move(reply), true);
    return;
  }
  if (!log_.matches(a.prev_index(), a.prev_term())) {
    if (a.prev_index() <= log_.snapshot_index()) {
      event("dropped an append that conflicts with the snapshot");
      return;
    }
    r->set_index(a.prev_index());
    if (a.prev_index() > log_.last_index()) {
      r->set_conflict_index(log_.last_index() + 1);
    } else {
      r->set_conflict_term(*log_.term(a.prev_index()));
      r->set_conflict_index(log_.first_index_of_term_at(a.prev_index()));
    }
    send(from, std::move(reply), false);
    return;
  }
  // Skip what we already hold; from the first conflict on, the leader's
  // entries replace ours (never a committed one: the leader has those).
  for (const Entry& e : a.entries()) {
    if (e.index() <= log_.last_index()) {
      if (log_.matches(e.index(), e.term())) continue;
      if (e.index() <= log_.commit()) {
        event("dropped an append that conflicts with committed entry " + std::to_string(e.index()));
        return;
      }
      truncate_log_after(e.index() - 1);
    }
    append_entry(e);
  }
  Index last_new = a.prev_index() + static_cast<Index>(a.entries_size());
  log_.commit_to(std::min(a.commit(), last_new));
  r->set_success(true);
  r->set_index(last_new);
  send(from, std::move(reply), true);  // an acknowledgement promises durability
}

void RaftNode::step_append_response(NodeId from, const Message& m) {
  if (role_ != Role::kLeader) return;
  auto it = progress_.find(from);
  if (it == progress_.end()) return;
  Progress& pr = it->second;
  const wire::RaftAppendResponse& r = m.append_response();
  pr.recently_active = true;

  if (r.index() > log_.last_index()) return;  // about entries we never sent
  if (!r.success()) {
    // Fast backtracking: skip the follower's whole conflicting term at once.
    Index next = r.conflict_index();
    if (r.conflict_term() != 0) {
      auto ours = log_.last_index_of_term(r.conflict_term(), r.index());
      if (ours) next = *ours + 1;
    }
    if (pr.reject(r.index(), std::max<Index>(next, 1))) send_append(from, true);
    return;
  }
  bool was_paused = pr.paused();
  if (!pr.acknowledge(r.index())) {
    if (was_paused && !pr.paused()) send_append(from, false);
    return;
  }
  if (pr.state == Progress::State::kProbe) {
    pr.become_replicate();
  } else if (pr.state == Progress::State::kSnapshot && pr.match >= pr.pending_snapshot) {
    pr.become_probe();
    pr.become_replicate();
  }
  if (maybe_commit()) {
    broadcast_append(true);  // tell everyone the new commit index
  } else if (role_ == Role::kLeader) {
    while (send_append(from, false)) {
    }
    if (pr.sent_commit < log_.commit()) send_append(from, true);
  }
  if (role_ != Role::kLeader) return;  // stepped down (removed): pr is gone
  if (transferee_ == from && pr.match == log_.last_index()) send_timeout_now(from);
}

void RaftNode::step_heartbeat(NodeId from, const Message& m) {
  if (role_ != Role::kFollower) become_follower(term_, from);
  leader_ = from;
  election_elapsed_ = 0;
  // The leader sends min(our match, its commit): never past what we hold.
  log_.commit_to(std::min(m.heartbeat().commit(), log_.last_index()));
  Message reply;
  reply.set_term(term_);
  reply.mutable_heartbeat_response()->set_round(m.heartbeat().round());
  send(from, std::move(reply), false);
}

void RaftNode::step_heartbeat_response(NodeId from, const Message& m) {
  if (role_ != Role::kLeader) return;
  auto it = progress_.find(from);
  if (it == progress_.end()) return;
  Progress& pr = it->second;
  pr.recently_active = true;
  pr.probe_sent = false;  // a probe that got lost is sent again
  // A full window that a live follower does not empty may hold a lost
  // append: make room for one more, whose gap the follower will reject.
  if (pr.state == Progress::State::kReplicate && pr.inflight.full()) pr.inflight.free_first();
  if (pr.match < log_.last_index()) send_append(from, true);
  uint64_t round = m.heartbeat_response().round();
  if (round <= read_round_ && round > pr.read_round) {
    pr.read_round = round;
    release_reads();
  }
}

void RaftNode::step_install_snapshot(NodeId from, const Message& m) {
  const SnapshotMeta& meta = m.install_snapshot().meta();
  auto membership = Membership::from_wire(meta.membership());
  if (!membership || meta.term() > m.term()) {
    event("dropped a malformed snapshot from " + std::to_string(from));
    return;
  }
  if (role_ != Role::kFollower) become_follower(term_, from);
  leader_ = from;
  election_elapsed_ = 0;
  Message reply;
  reply.set_term(term_);
  wire::RaftAppendResponse* r = reply.mutable_append_response();
  r->set_success(true);
  if (meta.index() <= log_.commit()) {
    r->set_index(log_.commit());  // nothing new in it
  } else if (log_.matches(meta.index(), meta.term())) {
    log_.commit_to(meta.index());  // we hold its last entry, so everything before it
    r->set_index(meta.index());
  } else {
    log_.restore(meta.index(), meta.term());
    snapshot_membership_ = *membership;
    membership_entries_.clear();
    recompute_membership();
    unstable_from_ = meta.index() + 1;
    durable_index_ = 0;
    applied_ = meta.index();
    Snapshot snapshot{meta, std::make_shared<const std::string>(m.install_snapshot().data())};
    pending_snapshot_ = snapshot;
    snapshot_ = std::move(snapshot);
    event("installed a snapshot at " + std::to_string(meta.index()));
    r->set_index(meta.index());
  }
  send(from, std::move(reply), true);
}

void RaftNode::step_timeout_now(NodeId from) {
  if (role_ == Role::kLeader || !promotable()) return;
  event("asked by " + std::to_string(from) + " to take over");
  campaign(Campaign::kTransfer);
}

// ---- the leader ------------------------------------------------------------

std::variant<Proposed, Refusal> RaftNode::propose(std::string data) {
  SYNOD_ASSERT(!ready_out_);
  if (role_ != Role::kLeader) return Refusal::kNotLeader;
  if (transferee_) return Refusal::kTransferring;
  Entry e;
  e.set_term(term_);
  e.set_index(log_.last_index() + 1);
  e.set_data(std::move(data));
  size_t bytes = entry_bytes(e);
  if (uncommitted_bytes_ > 0 && uncommitted_bytes_ + bytes > options_.max_uncommitted_bytes)
    return Refusal::kOverloaded;
  uncommitted_bytes_ += bytes;
  Proposed proposed{e.index(), e.term()};
  append_entry(std::move(e));
  pending_broadcast_ = true;
  return proposed;
}

std::variant<Proposed, Refusal> RaftNode::propose_membership(const MembershipChange& change) {
  SYNOD_ASSERT(!ready_out_);
  if (role_ != Role::kLeader) return Refusal::kNotLeader;
  if (transferee_) return Refusal::kTransferring;
  // One change at a time, and only once this leader committed an entry of
  // its own term: otherwise a change of a deposed leader's, still in the log,
  // could overlap with this one (the bug Ongaro found in 2015).
  if (!membership_entries_.empty() && membership_entries_.rbegin()->first > log_.commit())
    return Refusal::kNotYet;
  if (log_.term(log_.commit()) != term_) return Refusal::kNotYet;
  auto next = apply_change(membership_, change);
  if (!next.ok()) return Refusal::kInvalid;
  Entry e;
  e.set_term(term_);
  e.set_index(log_.last_index() + 1);
  e.set_type(wire::RaftEntry::MEMBERSHIP);
  e.set_data(next->to_wire().SerializeAsString());
  uncommitted_bytes_ += entry_bytes(e);
  Proposed proposed{e.index(), e.term()};
  append_entry(std::move(e));
  pending_broadcast_ = true;
  return proposed;
}

std::optional<Refusal> RaftNode::transfer_leadership(NodeId to) {
  SYNOD_ASSERT(!ready_out_);
  if (role_ != Role::kLeader) return Refusal::kNotLeader;
  if (to == options_.id) return std::nullopt;
  if (!membership_.is_voter(to)) return Refusal::kInvalid;
  if (transferee_ == to) return std::nullopt;
  transferee_ = to;
  transfer_elapsed_ = 0;
  // The new leader is elected without waiting out our lease: from now on
  // this term serves no reads by lease.
  lease_forfeited_ = true;
  event("transferring leadership to " + std::to_string(to));
  if (progress_.at(to).match == log_.last_index())
    send_timeout_now(to);
  else
    send_append(to, true);
  return std::nullopt;
}

void RaftNode::send_timeout_now(NodeId to) {
  Message m;
  m.set_term(term_);
  m.mutable_timeout_now();
  send(to, std::move(m), false);
}

void RaftNode::broadcast_append(bool send_empty) {
  // Pipelining: as many appends as each follower's window allows.
  for (auto& [id, pr] : progress_) {
    if (!send_append(id, send_empty)) continue;
    while (send_append(id, false)) {
    }
  }
}

bool RaftNode::send_append(NodeId to, bool send_empty) {
  Progress& pr = progress_.at(to);
  if (pr.paused()) return false;
  Index prev = pr.next - 1;
  auto prev_term = log_.term(prev);
  if (!prev_term) {  // compacted away: only a snapshot can bring it up
    send_snapshot(to, pr);
    return false;
  }
  std::vector<Entry> entries;
  if (pr.next <= log_.last_index())
    entries = log_.slice(pr.next, options_.max_entries_per_append, options_.max_bytes_per_append);
  if (entries.empty() && !send_empty) return false;
  Message m;
  m.set_term(term_);
  wire::RaftAppend* a = m.mutable_append();
  a->set_prev_index(prev);
  a->set_prev_term(*prev_term);
  a->set_commit(log_.commit());
  pr.sent_commit = std::max(pr.sent_commit, log_.commit());
  size_t bytes = 0;
  Index last = prev;
  for (Entry& e : entries) {
    bytes += entry_bytes(e);
    last = e.index();
    *a->add_entries() = std::move(e);
  }
  pr.sent(last, bytes, entries.empty());
  send(to, std::move(m), false);
  return !entries.empty();
}

void RaftNode::send_snapshot(NodeId to, Progress& pr) {
  SYNOD_ASSERT_MSG(snapshot_, "the log was compacted without a snapshot");
  Message m;
  m.set_term(term_);
  *m.mutable_install_snapshot()->mutable_meta() = snapshot_->meta;
  m.mutable_install_snapshot()->set_data(*snapshot_->data);
  pr.become_snapshot(snapshot_->meta.index());
  event("sending a snapshot at " + std::to_string(snapshot_->meta.index()) + " to " +
        std::to_string(to));
  send(to, std::move(m), false);
}

void RaftNode::broadcast_heartbeat() {
  if (round_wanted_ || options_.lease_ticks > 0) {
    ++read_round_;
    round_wanted_ = false;
    if (options_.lease_ticks > 0) round_sent_tick_[read_round_] = ticks_;
  }
  for (auto& [id, pr] : progress_) {
    Message m;
    m.set_term(term_);
    m.mutable_heartbeat()->set_commit(std::min(pr.match, log_.commit()));
    m.mutable_heartbeat()->set_round(read_round_);
    send(id, std::move(m), false);
  }
  release_reads();  // a single voter needs no answers
}

bool RaftNode::maybe_commit() {
  Index reached = quorum_reached(membership_.voters(), [&](NodeId v) {
    return v == options_.id ? durable_index_ : progress_.at(v).match;
  });
  if (reached <= log_.commit()) return false;
  // Figure 8: an entry of an earlier term may sit on a majority and still be
  // overwritten by a later leader. Only entries of this term are committed by
  // counting; earlier ones commit with them.
  if (log_.term(reached) != term_ && !options_.bugs.commit_earlier_term) return false;
  Index old_commit = log_.commit();
  log_.commit_to(reached);
  for (Index i = std::max(old_commit + 1, term_start_index_); i <= reached; ++i)
    uncommitted_bytes_ -= std::min(uncommitted_bytes_, entry_bytes(log_.at(i)));
  if (log_.term(old_commit) != term_ && log_.term(reached) == term_) {
    // The term's first commit: reads that waited for it may start.
    for (uint64_t id : reads_before_commit_)
      start_read(id);
    reads_before_commit_.clear();
  }
  // A leader that removed itself leads until that change commits, then leaves.
  if (!membership_.is_voter(options_.id) &&
      (membership_entries_.empty() || membership_entries_.rbegin()->first <= reached)) {
    broadcast_append(true);  // tell the others it is committed before going
    event("removed from the voters: stepping down");
    become_follower(term_, std::nullopt);
    return false;
  }
  return true;
}

void RaftNode::append_entry(Entry entry) {
  if (entry.type() == wire::RaftEntry::MEMBERSHIP) {
    wire::RaftMembership wire;
    SYNOD_ASSERT(wire.ParseFromString(entry.data()));  // checked on arrival
    auto membership = Membership::from_wire(wire);
    SYNOD_ASSERT(membership);
    membership_entries_[entry.index()] = *membership;
    log_.append(std::move(entry));
    set_membership(*membership);
    return;
  }
  log_.append(std::move(entry));
}

void RaftNode::truncate_log_after(Index index) {
  log_.truncate_after(index);
  unstable_from_ = std::min(unstable_from_, index + 1);
  durable_index_ = std::min(durable_index_, index);
  bool changed = false;
  while (!membership_entries_.empty() && membership_entries_.rbegin()->first > index) {
    membership_entries_.erase(std::prev(membership_entries_.end()));
    changed = true;
  }
  if (changed) recompute_membership();
}

// ---- reads -----------------------------------------------------------------

std::optional<Refusal> RaftNode::read_index(uint64_t id) {
  SYNOD_ASSERT(!ready_out_);
  if (role_ != Role::kLeader) return Refusal::kNotLeader;
  if (pending_reads_.size() + reads_before_commit_.size() >= options_.max_pending_reads)
    return Refusal::kOverloaded;
  if (log_.term(log_.commit()) != term_) {
    // A new leader's commit index may lag: wait until its no-op commits.
    reads_before_commit_.push_back(id);
    return std::nullopt;
  }
  start_read(id);
  return std::nullopt;
}

void RaftNode::start_read(uint64_t id) {
  if (lease_valid()) {
    reads_.push_back({id, log_.commit()});
    return;
  }
  // The read waits for a heartbeat round sent after it arrived: if a
  // majority echoes it, no other leader had been elected when it was asked.
  pending_reads_.push_back({id, log_.commit(), read_round_ + 1});
  round_wanted_ = true;
}

bool RaftNode::lease_valid() const {
  if (options_.lease_ticks == 0 || role_ != Role::kLeader || lease_forfeited_) return false;
  uint64_t round = quorum_reached(membership_.voters(), [&](NodeId v) {
    return v == options_.id ? read_round_ : progress_.at(v).read_round;
  });
  auto sent = round_sent_tick_.find(round);
  return sent != round_sent_tick_.end() && ticks_ - sent->second < options_.lease_ticks;
}

void RaftNode::release_reads() {
  if (role_ != Role::kLeader) return;
  uint64_t round = quorum_reached(membership_.voters(), [&](NodeId v) {
    return v == options_.id ? read_round_ : progress_.at(v).read_round;
  });
  while (!pending_reads_.empty() && pending_reads_.front().round <= round) {
    reads_.push_back({pending_reads_.front().id, pending_reads_.front().index});
    pending_reads_.pop_front();
  }
  // Rounds a majority has passed are no longer needed for the lease.
  if (!round_sent_tick_.empty())
    round_sent_tick_.erase(round_sent_tick_.begin(), round_sent_tick_.lower_bound(round));
}

void RaftNode::fail_reads() {
  for (const PendingRead& read : pending_reads_)
    failed_reads_.push_back(read.id);
  for (uint64_t id : reads_before_commit_)
    failed_reads_.push_back(id);
  pending_reads_.clear();
  reads_before_commit_.clear();
  round_sent_tick_.clear();
}

// ---- membership ------------------------------------------------------------

void RaftNode::set_membership(Membership membership) {
  if (membership == membership_) return;
  membership_ = std::move(membership);
  event("membership now " + membership_.to_string());
  if (role_ != Role::kLeader) return;
  for (auto it = progress_.begin(); it != progress_.end();) {
    if (membership_.contains(it->first)) {
      ++it;
      continue;
    }
    say_goodbye(it->first, it->second);
    it = progress_.erase(it);
  }
  for (NodeId member : membership_.members())
    if (member != options_.id && !progress_.count(member))
      progress_.emplace(member, new_progress(member));
  if (transferee_ && !membership_.is_voter(*transferee_)) transferee_.reset();
}

// A member just removed gets one last append, whatever its window holds:
// the commit index, and the entries after what was last sent to it (up to
// one append's bound: a member far behind may not get its removal).
// Nothing is sent to a non-member again, so a member whose window was full
// when the change was made would otherwise never hear that it is out;
// serve stops a removed member that still hears nothing after a while.
void RaftNode::say_goodbye(NodeId to, Progress& pr) {
  if (pr.state == Progress::State::kSnapshot) return;
  pr.inflight.clear();
  pr.probe_sent = false;
  send_append(to, true);
}

void RaftNode::recompute_membership() {
  set_membership(membership_entries_.empty() ? snapshot_membership_
                                             : membership_entries_.rbegin()->second);
}

Membership RaftNode::membership_at(Index index) const {
  auto it = membership_entries_.upper_bound(index);
  if (it == membership_entries_.begin()) return snapshot_membership_;
  return std::prev(it)->second;
}

// ---- durability and snapshots ----------------------------------------------

void RaftNode::on_persisted(Index index, Term term) {
  SYNOD_ASSERT(!ready_out_);
  if (!log_.matches(index, term)) return;  // replaced since: a later report covers it
  // A term's hard state is synced no later than the first entry of the term.
  if (term == term_) term_durable_ = true;
  if (index <= durable_index_) return;
  durable_index_ = index;
  if (role_ == Role::kLeader && maybe_commit()) broadcast_append(true);
}

void RaftNode::on_snapshot(Index index, std::shared_ptr<const std::string> data, Index compact_to) {
  SYNOD_ASSERT(!ready_out_);
  SYNOD_ASSERT(index <= applied_ && index <= log_.commit());
  SYNOD_ASSERT(compact_to <= index);
  if (index <= log_.snapshot_index() || (snapshot_ && index <= snapshot_->meta.index())) return;
  SnapshotMeta meta;
  meta.set_index(index);
  meta.set_term(*log_.term(index));
  *meta.mutable_membership() = membership_at(index).to_wire();
  snapshot_ = Snapshot{std::move(meta), std::move(data)};
  if (compact_to > log_.snapshot_index()) {
    snapshot_membership_ = membership_at(compact_to);
    membership_entries_.erase(membership_entries_.begin(),
                              membership_entries_.upper_bound(compact_to));
    log_.compact(compact_to);
  }
}

// ---- effects ---------------------------------------------------------------

HardState RaftNode::hard_state() const {
  HardState hs;
  hs.set_term(term_);
  if (vote_ && !options_.bugs.vote_without_persist) hs.set_vote(*vote_);
  hs.set_commit(log_.commit());
  return hs;
}

static bool same(const HardState& a, const HardState& b) {
  return a.term() == b.term() && a.has_vote() == b.has_vote() && a.vote() == b.vote() &&
         a.commit() == b.commit();
}

void RaftNode::send(NodeId to, Message m, bool after_persist) {
  if (role_ == Role::kLeader && !term_durable_) after_persist = true;
  (after_persist ? messages_after_persist_ : messages_).push_back({to, std::move(m)});
}

void RaftNode::event(std::string text) {
  events_.push_back(std::move(text));
}

void RaftNode::flush_leader() {
  if (role_ != Role::kLeader) return;
  if (pending_broadcast_) {
    pending_broadcast_ = false;
    broadcast_append(false);
  }
  if (round_wanted_) {
    heartbeat_elapsed_ = 0;
    broadcast_heartbeat();
  }
}

bool RaftNode::has_ready() const {
  if (role_ == Role::kLeader && (pending_broadcast_ || round_wanted_)) return true;
  return pending_snapshot_ || unstable_from_ <= log_.last_index() ||
         !same(hard_state(), persisted_hard_state_) || !messages_.empty() ||
         !messages_after_persist_.empty() || log_.commit() > applied_ || !reads_.empty() ||
         !failed_reads_.empty() || !events_.empty();
}

Ready RaftNode::ready() {
  SYNOD_ASSERT(!ready_out_);
  flush_leader();
  Ready rd;
  rd.snapshot = std::move(pending_snapshot_);
  pending_snapshot_.reset();
  if (unstable_from_ <= log_.last_index())
    rd.entries.reserve(log_.last_index() + 1 - unstable_from_);
  for (Index i = unstable_from_; i <= log_.last_index(); ++i)
    rd.entries.push_back(&log_.at(i));
  HardState hs = hard_state();
  if (!same(hs, persisted_hard_state_)) rd.hard_state = hs;
  bool new_term_or_vote = hs.term() != persisted_hard_state_.term() ||
                          hs.has_vote() != persisted_hard_state_.has_vote() ||
                          hs.vote() != persisted_hard_state_.vote();
  rd.needs_sync = rd.snapshot || !rd.entries.empty() || new_term_or_vote;
  rd.messages = std::move(messages_);
  rd.messages_after_persist = std::move(messages_after_persist_);
  messages_.clear();
  messages_after_persist_.clear();
  if (applied_ < log_.commit()) rd.committed.reserve(log_.commit() - applied_);
  for (Index i = applied_ + 1; i <= log_.commit(); ++i)
    rd.committed.push_back(&log_.at(i));
  rd.reads = std::move(reads_);
  rd.failed_reads = std::move(failed_reads_);
  rd.events = std::move(events_);
  reads_.clear();
  failed_reads_.clear();
  events_.clear();
  ready_out_ = true;
  return rd;
}

void RaftNode::advance(const Ready& rd) {
  SYNOD_ASSERT(ready_out_);
  ready_out_ = false;
  if (!rd.entries.empty()) unstable_from_ = rd.entries.back()->index() + 1;
  if (rd.hard_state) persisted_hard_state_ = *rd.hard_state;
  if (!rd.committed.empty()) applied_ = rd.committed.back()->index();
  SYNOD_ASSERT(applied_ <= log_.commit());
}

// ---- state -----------------------------------------------------------------

const Progress* RaftNode::progress(NodeId node) const {
  auto it = progress_.find(node);
  return it == progress_.end() ? nullptr : &it->second;
}

Status RaftNode::status() const {
  Status s;
  s.id = options_.id;
  s.role = role_;
  s.term = term_;
  s.vote = vote_;
  s.leader = leader_;
  s.commit = log_.commit();
  s.applied = applied_;
  s.last_index = log_.last_index();
  s.last_term = log_.last_term();
  s.snapshot_index = snapshot_ ? snapshot_->meta.index() : log_.snapshot_index();
  s.durable_index = durable_index_;
  s.membership = membership_;
  s.transferring_to = transferee_;
  return s;
}

}  // namespace synod::raft
