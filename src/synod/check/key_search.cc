#include "synod/check/key_search.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "synod/base/assert.h"
#include "synod/base/hash64.h"

namespace synod::check {
namespace {

// Model states and values are small integers: a value's id, or kAbsent, or
// kUnobserved for every value that no read returned and no cas expected. Such
// values behave alike in every later step (no read or swap can match them, and
// every non-swapping cas is satisfied), so one state stands for them all.
constexpr int32_t kAbsent = -1;
constexpr int32_t kUnobserved = -2;

// What an operation requires of the register and what it leaves in it.
enum class Step : uint8_t {
  kRead,       // a get that returned: the value must be a
  kWrite,      // put (b = the value) or delete (b = kAbsent): the value becomes b
  kCasSwap,    // a cas that swapped, or one of unknown outcome: must hold a, becomes b
  kCasNoSwap,  // a cas that returned without swapping: must not hold a
};

struct SearchOp {
  Step step = Step::kRead;
  int32_t a = kAbsent;
  int32_t b = kAbsent;
  int64_t call = 0;
  int64_t ret = 0;  // operations of known outcome only
  bool unknown = false;
  size_t input = 0;  // position in the input: the tie-break that keeps the order deterministic
};

// An unknown cas is tried only where it would swap: where it would not, it has
// no effect, the same as never taking effect.
bool apply(const SearchOp& op, int32_t state, int32_t& next) {
  switch (op.step) {
    case Step::kRead:
      next = state;
      return state == op.a;
    case Step::kWrite:
      next = op.b;
      return true;
    case Step::kCasSwap:
      next = op.b;
      return state == op.a;
    case Step::kCasNoSwap:
      next = state;
      return state != op.a;
  }
  SYNOD_UNREACHABLE();
}

// A timed-out write of a value that nothing else writes, whose value a known
// result observed, did take effect, and before that observer returned: it
// becomes an operation of known outcome that returned then (no earlier than
// its call). That is sound (any linearization has it before the observer,
// which precedes whatever was called after the observer returned) and spares
// the search its choice of taking effect or not, and where: with timeouts
// from partitions, these are most of a history's unknown writes.
void force_observed_unknown_writes(std::vector<SearchOp>& ops, size_t values) {
  std::vector<int32_t> writers(values, 0);
  std::vector<int64_t> first_observer_ret(values, std::numeric_limits<int64_t>::max());
  for (const SearchOp& s : ops) {
    bool writes = s.step == Step::kWrite || s.step == Step::kCasSwap;
    if (writes && s.b >= 0) ++writers[static_cast<size_t>(s.b)];
    bool observes = !s.unknown && (s.step == Step::kRead || s.step == Step::kCasSwap);
    if (observes && s.a >= 0) {
      int64_t& first = first_observer_ret[static_cast<size_t>(s.a)];
      first = std::min(first, s.ret);
    }
  }
  for (SearchOp& s : ops) {
    bool writes = s.step == Step::kWrite || s.step == Step::kCasSwap;
    if (!s.unknown || !writes || s.b < 0) continue;
    auto v = static_cast<size_t>(s.b);
    if (writers[v] != 1 || first_observer_ret[v] == std::numeric_limits<int64_t>::max()) continue;
    s.unknown = false;
    s.ret = std::max(s.call, first_observer_ret[v]);
  }
}

std::vector<SearchOp> translate(std::span<const Operation* const> ops) {
  std::unordered_map<std::string_view, int32_t> ids;  // lookups only; ids follow input order
  auto id = [&ids](const std::optional<std::string>& v) {
    if (!v) return kAbsent;
    return ids.try_emplace(*v, static_cast<int32_t>(ids.size())).first->second;
  };
  std::vector<SearchOp> out;
  out.reserve(ops.size());
  for (size_t i = 0; i < ops.size(); ++i) {
    const Operation& op = *ops[i];
    if (op.outcome == Outcome::kFailed) continue;
    bool unknown = op.outcome == Outcome::kUnknown;
    if (unknown && op.kind == OpKind::kGet) continue;  // tells nothing
    SYNOD_ASSERT_MSG(unknown || op.ret >= op.call, "an operation returned before it was called");
    SearchOp s{.call = op.call, .ret = unknown ? 0 : op.ret, .unknown = unknown, .input = i};
    switch (op.kind) {
      case OpKind::kGet:
        s.step = Step::kRead;
        s.a = id(op.value);
        break;
      case OpKind::kPut:
        SYNOD_ASSERT_MSG(op.value.has_value(), "a put without a value");
        s.step = Step::kWrite;
        s.b = id(op.value);
        break;
      case OpKind::kDelete:
        s.step = Step::kWrite;
        s.b = kAbsent;
        break;
      case OpKind::kCas:
        SYNOD_ASSERT_MSG(op.expected.has_value() && op.value.has_value(),
                         "a cas without an expected or a new value");
        s.a = id(op.expected);
        s.b = id(op.value);
        s.step = unknown || op.swapped ? Step::kCasSwap : Step::kCasNoSwap;
        break;
    }
    out.push_back(s);
  }

  force_observed_unknown_writes(out, ids.size());

  std::vector<bool> looked_for(ids.size(), false);
  for (const SearchOp& s : out) {
    bool reads_a = s.step == Step::kRead || s.step == Step::kCasSwap || s.step == Step::kCasNoSwap;
    if (reads_a && s.a >= 0) looked_for[static_cast<size_t>(s.a)] = true;
  }
  for (SearchOp& s : out) {
    bool writes_b = s.step == Step::kWrite || s.step == Step::kCasSwap;
    if (writes_b && s.b >= 0 && !looked_for[static_cast<size_t>(s.b)]) s.b = kUnobserved;
  }

  // An unknown write whose result nothing can observe can be left out: taking
  // effect would only make the register hold a value that no read returned and
  // no cas expected, until the next unconditional write. The exception is a cas
  // that did not swap, which any other value satisfies, so then all are kept.
  // This spares the search a factor of two per such write.
  bool any_no_swap = std::any_of(out.begin(), out.end(),
                                 [](const SearchOp& s) { return s.step == Step::kCasNoSwap; });
  bool absent_read = std::any_of(out.begin(), out.end(), [](const SearchOp& s) {
    return s.step == Step::kRead && s.a == kAbsent;
  });
  if (!any_no_swap) {
    std::erase_if(out, [absent_read](const SearchOp& s) {
      return s.unknown &&
             (s.b == kUnobserved || (s.step == Step::kWrite && s.b == kAbsent && !absent_read));
    });
  }
  return out;
}

// Lowe's memo: the (set of linearized operations, state) pairs already
// reached. A set is stored compactly: `prefix` (every operation of known
// outcome below it is linearized, the one at it is not), the words of the
// known-outcome bitset from the prefix up to the highest linearized one (a
// window as wide as the concurrency), and the bitset of unknown operations.
class Memo {
 public:
  explicit Memo(size_t unknown_words) : unknown_words_(unknown_words), slots_(1024, 0) {}

  // False when the pair was there already.
  bool insert(uint64_t hash, int32_t state, int32_t prefix, std::span<const uint64_t> known,
              std::span<const uint64_t> unknown) {
    SYNOD_ASSERT(unknown.size() == unknown_words_);
    if ((entries_.size() + 1) * 2 > slots_.size()) grow();
    size_t mask = slots_.size() - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
      uint32_t slot = slots_[i];
      if (slot == 0) {
        slots_[i] = static_cast<uint32_t>(entries_.size() + 1);
        entries_.push_back(
            {hash, words_.size(), state, prefix, static_cast<uint32_t>(known.size())});
        words_.insert(words_.end(), known.begin(), known.end());
        words_.insert(words_.end(), unknown.begin(), unknown.end());
        return true;
      }
      const Entry& e = entries_[slot - 1];
      if (e.hash == hash && e.state == state && e.prefix == prefix &&
          e.known_words == known.size() &&
          std::equal(known.begin(), known.end(), words_.begin() + e.offset) &&
          std::equal(unknown.begin(), unknown.end(), words_.begin() + e.offset + known.size()))
        return false;
    }
  }

 private:
  struct Entry {
    uint64_t hash;
    size_t offset;  // into words_
    int32_t state;
    int32_t prefix;
    uint32_t known_words;
  };

  void grow() {
    std::vector<uint32_t> slots(slots_.size() * 2, 0);
    size_t mask = slots.size() - 1;
    for (size_t n = 0; n < entries_.size(); ++n) {
      size_t i = entries_[n].hash & mask;
      while (slots[i] != 0)
        i = (i + 1) & mask;
      slots[i] = static_cast<uint32_t>(n + 1);
    }
    slots_ = std::move(slots);
  }

  size_t unknown_words_;
  std::vector<uint32_t> slots_;  // open addressing; entry index + 1, 0 = empty
  std::vector<Entry> entries_;
  std::vector<uint64_t> words_;
};

uint64_t op_key(int32_t op) {
  return mix64(static_cast<uint64_t>(op) * 0x9e3779b97f4a7c15ULL + 1);
}
uint64_t state_key(int32_t state) {
  return mix64(static_cast<uint64_t>(static_cast<int64_t>(state)) ^ 0x5851f42d4c957f2dULL);
}

// Operations of known outcome are numbered 0..known-1 by call time; unknown
// ones known..n-1. The known ones sit in a doubly linked list of call and
// return events in time order (Lowe's just-in-time linearization: the next
// operation to linearize is one whose call comes before the first pending
// return); the unknown ones, which never return, in a list of their own that
// is tried only after every known candidate, because an unknown write is
// needed only where a later result demands it.
//
// Plain Wing & Gong search with Lowe's memo tries every order of concurrent
// writes and every subset of timed-out ones. Five rules, each argued where it
// is applied, cut that down without losing a linearization: a read that holds
// is taken at once; of writes with the same effect on what is pending only
// one is tried; a timed-out write is tried only where the next operation can
// use its value; a value written once is never overwritten while a read of it
// is pending; and it is not written where one of its reads could no longer
// follow. With them, a linearizable key with dozens of concurrent clients
// costs a few steps per operation (bench/checker.cc). Refuting one still
// means going through every order the rules leave, which for that many
// clients can reach the step limit.
class Search {
 public:
  explicit Search(std::vector<SearchOp> ops) {
    std::stable_partition(ops.begin(), ops.end(), [](const SearchOp& s) { return !s.unknown; });
    known_ = static_cast<int32_t>(
        std::find_if(ops.begin(), ops.end(), [](const SearchOp& s) { return s.unknown; }) -
        ops.begin());
    std::sort(ops.begin(), ops.begin() + known_, [](const SearchOp& x, const SearchOp& y) {
      return std::tie(x.call, x.ret, x.input) < std::tie(y.call, y.ret, y.input);
    });
    std::sort(ops.begin() + known_, ops.end(), [](const SearchOp& x, const SearchOp& y) {
      return std::tie(x.call, x.input) < std::tie(y.call, y.input);
    });
    ops_ = std::move(ops);
    int32_t n = static_cast<int32_t>(ops_.size());
    unknown_ = n - known_;

    // Events in time order. At one instant calls come before returns: an
    // operation precedes another only if it returned strictly before the
    // other was called.
    struct Event {
      int64_t time;
      int32_t is_return;
      int32_t op;
    };
    std::vector<Event> events;
    events.reserve(static_cast<size_t>(2 * known_ + unknown_));
    for (int32_t i = 0; i < n; ++i) {
      events.push_back({ops_[i].call, 0, i});
      if (i < known_) events.push_back({ops_[i].ret, 1, i});
    }
    std::sort(events.begin(), events.end(), [](const Event& x, const Event& y) {
      return std::tie(x.time, x.is_return, x.op) < std::tie(y.time, y.is_return, y.op);
    });

    // Entry 0 heads the known list; entries 1.. are its events.
    size_t entries = static_cast<size_t>(2 * known_) + 1;
    next_.assign(entries, 0);
    prev_.assign(entries, 0);
    entry_op_.assign(entries, -1);
    entry_pos_.assign(entries, 0);
    entry_is_call_.assign(entries, 0);
    call_entry_.assign(static_cast<size_t>(known_), 0);
    return_entry_.assign(static_cast<size_t>(known_), 0);
    unknown_call_pos_.assign(static_cast<size_t>(unknown_) + 1, 0);
    int32_t last = 0;
    for (size_t pos = 0; pos < events.size(); ++pos) {
      const Event& ev = events[pos];
      if (ev.op >= known_) {
        unknown_call_pos_[ev.op - known_ + 1] = static_cast<int32_t>(pos);
        continue;
      }
      int32_t e = last + 1;
      entry_op_[e] = ev.op;
      entry_pos_[e] = static_cast<int32_t>(pos);
      entry_is_call_[e] = ev.is_return == 0 ? 1 : 0;
      (ev.is_return == 0 ? call_entry_ : return_entry_)[ev.op] = e;
      prev_[e] = last;
      next_[last] = e;
      last = e;
    }
    next_[last] = 0;
    prev_[0] = last;
    // Node 0 heads the unknown list; node j + 1 is unknown operation known_ + j.
    unext_.resize(static_cast<size_t>(unknown_) + 1);
    uprev_.resize(static_cast<size_t>(unknown_) + 1);
    for (int32_t j = 0; j <= unknown_; ++j) {
      unext_[j] = j == unknown_ ? 0 : j + 1;
      uprev_[j] = j == 0 ? unknown_ : j - 1;
    }
    known_bits_.assign((static_cast<size_t>(known_) + 63) / 64, 0);
    unknown_bits_.assign((static_cast<size_t>(unknown_) + 63) / 64, 0);

    int32_t max_value = kAbsent;
    for (const SearchOp& op : ops_)
      max_value = std::max({max_value, op.a, op.b});
    lookers_.assign(static_cast<size_t>(max_value - kUnobserved + 1), 0);
    for (const SearchOp& op : ops_) {
      if (looks(op)) ++lookers_[op.a - kUnobserved];
    }
    writers_.assign(lookers_.size(), 0);
    readers_.assign(lookers_.size(), 0);
    last_read_call_.assign(lookers_.size(), std::numeric_limits<int64_t>::min());
    for (const SearchOp& op : ops_) {
      if (op.step == Step::kWrite || op.step == Step::kCasSwap) ++writers_[op.b - kUnobserved];
      if (op.step == Step::kRead) {
        ++readers_[op.a - kUnobserved];
        int64_t& last = last_read_call_[op.a - kUnobserved];
        last = std::max(last, op.call);
      }
    }
  }

  KeySearchResult run(uint64_t max_steps) {
    KeySearchResult result;
    Memo memo(unknown_bits_.size());
    // A step down the search tree, and how to resume its parent node: the
    // parent's candidates are candidates_[begin, end), `next` the one to try
    // after this.
    struct Frame {
      int32_t op;
      int32_t state;
      int32_t prefix;
      int32_t max_known;
      uint32_t begin, end, next;
      bool forced;  // a read taken with no alternatives: the parent has none to try
    };
    std::vector<Frame> stack;
    std::vector<int32_t> candidates;  // those of every node on the stack, stacked
    int32_t state = canonical(kAbsent);
    uint64_t hash = 0;  // of the linearized set: XOR of its operations' keys
    int32_t prefix = 0, max_known = -1, done = 0;
    uint32_t begin = 0, end = 0, next = 0;  // the current node's candidates
    bool fresh = true;                      // the current node's candidates are not listed yet

    // Linearizes op next if the model allows it and the pair (set, state) it
    // leads to is new.
    auto linearize = [&](int32_t op, bool forced) {
      int32_t next_state;
      if (!apply(ops_[op], state, next_state)) return false;
      if (looks(ops_[op])) --lookers_[ops_[op].a - kUnobserved];
      if (ops_[op].step == Step::kRead) --readers_[ops_[op].a - kUnobserved];
      next_state = canonical(next_state);
      set_bit(op, true);
      int32_t new_prefix = prefix, new_max = max_known;
      if (op < known_) {
        new_max = std::max(max_known, op);
        while (new_prefix < known_ && bit(new_prefix))
          ++new_prefix;
      }
      std::span<const uint64_t> window;
      if (new_max >= new_prefix) {
        window = std::span<const uint64_t>(known_bits_)
                     .subspan(static_cast<size_t>(new_prefix / 64),
                              static_cast<size_t>(new_max / 64 - new_prefix / 64 + 1));
      }
      uint64_t new_hash = hash ^ op_key(op);
      if (!memo.insert(new_hash ^ state_key(next_state), next_state, new_prefix, window,
                       unknown_bits_)) {
        set_bit(op, false);
        if (looks(ops_[op])) ++lookers_[ops_[op].a - kUnobserved];
        if (ops_[op].step == Step::kRead) ++readers_[ops_[op].a - kUnobserved];
        return false;
      }
      stack.push_back({op, state, prefix, max_known, begin, end, next, forced});
      state = next_state;
      hash = new_hash;
      prefix = new_prefix;
      max_known = new_max;
      if (op < known_) {
        ++done;
        lift_known(op);
      } else {
        lift_unknown(op - known_ + 1);
      }
      fresh = true;
      return true;
    };

    // Undoes steps until a node with a candidate left to try; false when none
    // is left.
    auto backtrack = [&] {
      while (!stack.empty()) {
        Frame f = stack.back();
        stack.pop_back();
        set_bit(f.op, false);
        if (looks(ops_[f.op])) ++lookers_[ops_[f.op].a - kUnobserved];
        if (ops_[f.op].step == Step::kRead) ++readers_[ops_[f.op].a - kUnobserved];
        hash ^= op_key(f.op);
        state = f.state;
        prefix = f.prefix;
        max_known = f.max_known;
        if (f.op < known_) {
          --done;
          unlift_known(f.op);
        } else {
          unlift_unknown(f.op - known_ + 1);
        }
        begin = f.begin;
        end = f.end;
        next = f.next;
        candidates.resize(end);
        fresh = false;
        if (!f.forced) return true;
      }
      return false;
    };

    while (done < known_) {
      if (fresh) {
        fresh = false;
        int32_t first_return = next_[0];
        while (entry_is_call_[first_return])
          first_return = next_[first_return];
        // A read (or a cas that did not swap) that holds now is taken at once,
        // with no alternatives: it leaves the state as it is, and nothing
        // pending returned before it was called, so any linearization from
        // here can be rearranged to take it first. If that leads nowhere,
        // nothing from here does.
        int32_t read = -1;
        for (int32_t x = next_[0]; x != first_return; x = next_[x]) {
          const SearchOp& op = ops_[entry_op_[x]];
          int32_t unchanged;
          if (op.step != Step::kWrite && op.step != Step::kCasSwap && apply(op, state, unchanged)) {
            read = entry_op_[x];
            break;
          }
        }
        begin = end = next = static_cast<uint32_t>(candidates.size());
        if (read >= 0) {
          if (++result.steps > max_steps) {
            result.verdict = KeyVerdict::kUndecided;
            return result;
          }
          if (!linearize(read, /*forced=*/true) && !backtrack()) {  // reached before, and failed
            result.verdict = KeyVerdict::kNotLinearizable;
            return result;
          }
          continue;
        }
        // A value that only one operation writes, once overwritten, is gone for
        // good: while a read of it is pending, nothing may overwrite it.
        if (state >= 0 && writers_[state - kUnobserved] == 1 && readers_[state - kUnobserved] > 0) {
          continue;  // no candidates: backtrack
        }
        // Otherwise every operation that may come next is a candidate: known
        // ones first, in the order their linearization points are likeliest
        // to come (by the middle of their intervals), then unknown ones.
        // Writes with the same effect on what is pending (the same value, or
        // values nobody pending looks for) are alike: of those, only the one
        // that returned first is tried. In a linearization that takes another
        // first, the two can trade places (the first to return is callable
        // here, and the other may stand wherever it could, having returned
        // later). Without this, k writes of values nobody reads cost 2^k.
        for (int32_t x = next_[0]; x != first_return; x = next_[x]) {
          int32_t op = entry_op_[x];
          if ((ops_[op].step == Step::kWrite || ops_[op].step == Step::kCasSwap) &&
              !strands_readers(op, first_return))
            candidates.push_back(op);
        }
        auto effect = [this](int32_t op) {
          return std::make_tuple(ops_[op].step, ops_[op].a, canonical(ops_[op].b));
        };
        std::sort(candidates.begin() + begin, candidates.end(), [&](int32_t a, int32_t b) {
          return std::tuple_cat(effect(a), std::tie(ops_[a].ret, a)) <
                 std::tuple_cat(effect(b), std::tie(ops_[b].ret, b));
        });
        candidates.erase(std::unique(candidates.begin() + begin, candidates.end(),
                                     [&](int32_t a, int32_t b) { return effect(a) == effect(b); }),
                         candidates.end());
        std::sort(candidates.begin() + begin, candidates.end(), [this](int32_t a, int32_t b) {
          int64_t ma = ops_[a].call / 2 + ops_[a].ret / 2, mb = ops_[b].call / 2 + ops_[b].ret / 2;
          return std::tie(ma, a) < std::tie(mb, b);
        });
        // Then unknown writes, each only where an operation that may come next
        // accepts its value (see accepted), and of those with the same effect
        // only the one called first: it can stand wherever a later one can,
        // neither ever returning. Without these two rules k timed-out writes
        // cost 2^k wherever the search backtracks.
        acceptors_.clear();
        refusers_.clear();
        for (int32_t x = next_[0]; x != first_return; x = next_[x]) {
          const SearchOp& op = ops_[entry_op_[x]];
          if (op.step == Step::kRead || op.step == Step::kCasSwap)
            acceptors_.push_back({op.a, entry_op_[x]});
          if (op.step == Step::kCasNoSwap) refusers_.push_back(op.a);
        }
        auto eligible_unknown = [&](auto each) {
          for (int32_t v = unext_[0]; v != 0 && unknown_call_pos_[v] < entry_pos_[first_return];
               v = unext_[v])
            each(known_ + v - 1);
        };
        eligible_unknown([&](int32_t op) {
          if (ops_[op].step == Step::kCasSwap) acceptors_.push_back({ops_[op].a, op});
        });
        std::sort(acceptors_.begin(), acceptors_.end());
        std::sort(refusers_.begin(), refusers_.end());
        refusers_.erase(std::unique(refusers_.begin(), refusers_.end()), refusers_.end());
        uint32_t unknown_begin = static_cast<uint32_t>(candidates.size());
        eligible_unknown([&](int32_t op) {
          if (accepted(ops_[op].b, op) && !strands_readers(op, first_return))
            candidates.push_back(op);
        });
        std::stable_sort(candidates.begin() + unknown_begin, candidates.end(),
                         [&](int32_t a, int32_t b) { return effect(a) < effect(b); });
        candidates.erase(std::unique(candidates.begin() + unknown_begin, candidates.end(),
                                     [&](int32_t a, int32_t b) { return effect(a) == effect(b); }),
                         candidates.end());
        std::sort(candidates.begin() + unknown_begin, candidates.end());
        end = static_cast<uint32_t>(candidates.size());
      }

      if (next == end) {
        if (!backtrack()) {
          result.verdict = KeyVerdict::kNotLinearizable;
          return result;
        }
        continue;
      }
      if (++result.steps > max_steps) {
        result.verdict = KeyVerdict::kUndecided;
        return result;
      }
      linearize(candidates[next++], /*forced=*/false);
    }
    result.verdict = KeyVerdict::kLinearizable;
    return result;
  }

 private:
  // Whether writing now the value of `writer`, which nothing else writes,
  // would leave one of its reads unsatisfiable. While a read of that value is
  // pending nothing may overwrite it (see run), so every read of it must be
  // linearized before any pending operation that needs another value or
  // writes. If one of those returned before the last read of the value was
  // called, it has to come first, and that read can never see the value.
  bool strands_readers(int32_t writer, int32_t first_return) const {
    int32_t b = ops_[writer].b;
    if (b < 0 || writers_[b - kUnobserved] != 1 || readers_[b - kUnobserved] == 0) return false;
    int64_t last_read = last_read_call_[b - kUnobserved];
    for (int32_t x = first_return; x != 0; x = next_[x]) {
      if (entry_is_call_[x]) continue;
      const SearchOp& op = ops_[entry_op_[x]];
      if (op.ret >= last_read) return false;  // returns come in time order
      bool fine_with_b = entry_op_[x] == writer || (op.step == Step::kRead && op.a == b) ||
                         (op.step == Step::kCasNoSwap && op.a != b);
      if (!fine_with_b) return true;
    }
    return false;
  }

  // Whether op's result depends on the value it finds: it is among the
  // lookers of value op.a while pending.
  static bool looks(const SearchOp& op) { return op.step != Step::kWrite; }

  // A value that no pending operation looks for behaves like kUnobserved from
  // here on (no read or swap matches it, every non-swapping cas is satisfied);
  // one state stands for them all, so the memo merges what they lead to.
  int32_t canonical(int32_t value) const {
    return value == kUnobserved || lookers_[value - kUnobserved] > 0 ? value : kUnobserved;
  }

  // Whether the register holding `value` can matter to the operation.
  static bool accepts(const SearchOp& op, int32_t value) {
    switch (op.step) {
      case Step::kRead:
      case Step::kCasSwap:
        return op.a == value;
      case Step::kCasNoSwap:
        return op.a != value;
      case Step::kWrite:
        return false;
    }
    return false;
  }

  // Whether an operation that may be linearized next (as listed in
  // acceptors_ and refusers_), other than `except`, accepts `value`. An
  // unknown write is tried only then: in any linearization, an unknown write
  // that is not immediately followed by an operation that accepts its value is
  // followed by a write that hides it (or by nothing), and leaving it out
  // changes no result. So some linearization exists, if any does, in which
  // every unknown write is followed by an operation that accepts it; the
  // search looks only for those.
  bool accepted(int32_t value, int32_t except) const {
    auto it = std::lower_bound(acceptors_.begin(), acceptors_.end(),
                               std::make_pair(value, std::numeric_limits<int32_t>::min()));
    for (; it != acceptors_.end() && it->first == value; ++it) {
      if (it->second != except) return true;
    }
    // A cas that did not swap accepts any value but the one it expected.
    return refusers_.size() > 1 || (refusers_.size() == 1 && refusers_[0] != value);
  }

  bool bit(int32_t known_op) const { return (known_bits_[known_op / 64] >> (known_op % 64)) & 1; }

  void set_bit(int32_t op, bool on) {
    std::vector<uint64_t>& bits = op < known_ ? known_bits_ : unknown_bits_;
    int32_t i = op < known_ ? op : op - known_;
    uint64_t mask = uint64_t{1} << (i % 64);
    if (on)
      bits[i / 64] |= mask;
    else
      bits[i / 64] &= ~mask;
  }

  void unlink(int32_t e) {
    next_[prev_[e]] = next_[e];
    prev_[next_[e]] = prev_[e];
  }
  void relink(int32_t e) {
    next_[prev_[e]] = e;
    prev_[next_[e]] = e;
  }
  // A known operation's call entry and its return entry, which comes later.
  void lift_known(int32_t op) {
    int32_t call = call_entry_[op];
    unlink(call);
    unlink(return_entry_[op]);
  }
  void unlift_known(int32_t op) {  // exactly reverses lift_known (dancing links)
    relink(return_entry_[op]);
    relink(call_entry_[op]);
  }

  void lift_unknown(int32_t node) {
    unext_[uprev_[node]] = unext_[node];
    uprev_[unext_[node]] = uprev_[node];
  }
  void unlift_unknown(int32_t node) {
    unext_[uprev_[node]] = node;
    uprev_[unext_[node]] = node;
  }

  std::vector<SearchOp> ops_;
  int32_t known_ = 0, unknown_ = 0;
  std::vector<int32_t> next_, prev_, entry_op_, entry_pos_;
  std::vector<uint8_t> entry_is_call_;
  std::vector<int32_t> call_entry_, return_entry_;
  std::vector<int32_t> unext_, uprev_, unknown_call_pos_;
  // At the node being listed: (value, operation) for each operation that may
  // come next and needs the register to hold that value; and the values the
  // cas operations that did not swap expected.
  std::vector<std::pair<int32_t, int32_t>> acceptors_;
  std::vector<int32_t> refusers_;
  std::vector<int32_t> writers_;         // per value - kUnobserved: operations that write it
  std::vector<int32_t> readers_;         // per value - kUnobserved: pending reads of it
  std::vector<int64_t> last_read_call_;  // per value - kUnobserved: the latest call of a read of it
  std::vector<int32_t> lookers_;  // per value - kUnobserved: pending operations that look for it
  std::vector<uint64_t> known_bits_, unknown_bits_;
};

}  // namespace

KeySearchResult search_key(std::span<const Operation* const> ops, uint64_t max_steps) {
  Search search(translate(ops));
  return search.run(max_steps);
}

}  // namespace synod::check
