#pragma once

// Random histories for property tests (rapidcheck generators; call them inside
// a property), and a way to run a property more times than rapidcheck's
// default 100.

#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "synod/check/history.h"
#include "synod/check/sequential.h"

namespace synod::check::testing {

// A uniform integer in [low, high): rapidcheck's inRange scales with the test
// size and would make most histories tiny. Shrinks towards low.
template <typename T>
T uniform(T low, T high) {
  return *rc::gen::resize(100, rc::gen::inRange<T>(low, high));
}

// A small set of values, so that reads can match writes by chance.
inline std::string small_value() {
  return std::string(1, "abc"[uniform(0, 3)]);
}

// Anything at all: random kinds, keys, values, results, overlaps and outcomes.
// Most such histories are not linearizable, many are.
inline History arbitrary_history(int max_ops, int max_keys, int unknown_percent = 15) {
  int ops = uniform(0, max_ops + 1);
  int keys = uniform(1, max_keys + 1);
  History history;
  for (int i = 0; i < ops; ++i) {
    Operation op;
    op.client = static_cast<uint64_t>(i % 3);
    op.key = "k" + std::to_string(uniform(0, keys));
    op.kind = *rc::gen::element(OpKind::kGet, OpKind::kGet, OpKind::kPut, OpKind::kPut,
                                OpKind::kDelete, OpKind::kCas, OpKind::kCas);
    switch (op.kind) {
      case OpKind::kGet:
        if (uniform(0, 4) > 0) op.value = small_value();
        break;
      case OpKind::kPut:
        op.value = small_value();
        break;
      case OpKind::kDelete:
        break;
      case OpKind::kCas:
        op.expected = small_value();
        op.value = small_value();
        op.swapped = *rc::gen::arbitrary<bool>();
        break;
    }
    op.call = uniform(0, 20);
    op.ret = op.call + uniform(0, 10);
    int dice = uniform(0, 100);
    if (dice < unknown_percent) {
      op.outcome = Outcome::kUnknown;
      op.ret = -1;
    } else if (dice < unknown_percent + 7) {
      op.outcome = Outcome::kFailed;
    }
    history.push_back(op);
  }
  return history;
}

// Clients that each run one operation at a time against a sequential model;
// each operation takes effect at a random point inside its interval. An
// unknown-outcome operation takes effect at any later point, or never; a
// failed one never does. Always linearizable.
inline History model_history(int max_ops, int max_keys, int clients) {
  int ops = uniform(0, max_ops + 1);
  int keys = uniform(1, max_keys + 1);
  std::vector<PlannedOperation> planned;
  std::vector<int64_t> free_at(static_cast<size_t>(clients), 0);
  for (int i = 0; i < ops; ++i) {
    size_t c = static_cast<size_t>(uniform(0, clients));
    PlannedOperation p;
    Operation& op = p.op;
    op.client = c;
    op.key = "k" + std::to_string(uniform(0, keys));
    op.kind = *rc::gen::element(OpKind::kGet, OpKind::kGet, OpKind::kPut, OpKind::kPut,
                                OpKind::kDelete, OpKind::kCas, OpKind::kCas);
    if (op.kind == OpKind::kPut || op.kind == OpKind::kCas) op.value = small_value();
    if (op.kind == OpKind::kCas) op.expected = small_value();
    op.call = free_at[c] + uniform(0, 5);
    p.point = op.call + uniform(0, 6);
    op.ret = p.point + uniform(0, 6);
    int dice = uniform(0, 100);
    if (dice < 12) {
      op.outcome = Outcome::kUnknown;
      op.ret = -1;
      // A timed-out request may still be applied much later, or never.
      p.point = *rc::gen::arbitrary<bool>() ? op.call + uniform(0, 40) : -1;
      free_at[c] = op.call + 8;  // the client gives up and moves on
    } else if (dice < 18) {
      op.outcome = Outcome::kFailed;
      p.point = -1;
      free_at[c] = op.ret + 1;
    } else {
      free_at[c] = op.ret + 1;
    }
    planned.push_back(p);
  }
  apply_at_points(planned);
  // What a failed or unknown get returned means nothing; give it noise.
  History history;
  for (PlannedOperation& p : planned) {
    if (p.op.kind == OpKind::kGet && p.op.outcome != Outcome::kOk) p.op.value = small_value();
    history.push_back(std::move(p.op));
  }
  return history;
}

// A model run with one result or time changed: often subtly not linearizable.
inline History perturbed_model_history(int max_ops, int max_keys, int clients) {
  History h = model_history(max_ops, max_keys, clients);
  if (h.empty()) return h;
  Operation& op = h[uniform<size_t>(0, h.size())];
  switch (uniform(0, 4)) {
    case 0: {  // a read of another value written to the key, or of nothing: often stale
      if (op.kind != OpKind::kGet) break;
      std::vector<std::string> written;
      for (const Operation& w : h) {
        if (w.key == op.key && w.value && w.kind != OpKind::kGet) written.push_back(*w.value);
      }
      if (written.empty() || uniform(0, 4) == 0)
        op.value.reset();
      else
        op.value = written[uniform<size_t>(0, written.size())];
      break;
    }
    case 1:  // the other cas result
      if (op.kind == OpKind::kCas) op.swapped = !op.swapped;
      break;
    case 2:  // returned sooner
      if (op.outcome != Outcome::kUnknown) op.ret = op.call + (op.ret - op.call) / 2;
      break;
    case 3:  // called later
      if (op.outcome != Outcome::kUnknown) op.call = op.ret - (op.ret - op.call) / 2;
      break;
  }
  return h;
}

// Runs a rapidcheck property `runs` times (rapidcheck's default is 100),
// failing the current Google Test with the shrunk counterexample.
template <typename Property>
void check_property(int runs, Property property) {
  rc::detail::TestParams params = rc::detail::configuration().testParams;
  params.maxSuccess = runs;
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  rc::detail::TestMetadata metadata;
  metadata.id = std::string(info->test_suite_name()) + "/" + info->name();
  metadata.description = info->name();
  auto result = rc::detail::checkTestable(property, metadata, params);
  if (result.template is<rc::detail::SuccessResult>()) {
    rc::detail::printResultMessage(result, std::cout);
    std::cout << "\n";
  } else {
    std::ostringstream out;
    rc::detail::printResultMessage(result, out);
    FAIL() << out.str();
  }
}

}  // namespace synod::check::testing
