#include "synod/raft/progress.h"

#include <algorithm>

#include "synod/base/assert.h"

namespace synod::raft {

void Progress::Inflight::add(Index last, size_t bytes) {
  SYNOD_ASSERT(sent_.empty() || last > sent_.back().last);
  sent_.push_back({last, bytes});
  bytes_ += bytes;
}

void Progress::Inflight::free_through(Index index) {
  while (!sent_.empty() && sent_.front().last <= index) {
    bytes_ -= sent_.front().bytes;
    sent_.pop_front();
  }
}

void Progress::Inflight::free_first() {
  if (sent_.empty()) return;
  bytes_ -= sent_.front().bytes;
  sent_.pop_front();
}

void Progress::Inflight::clear() {
  sent_.clear();
  bytes_ = 0;
}

bool Progress::paused() const {
  switch (state) {
    case State::kProbe:
      return probe_sent;
    case State::kReplicate:
      return inflight.full();
    case State::kSnapshot:
      return true;
  }
  SYNOD_UNREACHABLE();
}

bool Progress::acknowledge(Index index) {
  bool updated = index > match;
  if (updated) {
    match = index;
    probe_sent = false;  // an answer: probing may go on
  }
  next = std::max(next, index + 1);
  inflight.free_through(index);
  return updated;
}

bool Progress::reject(Index rejected, Index next_hint) {
  if (state == State::kReplicate) {
    // Pipelined appends: a rejection at or below match is an old one.
    if (rejected <= match) return false;
    become_probe();
    next = std::max(match + 1, std::min(rejected, next_hint));
    return true;
  }
  // Probing sends one append at a time, with prev_index next - 1: any other
  // rejection answers an earlier probe.
  if (rejected != next - 1) return false;
  if (rejected <= match) {
    // A broken promise: the follower no longer holds entries it acknowledged
    // (its disk lost synced data). Clamping next at match + 1 would send the
    // same probe forever; what it matches is unknown now, so probe down.
    match = 0;
  }
  next = std::max(match + 1, std::min(rejected, std::max<Index>(next_hint, 1)));
  probe_sent = false;
  return true;
}

void Progress::become_probe() {
  // From snapshot: the snapshot was installed (match moved past it) or lost.
  if (state == State::kSnapshot) next = match + 1;
  state = State::kProbe;
  probe_sent = false;
  pending_snapshot = 0;
  inflight.clear();
}

void Progress::become_replicate() {
  state = State::kReplicate;
  next = match + 1;
  probe_sent = false;
  pending_snapshot = 0;
  inflight.clear();
}

void Progress::become_snapshot(Index snapshot_index) {
  state = State::kSnapshot;
  pending_snapshot = snapshot_index;
  snapshot_ticks = 0;
  probe_sent = false;
  inflight.clear();
}

void Progress::sent(Index last, size_t bytes, bool empty) {
  switch (state) {
    case State::kReplicate:
      if (!empty) {
        next = last + 1;
        inflight.add(last, bytes);
      }
      return;
    case State::kProbe:
      probe_sent = true;
      return;
    case State::kSnapshot:
      SYNOD_UNREACHABLE();
  }
}

std::string_view state_name(Progress::State state) {
  switch (state) {
    case Progress::State::kProbe:
      return "probe";
    case Progress::State::kReplicate:
      return "replicate";
    case Progress::State::kSnapshot:
      return "snapshot";
  }
  return "?";
}

}  // namespace synod::raft
