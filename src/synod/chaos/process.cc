#include "synod/chaos/process.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <thread>
#include <utility>

extern char** environ;

namespace synod::chaos {
namespace {

using Clock = std::chrono::steady_clock;

int exit_code_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// The environment with `extra` added, each replacing a variable of its name.
std::vector<std::string> environment(const std::vector<std::string>& extra) {
  std::map<std::string, std::string> vars;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string s(*e);
    vars[s.substr(0, s.find('='))] = s;
  }
  for (const std::string& s : extra)
    vars[s.substr(0, s.find('='))] = s;
  std::vector<std::string> out;
  for (auto& [name, s] : vars)
    out.push_back(std::move(s));
  return out;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (std::string& s : strings)
    out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// Forks a child with stdin from /dev/null and stdout/stderr to out_fd, in
// netns_fd's namespace when that is >= 0. Returns the pid, or -1 with errno.
pid_t fork_child(const std::vector<std::string>& argv_in, int netns_fd, int out_fd,
                 std::vector<std::string> env) {
  std::vector<std::string> argv = argv_in;
  std::vector<char*> args = pointers(argv);
  std::vector<char*> envp = pointers(env);
  int in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (in < 0) return -1;
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid == 0) {
    // Only async-signal-safe calls from here on.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    if (netns_fd >= 0 && ::setns(netns_fd, CLONE_NEWNET) != 0) ::_exit(126);
    ::dup2(in, STDIN_FILENO);
    ::dup2(out_fd, STDOUT_FILENO);
    ::dup2(out_fd, STDERR_FILENO);
    ::execvpe(args[0], args.data(), envp.data());
    ::_exit(127);
  }
  int saved = errno;
  ::close(in);
  errno = saved;
  return pid;
}

int open_netns(const std::string& netns, std::string& error) {
  if (netns.empty()) return -1;
  std::string path = "/run/netns/" + netns;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) error = "cannot open " + path + ": " + std::strerror(errno);
  return fd;
}

}  // namespace

std::string join_argv(const std::vector<std::string>& argv) {
  std::string out;
  for (const std::string& a : argv)
    out += (out.empty() ? "" : " ") + a;
  return out;
}

Process::Process(const SpawnOptions& options) {
  int netns_fd = open_netns(options.netns, error_);
  if (!options.netns.empty() && netns_fd < 0) return;
  std::string log = options.log_path.empty() ? "/dev/null" : options.log_path;
  int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (out < 0) {
    error_ = "cannot open " + log + ": " + std::strerror(errno);
  } else {
    pid_ = fork_child(options.argv, netns_fd, out, environment(options.env));
    if (pid_ < 0) error_ = std::string("fork: ") + std::strerror(errno);
    ::close(out);
  }
  if (netns_fd >= 0) ::close(netns_fd);
}

Process::Process(Process&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      exit_code_(std::exchange(other.exit_code_, {})),
      error_(std::move(other.error_)) {}

Process& Process::operator=(Process&& other) noexcept {
  if (this != &other) {
    kill9();
    pid_ = std::exchange(other.pid_, -1);
    exit_code_ = std::exchange(other.exit_code_, {});
    error_ = std::move(other.error_);
  }
  return *this;
}

Process::~Process() {
  kill9();
}

bool Process::running() {
  if (pid_ <= 0 || exit_code_) return false;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    exit_code_ = exit_code_of(status);
    return false;
  }
  return r == 0;
}

void Process::signal(int sig) {
  if (running()) ::kill(pid_, sig);
}

void Process::kill9() {
  if (pid_ <= 0 || exit_code_) return;
  ::kill(pid_, SIGKILL);
  ::kill(pid_, SIGCONT);  // a stopped process dies at once either way; this is for clarity
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(pid_, &status, 0);
  } while (r < 0 && errno == EINTR);
  exit_code_ = r == pid_ ? exit_code_of(status) : -1;
}

std::optional<int> Process::wait(Millis timeout) {
  auto deadline = Clock::now() + timeout;
  while (running()) {
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(Millis(5));
  }
  return exit_code_;
}

CommandResult run_command(const std::vector<std::string>& argv, const std::string& netns,
                          Millis timeout) {
  CommandResult result;
  std::string error;
  int netns_fd = open_netns(netns, error);
  if (!netns.empty() && netns_fd < 0) {
    result.output = error;
    return result;
  }
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    if (netns_fd >= 0) ::close(netns_fd);
    result.output = std::string("pipe: ") + std::strerror(errno);
    return result;
  }
  pid_t pid = fork_child(argv, netns_fd, pipe_fds[1], environment({}));
  ::close(pipe_fds[1]);
  if (netns_fd >= 0) ::close(netns_fd);
  if (pid < 0) {
    ::close(pipe_fds[0]);
    result.output = std::string("fork: ") + std::strerror(errno);
    return result;
  }
  auto deadline = Clock::now() + timeout;
  char buffer[4096];
  bool timed_out = false;
  for (;;) {
    auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now()).count();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{pipe_fds[0], POLLIN, 0};
    int n = ::poll(&p, 1, static_cast<int>(left));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) continue;
    ssize_t got = ::read(pipe_fds[0], buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;  // EOF: the child closed its output
    if (result.output.size() < kMaxCommandOutput) result.output.append(buffer, got);
  }
  ::close(pipe_fds[0]);
  if (timed_out) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.code = timed_out ? -1 : exit_code_of(status);
  return result;
}

}  // namespace synod::chaos
