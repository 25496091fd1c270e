#include "synod/api/watch_hub.h"

#include "synod/base/assert.h"

namespace synod::api {

bool WatchHub::wants(const Watch& w, const mvccpb::Event& e) const {
  if (e.kv().mod_revision() < w.next_revision) return false;
  if (e.type() == mvccpb::Event::PUT && w.no_put) return false;
  if (e.type() == mvccpb::Event::DELETE && w.no_delete) return false;
  return MvccStore::in_range(e.kv().key(), w.key, w.range_end);
}

void WatchHub::send(Watch& w, int64_t watch_id, std::vector<mvccpb::Event> events,
                    int64_t revision) {
  etcdserverpb::WatchResponse r;
  fill_(r.mutable_header(), revision);
  r.set_watch_id(watch_id);
  for (auto& e : events) {
    if (!w.prev_kv) e.clear_prev_kv();
    *r.add_events() = std::move(e);
  }
  w.sent_lately = true;
  w.stream->send(std::move(r));
}

void WatchHub::send_compacted(WatchSink& stream, int64_t watch_id) {
  etcdserverpb::WatchResponse canceled;
  fill_(canceled.mutable_header(), store_.revision());
  canceled.set_watch_id(watch_id);
  canceled.set_canceled(true);
  canceled.set_compact_revision(store_.compacted());
  canceled.set_cancel_reason("etcdserver: mvcc: required revision has been compacted");
  stream.send(std::move(canceled));
}

// One page of the store's history from w.next_revision, in one response
// whose header names the last revision the page covers (every event of the
// watch up to it is in it, so a client resuming from the header misses
// nothing), as etcd's unsynced watchers get their history in batches.
bool WatchHub::catch_up(Watch& w, int64_t watch_id, size_t max_events, size_t* sent) {
  *sent = 0;
  if (caught_up(w)) return true;
  if (w.next_revision < store_.compacted()) return false;
  MvccStore::ChangesPage page =
      store_.changes_page(w.key, w.range_end, w.next_revision, max_events, kPageScanned);
  std::vector<mvccpb::Event> mine;
  for (auto& e : page.events)
    if (wants(w, e)) mine.push_back(std::move(e));
  SYNOD_ASSERT(page.next > w.next_revision);  // every page moves on
  *sent = mine.size();
  if (!mine.empty()) send(w, watch_id, std::move(mine), page.next - 1);
  w.next_revision = page.next;
  return true;
}

int64_t WatchHub::next_free_id(const WatchSink* stream) {
  int64_t& next = next_id_[stream];
  while (watches_.count({stream, next}))
    ++next;
  return next++;
}

void WatchHub::create(const std::shared_ptr<WatchSink>& stream,
                      const etcdserverpb::WatchCreateRequest& request) {
  int64_t watch_id = request.watch_id() != 0 ? request.watch_id() : next_free_id(stream.get());
  etcdserverpb::WatchResponse created;
  fill_(created.mutable_header(), store_.revision());
  created.set_watch_id(watch_id);
  created.set_created(true);
  if (watches_.count({stream.get(), watch_id})) {
    created.set_canceled(true);
    created.set_cancel_reason("etcdserver: duplicate watch ID");
    stream->send(std::move(created));
    return;
  }
  if (watches_.size() >= kMaxWatches) {
    created.set_canceled(true);
    created.set_cancel_reason("etcdserver: too many watches on this member (" +
                              std::to_string(kMaxWatches) + ")");
    stream->send(std::move(created));
    return;
  }
  int64_t start = request.start_revision() > 0 ? request.start_revision() : store_.revision() + 1;
  stream->send(std::move(created));
  if (start < store_.compacted()) {
    // etcd: created, then canceled with the compaction point.
    send_compacted(*stream, watch_id);
    return;
  }
  Watch w;
  w.stream = stream;
  w.key = request.key();
  w.range_end = request.range_end();
  w.prev_kv = request.prev_kv();
  w.progress_notify = request.progress_notify();
  for (int f : request.filters()) {
    if (f == etcdserverpb::WatchCreateRequest::NOPUT) w.no_put = true;
    if (f == etcdserverpb::WatchCreateRequest::NODELETE) w.no_delete = true;
  }
  w.next_revision = start;  // not below the compaction point
  bool behind = !caught_up(w);
  watches_[{stream.get(), watch_id}] = std::move(w);
  if (behind) wake_if_behind();
}

void WatchHub::cancel(const std::shared_ptr<WatchSink>& stream, int64_t watch_id) {
  if (!watches_.erase({stream.get(), watch_id})) return;
  etcdserverpb::WatchResponse r;
  fill_(r.mutable_header(), store_.revision());
  r.set_watch_id(watch_id);
  r.set_canceled(true);
  stream->send(std::move(r));
}

void WatchHub::progress(const std::shared_ptr<WatchSink>& stream) {
  etcdserverpb::WatchResponse r;
  fill_(r.mutable_header(), store_.revision());
  r.set_watch_id(-1);  // etcd: a progress notification names no watch
  stream->send(std::move(r));
}

void WatchHub::restored() {
  // Whatever each watch has not seen comes from the new store's history.
  wake_if_behind();
}

void WatchHub::notify_progress() {
  for (auto& [key, w] : watches_) {
    // A watch behind is not at the store's revision: it says nothing yet.
    if (w.progress_notify && !w.sent_lately && caught_up(w) && !w.stream->is_done()) {
      etcdserverpb::WatchResponse r;
      fill_(r.mutable_header(), store_.revision());
      r.set_watch_id(key.second);
      w.stream->send(std::move(r));
    }
    w.sent_lately = false;
  }
}

void WatchHub::drop(const WatchSink* stream) {
  watches_.erase(watches_.lower_bound({stream, INT64_MIN}),
                 watches_.upper_bound({stream, INT64_MAX}));
  next_id_.erase(stream);
}

void WatchHub::publish(const std::vector<mvccpb::Event>& changes) {
  if (changes.empty() || watches_.empty()) return;
  int64_t revision = changes.back().kv().mod_revision();
  bool fell_behind = false;
  for (auto it = watches_.begin(); it != watches_.end();) {
    Watch& w = it->second;
    if (w.stream->is_done()) {
      it = watches_.erase(it);
      continue;
    }
    // Behind already (its history is still being replayed), or its stream
    // is too full to take more: these changes wait in the store's history.
    if (w.next_revision < changes.front().kv().mod_revision() ||
        w.stream->queued() >= kLiveQueued) {
      fell_behind = true;
      ++it;
      continue;
    }
    std::vector<mvccpb::Event> mine;
    for (const auto& e : changes)
      if (wants(w, e)) mine.push_back(e);
    if (!mine.empty()) send(w, it->first.second, std::move(mine), revision);
    w.next_revision = std::max(w.next_revision, revision + 1);
    ++it;
  }
  if (fell_behind) wake_if_behind();
}

size_t WatchHub::behind() const {
  size_t n = 0;
  for (const auto& [key, w] : watches_)
    n += !caught_up(w);
  return n;
}

void WatchHub::wake_if_behind() {
  if (pump_asked_) return;
  pump_asked_ = true;
  wake_(false);
}

void WatchHub::pump() {
  pump_asked_ = false;
  bool waiting_for_room = false, more = false;
  size_t budget = kPumpEvents;
  // Round robin from where the last pump stopped, wrapping once.
  auto start = watches_.upper_bound(pump_from_);
  for (size_t seen = 0, n = watches_.size(); seen < n && !watches_.empty(); ++seen) {
    if (start == watches_.end()) start = watches_.begin();
    auto it = start++;
    Watch& w = it->second;
    if (w.stream->is_done()) {
      watches_.erase(it);
      continue;
    }
    if (caught_up(w)) continue;
    if (budget == 0 || w.stream->queued() >= kCatchUpQueued) {
      (budget == 0 ? more : waiting_for_room) = true;
      continue;
    }
    size_t sent = 0;
    if (!catch_up(w, it->first.second, std::min(kPageEvents, budget), &sent)) {
      send_compacted(*w.stream, it->first.second);
      watches_.erase(it);
      continue;
    }
    budget -= std::min(budget, std::max<size_t>(sent, 1));
    pump_from_ = it->first;
    more |= !caught_up(w);
  }
  if (more && budget > 0) {
    pump_asked_ = true;
    wake_(false);
  } else if (more || waiting_for_room) {
    pump_asked_ = true;
    wake_(true);
  }
}

}  // namespace synod::api
