// Property tests over random message-passing executions: each clock's
// guarantee, checked against happened-before computed independently (the
// transitive closure of program order and send -> receive edges).

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <bitset>
#include <deque>
#include <vector>

#include "synod/clock/hybrid_clock.h"
#include "synod/clock/lamport.h"
#include "synod/clock/vector_clock.h"

namespace synod {
namespace {

constexpr size_t kMaxEvents = 128;

struct Step {
  int kind;         // 0 local, 1 send, 2 deliver
  size_t process;   // who acts (local, send)
  size_t target;    // send: recipient; deliver: which in-flight message
  int64_t advance;  // true time passing before the step, >= 1ns
};

struct Event {
  size_t process;
  uint64_t lamport;
  VectorClock vector;
  HlcTimestamp hlc;
  int64_t physical;  // the process's physical reading at the event
  int64_t true_time;
};

struct Execution {
  std::vector<Event> events;
  std::vector<std::bitset<kMaxEvents>> before;  // before[b][a]: a happened before b
  int64_t max_offset = 0;
  size_t processes = 0;
};

struct InFlight {
  size_t to;
  size_t send_event;
  uint64_t lamport;
  VectorClock vector;
  HlcTimestamp hlc;
};

Execution run(size_t processes, const std::vector<int64_t>& offsets,
              const std::vector<Step>& steps) {
  Execution x;
  x.processes = processes;
  for (int64_t o : offsets)
    x.max_offset = std::max(x.max_offset, o);
  std::vector<LamportClock> lamport(processes);
  std::vector<VectorClock> vector(processes, VectorClock(processes));
  std::vector<HybridClock> hlc(processes);
  std::vector<int> last_event(processes, -1);
  std::deque<InFlight> in_flight;
  int64_t true_time = 0;

  auto record = [&](size_t p, uint64_t l, HlcTimestamp h, int64_t pt, int from_send) {
    size_t id = x.events.size();
    x.events.push_back({p, l, vector[p], h, pt, true_time});
    std::bitset<kMaxEvents> preds;
    if (last_event[p] >= 0) preds |= x.before[last_event[p]], preds.set(last_event[p]);
    if (from_send >= 0) preds |= x.before[from_send], preds.set(from_send);
    x.before.push_back(preds);
    last_event[p] = static_cast<int>(id);
  };

  for (const Step& s : steps) {
    if (x.events.size() >= kMaxEvents) break;
    true_time += s.advance;
    size_t p = s.process % processes;
    int64_t pt = true_time + offsets[p];
    if (s.kind == 0 || (s.kind == 2 && in_flight.empty())) {
      uint64_t l = lamport[p].tick();
      vector[p].tick(p);
      record(p, l, hlc[p].now(pt), pt, -1);
    } else if (s.kind == 1) {
      size_t to = s.target % processes;
      uint64_t l = lamport[p].tick();
      vector[p].tick(p);
      HlcTimestamp h = hlc[p].now(pt);
      record(p, l, h, pt, -1);
      in_flight.push_back({to, x.events.size() - 1, l, vector[p], h});
    } else {
      size_t which = s.target % in_flight.size();
      InFlight m = in_flight[which];
      in_flight.erase(in_flight.begin() + static_cast<ptrdiff_t>(which));
      size_t q = m.to;
      int64_t qpt = true_time + offsets[q];
      uint64_t l = lamport[q].receive(m.lamport);
      vector[q].merge(m.vector);
      vector[q].tick(q);
      record(q, l, hlc[q].update(qpt, m.hlc), qpt, static_cast<int>(m.send_event));
    }
  }
  return x;
}

rc::Gen<Step> step_gen() {
  return rc::gen::build<Step>(rc::gen::set(&Step::kind, rc::gen::inRange(0, 3)),
                              rc::gen::set(&Step::process, rc::gen::inRange<size_t>(0, 6)),
                              rc::gen::set(&Step::target, rc::gen::inRange<size_t>(0, 64)),
                              rc::gen::set(&Step::advance, rc::gen::inRange<int64_t>(1, 2000)));
}

Execution random_execution() {
  size_t processes = *rc::gen::inRange<size_t>(2, 7);
  auto offsets =
      *rc::gen::container<std::vector<int64_t>>(processes, rc::gen::inRange<int64_t>(0, 5000));
  auto steps = *rc::gen::container<std::vector<Step>>(step_gen());
  return run(processes, offsets, steps);
}

RC_GTEST_PROP(Clocks, LamportOrderIsConsistentWithHappenedBefore, ()) {
  Execution x = random_execution();
  for (size_t b = 0; b < x.events.size(); ++b)
    for (size_t a = 0; a < b; ++a)
      if (x.before[b][a]) RC_ASSERT(x.events[a].lamport < x.events[b].lamport);
}

RC_GTEST_PROP(Clocks, VectorClocksCharacteriseHappenedBeforeExactly, ()) {
  Execution x = random_execution();
  for (size_t b = 0; b < x.events.size(); ++b)
    for (size_t a = 0; a < x.events.size(); ++a) {
      if (a == b) continue;
      bool hb = a < b && x.before[b][a];
      bool reverse = b < a && x.before[a][b];
      RC_ASSERT(x.events[a].vector.happened_before(x.events[b].vector) == hb);
      RC_ASSERT(x.events[a].vector.concurrent_with(x.events[b].vector) == (!hb && !reverse));
    }
}

RC_GTEST_PROP(Clocks, HybridClockRespectsHappenedBeforeAndStaysNearPhysicalTime, ()) {
  Execution x = random_execution();
  for (size_t b = 0; b < x.events.size(); ++b) {
    const Event& e = x.events[b];
    // Never behind the process's own clock, never ahead of the fastest clock
    // by more than the largest offset between clocks.
    RC_ASSERT(e.hlc.wall >= e.physical);
    RC_ASSERT(e.hlc.wall - e.physical <= x.max_offset);
    // The paper's bound on the counter, with one tick = 1ns.
    RC_ASSERT(static_cast<int64_t>(e.hlc.logical) <=
              static_cast<int64_t>(x.processes) * (x.max_offset + 1));
    for (size_t a = 0; a < b; ++a)
      if (x.before[b][a]) RC_ASSERT(x.events[a].hlc < e.hlc);
  }
}

TEST(VectorClock, ComparesAndPrints) {
  VectorClock a(3), b(3);
  a.tick(0);
  EXPECT_EQ(a.compare(b), VectorClock::Order::kAfter);
  b.tick(1);
  EXPECT_TRUE(a.concurrent_with(b));
  b.merge(a);
  b.tick(1);
  EXPECT_TRUE(a.happened_before(b));
  EXPECT_EQ(b.to_string(), "[1,2,0]");
  EXPECT_EQ(a.compare(a), VectorClock::Order::kEqual);
}

TEST(LamportClock, ReceiveJumpsPastTheSender) {
  LamportClock c;
  EXPECT_EQ(c.tick(), 1u);
  EXPECT_EQ(c.receive(10), 11u);
  EXPECT_EQ(c.receive(3), 12u);
}

TEST(HybridClock, FollowsPhysicalTimeAndCountsWithinATick) {
  HybridClock c;
  EXPECT_EQ(c.now(100), (HlcTimestamp{100, 0}));
  EXPECT_EQ(c.now(100), (HlcTimestamp{100, 1}));
  EXPECT_EQ(c.update(90, HlcTimestamp{150, 4}), (HlcTimestamp{150, 5}));  // a clock ahead of ours
  EXPECT_EQ(c.now(120), (HlcTimestamp{150, 6}));  // ours is still behind what we heard
  EXPECT_EQ(c.now(200), (HlcTimestamp{200, 0}));
}

}  // namespace
}  // namespace synod
