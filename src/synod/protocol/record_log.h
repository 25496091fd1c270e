#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "synod/base/record.h"
#include "synod/protocol/storage.h"

namespace synod {

// Reads an append-only log of framed records (base/record.h) of protobuf
// message type Record, as a crash leaves it. A torn tail (a crash
// mid-append) is cut off in place; a bad record with valid data after it is
// damage, not a crash, and is refused with an error naming the offset. No
// file: no records.
template <typename Record>
absl::StatusOr<std::vector<Record>> read_record_log(Storage& storage, std::string_view name) {
  std::vector<Record> out;
  auto file = storage.read(name);
  if (!file) return out;
  RecordReader reader(*file);
  size_t offset = 0;
  while (auto payload = reader.next()) {
    Record& r = out.emplace_back();
    if (!r.ParseFromArray(payload->data(), static_cast<int>(payload->size())))
      return absl::DataLossError(std::string(name) +
                                 ": a record with a valid checksum does not parse at offset " +
                                 std::to_string(offset));
    offset = reader.valid_bytes();
  }
  if (reader.stop() == RecordReader::Stop::kCorrupt)
    return absl::DataLossError(std::string(name) + " is corrupt at offset " +
                               std::to_string(reader.valid_bytes()) +
                               " (a bad record with data after it)");
  if (reader.stop() == RecordReader::Stop::kTornTail)
    storage.overwrite(name, std::string_view(*file).substr(0, reader.valid_bytes()));
  return out;
}

}  // namespace synod
