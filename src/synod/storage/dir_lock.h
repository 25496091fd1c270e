#pragma once

#include <filesystem>

#include "absl/status/statusor.h"

namespace synod::storage {

// One process per data directory: two nodes writing the same log would each
// believe their writes are the only ones. Holds flock(LOCK_EX) on <dir>/LOCK
// (which holds the owner's pid, for the error message) until destroyed. The
// kernel drops the lock when the process dies, so a crash never leaves the
// directory locked.
class DirLock {
 public:
  // Creates `dir` if missing. FailedPrecondition if another process (or
  // another DirLock in this one) holds it.
  static absl::StatusOr<DirLock> acquire(const std::filesystem::path& dir);

  DirLock(DirLock&& other) noexcept;
  DirLock& operator=(DirLock&& other) noexcept;
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;
  ~DirLock();

  const std::filesystem::path& dir() const { return dir_; }

 private:
  DirLock(std::filesystem::path dir, int fd) : dir_(std::move(dir)), fd_(fd) {}
  void release();

  std::filesystem::path dir_;
  int fd_ = -1;  // -1: moved from
};

}  // namespace synod::storage
