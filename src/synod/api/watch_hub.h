#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "synod/api/stream_sink.h"
#include "synod/kv/mvcc_store.h"

namespace synod::api {

using WatchSink = StreamSink<etcdserverpb::WatchResponse>;

// Every watch on this member, on the member's loop. Changes reach it as
// they apply here, in revision order; a watch starting in the past first
// replays the store's history from its start revision, on the same loop
// turn, so what it sees has no gap and no repeat wherever the leader is.
class WatchHub {
 public:
  // Header fields other than the revision (cluster, member, term).
  using FillHeader = std::function<void(etcdserverpb::ResponseHeader*, int64_t revision)>;

  WatchHub(const MvccStore& store, FillHeader fill) : store_(store), fill_(std::move(fill)) {}

  // A create request on `stream`; answers it (created, and canceled at once
  // if its start revision was compacted) and replays history.
  void create(const std::shared_ptr<WatchSink>& stream, int64_t watch_id,
              const etcdserverpb::WatchCreateRequest& request);
  void cancel(const std::shared_ptr<WatchSink>& stream, int64_t watch_id);
  void progress(const std::shared_ptr<WatchSink>& stream);
  void drop(const WatchSink* stream);  // the stream ended

  // From the state machine, as changes apply.
  void publish(const std::vector<mvccpb::Event>& changes);
  // The store was replaced by a snapshot from the leader: what each watch
  // has not seen yet comes from the new store's history, or, when that was
  // compacted away, the watch is canceled with the compaction point.
  void restored();
  // Every watch that asked for progress notifications and has sent nothing
  // since the last call hears the store's revision (etcd's progress notify).
  void notify_progress();

 private:
  struct Watch {
    std::shared_ptr<WatchSink> stream;
    std::string key, range_end;
    bool no_put = false, no_delete = false, prev_kv = false;
    bool progress_notify = false;
    bool sent_lately = false;   // since the last notify_progress
    int64_t next_revision = 0;  // events below this were sent already (or predate it)
  };
  // Sends the store's history from w.next_revision on, one response per
  // revision as etcd does; false: that history was compacted (nothing sent).
  bool catch_up(Watch& w, int64_t watch_id);
  void send_compacted(WatchSink& stream, int64_t watch_id);
  bool wants(const Watch& w, const mvccpb::Event& e) const;
  void send(Watch& w, int64_t watch_id, std::vector<mvccpb::Event> events, int64_t revision);

  const MvccStore& store_;
  FillHeader fill_;
  std::map<std::pair<const WatchSink*, int64_t>, Watch> watches_;
};

}  // namespace synod::api
