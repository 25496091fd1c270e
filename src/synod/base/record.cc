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

// The payload of the whole, valid record at `at`, or nullopt.
std::optional<std::string_view> record_at(std::string_view file, size_t at) {
  if (file.size() - at < kRecordHeaderBytes) return std::nullopt;
  const char* header = file.data() + at;
  if (crc32c(std::string_view(header, 8)) != get_u32(header + 8)) return std::nullopt;
  uint32_t length = get_u32(header);
  if (length > kMaxRecordBytes || length > file.size() - at - kRecordHeaderBytes)
    return std::nullopt;
  std::string_view payload = file.substr(at + kRecordHeaderBytes, length);
  if (crc32c(payload) != get_u32(header + 4)) return std::nullopt;
  return payload;
}

// Whether a whole, valid record starts anywhere at or after `from`. Runs only
// when reading has already stopped at a bad record, so a byte-by-byte search
// costs nothing in the common case.
bool valid_record_from(std::string_view file, size_t from) {
  for (size_t at = from; at + kRecordHeaderBytes <= file.size(); ++at)
    if (record_at(file, at)) return true;
  return false;
}

}  // namespace

void append_record(std::string& out, std::string_view payload) {
  size_t start = out.size();
  out.append(kRecordHeaderBytes, '\0');
  out.append(payload);
  frame_record(out, start);
}

void frame_record(std::string& out, size_t start) {
  SYNOD_ASSERT(out.size() >= start + kRecordHeaderBytes);
  std::string_view payload = std::string_view(out).substr(start + kRecordHeaderBytes);
  SYNOD_ASSERT(payload.size() <= kMaxRecordBytes);
  std::string header;
  put_u32(header, static_cast<uint32_t>(payload.size()));
  put_u32(header, crc32c(payload));
  put_u32(header, crc32c(header));
  out.replace(start, kRecordHeaderBytes, header);
}

std::optional<std::string_view> RecordReader::next() {
  if (offset_ == file_.size()) {
    stop_ = Stop::kEnd;
    return std::nullopt;
  }
  if (auto payload = record_at(file_, offset_)) {
    offset_ += kRecordHeaderBytes + payload->size();
    return payload;
  }
  // A bad record. When its header is intact its length can be trusted, so
  // the search for valid data after it starts past its payload (which may
  // hold anything a client wrote); otherwise at the next byte.
  size_t search_from = offset_ + 1;
  if (file_.size() - offset_ >= kRecordHeaderBytes) {
    const char* header = file_.data() + offset_;
    if (crc32c(std::string_view(header, 8)) == get_u32(header + 8))
      search_from = std::min(file_.size(), offset_ + kRecordHeaderBytes + get_u32(header));
  }
  stop_ = valid_record_from(file_, search_from) ? Stop::kCorrupt : Stop::kTornTail;
  return std::nullopt;
}

std::optional<std::string_view> single_record(std::string_view file) {
  RecordReader reader(file);
  auto payload = reader.next();
  if (!payload || reader.next() || reader.stop() != RecordReader::Stop::kEnd) return std::nullopt;
  return payload;
}

}  // namespace synod
