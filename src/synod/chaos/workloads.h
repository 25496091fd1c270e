#pragma once

// The workloads' factories (one file each), for make_workload.

#include <memory>

#include "synod/chaos/workload.h"

namespace synod::chaos {

std::unique_ptr<Workload> make_register_workload(const WorkloadOptions& options);
std::unique_ptr<Workload> make_bank_workload(const WorkloadOptions& options);
std::unique_ptr<Workload> make_set_workload(const WorkloadOptions& options);
std::unique_ptr<Workload> make_watch_workload(const WorkloadOptions& options);
std::unique_ptr<Workload> make_lock_workload(const WorkloadOptions& options);

}  // namespace synod::chaos
