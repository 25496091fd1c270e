#pragma once

// Every change to a prefix between two revisions, read back from the store's
// own history with one watch (the store keeps it until a compaction; synod
// chaos never compacts). What a workload's clients saw is judged against
// what the store says happened.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "synod/chaos/client.h"
#include "synod/check/watch_check.h"

namespace synod::chaos {

// The changes with revisions in [from, until], in order; nullopt when the
// watch failed or did not reach `until` within the timeout.
std::optional<std::vector<check::WatchEvent>> read_changes(
    const std::shared_ptr<grpc::Channel>& channel, const std::string& prefix,
    const std::string& prefix_end, int64_t from, int64_t until, std::chrono::milliseconds timeout);

// The prefix's last change: the highest mod revision of its keys, and the
// store's revision (nullopt on an error).
struct PrefixState {
  int64_t last_change = 0;
  int64_t revision = 0;
};
std::optional<PrefixState> prefix_state(const std::shared_ptr<grpc::Channel>& channel,
                                        const std::string& prefix, const std::string& prefix_end,
                                        std::chrono::milliseconds timeout);

}  // namespace synod::chaos
