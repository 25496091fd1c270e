#pragma once

#include <deque>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "synod/base/rng.h"
#include "synod/protocol/invariant.h"
#include "synod/raft/log.h"
#include "synod/raft/membership.h"
#include "synod/raft/progress.h"
#include "synod/raft/types.h"

namespace synod::raft {

// Deliberate bugs, for proving that the simulator's checks catch them. Never
// set outside tests and `synod sim --bug`.
struct RaftBugs {
  // The leader commits an entry of an earlier term by counting replicas (the
  // paper's Figure 8 problem).
  bool commit_earlier_term = false;
  // A vote is granted without being persisted, so a restart forgets it.
  bool vote_without_persist = false;
};

struct RaftOptions {
  NodeId id = 0;
  // Time is counted in ticks, which the runtime delivers with tick().
  // A follower that hears no leader for a random number of ticks in
  // [election_ticks, 2 * election_ticks) starts an election.
  int election_ticks = 10;
  int heartbeat_ticks = 1;
  // Pre-vote (thesis 9.6): a node first asks whether it could win, so a node
  // that was partitioned away does not raise everyone's term when it returns.
  bool pre_vote = true;
  // A leader that has not heard from a majority within an election timeout
  // steps down; and a node that hears from its leader ignores vote requests
  // for an election timeout (leader stickiness).
  bool check_quorum = true;

  // Limits, each the bound on one queue or buffer.
  size_t max_entries_per_append = 4096;
  size_t max_bytes_per_append = 1 << 20;
  size_t max_inflight_appends = 64;  // per follower
  size_t max_inflight_bytes = 8 << 20;
  // Proposals are refused (overloaded) while this much is appended and not
  // yet committed: back pressure instead of an unbounded log.
  size_t max_uncommitted_bytes = 32 << 20;
  size_t max_pending_reads = 4096;

  // Leader leases for reads: a leader that a majority acknowledged within
  // the last lease_ticks serves reads without a heartbeat round. Safe only
  // while clocks drift apart by less than the margin lease_ticks leaves below
  // election_ticks (see docs/raft.md). 0: off, every read does ReadIndex.
  int lease_ticks = 0;

  RaftBugs bugs;
};

enum class Role { kFollower, kPreCandidate, kCandidate, kLeader };
std::string_view role_name(Role role);

// Why a proposal or read was not taken. Nothing was appended.
enum class Refusal {
  kNotLeader,     // ask the leader (see Status::leader)
  kTransferring,  // leadership is moving: retry soon, at the new leader
  kOverloaded,    // too much is uncommitted or pending
  kNotYet,        // membership: a previous change is not yet committed, or
                  // this leader has not committed an entry of its term yet
  kInvalid,       // membership: the change makes no sense here
};
std::string_view refusal_name(Refusal refusal);

struct Proposed {
  Index index = 0;
  Term term = 0;
};

// A message for a peer.
struct Outgoing {
  NodeId to = 0;
  Message message;
};

// A read may be served once the state machine has applied `index`.
struct ReadState {
  uint64_t id = 0;
  Index index = 0;
};

// The effects a RaftNode produced since the last advance(), in the order
// the runtime must carry them out:
//   1. persist: the snapshot, then the entries (entries.front() may replace
//      entries persisted earlier, from its index on), then the hard state;
//   2. send `messages` at once (a leader replicates while its own disk syncs);
//   3. send `messages_after_persist` only once everything written so far,
//      these writes included, is durable (votes and acknowledgements promise
//      what is on disk);
//   4. apply the snapshot (if any), then the committed entries, in order;
//   5. call advance(), then on_persisted() when the writes are durable.
//
// `entries` and `committed` point into the node's log, not copies (entries
// are the bulk of all work): they stay valid until advance(), and the node
// takes no input in between (asserted).
struct Ready {
  std::optional<Snapshot> snapshot;  // from the leader: restore the state machine from it
  std::vector<const Entry*> entries;
  std::optional<HardState> hard_state;
  std::vector<Outgoing> messages;
  std::vector<Outgoing> messages_after_persist;
  std::vector<const Entry*> committed;
  std::vector<ReadState> reads;
  std::vector<uint64_t> failed_reads;  // leadership lost before they could be served
  std::vector<std::string> events;     // what happened, for logs and traces ("elected, term 4")
  // Whether the writes must be synced before what depends on them goes out:
  // entries, a snapshot, a new term or vote. A new commit index alone need
  // not be: it may ride with the next sync, since a restart that recovers an
  // older one learns it again from the leader (etcd-io/raft does the same).
  bool needs_sync = false;

  bool writes() const { return snapshot || !entries.empty() || hard_state; }
};

// What a node is, for runtimes, tools and invariant checkers.
struct Status {
  NodeId id = 0;
  Role role = Role::kFollower;
  Term term = 0;
  std::optional<NodeId> vote;
  std::optional<NodeId> leader;
  Index commit = 0;
  Index applied = 0;
  Index last_index = 0;
  Term last_term = 0;
  Index snapshot_index = 0;
  Index durable_index = 0;
  Membership membership;
  std::optional<NodeId> transferring_to;
};

// What a node recovered from its storage at (re)start.
struct Recovered {
  HardState hard_state;
  std::optional<Snapshot> snapshot;  // the state machine was restored from it
  std::vector<Entry> entries;        // after the snapshot, contiguous
};

// A Raft node: a deterministic state machine that does no I/O. Feed it inputs
// (tick, step, propose, read_index, ...); take its effects with ready() and
// carry them out as Ready says; then advance(). It never reads a clock or a
// random source of its own: time comes as ticks, randomness from the Rng it
// is given.
//
// Safety rests on: one vote per term (persisted before it is sent), the
// election restriction, the log-matching check on append, and committing by
// counting replicas only entries of the leader's own term.
class RaftNode {
 public:
  // `bootstrap`: the membership a brand-new cluster starts with, used when
  // nothing was recovered (a restarted node finds its own in its storage).
  RaftNode(const RaftOptions& options, const Recovered& recovered, const Membership& bootstrap,
           Rng rng);

  // ---- inputs ------------------------------------------------------------
  void tick();
  void step(NodeId from, const Message& message);
  // A command for the state machine. Leader only.
  std::variant<Proposed, Refusal> propose(std::string data);
  // One server at a time; the new membership is in effect once appended.
  std::variant<Proposed, Refusal> propose_membership(const MembershipChange& change);
  // A linearizable read barrier (ReadIndex, thesis 6.4): Ready::reads
  // reports it with the index the state machine must reach before the read
  // is served. Leader only.
  std::optional<Refusal> read_index(uint64_t id);
  // Hand leadership to `to` (thesis 3.10). Leader only.
  std::optional<Refusal> transfer_leadership(NodeId to);
  // The writes of the Ready that ended with entry (index, term) are durable.
  void on_persisted(Index index, Term term);
  // The state machine took a snapshot at `index` (applied, and durable): the
  // leader sends it to followers that need entries before compact_to, up to
  // which the log is dropped (compact_to <= index keeps a tail for followers
  // that are only a little behind).
  void on_snapshot(Index index, std::shared_ptr<const std::string> data, Index compact_to);

  // ---- effects -----------------------------------------------------------
  bool has_ready() const;
  Ready ready();
  void advance(const Ready& ready);

  // ---- state -------------------------------------------------------------
  Status status() const;
  NodeId id() const { return options_.id; }
  Role role() const { return role_; }
  Term term() const { return term_; }
  std::optional<NodeId> leader() const { return leader_; }
  const RaftLog& log() const { return log_; }
  const Membership& membership() const { return membership_; }
  // The progress the leader tracks for `node` (nullptr when not leading it).
  const Progress* progress(NodeId node) const;
  // The latest snapshot: taken here, installed from a leader or recovered.
  const std::optional<Snapshot>& snapshot() const { return snapshot_; }
  // The membership in effect after entry `index` (for snapshots).
  Membership membership_at(Index index) const;
  // What must hold between inputs (raft_invariants.cc); the first broken.
  std::optional<BrokenInvariant> check_invariants() const;

 private:
  // Tests corrupt a node's state to show that check_invariants() sees it.
  friend struct RaftNodeCorruption;

  // Roles.
  void become_follower(Term term, std::optional<NodeId> leader);
  void become_pre_candidate();
  void become_candidate();
  // term_durable: whether our term and vote are already on disk (they are
  // when other voters answered requests that waited for them).
  void become_leader(bool term_durable);
  enum class Campaign { kPreVote, kElection, kTransfer };
  void campaign(Campaign kind);
  // Asks every voter that has not answered yet; again every heartbeat while
  // the campaign lasts, since a lost request or answer would otherwise cost
  // a whole election timeout.
  void request_votes();
  bool in_lease() const;
  void reset(Term term);
  void reset_election_timer();
  // May this node campaign? A voter of its latest membership, or of the last
  // committed one: an uncommitted change that removed it may still be rolled
  // back, and the others may need its log to elect anyone (votes are still
  // counted over the latest membership).
  bool promotable() const {
    return membership_.is_voter(options_.id) || membership_at(log_.commit()).is_voter(options_.id);
  }

  // Messages by kind.
  void step_vote(NodeId from, const Message& m);
  void step_vote_response(NodeId from, const Message& m);
  void step_append(NodeId from, const Message& m);
  void step_append_response(NodeId from, const Message& m);
  void step_heartbeat(NodeId from, const Message& m);
  void step_heartbeat_response(NodeId from, const Message& m);
  void step_install_snapshot(NodeId from, const Message& m);
  void step_timeout_now(NodeId from);
  void send_timeout_now(NodeId to);
  // A message carrying a term above ours.
  bool step_higher_term(NodeId from, const Message& m);
  void step_lower_term(NodeId from, const Message& m);

  // Leader's replication.
  void broadcast_append(bool send_empty);
  bool send_append(NodeId to, bool send_empty);
  void say_goodbye(NodeId to, Progress& pr);
  void send_snapshot(NodeId to, Progress& pr);
  void broadcast_heartbeat();
  bool maybe_commit();
  void append_entry(Entry entry);
  void truncate_log_after(Index index);
  void flush_leader();
  void tick_leader();
  bool quorum_active() const;

  // Reads.
  void start_read(uint64_t id);
  void release_reads();
  void fail_reads();
  bool lease_valid() const;

  // Membership.
  void set_membership(Membership membership);
  void recompute_membership();
  Progress new_progress(NodeId node) const;

  void send(NodeId to, Message m, bool after_persist);
  void event(std::string text);
  void persist_hard_state();
  HardState hard_state() const;

  RaftOptions options_;
  Rng rng_;

  // Persistent state.
  Term term_ = 0;
  std::optional<NodeId> vote_;
  RaftLog log_;

  // Volatile state.
  Role role_ = Role::kFollower;
  std::optional<NodeId> leader_;
  Membership membership_;
  // Memberships that took effect at these indexes (entries still in the log),
  // over the one in effect at the snapshot: a truncated log rolls back to the
  // last one that survives.
  Membership snapshot_membership_;
  std::map<Index, Membership> membership_entries_;

  int election_elapsed_ = 0;
  bool restarted_in_lease_ = false;  // see the constructor
  int heartbeat_elapsed_ = 0;
  int randomized_election_ticks_ = 0;
  std::map<NodeId, bool> votes_;
  // A leader whose term may not be on disk yet (a single voter wins at once)
  // sends nothing until it is: a crash could lose the term, and the node
  // could win the same term again and send different entries under it.
  bool term_durable_ = true;
  Campaign campaign_ = Campaign::kElection;  // the current one, while a (pre-)candidate

  // Leader state.
  std::map<NodeId, Progress> progress_;  // every member but self
  std::optional<NodeId> transferee_;
  int transfer_elapsed_ = 0;
  size_t uncommitted_bytes_ = 0;
  Index term_start_index_ = 0;  // the no-op this leader appended on election
  bool pending_broadcast_ = false;

  // ReadIndex: reads wait for a heartbeat round that a majority echoes.
  struct PendingRead {
    uint64_t id;
    Index index;
    uint64_t round;
  };
  uint64_t read_round_ = 0;  // the latest round sent
  bool round_wanted_ = false;
  std::deque<PendingRead> pending_reads_;
  std::deque<uint64_t> reads_before_commit_;  // wait for the term's first commit
  std::map<uint64_t, int> round_sent_tick_;   // for leases: when each round went out
  bool lease_forfeited_ = false;              // a transfer began this term: no lease until the next
  int ticks_ = 0;

  // What the runtime has and has not been handed.
  Index unstable_from_ = 1;  // first entry not yet handed out to persist
  Index durable_index_ = 0;  // entries known durable on this node's disk
  Index applied_ = 0;        // entries handed out to apply
  HardState persisted_hard_state_;
  std::optional<Snapshot> pending_snapshot_;  // received: to hand out
  std::optional<Snapshot> snapshot_;          // the latest, to send followers
  bool hard_state_dirty_ = false;
  // Between ready() and advance(): the Ready points into the log, so every
  // input asserts this is false.
  bool ready_out_ = false;

  std::vector<Outgoing> messages_;
  std::vector<Outgoing> messages_after_persist_;
  std::vector<ReadState> reads_;
  std::vector<uint64_t> failed_reads_;
  std::vector<std::string> events_;
};

}  // namespace synod::raft
