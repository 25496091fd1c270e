#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "synod/base/types.h"
#include "synod/wire/raft.pb.h"

// The vocabulary of src/synod/raft.
namespace synod::raft {

using Index = uint64_t;
using Term = uint64_t;

using Entry = wire::RaftEntry;
using HardState = wire::RaftHardState;
using SnapshotMeta = wire::RaftSnapshotMeta;
using Message = wire::RaftMessage;

// A snapshot: the state machine as of meta.index, which it covers with every
// entry before it. The bytes are shared: the leader keeps its latest one to
// send to followers that fell behind.
struct Snapshot {
  SnapshotMeta meta;
  std::shared_ptr<const std::string> data;
};

// What an entry weighs against the byte limits: its payload and a fixed
// allowance for its header.
inline size_t entry_bytes(const Entry& e) {
  return e.data().size() + 24;
}

}  // namespace synod::raft
