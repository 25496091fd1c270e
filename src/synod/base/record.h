#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace synod {

// Framed records for append-only files, little-endian:
//
//   [length u32][payload crc32c u32][header crc32c u32][payload]
//
// The header checksum covers the first eight bytes, so a damaged length is
// caught before it is used, and a run of zeros (a file extended but never
// written) is never a record. The same framing serves the simulated disk and
// the real write-ahead log, so torn and corrupt tails are handled by one
// piece of code.

// Payloads above this are refused: a bound on what one record can make a
// reader allocate. A snapshot is one record, so this is twice the largest
// store serve allows (--quota-backend-bytes), with room for what overshoots.
inline constexpr size_t kMaxRecordBytes = size_t{1} << 30;
inline constexpr size_t kRecordHeaderBytes = 12;

// Appends one framed record to out.
void append_record(std::string& out, std::string_view payload);
// The same, for a payload already written in place: out holds
// kRecordHeaderBytes of room at `start`, then the payload to the end.
void frame_record(std::string& out, size_t start);

// The payload of a file written as exactly one record (a snapshot file
// replaced atomically); nullopt if it is anything else.
std::optional<std::string_view> single_record(std::string_view file);

// Reads records until the first bad one, and tells a crash from damage:
// a bad record is a torn tail (a crash mid-append, safe to cut) when no whole,
// valid record follows it anywhere in the file, and damage otherwise. A crash
// only ever leaves a bad suffix; valid data after a bad record means the file
// was changed after it was written, and cutting there would drop records that
// were durable and perhaps acknowledged.
class RecordReader {
 public:
  enum class Stop {
    kEnd,       // every byte was a whole, valid record
    kTornTail,  // a bad record with nothing valid after it
    kCorrupt,   // a bad record with a valid record after it
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
