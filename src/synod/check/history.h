#pragma once

// What clients saw: a history of operations on a key-value store, each with
// the time it was called, the time it returned and its result. The simulator
// records one; `synod check history FILE` reads one from JSON lines.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace synod::check {

enum class OpKind { kGet, kPut, kDelete, kCas };

enum class Outcome {
  kOk,
  kFailed,   // definitely did not take effect
  kUnknown,  // may or may not have taken effect (a timeout, a lost reply)
};

struct Operation {
  uint64_t client = 0;
  OpKind kind = OpKind::kGet;
  std::string key;
  std::optional<std::string>
      value;  // put/cas: the value written; get: the value read (nullopt: key absent)
  std::optional<std::string> expected;  // cas: the value the key had to hold (key must exist)
  bool swapped = false;                 // cas result, when known
  int64_t call = 0;                     // ns
  int64_t ret = -1;                     // ns; -1 when the outcome is unknown
  Outcome outcome = Outcome::kOk;

  friend bool operator==(const Operation&, const Operation&) = default;
};

using History = std::vector<Operation>;

// Lines longer than this are refused: a bound on what one line of a file can
// make the parser allocate.
inline constexpr size_t kMaxHistoryLineBytes = 1 << 20;

// JSON lines, one operation per line:
//   {"client":0,"kind":"put","key":"k","value":"v","call":ns,"return":ns,"ok":true}
// "return":-1 with "ok":false is an unknown outcome; "ok":false with a return
// time is a failure (did not take effect). get: "value" is what was read, null
// or absent when the key was absent. cas: "expected", "value" (the new value),
// "swapped" (required when the outcome is known). delete: no value. Blank
// lines are skipped; unknown fields, wrong types, a return before the call
// and "ok":true without a return are errors naming the line.
absl::StatusOr<History> parse_history(std::string_view jsonl);
absl::StatusOr<History> read_history_file(const std::string& path);

// One line of the format above, without the newline; parse_history of it
// gives op back (for an unknown outcome, with ret = -1). Strings must be
// valid UTF-8, as JSON requires; invalid bytes are replaced.
std::string to_json_line(const Operation& op);

std::string_view kind_name(OpKind kind);  // "get", "put", "delete", "cas"

}  // namespace synod::check
