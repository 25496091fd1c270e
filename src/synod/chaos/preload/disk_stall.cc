// LD_PRELOADed into a server by synod chaos's disk fault: while the file
// named by $SYNOD_CHAOS_DISK_STALL exists, every fsync, fdatasync and
// sync_file_range blocks (rechecking every 10 ms), as a disk that stops
// completing writes makes them. This keeps the fault outside the server (no
// test flag in serve). It reaches only calls made through libc: a Go
// server's (etcd's) go straight to the kernel.

#include <dlfcn.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>

namespace {

void stall_while_asked() {
  const char* path = std::getenv("SYNOD_CHAOS_DISK_STALL");
  if (path == nullptr) return;
  timespec pause{0, 10 * 1000 * 1000};
  while (::access(path, F_OK) == 0)
    ::nanosleep(&pause, nullptr);
}

template <typename F>
F real(const char* name) {
  return reinterpret_cast<F>(::dlsym(RTLD_NEXT, name));
}

}  // namespace

extern "C" {

int fsync(int fd) {
  static auto next = real<int (*)(int)>("fsync");
  stall_while_asked();
  return next(fd);
}

int fdatasync(int fd) {
  static auto next = real<int (*)(int)>("fdatasync");
  stall_while_asked();
  return next(fd);
}

int sync_file_range(int fd, off_t offset, off_t nbytes, unsigned int flags) {
  static auto next = real<int (*)(int, off_t, off_t, unsigned int)>("sync_file_range");
  stall_while_asked();
  return next(fd, offset, nbytes, flags);
}

}  // extern "C"
