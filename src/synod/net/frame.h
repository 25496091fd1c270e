#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

// Frames on a TCP stream: [length u32 little-endian][payload]. TCP checks
// its own bytes, so a frame carries no checksum of its own; what it guards
// against is a peer that lies about lengths (a bug, a stranger, garbage), so
// every length is checked against a limit before anything is allocated.
namespace synod::net {

inline constexpr size_t kFrameHeaderBytes = 4;

// Appends one frame holding `payload` to out.
void append_frame(std::string& out, std::string_view payload);

// Splits received bytes into frames.
class FrameReader {
 public:
  explicit FrameReader(size_t max_frame_bytes) : max_frame_bytes_(max_frame_bytes) {}

  // Where the next received bytes go: at least `want` bytes of room.
  char* prepare(size_t want);
  // `n` bytes were written at prepare()'s pointer.
  void commit(size_t n);

  enum class Status { kFrame, kNeedMore, kTooLarge };
  // The next whole frame, valid until the next call; kTooLarge: the header
  // announced more than the limit (too_large_bytes() says how much), and
  // the connection must be closed.
  Status next(std::string_view* frame);
  uint64_t too_large_bytes() const { return too_large_bytes_; }

 private:
  size_t max_frame_bytes_;
  std::string buffer_;
  size_t begin_ = 0;  // first unread byte
  size_t end_ = 0;    // one past the last received byte
  uint64_t too_large_bytes_ = 0;
};

}  // namespace synod::net
