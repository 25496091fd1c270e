// The watch hub without gRPC: streams whose client reads when the test says
// so, a store the test writes to, and pump() run by hand when the hub asks.

#include "synod/api/watch_hub.h"

#include <gtest/gtest.h>

namespace synod::api {
namespace {

auto no_leases = [](int64_t) { return false; };

// One client's stream: what the hub queued goes out only when read().
struct Client {
  Client()
      : sink(
            std::make_shared<WatchSink>([this](const etcdserverpb::WatchResponse* r) { front = r; },
                                        [this](const grpc::Status& s) {
                                          finished = true;
                                          status = s;
                                        })) {}
  // The client reads up to `n` responses.
  void read(size_t n = SIZE_MAX) {
    while (n-- > 0 && sink->queued() > 0) {
      received.push_back(*front);
      sink->written();
    }
  }
  std::shared_ptr<WatchSink> sink;
  const etcdserverpb::WatchResponse* front = nullptr;
  std::vector<etcdserverpb::WatchResponse> received;
  bool finished = false;
  grpc::Status status;
};

class WatchHubTest : public ::testing::Test {
 protected:
  WatchHubTest()
      : hub(
            store,
            [](etcdserverpb::ResponseHeader* h, int64_t revision) { h->set_revision(revision); },
            [this](bool) { ++wakes; }) {}

  void put(const std::string& key, const std::string& value) {
    etcdserverpb::PutRequest p;
    p.set_key(key);
    p.set_value(value);
    std::vector<mvccpb::Event> changes;
    ASSERT_TRUE(store.put(p, no_leases, &changes).ok());
    hub.publish(changes);
  }
  void watch(Client& c, const std::string& key, int64_t from, int64_t id = 0,
             const std::string& range_end = "") {
    etcdserverpb::WatchCreateRequest r;
    r.set_key(key);
    r.set_range_end(range_end);
    r.set_start_revision(from);
    r.set_watch_id(id);
    hub.create(c.sink, r);
  }
  // The revisions of every event `c` received for watch `id`, in order.
  static std::vector<int64_t> revisions(const Client& c, int64_t id) {
    std::vector<int64_t> out;
    for (const auto& r : c.received)
      if (r.watch_id() == id)
        for (const auto& e : r.events())
          out.push_back(e.kv().mod_revision());
    return out;
  }

  MvccStore store;
  int wakes = 0;
  WatchHub hub;
};

// A watch from revision 2 of a 20,000-revision history: each pump sends one
// page, never the whole history, and the client gets every revision once,
// in order, then the live ones.
TEST_F(WatchHubTest, AWatchFarBehindCatchesUpAPageAtATime) {
  for (int i = 0; i < 20'000; ++i)
    put("k", std::to_string(i));
  Client c;
  watch(c, "k", 2);
  EXPECT_EQ(c.sink->queued(), 1u) << "only `created` before any pump";
  EXPECT_EQ(hub.behind(), 1u);
  int pumps = 0;
  while (hub.behind() > 0 && pumps < 1'000) {
    size_t before = c.sink->queued();
    hub.pump();
    ++pumps;
    EXPECT_LE(c.sink->queued() - before, WatchHub::kPageEvents) << "one page per turn";
    c.read();
  }
  EXPECT_GE(pumps, 20) << "the history came in pages";
  put("k", "live");
  c.read();
  std::vector<int64_t> got = revisions(c, 0);
  ASSERT_EQ(got.size(), 20'001u);
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_EQ(got[i], static_cast<int64_t>(i) + 2);
  EXPECT_FALSE(c.finished);
}

// A hundred watches from revision 1 on one stream whose client does not
// read: the stream is never cut off (the old hub closed it with
// RESOURCE_EXHAUSTED past 16,384 responses, cancelling every watch on it),
// and once the client reads, each watch gets all of history.
TEST_F(WatchHubTest, ManyWatchesBehindOnOneSlowStreamNeverCloseIt) {
  for (int i = 0; i < 2'000; ++i)
    put("p/" + std::to_string(i % 50), std::to_string(i));
  Client c;
  for (int w = 0; w < 100; ++w)
    watch(c, "p/", 1, 0, "p0");
  for (int round = 0; round < 50; ++round) {
    hub.pump();
    put("p/live", std::to_string(round));
  }
  EXPECT_FALSE(c.finished) << c.status.error_message();
  EXPECT_LT(c.sink->queued(), WatchSink::kMaxQueued);
  for (int round = 0; round < 10'000 && hub.behind() > 0; ++round) {
    c.read();
    hub.pump();
  }
  c.read();
  EXPECT_EQ(hub.behind(), 0u);
  for (int64_t id = 0; id < 100; ++id) {
    std::vector<int64_t> got = revisions(c, id);
    ASSERT_EQ(got.size(), 2'050u) << "watch " << id;
    EXPECT_TRUE(std::is_sorted(got.begin(), got.end())) << "watch " << id;
  }
}

// A caught-up watch whose client stops reading falls behind instead of
// growing its queue, and later catches up with no gap.
TEST_F(WatchHubTest, ALiveWatchWhoseClientStopsReadingFallsBehindWithoutAGap) {
  Client c;
  watch(c, "k", 0);
  for (int i = 0; i < 3 * static_cast<int>(WatchHub::kLiveQueued); ++i)
    put("k", std::to_string(i));
  EXPECT_LE(c.sink->queued(), WatchHub::kLiveQueued + 1);
  EXPECT_EQ(hub.behind(), 1u);
  EXPECT_FALSE(c.finished);
  for (int round = 0; round < 1'000 && hub.behind() > 0; ++round) {
    c.read();
    hub.pump();
  }
  c.read();
  std::vector<int64_t> got = revisions(c, 0);
  ASSERT_EQ(got.size(), 3 * WatchHub::kLiveQueued);
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_EQ(got[i], static_cast<int64_t>(i) + 2);
}

// etcd picks a stream's next free id; one a client chose is never given out.
TEST_F(WatchHubTest, IdsTheHubPicksNeverCollideWithIdsClientsChose) {
  Client c;
  watch(c, "a", 0, /*id=*/1);
  watch(c, "b", 0);  // 0
  watch(c, "c", 0);  // 1 is taken: 2
  watch(c, "d", 0, /*id=*/2);
  c.read();
  ASSERT_EQ(c.received.size(), 4u);
  EXPECT_EQ(c.received[0].watch_id(), 1);
  EXPECT_EQ(c.received[1].watch_id(), 0);
  EXPECT_EQ(c.received[2].watch_id(), 2);
  EXPECT_FALSE(c.received[2].canceled());
  EXPECT_EQ(c.received[3].watch_id(), 2);
  EXPECT_TRUE(c.received[3].canceled()) << "a duplicate the client chose is refused";
  EXPECT_EQ(c.received[3].cancel_reason(), "etcdserver: duplicate watch ID");
}

// A compaction past a watch still replaying its history cancels it with the
// compaction point, as etcd does; the stream goes on.
TEST_F(WatchHubTest, ACompactionPastAWatchBehindCancelsIt) {
  for (int i = 0; i < 5'000; ++i)
    put("k", std::to_string(i));
  Client c;
  watch(c, "k", 2);
  hub.pump();  // one page
  ASSERT_TRUE(store.compact(4'000).ok());
  for (int round = 0; round < 100 && hub.watching() > 0; ++round) {
    c.read();
    hub.pump();
  }
  c.read();
  ASSERT_FALSE(c.received.empty());
  EXPECT_TRUE(c.received.back().canceled());
  EXPECT_EQ(c.received.back().compact_revision(), 4'000);
  EXPECT_FALSE(c.finished);
}

}  // namespace
}  // namespace synod::api
