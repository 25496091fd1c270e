#pragma once

// The workloads' factories (one file each), for make_workload.

#include <memory>

#include "synod/chaos/workload.h"

namespace synod::chaos {

std::unique_ptr<Workload> make_register_workload(const WorkloadOptions& options);

}  // namespace synod::chaos
