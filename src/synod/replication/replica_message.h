#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "synod/base/types.h"
#include "synod/wire/replication.pb.h"

// ReplicaNode's own messages travel beside the consensus protocol's on the
// same Env::send. They start with a zero byte, which no serialized protocol
// buffer starts with (field number 0 does not exist), so the engine's
// messages pass through untouched: no envelope, no copy.
namespace synod::replication {

inline bool is_replica_message(std::string_view payload) {
  return !payload.empty() && payload[0] == '\0';
}

inline Bytes replica_message(const wire::ReplicaMessage& message) {
  Bytes out(1, '\0');
  message.AppendToString(&out);
  return out;
}

inline std::optional<wire::ReplicaMessage> parse_replica_message(std::string_view payload) {
  if (!is_replica_message(payload)) return std::nullopt;
  wire::ReplicaMessage m;
  if (!m.ParseFromArray(payload.data() + 1, static_cast<int>(payload.size() - 1)))
    return std::nullopt;
  return m;
}

// For traces and diagrams: "forward write", "answer read", ...
std::string describe_replica_message(std::string_view payload);

}  // namespace synod::replication
