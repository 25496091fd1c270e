// The checker against a brute-force one on thousands of small random
// histories, and on histories that are linearizable by construction.

#include <gtest/gtest.h>

#include <algorithm>

#include "check/brute_force.h"
#include "check/random_histories.h"
#include "synod/check/linearizability.h"

namespace synod::check {
namespace {

using testing::arbitrary_history;
using testing::brute_force_linearizable;
using testing::check_property;
using testing::model_history;

std::string show(const History& history) {
  std::string s;
  for (const Operation& op : history)
    s += to_json_line(op) + "\n";
  return s;
}

History without(const History& h, size_t index) {
  History rest = h;
  rest.erase(rest.begin() + static_cast<std::ptrdiff_t>(index));
  return rest;
}

TEST(CheckProperty, AgreesWithBruteForce) {
  check_property(5000, [] {
    History h = arbitrary_history(7, 3);
    bool expected = brute_force_linearizable(h);
    Verdict v = check_linearizable(h);
    RC_CLASSIFY(expected, "linearizable");
    RC_ASSERT(!v.undecided);
    if (v.linearizable != expected) {
      RC_FAIL("checker says " + std::string(v.linearizable ? "yes" : "no") + ", brute force says " +
              (expected ? "yes" : "no") + " for\n" + show(h));
    }
  });
}

TEST(CheckProperty, AgreesWithBruteForceOnOneBusyKey) {
  check_property(2000, [] {
    History h = arbitrary_history(9, 1);
    RC_ASSERT(check_linearizable(h).linearizable == brute_force_linearizable(h));
  });
}

// Timeouts everywhere: unknown writes that are interchangeable, observed or not.
TEST(CheckProperty, AgreesWithBruteForceUnderManyTimeouts) {
  check_property(3000, [] {
    History h = arbitrary_history(9, 1, 45);
    bool expected = brute_force_linearizable(h);
    RC_CLASSIFY(expected, "linearizable");
    if (check_linearizable(h).linearizable != expected) {
      RC_FAIL(std::string("brute force says ") + (expected ? "yes" : "no") + " for\n" + show(h));
    }
  });
}

TEST(CheckProperty, AgreesWithBruteForceOnPerturbedModelRuns) {
  check_property(5000, [] {
    History h = testing::perturbed_model_history(8, 2, 3);
    bool expected = brute_force_linearizable(h);
    RC_CLASSIFY(expected, "linearizable");
    Verdict v = check_linearizable(h);
    if (v.linearizable != expected) {
      RC_FAIL("checker says " + std::string(v.linearizable ? "yes" : "no") + ", brute force says " +
              (expected ? "yes" : "no") + " for\n" + show(h));
    }
  });
}

TEST(CheckProperty, ModelRunsAreLinearizable) {
  check_property(2000, [] {
    History h = model_history(8, 2, 3);
    RC_ASSERT(brute_force_linearizable(h));  // the generator itself is right
    Verdict v = check_linearizable(h);
    if (!v.linearizable) RC_FAIL(v.explanation + "\nin\n" + show(h));
  });
}

TEST(CheckProperty, LongModelRunsAreLinearizable) {
  check_property(300, [] {
    History h = model_history(400, 4, 6);
    Verdict v = check_linearizable(h);
    if (!v.linearizable) RC_FAIL(v.explanation + "\nin\n" + show(h));
    RC_ASSERT(v.operations == h.size());
  });
}

// On failure the window is a piece of the failing key's history that fails by
// itself, and from which no operation can be removed (unless others depend on
// it) without it passing.
TEST(CheckProperty, WindowIsMinimalAndFails) {
  check_property(10000, [] {
    History h = *rc::gen::arbitrary<bool>() ? arbitrary_history(8, 2)
                                            : testing::perturbed_model_history(10, 1, 4);
    Verdict v = check_linearizable(h);
    RC_CLASSIFY(!v.linearizable, "not linearizable");
    if (v.linearizable) return;
    RC_ASSERT(!v.window.empty());
    for (const Operation& op : v.window) {
      RC_ASSERT(op.key == v.key);
      RC_ASSERT(std::find(h.begin(), h.end(), op) != h.end());
      RC_ASSERT(op.outcome != Outcome::kFailed);
    }
    RC_ASSERT(
        std::is_sorted(v.window.begin(), v.window.end(),
                       [](const Operation& a, const Operation& b) { return a.call < b.call; }));
    if (brute_force_linearizable(v.window)) RC_FAIL("window passes:\n" + show(v.window));
    for (size_t i = 0; i < v.window.size(); ++i) {
      if (!removal_allowed(v.window, i)) continue;
      if (!brute_force_linearizable(without(v.window, i)))
        RC_FAIL("window not minimal, op " + std::to_string(i) + " can go:\n" + show(v.window));
    }
    RC_ASSERT(v.explanation.find(v.key) != std::string::npos);
    RC_CLASSIFY(v.window.size() >= 3, "window of 3 or more");
  });
}

// Nothing in the window leaves a result unexplained by the rest: every value
// a remaining operation observed is still written by one of them.
TEST(CheckProperty, WindowKeepsWhatResultsDependOn) {
  check_property(5000, [] {
    History h = arbitrary_history(7, 2);
    Verdict v = check_linearizable(h);
    if (v.linearizable) return;
    for (const Operation& op : v.window) {
      bool observes = (op.kind == OpKind::kGet && op.value) ||
                      (op.kind == OpKind::kCas && op.outcome == Outcome::kOk && op.swapped);
      if (!observes) continue;
      const std::string& value = op.kind == OpKind::kGet ? *op.value : *op.expected;
      auto writes = [&](const Operation& w) {
        bool may_have_written =
            w.kind == OpKind::kPut ||
            (w.kind == OpKind::kCas && !(w.outcome == Outcome::kOk && !w.swapped));
        return may_have_written && w.outcome != Outcome::kFailed && w.key == op.key &&
               w.value == value;
      };
      bool written_in_history = std::any_of(h.begin(), h.end(), writes);
      bool written_in_window = std::any_of(v.window.begin(), v.window.end(), writes);
      if (written_in_history && !written_in_window)
        RC_FAIL("window drops the write of " + value + ":\n" + show(v.window));
    }
  });
}

TEST(CheckProperty, VerdictIgnoresInputOrder) {
  check_property(1000, [] {
    History h = arbitrary_history(7, 3);
    History shuffled = h;
    for (size_t i = shuffled.size(); i > 1; --i)
      std::swap(shuffled[i - 1], shuffled[*rc::gen::inRange<size_t>(0, i)]);
    Verdict a = check_linearizable(h), b = check_linearizable(shuffled);
    RC_ASSERT(a.linearizable == b.linearizable);
    RC_ASSERT(a.key == b.key);
    Verdict again = check_linearizable(h);  // and the same input gives the same report
    RC_ASSERT(again.window == a.window);
    RC_ASSERT(again.explanation == a.explanation);
  });
}

}  // namespace
}  // namespace synod::check
