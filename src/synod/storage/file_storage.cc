#include "synod/storage/file_storage.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "synod/base/assert.h"

namespace synod::storage {
namespace fs = std::filesystem;

namespace {

// An I/O error on the write path: the page cache may no longer say what is on
// disk, so carrying on could serve or acknowledge data that is not there.
[[noreturn]] void fatal(const char* what, const std::string& path, int err) {
  std::fprintf(stderr, "synod: fatal I/O error: %s %s: %s\n", what, path.c_str(),
               std::strerror(err));
  std::fflush(stderr);
  std::abort();
}

void write_all(int fd, std::string_view bytes, const std::string& path) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      fatal("write", path, errno);
    }
    bytes.remove_prefix(static_cast<size_t>(n));  // a short write: go on with the rest
  }
}

// Makes a directory's entries (renames, unlinks, new files) durable. 0 or errno.
int fsync_dir(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno;
  int err = ::fsync(fd) == 0 ? 0 : errno;
  ::close(fd);
  return err;
}

// The directory holding `name`, relative ("" for the top).
std::string_view parent_of(std::string_view name) {
  size_t slash = name.rfind('/');
  return slash == std::string_view::npos ? std::string_view() : name.substr(0, slash);
}

// A protocol's names are plain relative paths, never ours (LOCK, temporaries).
bool valid_name(std::string_view name) {
  if (name.empty() || name == kLockFileName || is_temporary_name(name)) return false;
  if (name.find('\0') != std::string_view::npos) return false;
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = std::min(name.find('/', start), name.size());
    std::string_view part = name.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") return false;
    start = end + 1;
  }
  return true;
}

}  // namespace

bool is_temporary_name(std::string_view name) {
  size_t at = name.rfind(kTempMarker);
  if (at == std::string_view::npos) return false;
  std::string_view digits = name.substr(at + kTempMarker.size());
  return !digits.empty() &&
         std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Shared by the table and the batches, so the sync thread can fdatasync it
// even after the loop thread has replaced or removed the name.
struct FileStorage::File {
  File(int fd_in, std::string path_in) : fd(fd_in), path(std::move(path_in)) {}
  ~File() { ::close(fd); }
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  const int fd;
  const std::string path;      // the name it stands for: for error messages
  bool in_next_batch = false;  // loop thread only
};

absl::StatusOr<std::unique_ptr<FileStorage>> FileStorage::open(const fs::path& dir_in,
                                                               FileStorageOptions options,
                                                               OnSynced on_synced) {
  std::error_code ec;
  fs::path dir = fs::absolute(dir_in, ec);
  if (ec) return absl::ErrnoToStatus(ec.value(), "bad data directory " + dir_in.string());
  if (fs::exists(fs::symlink_status(dir, ec)) && !fs::is_directory(dir, ec))
    return absl::FailedPreconditionError("data directory " + dir.string() + " is not a directory");
  bool created = fs::create_directories(dir, ec);
  if (ec) return absl::ErrnoToStatus(ec.value(), "cannot create data directory " + dir.string());
  if (created && options.fsync) {  // so that the directory itself survives a crash
    if (int err = fsync_dir(dir.parent_path().string()))
      return absl::ErrnoToStatus(err, "cannot sync " + dir.parent_path().string());
  }

  std::map<std::string, std::shared_ptr<File>, std::less<>> files;
  std::set<std::string, std::less<>> dirs;
  std::vector<fs::path> leftovers;
  fs::recursive_directory_iterator it(dir, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    fs::path path = it->path();
    std::string name = path.lexically_relative(dir).generic_string();
    fs::file_status status = it->symlink_status(ec);
    if (ec) break;
    if (fs::is_directory(status)) {
      dirs.insert(name);
    } else if (name == kLockFileName) {
      continue;  // DirLock's
    } else if (is_temporary_name(name)) {
      leftovers.push_back(path);  // deleted after the walk, not under the iterator
    } else if (fs::is_regular_file(status)) {
      int fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CLOEXEC);
      if (fd < 0) return absl::ErrnoToStatus(errno, "cannot open " + path.string());
      files.emplace(name, std::make_shared<File>(fd, path.string()));
    }
  }
  if (ec) return absl::ErrnoToStatus(ec.value(), "cannot list data directory " + dir.string());
  for (const fs::path& path : leftovers)
    if (::unlink(path.c_str()) != 0)
      return absl::ErrnoToStatus(errno, "cannot remove leftover temporary " + path.string());

  return std::unique_ptr<FileStorage>(new FileStorage(std::move(dir), options, std::move(on_synced),
                                                      std::move(files), std::move(dirs)));
}

FileStorage::FileStorage(fs::path dir, FileStorageOptions options, OnSynced on_synced,
                         std::map<std::string, std::shared_ptr<File>, std::less<>> files,
                         std::set<std::string, std::less<>> known_dirs)
    : dir_(std::move(dir)),
      options_(options),
      on_synced_(std::move(on_synced)),
      files_(std::move(files)),
      known_dirs_(std::move(known_dirs)),
      thread_([this] { run(); }) {}

FileStorage::~FileStorage() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  work_cv_.notify_one();
  thread_.join();  // the thread finishes every queued batch first
}

std::string FileStorage::path_of(std::string_view name) const {
  return name.empty() ? dir_.string() : (dir_ / name).string();
}

void FileStorage::ensure_parent_dirs(std::string_view name) {
  for (size_t slash = name.find('/'); slash != std::string_view::npos;
       slash = name.find('/', slash + 1)) {
    std::string_view sub = name.substr(0, slash);
    if (known_dirs_.contains(sub)) continue;
    std::string path = path_of(sub);
    if (::mkdir(path.c_str(), 0755) == 0) {
      next_.dirs.insert(path_of(parent_of(sub)));  // make the new entry durable too
    } else if (errno != EEXIST) {
      fatal("mkdir", path, errno);
    }
    known_dirs_.emplace(sub);
  }
}

std::shared_ptr<FileStorage::File> FileStorage::create_temporary(std::string_view name) {
  ensure_parent_dirs(name);
  std::string path = path_of(name);
  std::string temp = path + std::string(kTempMarker) + std::to_string(++temp_counter_);
  int fd = ::open(temp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) fatal("create", temp, errno);
  // Renamed only after the round has synced its data: the name never shows a
  // partial file. Later appends go to this fd, wherever the inode lives by then.
  next_.ops.push_back({temp, path});
  next_.dirs.insert(path_of(parent_of(name)));
  return std::make_shared<File>(fd, path);
}

void FileStorage::mark_written(const std::shared_ptr<File>& file) {
  if (file->in_next_batch) return;
  file->in_next_batch = true;
  next_.files.push_back(file);
}

void FileStorage::append(std::string_view name, std::string_view bytes) {
  SYNOD_ASSERT(valid_name(name));
  auto it = files_.find(name);
  if (it == files_.end()) it = files_.emplace(std::string(name), create_temporary(name)).first;
  write_all(it->second->fd, bytes, it->second->path);
  mark_written(it->second);
}

void FileStorage::overwrite(std::string_view name, std::string_view bytes) {
  SYNOD_ASSERT(valid_name(name));
  std::shared_ptr<File> file = create_temporary(name);
  write_all(file->fd, bytes, file->path);
  mark_written(file);
  files_.insert_or_assign(std::string(name), std::move(file));
}

void FileStorage::remove(std::string_view name) {
  SYNOD_ASSERT(valid_name(name));
  auto it = files_.find(name);
  if (it == files_.end()) return;
  files_.erase(it);
  // Queued behind any rename to this name, so it removes whatever that made.
  next_.ops.push_back({"", path_of(name)});
  next_.dirs.insert(path_of(parent_of(name)));
}

SyncId FileStorage::sync() {
  for (const auto& file : next_.files)
    file->in_next_batch = false;
  Batch batch = std::exchange(next_, Batch{});
  batch.id = ++last_issued_;
  bool wake = false;
  {
    std::lock_guard lock(mu_);
    SYNOD_ASSERT(queue_.size() < kMaxPendingSyncs);
    queue_.push_back(std::move(batch));
    wake = sync_thread_idle_;
  }
  // A busy sync thread looks at the queue again before it waits: waking it
  // for every sync would cost a context switch per proposal.
  if (wake) work_cv_.notify_one();
  return last_issued_;
}

std::optional<std::string> FileStorage::read(std::string_view name) const {
  auto it = files_.find(name);
  if (it == files_.end()) return std::nullopt;
  const File& file = *it->second;
  struct stat st;
  if (::fstat(file.fd, &st) != 0) fatal("fstat", file.path, errno);
  std::string out(static_cast<size_t>(st.st_size), '\0');
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::pread(file.fd, out.data() + done, out.size() - done, static_cast<off_t>(done));
    if (n < 0) {
      if (errno == EINTR) continue;
      fatal("read", file.path, errno);
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  SYNOD_ASSERT(done == out.size());  // only this thread writes, so the size holds
  return out;
}

std::vector<std::string> FileStorage::list() const {
  std::vector<std::string> names;
  names.reserve(files_.size());
  for (const auto& [name, file] : files_)
    names.push_back(name);
  return names;  // sorted: a std::map
}

void FileStorage::drain() {
  SYNOD_ASSERT(std::this_thread::get_id() != thread_.get_id());  // would wait for itself
  std::unique_lock lock(mu_);
  done_cv_.wait(lock, [&] { return completed_.load() >= last_issued_; });
}

void FileStorage::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    sync_thread_idle_ = true;
    work_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    sync_thread_idle_ = false;
    if (queue_.empty()) return;  // stopping, and nothing left to do
    std::deque<Batch> round = std::exchange(queue_, {});
    lock.unlock();

    for (size_t i = 0; i < round.size(); ++i)  // ids complete in order, none skipped
      SYNOD_ASSERT(round[i].id == completed_.load() + 1 + i);
    auto start = std::chrono::steady_clock::now();
    execute(round);
    auto took = std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now() - start);
    SyncId last = round.back().id;
    round.clear();  // let go of the fds
    if (on_synced_) on_synced_(last, took);

    lock.lock();
    completed_.store(last);
    rounds_.fetch_add(1);
    done_cv_.notify_all();
  }
}

void FileStorage::execute(const std::deque<Batch>& round) const {
  // Data first, each file once however many batches wrote it.
  std::vector<File*> files;
  for (const Batch& batch : round)
    for (const auto& file : batch.files)
      files.push_back(file.get());
  std::sort(files.begin(), files.end());
  files.erase(std::unique(files.begin(), files.end()), files.end());
  if (options_.fsync)
    for (File* file : files)
      if (::fdatasync(file->fd) != 0) fatal("fdatasync", file->path, errno);

  // Then the names, in call order: the data they point to is durable now.
  std::set<std::string> dirs;
  for (const Batch& batch : round) {
    for (const Op& op : batch.ops) {
      if (!op.from.empty()) {
        if (::rename(op.from.c_str(), op.to.c_str()) != 0) fatal("rename to", op.to, errno);
      } else if (::unlink(op.to.c_str()) != 0 && errno != ENOENT) {
        // ENOENT: someone else removed it; the name is gone either way.
        fatal("unlink", op.to, errno);
      }
    }
    dirs.insert(batch.dirs.begin(), batch.dirs.end());
  }
  if (options_.fsync)
    for (const std::string& dir : dirs)
      if (int err = fsync_dir(dir)) fatal("fsync directory", dir, err);
}

}  // namespace synod::storage
