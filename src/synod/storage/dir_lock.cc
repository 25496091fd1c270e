#include "synod/storage/dir_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "synod/storage/file_storage.h"

namespace synod::storage {
namespace {

// The pid the holder wrote, or "unknown" (it may not have written it yet).
std::string holder_pid(int fd) {
  char buf[32];
  ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  std::string pid(buf, n > 0 ? static_cast<size_t>(n) : 0);
  while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' '))
    pid.pop_back();
  return pid.empty() ? "unknown" : pid;
}

}  // namespace

absl::StatusOr<DirLock> DirLock::acquire(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return absl::ErrnoToStatus(ec.value(), "cannot create data directory " + dir.string());
  std::filesystem::path path = dir / kLockFileName;
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return absl::ErrnoToStatus(errno, "cannot open " + path.string());
  int rc;
  do {
    rc = ::flock(fd, LOCK_EX | LOCK_NB);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    int err = errno;
    std::string pid = err == EWOULDBLOCK ? holder_pid(fd) : "";
    ::close(fd);
    if (err == EWOULDBLOCK)
      return absl::FailedPreconditionError("data directory " + dir.string() +
                                           " is in use by another process (pid " + pid + ")");
    return absl::ErrnoToStatus(err, "cannot lock " + path.string());
  }
  // Ours now: replace whatever pid a previous owner left.
  std::string pid = std::to_string(::getpid()) + "\n";
  errno = 0;
  if (::ftruncate(fd, 0) != 0 ||
      ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    int err = errno != 0 ? errno : EIO;  // a short write sets no errno
    ::close(fd);
    return absl::ErrnoToStatus(err, "cannot write " + path.string());
  }
  return DirLock(dir, fd);
}

DirLock::DirLock(DirLock&& other) noexcept
    : dir_(std::move(other.dir_)), fd_(std::exchange(other.fd_, -1)) {}

DirLock& DirLock::operator=(DirLock&& other) noexcept {
  if (this != &other) {
    release();
    dir_ = std::move(other.dir_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

DirLock::~DirLock() {
  release();
}

// The file stays: unlinking it would let a second process lock a fresh inode
// while a third still waits on the old one.
void DirLock::release() {
  if (fd_ >= 0) ::close(fd_);  // closing the last fd of the description drops the flock
  fd_ = -1;
}

}  // namespace synod::storage
