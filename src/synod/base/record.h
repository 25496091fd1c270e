#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace synod {

// Framed records for append-only files: [length u32][crc32c u32][payload],
// little-endian. The same framing serves the simulated disk and the real
// write-ahead log, so torn and corrupt tails are handled by one piece of code.

// Payloads above this are refused: a bound on what one record can make a
// reader allocate.
inline constexpr size_t kMaxRecordBytes = 64 << 20;
inline constexpr size_t kRecordHeaderBytes = 8;

// Appends one framed record to out.
void append_record(std::string& out, std::string_view payload);

// The payload of a file written as exactly one record (a snapshot file
// replaced atomically); nullopt if it is anything else.
std::optional<std::string_view> single_record(std::string_view file);

class RecordReader {
 public:
  enum class Stop {
    kEnd,       // every byte was a whole, valid record
    kTornTail,  // the last record is incomplete or fails its checksum: a crash mid-append
    kCorrupt,   // a bad record with more data after it: not a crash, the file is damaged
  };

  explicit RecordReader(std::string_view file) : file_(file) {}

  // The next record's payload, or nullopt when reading stopped (see stop()).
  std::optional<std::string_view> next();

  Stop stop() const { return stop_; }
  // Where the valid prefix ends: truncate here to drop a torn tail.
  size_t valid_bytes() const { return offset_; }

 private:
  std::string_view file_;
  size_t offset_ = 0;
  Stop stop_ = Stop::kEnd;
};

}  // namespace synod
