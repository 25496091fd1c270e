#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "synod/check/linearizability.h"

namespace synod::sim {

struct InvariantFailure {
  int64_t at_ns = 0;
  std::string invariant;
  std::string detail;
};

// What one run did and whether every check held.
struct RunReport {
  uint64_t seed = 0;
  uint64_t trace_hash = 0;
  std::string flags;  // replays this run: synod sim run <flags>

  uint64_t events = 0;
  uint64_t messages_sent = 0;
  uint64_t messages_delivered = 0;
  uint64_t ops_ok = 0, ops_failed = 0, ops_unknown = 0;

  std::optional<check::Verdict> linearizability;     // none: the protocol serves no clients
  std::vector<InvariantFailure> invariant_failures;  // the first few
  uint64_t invariant_failure_count = 0;
  std::optional<bool> liveness;  // none: not checked
  std::string liveness_detail;
  std::string faults;  // the faults the run used (after swarm chose)

  std::vector<std::pair<std::string, std::string>> fields;  // protocol-specific

  // For comparisons (synod sim compare), in virtual time: how long each
  // successful operation took, retries included, and how long the cluster
  // was without a leader after each crash of its leader.
  std::vector<int64_t> latencies_ns;
  std::vector<int64_t> failovers_ns;
  uint64_t leader_crashes = 0;  // failovers_ns has one entry per recovery

  bool passed() const;
  // One line: seed, trace hash, operations, linearizable, invariants (+ fields).
  std::string summary_line() const;
  // Multi-line account of every failed check.
  std::string failure_details() const;
};

// At most this many invariant failures are kept in a report (all are counted).
inline constexpr size_t kMaxReportedInvariantFailures = 10;

}  // namespace synod::sim
