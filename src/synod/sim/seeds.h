#pragma once

#include <functional>

#include "absl/status/statusor.h"
#include "synod/sim/config.h"
#include "synod/sim/report.h"

namespace synod::sim {

// Runs `count` seeds of `config`, from `first` on, on `jobs` threads. Each
// run is still a pure function of its seed; `done` is called once per run,
// one call at a time, in the order runs finish (which varies).
using SeedDone = std::function<void(const SimConfig&, const absl::StatusOr<RunReport>&)>;
void run_seeds(const SimConfig& config, uint64_t first, uint64_t count, unsigned jobs,
               const SeedDone& done);

}  // namespace synod::sim
