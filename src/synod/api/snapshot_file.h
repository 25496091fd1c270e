#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace synod::api {

// A snapshot as etcd's clients save it (Maintenance.Snapshot): the bytes
// padded to a multiple of 512, then their SHA-256, the shape etcdctl checks.
// Inside is synod's own state, not a bbolt database: the magic "synodsnp",
// the length (8 bytes, little-endian), then the EtcdSnapshot record.
std::string encode_snapshot_file(std::string_view state);

// The EtcdSnapshot record inside; an error says what is wrong with the file
// (too short, a checksum that does not match, not synod's, cut short).
absl::StatusOr<std::string> decode_snapshot_file(std::string_view file);

}  // namespace synod::api
