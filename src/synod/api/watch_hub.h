#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "synod/api/stream_sink.h"
#include "synod/kv/mvcc_store.h"

namespace synod::api {

using WatchSink = StreamSink<etcdserverpb::WatchResponse>;

// Every watch on this member, on the member's loop. Changes reach it as
// they apply here, in revision order, so what a watch sees has no gap and
// no repeat wherever the leader is.
//
// A watch is either caught up (live changes go straight to its stream) or
// behind: one that starts in the past, or whose stream a slow client has
// let fill. A watch behind replays the store's history a page at a time
// (catch_up, run by pump()), each page only while its stream has room, so
// no watch holds the loop for the length of the history, none grows its
// stream's queue without bound, and a slow watch never closes the stream
// or cancels the other watches on it (etcd's unsynced watchers).
class WatchHub {
 public:
  // Header fields other than the revision (cluster, member, term).
  using FillHeader = std::function<void(etcdserverpb::ResponseHeader*, int64_t revision)>;
  // Asks for pump() to run on the loop: soon (`later` false), or after a
  // pause (kPumpPause): to let streams drain, and after a pump that spent
  // its whole budget, so that history never takes more than a share of the
  // member from the writers.
  using Wake = std::function<void(bool later)>;

  // A page of history: at most this many events, or this many changes
  // looked at, per watch; one response carries it. One pump() sends at most
  // kPumpEvents events in all, the watches behind taking turns, so the
  // writers' requests between two pumps wait for little.
  static constexpr size_t kPageEvents = 1'000;
  static constexpr size_t kPageScanned = 20'000;
  static constexpr std::chrono::milliseconds kPumpPause{5};
  static constexpr size_t kPumpEvents = 1'000;
  // A watch behind sends a page only while its stream holds fewer
  // responses than this; live changes go to a caught-up watch only while
  // its stream holds fewer than kLiveQueued, else it falls behind.
  static constexpr size_t kCatchUpQueued = 64;
  static constexpr size_t kLiveQueued = 4'096;
  static_assert(kLiveQueued < WatchSink::kMaxQueued);
  // Watches one member holds at most (each a few hundred bytes): past it a
  // create is answered created-and-canceled with the reason.
  static constexpr size_t kMaxWatches = 100'000;

  WatchHub(const MvccStore& store, FillHeader fill, Wake wake)
      : store_(store), fill_(std::move(fill)), wake_(std::move(wake)) {}

  // A create request on `stream`, with the id the client chose (0: the
  // hub picks the stream's next free one, as etcd does). Answers it
  // (created, and canceled at once if its start revision was compacted or
  // the id is taken); a start in the past is replayed by pump().
  void create(const std::shared_ptr<WatchSink>& stream,
              const etcdserverpb::WatchCreateRequest& request);
  void cancel(const std::shared_ptr<WatchSink>& stream, int64_t watch_id);
  void progress(const std::shared_ptr<WatchSink>& stream);
  void drop(const WatchSink* stream);  // the stream ended

  // From the state machine, as changes apply.
  void publish(const std::vector<mvccpb::Event>& changes);
  // The store was replaced by a snapshot from the leader: every watch
  // catches up from the new store's history, or, when that was compacted
  // away, is canceled with the compaction point.
  void restored();
  // Every watch that asked for progress notifications and has sent nothing
  // since the last call hears the store's revision (etcd's progress notify).
  void notify_progress();
  // One page for each watch behind whose stream has room. Asks to be run
  // again while any is behind.
  void pump();

  size_t watching() const { return watches_.size(); }
  size_t behind() const;

 private:
  struct Watch {
    std::shared_ptr<WatchSink> stream;
    std::string key, range_end;
    bool no_put = false, no_delete = false, prev_kv = false;
    bool progress_notify = false;
    bool sent_lately = false;   // since the last notify_progress
    int64_t next_revision = 0;  // events below this were sent already (or predate it)
  };
  using Key = std::pair<const WatchSink*, int64_t>;

  bool caught_up(const Watch& w) const { return w.next_revision > store_.revision(); }
  // One page of history, of at most `max_events`; false: that history was
  // compacted (nothing sent). Returns the events sent in *sent.
  bool catch_up(Watch& w, int64_t watch_id, size_t max_events, size_t* sent);
  void send_compacted(WatchSink& stream, int64_t watch_id);
  bool wants(const Watch& w, const mvccpb::Event& e) const;
  void send(Watch& w, int64_t watch_id, std::vector<mvccpb::Event> events, int64_t revision);
  int64_t next_free_id(const WatchSink* stream);
  void wake_if_behind();

  const MvccStore& store_;
  FillHeader fill_;
  Wake wake_;
  std::map<Key, Watch> watches_;
  std::map<const WatchSink*, int64_t> next_id_;  // each stream's next id to try
  bool pump_asked_ = false;
  Key pump_from_{nullptr, 0};  // the watch after the last one pump() served
};

}  // namespace synod::api
