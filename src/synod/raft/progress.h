#pragma once

#include <deque>

#include "synod/raft/types.h"

namespace synod::raft {

// The leader's view of one follower's log, and the flow control of what it
// sends there.
//
// States (as in etcd-io/raft's tracker):
//   probe:     where the logs first differ is unknown; one append at a time,
//              each answered (or a heartbeat later) before the next.
//   replicate: the logs match up to `match`; appends are pipelined, next moves
//              ahead optimistically, bounded by the in-flight window.
//   snapshot:  the follower needs entries the leader compacted; a snapshot is
//              on its way and nothing else is sent until it is answered.
struct Progress {
  enum class State { kProbe, kReplicate, kSnapshot };

  // Flow control: the appends sent and not yet acknowledged, by the last
  // index each carried and its bytes. Bounded in count and in bytes.
  class Inflight {
   public:
    Inflight(size_t max_messages, size_t max_bytes)
        : max_messages_(max_messages), max_bytes_(max_bytes) {}
    bool full() const { return sent_.size() >= max_messages_ || bytes_ >= max_bytes_; }
    void add(Index last, size_t bytes);
    void free_through(Index index);  // acknowledged up to index
    void free_first();               // one may have been lost (see step_heartbeat_response)
    void clear();
    size_t count() const { return sent_.size(); }

   private:
    struct Sent {
      Index last;
      size_t bytes;
    };
    size_t max_messages_, max_bytes_;
    std::deque<Sent> sent_;
    size_t bytes_ = 0;
  };

  Progress(Index next, size_t max_inflight_messages, size_t max_inflight_bytes)
      : next(next), inflight(max_inflight_messages, max_inflight_bytes) {}

  Index match = 0;  // the follower's log is known to match the leader's up to here
  Index next = 1;   // the next entry to send
  State state = State::kProbe;
  bool probe_sent = false;     // probe: waiting for an answer before sending again
  Index pending_snapshot = 0;  // snapshot: the index of the snapshot sent
  int snapshot_ticks = 0;      // snapshot: ticks since it was sent
  Inflight inflight;
  bool recently_active = false;  // heard from within the last election timeout (check-quorum)
  uint64_t read_round = 0;       // the latest heartbeat round it echoed (ReadIndex)
  // The highest commit index an append told it. A follower whose window was
  // full when the commit moved learns it from an empty append once the
  // window opens, not a heartbeat later (etcd-io/raft's sentCommit).
  Index sent_commit = 0;

  // Sending is paused: a probe is out, the window is full, or a snapshot is.
  bool paused() const;
  // An acknowledgement up to `index`; false if it told nothing new.
  bool acknowledge(Index index);
  // A rejection of an append whose prev_index was `rejected`; `next_hint` is
  // where the leader should try next. False when the rejection is stale.
  bool reject(Index rejected, Index next_hint);

  void become_probe();
  void become_replicate();
  void become_snapshot(Index snapshot_index);
  // Book-keeping for an append just sent that ends at `last`.
  void sent(Index last, size_t bytes, bool empty);
};

std::string_view state_name(Progress::State state);

}  // namespace synod::raft
