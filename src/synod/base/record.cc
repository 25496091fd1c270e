#include "synod/base/record.h"

#include <cstring>

#include "synod/base/assert.h"
#include "synod/base/crc32c.h"

namespace synod {
namespace {

void put_u32(std::string& out, uint32_t v) {
  char bytes[4];
  std::memcpy(bytes, &v, 4);  // little-endian hosts only
  out.append(bytes, 4);
}

uint32_t get_u32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

}  // namespace

void append_record(std::string& out, std::string_view payload) {
  SYNOD_ASSERT(payload.size() <= kMaxRecordBytes);
  put_u32(out, static_cast<uint32_t>(payload.size()));
  put_u32(out, crc32c(payload));
  out.append(payload);
}

std::optional<std::string_view> RecordReader::next() {
  size_t left = file_.size() - offset_;
  if (left == 0) {
    stop_ = Stop::kEnd;
    return std::nullopt;
  }
  if (left < kRecordHeaderBytes) {
    stop_ = Stop::kTornTail;
    return std::nullopt;
  }
  uint32_t length = get_u32(file_.data() + offset_);
  uint32_t checksum = get_u32(file_.data() + offset_ + 4);
  size_t end = offset_ + kRecordHeaderBytes + length;
  if (length > kMaxRecordBytes) {
    // A wild length is damage unless it can only be the torn last header.
    stop_ = Stop::kCorrupt;
    return std::nullopt;
  }
  if (end > file_.size()) {
    stop_ = Stop::kTornTail;
    return std::nullopt;
  }
  std::string_view payload = file_.substr(offset_ + kRecordHeaderBytes, length);
  if (crc32c(payload) != checksum) {
    stop_ = end == file_.size() ? Stop::kTornTail : Stop::kCorrupt;
    return std::nullopt;
  }
  offset_ = end;
  return payload;
}

std::optional<std::string_view> single_record(std::string_view file) {
  RecordReader reader(file);
  auto payload = reader.next();
  if (!payload || reader.next() || reader.stop() != RecordReader::Stop::kEnd) return std::nullopt;
  return payload;
}

}  // namespace synod
