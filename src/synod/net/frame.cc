#include "synod/net/frame.h"

#include <cstring>

#include "synod/base/assert.h"

namespace synod::net {

void append_frame(std::string& out, std::string_view payload) {
  SYNOD_ASSERT(payload.size() <= UINT32_MAX);
  auto n = static_cast<uint32_t>(payload.size());
  char header[kFrameHeaderBytes] = {static_cast<char>(n), static_cast<char>(n >> 8),
                                    static_cast<char>(n >> 16), static_cast<char>(n >> 24)};
  out.append(header, kFrameHeaderBytes);
  out.append(payload);
}

char* FrameReader::prepare(size_t want) {
  // Move the unread bytes to the front before growing, so the buffer stays
  // about one frame plus one read in size.
  if (begin_ > 0 && (begin_ == end_ || end_ + want > buffer_.size())) {
    std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (end_ + want > buffer_.size()) buffer_.resize(end_ + want);
  return buffer_.data() + end_;
}

void FrameReader::commit(size_t n) {
  SYNOD_ASSERT(end_ + n <= buffer_.size());
  end_ += n;
}

FrameReader::Status FrameReader::next(std::string_view* frame) {
  size_t available = end_ - begin_;
  if (available < kFrameHeaderBytes) return Status::kNeedMore;
  auto byte = [&](size_t i) {
    return static_cast<uint32_t>(static_cast<uint8_t>(buffer_[begin_ + i]));
  };
  uint32_t length = byte(0) | byte(1) << 8 | byte(2) << 16 | byte(3) << 24;
  if (length > max_frame_bytes_) {
    too_large_bytes_ = length;
    return Status::kTooLarge;
  }
  if (available < kFrameHeaderBytes + length) return Status::kNeedMore;
  *frame = std::string_view(buffer_).substr(begin_ + kFrameHeaderBytes, length);
  begin_ += kFrameHeaderBytes + length;
  return Status::kFrame;
}

}  // namespace synod::net
