#include "synod/check/linearizability.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "check/brute_force.h"
#include "synod/base/rng.h"

namespace synod::check {
namespace {

using testing::brute_force_linearizable;

int64_t ms(double t) {
  return static_cast<int64_t>(t * 1'000'000);
}

Operation get(uint64_t client, std::optional<std::string> read, double call, double ret,
              std::string key = "k") {
  return {.client = client,
          .kind = OpKind::kGet,
          .key = key,
          .value = read,
          .call = ms(call),
          .ret = ms(ret)};
}
Operation put(uint64_t client, std::string value, double call, double ret, std::string key = "k") {
  return {.client = client,
          .kind = OpKind::kPut,
          .key = key,
          .value = value,
          .call = ms(call),
          .ret = ms(ret)};
}
Operation del(uint64_t client, double call, double ret, std::string key = "k") {
  return {.client = client, .kind = OpKind::kDelete, .key = key, .call = ms(call), .ret = ms(ret)};
}
Operation cas(uint64_t client, std::string expected, std::string value, bool swapped, double call,
              double ret, std::string key = "k") {
  return {.client = client,
          .kind = OpKind::kCas,
          .key = key,
          .value = value,
          .expected = expected,
          .swapped = swapped,
          .call = ms(call),
          .ret = ms(ret)};
}
Operation unknown(Operation op) {
  op.outcome = Outcome::kUnknown;
  op.ret = -1;
  return op;
}
Operation failed(Operation op) {
  op.outcome = Outcome::kFailed;
  return op;
}

// Checks, and cross-checks with the brute-force checker.
Verdict check(const History& h) {
  Verdict v = check_linearizable(h);
  EXPECT_EQ(v.linearizable, brute_force_linearizable(h));
  EXPECT_FALSE(v.undecided);
  if (!v.linearizable) {
    EXPECT_FALSE(brute_force_linearizable(v.window)) << v.explanation;
  }
  return v;
}

bool mentions(const Verdict& v, std::string_view text) {
  return v.explanation.find(text) != std::string::npos;
}

TEST(Linearizability, EmptyHistory) {
  Verdict v = check({});
  EXPECT_TRUE(v.linearizable);
  EXPECT_EQ(v.keys, 0u);
  EXPECT_EQ(v.operations, 0u);
}

TEST(Linearizability, SequentialReadsSeeTheLastWrite) {
  Verdict v =
      check({get(0, std::nullopt, 0, 1), put(0, "a", 2, 3), get(1, "a", 4, 5), put(1, "b", 6, 7),
             get(0, "b", 8, 9), del(2, 10, 11), get(0, std::nullopt, 12, 13)});
  EXPECT_TRUE(v.linearizable);
  EXPECT_EQ(v.keys, 1u);
  EXPECT_EQ(v.operations, 7u);
}

TEST(Linearizability, StaleReadAfterACompletedWrite) {
  History h = {put(0, "v1", 0, 1), put(1, "v2", 1.1, 1.2), get(2, "v1", 1.5, 1.6)};
  Verdict v = check(h);
  ASSERT_FALSE(v.linearizable);
  EXPECT_EQ(v.key, "k");
  EXPECT_EQ(v.window, h);
  EXPECT_TRUE(mentions(v,
                       "put k=v2 by client 1 wrote v2 and returned at 1.2ms, but get k by "
                       "client 2, called at 1.5ms, read v1"))
      << v.explanation;
}

TEST(Linearizability, ConcurrentReadMaySeeEitherValue) {
  EXPECT_TRUE(check({put(0, "v1", 0, 1), put(1, "v2", 2, 4), get(2, "v1", 3, 5)}).linearizable);
  EXPECT_TRUE(check({put(0, "v1", 0, 1), put(1, "v2", 2, 4), get(2, "v2", 3, 5)}).linearizable);
  // Once one concurrent reader saw the new value, a later one cannot see the old.
  Verdict v =
      check({put(0, "v1", 0, 1), put(1, "v2", 2, 10), get(2, "v2", 3, 4), get(3, "v1", 5, 6)});
  EXPECT_FALSE(v.linearizable);
}

TEST(Linearizability, ConcurrentWritesInEitherOrder) {
  History base = {put(0, "a", 0, 2), put(1, "b", 1, 3)};
  for (std::string last : {"a", "b"}) {
    History h = base;
    h.push_back(get(2, last, 4, 5));
    h.push_back(get(3, last, 6, 7));
    EXPECT_TRUE(check(h).linearizable) << last;
  }
}

TEST(Linearizability, LostWrite) {
  // The write returned ok, yet a later read finds nothing.
  Verdict v = check({put(0, "a", 0, 1), get(1, std::nullopt, 2, 3)});
  ASSERT_FALSE(v.linearizable);
  EXPECT_TRUE(mentions(v, "as if nothing had been written")) << v.explanation;
  // Two writes, and the reads flip back to the one that must have come first.
  v = check({put(0, "a", 0, 1), put(1, "b", 0, 1), get(2, "b", 2, 3), get(2, "a", 4, 5)});
  EXPECT_FALSE(v.linearizable);
  EXPECT_EQ(v.window.size(), 4u);
}

TEST(Linearizability, CasThatSucceededTwice) {
  Verdict v =
      check({put(0, "a", 0, 1), cas(1, "a", "b", true, 2, 3), cas(2, "a", "c", true, 2, 3)});
  ASSERT_FALSE(v.linearizable);
  EXPECT_EQ(v.window.size(), 3u);
  EXPECT_TRUE(mentions(v, "2 cas operations swapped k from a, but only 1 write")) << v.explanation;
  // With a second write of a between them, both may swap.
  EXPECT_TRUE(check({put(0, "a", 0, 1), cas(1, "a", "b", true, 2, 3), put(3, "a", 3.5, 3.6),
                     cas(2, "a", "c", true, 4, 5)})
                  .linearizable);
}

TEST(Linearizability, CasSemantics) {
  // Swaps only on a key that exists and holds the expected value.
  EXPECT_FALSE(check({cas(0, "a", "b", true, 0, 1)}).linearizable);
  EXPECT_TRUE(check({cas(0, "a", "b", false, 0, 1)}).linearizable);
  EXPECT_TRUE(
      check({put(0, "a", 0, 1), cas(1, "a", "b", true, 2, 3), get(0, "b", 4, 5)}).linearizable);
  EXPECT_TRUE(
      check({put(0, "x", 0, 1), cas(1, "a", "b", false, 2, 3), get(0, "x", 4, 5)}).linearizable);
  // A cas that did not swap although the key held its value.
  Verdict v = check({put(0, "a", 0, 1), cas(1, "a", "b", false, 2, 3)});
  ASSERT_FALSE(v.linearizable);
  EXPECT_TRUE(mentions(v,
                       "cas k a->b by client 1 did not swap, but put k=a by client 0 had "
                       "returned at 1ms"))
      << v.explanation;
  // A failed cas is explained by a concurrent write.
  EXPECT_TRUE(
      check({put(0, "a", 0, 1), put(2, "c", 1.5, 3), cas(1, "a", "b", false, 2, 3)}).linearizable);
}

TEST(Linearizability, Deletes) {
  EXPECT_TRUE(check({put(0, "a", 0, 1), del(1, 2, 3), get(0, std::nullopt, 4, 5)}).linearizable);
  Verdict v = check({put(0, "a", 0, 1), del(1, 2, 3), get(0, "a", 4, 5)});
  ASSERT_FALSE(v.linearizable);
  EXPECT_TRUE(mentions(v, "delete k by client 1 deleted it and returned at 3ms")) << v.explanation;
  EXPECT_FALSE(check({put(0, "a", 0, 1), del(1, 2, 3), cas(0, "a", "b", true, 4, 5)}).linearizable);
}

TEST(Linearizability, UnknownWriteObserved) {
  EXPECT_TRUE(check({unknown(put(0, "a", 0, 0)), get(1, "a", 5, 6)}).linearizable);
  // ... even long after its call, and after other operations completed.
  EXPECT_TRUE(
      check({unknown(put(0, "a", 0, 0)), put(1, "b", 2, 3), get(1, "b", 4, 5), get(2, "a", 6, 7)})
          .linearizable);
  // But never before it was called.
  Verdict v = check({get(1, "a", 0, 1), unknown(put(0, "a", 2, 0))});
  ASSERT_FALSE(v.linearizable);
  EXPECT_TRUE(mentions(v,
                       "get k by client 1 read a and returned at 1ms, but a was first written "
                       "by put k=a by client 0, called later at 2ms"))
      << v.explanation;
  // And once: it cannot come back after being overwritten.
  EXPECT_FALSE(
      check({unknown(put(0, "a", 0, 0)), get(1, "a", 1, 2), put(1, "b", 3, 4), get(2, "a", 5, 6)})
          .linearizable);
}

TEST(Linearizability, UnknownWritesTakeEffectInEitherOrder) {
  // Both timed out; the reads show b then a, so the later-called one went first.
  EXPECT_TRUE(check({unknown(put(0, "a", 0, 0)), unknown(put(1, "b", 1, 0)), get(2, "b", 2, 5),
                     get(3, "a", 3, 6), get(2, "a", 7, 8)})
                  .linearizable);
  EXPECT_TRUE(check({unknown(put(0, "b", 0, 0)), unknown(put(1, "a", 1, 0)), get(2, "b", 2, 5),
                     get(3, "a", 3, 6), get(2, "a", 7, 8)})
                  .linearizable);
  EXPECT_FALSE(check({unknown(put(0, "a", 0, 0)), unknown(put(1, "b", 1, 0)), get(2, "b", 2, 5),
                      get(3, "a", 3, 6), get(2, "b", 7, 8), get(2, "a", 9, 10)})
                   .linearizable);
}

TEST(Linearizability, UnknownWriteNotObserved) {
  EXPECT_TRUE(check({unknown(put(0, "a", 0, 0)), get(1, std::nullopt, 5, 6)}).linearizable);
  EXPECT_TRUE(check({put(1, "b", 0, 1), unknown(del(0, 2, 0)), get(1, "b", 5, 6)}).linearizable);
  // An unknown write that is never read can still explain a cas that failed.
  EXPECT_TRUE(check({put(0, "a", 0, 1), unknown(put(1, "z", 2, 0)), cas(2, "a", "b", false, 5, 6)})
                  .linearizable);
}

TEST(Linearizability, UnknownCasMayOrMayNotSwap) {
  History base = {put(0, "a", 0, 1), unknown(cas(1, "a", "b", false, 2, 0))};
  for (const char* read : {"a", "b"}) {
    History h = base;
    h.push_back(get(2, read, 3, 4));
    EXPECT_TRUE(check(h).linearizable) << read;
  }
  History h = base;
  h.push_back(get(2, "b", 3, 4));
  h.push_back(get(2, "a", 5, 6));  // swapped, then un-swapped by nobody
  EXPECT_FALSE(check(h).linearizable);
  // It swaps only where the key holds the expected value.
  EXPECT_FALSE(check({put(0, "x", 0, 1), unknown(cas(1, "a", "b", false, 2, 0)), get(2, "b", 3, 4)})
                   .linearizable);
}

TEST(Linearizability, UnknownGetsAndFailedOperationsAreIgnored) {
  EXPECT_TRUE(check({unknown(get(0, "zzz", 0, 0)), put(1, "a", 1, 2)}).linearizable);
  EXPECT_TRUE(check({failed(put(0, "b", 0, 1)), get(1, std::nullopt, 2, 3)}).linearizable);
  Verdict v = check({failed(put(0, "b", 0, 1)), get(1, "b", 2, 3)});
  ASSERT_FALSE(v.linearizable);
  EXPECT_EQ(v.window, (History{get(1, "b", 2, 3)}));
  EXPECT_TRUE(mentions(v, "no operation wrote b to k")) << v.explanation;
}

TEST(Linearizability, OperationsThatTouchAreConcurrent) {
  // The put returns at the instant the get is called: either order is allowed.
  EXPECT_TRUE(check({put(0, "a", 0, 10), get(1, std::nullopt, 10, 20)}).linearizable);
  EXPECT_FALSE(check({put(0, "a", 0, 10), get(1, std::nullopt, 10.001, 20)}).linearizable);
}

TEST(Linearizability, KeysAreIndependentAndTheFailingOneIsNamed) {
  History h = {put(0, "a", 0, 1, "x"), put(1, "a", 0, 1, "y"), get(0, "a", 2, 3, "x"),
               get(1, std::nullopt, 2, 3, "y"), get(2, std::nullopt, 0, 0.5, "z")};
  Verdict v = check(h);
  ASSERT_FALSE(v.linearizable);
  EXPECT_EQ(v.key, "y");
  EXPECT_EQ(v.keys, 3u);
  EXPECT_EQ(v.operations, 5u);
  for (const Operation& op : v.window)
    EXPECT_EQ(op.key, "y");
  // On one key, "a" then absent needs a delete; on separate keys, nothing.
  EXPECT_TRUE(check({put(0, "a", 0, 1, "x"), get(1, std::nullopt, 2, 3, "y")}).linearizable);
}

TEST(Linearizability, WindowDropsOperationsThatDoNotMatter) {
  History h;
  for (int i = 0; i < 50; ++i) {  // a long, fine prefix on the same key
    h.push_back(put(static_cast<uint64_t>(i % 3), "v" + std::to_string(i), 10 * i, 10 * i + 5));
    h.push_back(
        get(static_cast<uint64_t>(i % 3 + 3), "v" + std::to_string(i), 10 * i + 6, 10 * i + 7));
  }
  h.push_back(put(7, "late", 600, 601));
  h.push_back(get(8, "v49", 602, 603));  // stale
  Verdict v = check_linearizable(h);
  ASSERT_FALSE(v.linearizable);
  EXPECT_EQ(v.window,
            (History{put(1, "v49", 490, 495), put(7, "late", 600, 601), get(8, "v49", 602, 603)}))
      << v.explanation;
}

TEST(Linearizability, SearchLimitGivesAnHonestUndecided) {
  History h = {put(0, "a", 0, 1, "x"), get(1, "a", 2, 3, "x")};
  CheckOptions tight;
  tight.max_search_steps_per_key = 1;
  Verdict v = check_linearizable(h, tight);
  EXPECT_FALSE(v.linearizable);
  EXPECT_TRUE(v.undecided);
  EXPECT_EQ(v.key, "x");
  EXPECT_TRUE(mentions(v, "Could not decide")) << v.explanation;
  // A key shown to fail is reported rather than one left undecided.
  h.push_back(get(0, "nothing", 0, 1, "y"));
  v = check_linearizable(h, tight);
  EXPECT_FALSE(v.linearizable);
  EXPECT_FALSE(v.undecided);
  EXPECT_EQ(v.key, "y");
  EXPECT_EQ(is_linearizable_key({put(0, "a", 0, 1), get(1, "a", 2, 3)}, 1), std::nullopt);
  EXPECT_EQ(is_linearizable_key({put(0, "a", 0, 1), get(1, "a", 2, 3)}), true);
}

TEST(Linearizability, WithoutMinimizingStillNamesTheKey) {
  CheckOptions fast;
  fast.minimize = false;
  Verdict v = check_linearizable({put(0, "a", 0, 1), get(1, "b", 2, 3)}, fast);
  EXPECT_FALSE(v.linearizable);
  EXPECT_EQ(v.key, "k");
  EXPECT_TRUE(v.window.empty());
  EXPECT_FALSE(v.explanation.empty());
}

TEST(Linearizability, RemovalKeepsWhatResultsDependOn) {
  History h = {put(0, "a", 0, 1),          del(1, 2, 3),      get(2, "a", 4, 5),
               get(3, std::nullopt, 6, 7), put(4, "z", 8, 9), cas(5, "q", "r", false, 10, 11)};
  EXPECT_FALSE(removal_allowed(h, 0));  // get read a
  EXPECT_FALSE(removal_allowed(h, 1));  // get read absent
  EXPECT_TRUE(removal_allowed(h, 2));
  EXPECT_TRUE(removal_allowed(h, 3));
  EXPECT_FALSE(removal_allowed(h, 4));  // may be why the cas did not swap
  EXPECT_TRUE(removal_allowed(h, 5));
  History swapped = {put(0, "q", 0, 1), cas(5, "q", "r", true, 10, 11)};
  EXPECT_FALSE(removal_allowed(swapped, 0));
}

TEST(Linearizability, LargeLinearizableHistoryIsQuick) {
  // Five clients taking turns round-robin with overlapping operations on 10 keys.
  History h;
  for (int i = 0; i < 20'000; ++i) {
    std::string key = "k" + std::to_string(i % 10);
    int round = i / 10;
    double t = round * 10;
    h.push_back(
        i % 20 < 10
            ? put(static_cast<uint64_t>(i % 5), "v" + std::to_string(round), t, t + 4, key)
            : get(static_cast<uint64_t>(i % 5), "v" + std::to_string(round - 1), t, t + 4, key));
  }
  Verdict v = check_linearizable(h);
  EXPECT_TRUE(v.linearizable) << v.explanation;
  EXPECT_EQ(v.keys, 10u);
  EXPECT_LT(v.search_steps, 100'000u);
}

TEST(Linearizability, ManyUnknownWritesAndOneReadLate) {
  // Timeouts leave many writes of unknown outcome that nobody read: each
  // doubles the ways a plain search can go. Sequential reads and writes, with
  // a timed-out write after every fourth operation.
  History h;
  for (int i = 0; i < 400; ++i) {
    double t = i * 10;
    if (i % 2 == 0)
      h.push_back(put(0, "v" + std::to_string(i), t, t + 4));
    else
      h.push_back(get(1, "v" + std::to_string(i - 1), t, t + 4));
    if (i % 4 == 0) h.push_back(unknown(put(2, "lost" + std::to_string(i), t + 1, t + 2)));
  }
  Verdict v = check_linearizable(h);
  EXPECT_TRUE(v.linearizable) << v.explanation;
  EXPECT_FALSE(v.undecided);
  EXPECT_LT(v.search_steps, 100'000u);
  // An unknown write that was read is still taken into account: it may take
  // effect late, but then it overwrote v398 for good.
  h.push_back(get(1, "lost0", 5000, 5001));
  EXPECT_TRUE(check_linearizable(h).linearizable);
  h.push_back(get(1, "v398", 5010, 5011));
  EXPECT_FALSE(check_linearizable(h).linearizable);
}

TEST(Linearizability, ARealHistoryFullOfTimeoutsIsDecided) {
  // Key k1 of `synod sim run --protocol register --seed 9083 --nemesis swarm`
  // (60s, 5 nodes): 121 operations, 17 writes of unknown outcome under 16%
  // message loss. A plain search gave up on it after 5,000,000 steps.
  auto h = read_history_file(std::string(SYNOD_TESTS_DIR) + "/check/data/timeouts_register.jsonl");
  ASSERT_TRUE(h.ok()) << h.status();
  Verdict v = check_linearizable(*h);
  EXPECT_TRUE(v.linearizable) << v.explanation;
  EXPECT_LT(v.search_steps, 100'000u);
}

// `clients` clients on one key, each operation applied at a random point of
// its interval, unique values, 3% timeouts. With many clients every operation
// overlaps dozens of others.
History busy_key(int ops, size_t clients) {
  Rng rng(7);
  struct Planned {
    Operation op;
    int64_t point;
  };
  std::vector<Planned> planned;
  std::vector<int64_t> free_at(clients, 0);
  for (int i = 0; i < ops; ++i) {
    size_t c =
        static_cast<size_t>(std::min_element(free_at.begin(), free_at.end()) - free_at.begin());
    Operation op{.client = c, .key = "k"};
    uint64_t dice = rng.uniform(10);
    op.kind = dice < 5   ? OpKind::kGet
              : dice < 8 ? OpKind::kPut
              : dice < 9 ? OpKind::kCas
                         : OpKind::kDelete;
    if (op.kind == OpKind::kPut || op.kind == OpKind::kCas) op.value = "v" + std::to_string(i);
    if (op.kind == OpKind::kCas)
      op.expected = "v" + std::to_string(rng.uniform(static_cast<uint64_t>(i) + 1));
    op.call = free_at[c] + static_cast<int64_t>(rng.exponential(10));
    int64_t point = op.call + static_cast<int64_t>(rng.exponential(50));
    op.ret = point + static_cast<int64_t>(rng.exponential(50));
    free_at[c] = op.ret + 1;
    if (rng.chance(0.03)) {
      op.outcome = Outcome::kUnknown;
      op.ret = -1;
      if (rng.chance(0.5)) point = -1;
    }
    planned.push_back({op, point});
  }
  std::stable_sort(planned.begin(), planned.end(),
                   [](const Planned& a, const Planned& b) { return a.point < b.point; });
  std::optional<std::string> model;
  History h;
  for (Planned& p : planned) {
    Operation& op = p.op;
    if (p.point >= 0) {
      switch (op.kind) {
        case OpKind::kGet:
          op.value = model;
          break;
        case OpKind::kPut:
          model = op.value;
          break;
        case OpKind::kDelete:
          model.reset();
          break;
        case OpKind::kCas:
          op.swapped = model == op.expected;
          if (op.swapped) model = op.value;
          break;
      }
    }
    h.push_back(op);
  }
  return h;
}

TEST(Linearizability, HighConcurrencyOnOneKeyIsDecided) {
  // Without the search's rules (reads that hold taken at once, alike writes
  // tried once, ...) this runs out of steps.
  History h = busy_key(4000, 24);
  Verdict v = check_linearizable(h);
  EXPECT_TRUE(v.linearizable) << v.explanation;
  EXPECT_LT(v.search_steps, 100'000u);
}

TEST(Linearizability, StaleReadAfterHighConcurrencyIsFoundAndShown) {
  // Refuting takes the whole space of orders of what came before, so fewer
  // clients than above.
  History h = busy_key(1000, 12);
  h.push_back(put(99, "last", 1e9, 1e9 + 1));
  h.push_back(get(99,
                  *std::find_if(h.rbegin() + 1, h.rend(),
                                [](const Operation& op) {
                                  return op.kind == OpKind::kPut && op.outcome == Outcome::kOk;
                                })
                       ->value,
                  1e9 + 2, 1e9 + 3));
  Verdict v = check_linearizable(h);
  EXPECT_FALSE(v.linearizable);
  EXPECT_FALSE(v.undecided);
  EXPECT_LE(v.window.size(), 4u) << v.explanation;
  EXPECT_NE(v.explanation.find("put k=last by client 99 wrote last"), std::string::npos)
      << v.explanation;
}

}  // namespace
}  // namespace synod::check
