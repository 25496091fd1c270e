#include "serve/cluster.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace synod::serve::testing {

namespace {

using Clock = std::chrono::steady_clock;

// What a member logs once its ports are open: from then on it serves.
constexpr std::string_view kServingLine = "serving as node";
// What a member logs when a port it was given is taken.
constexpr std::string_view kPortTaken = "Address already in use";
// Tries at a fresh set of ports, and at restarting on a member's own ports,
// before a port collision counts as a failure.
constexpr int kPortAttempts = 5;

size_t file_size(const std::string& path) {
  std::error_code ec;
  auto size = std::filesystem::file_size(path, ec);
  return ec ? 0 : static_cast<size_t>(size);
}

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now()).count();
  return static_cast<int>(std::max<int64_t>(left, 0));
}

std::string url(uint16_t port) {
  return "http://127.0.0.1:" + std::to_string(port);
}

std::string tail(const std::string& text, size_t lines) {
  size_t pos = text.size();
  if (pos > 0 && text[pos - 1] == '\n') --pos;  // a final newline ends the last line
  for (size_t count = 0; pos > 0;) {
    size_t nl = text.rfind('\n', pos - 1);
    if (nl == std::string::npos) break;
    if (++count == lines) return text.substr(nl + 1);
    pos = nl;
  }
  return text;
}

}  // namespace

std::string read_file(const std::string& path, size_t from) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  in.seekg(static_cast<std::streamoff>(from));
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string synod_binary() {
  const char* bin = std::getenv("SYNOD_BIN");
  return bin ? bin : "synod";
}

bool wait_until(const std::function<bool()>& done, Millis timeout, Millis every) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    if (done()) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(every);
  }
}

std::vector<uint16_t> free_ports(size_t n) {
  std::vector<int> fds;
  std::vector<uint16_t> ports;
  for (size_t i = 0; i < n; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) break;
    fds.push_back(fd);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
      break;
    ports.push_back(ntohs(addr.sin_port));
  }
  for (int fd : fds)
    ::close(fd);
  return ports;
}

int exit_code_of(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return -1;
}

// --- Child ---

Child::Child(const std::vector<std::string>& argv, const std::string& stdout_path,
             const std::string& stderr_path) {
  // Everything the child needs is made before fork(): after it, only
  // async-signal-safe calls.
  std::vector<char*> args;
  for (const std::string& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  int in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  int out = ::open(stdout_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  int err = stderr_path == stdout_path
                ? out
                : ::open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (in < 0 || out < 0 || err < 0) {
    ADD_FAILURE() << "cannot open the files for " << argv.at(0) << ": " << std::strerror(errno);
  } else {
    pid_t parent = ::getpid();
    pid_t pid = ::fork();
    if (pid == 0) {
      // Dies with the test binary, however that ends.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);
      sigset_t none;
      sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);
      ::dup2(in, STDIN_FILENO);
      ::dup2(out, STDOUT_FILENO);
      ::dup2(err, STDERR_FILENO);
      ::execvp(args[0], args.data());
      ::_exit(127);
    }
    if (pid < 0) ADD_FAILURE() << "fork: " << std::strerror(errno);
    pid_ = pid;
  }
  for (int fd : {in, out})
    if (fd >= 0) ::close(fd);
  if (err >= 0 && err != out) ::close(err);
}

Child::Child(Child&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)), exit_code_(std::exchange(other.exit_code_, {})) {}

Child& Child::operator=(Child&& other) noexcept {
  if (this != &other) {
    kill9();
    pid_ = std::exchange(other.pid_, -1);
    exit_code_ = std::exchange(other.exit_code_, {});
  }
  return *this;
}

Child::~Child() {
  kill9();
}

bool Child::running() {
  if (pid_ <= 0 || exit_code_) return false;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    exit_code_ = exit_code_of(status);
    return false;
  }
  return r == 0;
}

std::optional<int> Child::wait(Millis timeout) {
  if (pid_ <= 0) return std::nullopt;
  wait_until([this] { return !running(); }, timeout, 5ms);
  return exit_code_;
}

void Child::signal(int sig) {
  if (running()) ::kill(pid_, sig);
}

void Child::kill9() {
  if (pid_ <= 0 || exit_code_) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(pid_, &status, 0);
  } while (r < 0 && errno == EINTR);
  exit_code_ = r == pid_ ? exit_code_of(status) : -1;
}

RunResult run_synod(const std::string& scratch_dir, const std::vector<std::string>& args,
                    Millis timeout) {
  std::vector<std::string> argv = {synod_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_program(scratch_dir, argv, timeout);
}

RunResult run_program(const std::string& scratch_dir, const std::vector<std::string>& argv,
                      Millis timeout) {
  static std::atomic<int> counter{0};
  std::string base = scratch_dir + "/run-" + std::to_string(counter++);
  RunResult result;
  {
    Child child(argv, base + ".out", base + ".err");
    std::optional<int> code = child.wait(timeout);
    result.timed_out = !code.has_value();
    child.kill9();
    result.code = code.value_or(-1);
  }
  result.out = read_file(base + ".out");
  result.err = read_file(base + ".err");
  std::error_code ignored;
  std::filesystem::remove(base + ".out", ignored);
  std::filesystem::remove(base + ".err", ignored);
  return result;
}

// --- sockets and HTTP ---

Socket::Socket(uint16_t port, Millis timeout) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno != EINPROGRESS) {
      ::close(fd);
      return;
    }
    pollfd p{fd, POLLOUT, 0};
    int error = 0;
    socklen_t len = sizeof error;
    if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1 ||
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) != 0 || error != 0) {
      ::close(fd);
      return;
    }
  }
  fd_ = fd;
}

Socket::~Socket() {
  if (fd_ >= 0) ::close(fd_);
}

bool Socket::send(std::string_view bytes) {
  if (fd_ < 0) return false;
  auto deadline = Clock::now() + 5s;
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n > 0) {
      bytes.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd_, POLLOUT, 0};
      if (::poll(&p, 1, remaining_ms(deadline)) != 1) return false;
      continue;
    }
    return false;
  }
  return true;
}

void Socket::shutdown_send() {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_WR);
}

bool Socket::wait_closed(Millis timeout, std::string* received) {
  if (fd_ < 0) return true;
  auto deadline = Clock::now() + timeout;
  char buffer[4096];
  for (;;) {
    ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
    if (n == 0) return true;
    if (n > 0) {
      if (received) received->append(buffer, static_cast<size_t>(n));
      continue;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return true;  // reset: closed too
    int left = remaining_ms(deadline);
    if (left == 0) return false;
    pollfd p{fd_, POLLIN, 0};
    ::poll(&p, 1, left);
  }
}

std::string framed(std::string_view payload) {
  auto n = static_cast<uint32_t>(payload.size());
  std::string out = {static_cast<char>(n), static_cast<char>(n >> 8), static_cast<char>(n >> 16),
                     static_cast<char>(n >> 24)};
  out.append(payload);
  return out;
}

std::optional<HttpReply> http_get(uint16_t port, std::string_view path, Millis timeout) {
  auto deadline = Clock::now() + timeout;
  Socket socket(port, timeout);
  if (!socket.ok()) return std::nullopt;
  std::string request =
      "GET " + std::string(path) + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  if (!socket.send(request)) return std::nullopt;
  std::string answer;
  // The server answers, then half-closes: an answer is whole at EOF.
  if (!socket.wait_closed(Millis(remaining_ms(deadline)), &answer)) return std::nullopt;
  if (!answer.starts_with("HTTP/1.1 ") || answer.size() < 12) return std::nullopt;
  size_t head_end = answer.find("\r\n\r\n");
  if (head_end == std::string::npos) return std::nullopt;
  HttpReply reply;
  std::from_chars(answer.data() + 9, answer.data() + 12, reply.status);
  reply.body = answer.substr(head_end + 4);
  return reply;
}

std::optional<double> metric_value(std::string_view page, std::string_view series) {
  size_t at = 0;
  while (at < page.size()) {
    size_t end = page.find('\n', at);
    if (end == std::string_view::npos) end = page.size();
    std::string_view line = page.substr(at, end - at);
    at = end + 1;
    if (line.size() > series.size() && line.starts_with(series) && line[series.size()] == ' ') {
      std::string value(line.substr(series.size() + 1));
      char* parsed_end = nullptr;
      double v = std::strtod(value.c_str(), &parsed_end);
      if (parsed_end == value.c_str()) return std::nullopt;
      return v;
    }
  }
  return std::nullopt;
}

// --- Cluster ---

Cluster::Cluster(int n, ClusterOptions options) : options_(std::move(options)) {
  std::string pattern = ::testing::TempDir() + "synod-serve-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    ADD_FAILURE() << "mkdtemp " << pattern << ": " << std::strerror(errno);
    return;
  }
  dir_ = pattern;
  members_.resize(static_cast<size_t>(n));
  for (int attempt = 0; attempt < kPortAttempts; ++attempt) {
    assign_ports();
    if (start_all()) return;
  }
  ADD_FAILURE() << "could not start the cluster: ports kept being taken";
}

Cluster::~Cluster() {
  bool failed = ::testing::Test::HasFailure();
  for (Member& m : members_)
    m.process.kill9();
  if (failed) print_logs();
  if (dir_.empty()) return;
  if (std::getenv("SYNOD_KEEP_TEST_DIRS")) {
    std::fprintf(stderr, "kept %s\n", dir_.c_str());
    return;
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

void Cluster::assign_ports() {
  std::vector<uint16_t> ports = free_ports(3 * members_.size());
  if (ports.size() != 3 * members_.size()) {
    ADD_FAILURE() << "no free loopback ports";
    return;
  }
  for (size_t i = 0; i < members_.size(); ++i) {
    members_[i].peer_port = ports[3 * i];
    members_[i].client_port = ports[3 * i + 1];
    members_[i].metrics_port = ports[3 * i + 2];
  }
}

std::string Cluster::data_dir(int i) const {
  return dir_ + "/" + name(i);
}

std::string Cluster::log_path(int i) const {
  return dir_ + "/" + name(i) + ".log";
}

std::string Cluster::log(int i) const {
  return read_file(log_path(i));
}

std::vector<std::string> Cluster::serve_args(int i) const {
  std::string initial_cluster;
  for (int m = 0; m < size(); ++m) {
    if (m > 0) initial_cluster += ",";
    initial_cluster += name(m) + "=" + url(peer_port(m));
  }
  auto token = options_.token_of.find(i);
  std::vector<std::string> args = {
      "serve",
      "--name",
      name(i),
      "--data-dir",
      data_dir(i),
      "--listen-peer-urls",
      url(peer_port(i)),
      "--initial-advertise-peer-urls",
      url(peer_port(i)),
      "--listen-client-urls",
      url(client_port(i)),
      "--advertise-client-urls",
      url(client_port(i)),
      "--listen-metrics-urls",
      url(metrics_port(i)),
      "--initial-cluster",
      initial_cluster,
      "--initial-cluster-token",
      token == options_.token_of.end() ? options_.token : token->second,
      "--heartbeat-interval",
      std::to_string(options_.heartbeat_ms),
      "--election-timeout",
      std::to_string(options_.election_timeout_ms),
  };
  args.insert(args.end(), options_.extra_args.begin(), options_.extra_args.end());
  return args;
}

Cluster::Start Cluster::start(int i, Millis timeout) {
  Member& m = members_.at(i);
  m.log_offset = file_size(log_path(i));
  { std::ofstream(log_path(i), std::ios::app) << "===== harness: starting " << name(i) << "\n"; }
  std::vector<std::string> argv = {synod_binary()};
  std::vector<std::string> args = serve_args(i);
  argv.insert(argv.end(), args.begin(), args.end());
  m.process = Child(argv, log_path(i), log_path(i));
  Start result = Start::kTimedOut;
  wait_until(
      [&] {
        if (read_file(log_path(i), m.log_offset).find(kServingLine) != std::string::npos) {
          result = Start::kServing;
          return true;
        }
        if (!m.process.running()) {
          result = Start::kExited;
          return true;
        }
        return false;
      },
      timeout, 10ms);
  return result;
}

bool Cluster::start_all() {
  for (int i = 0; i < size(); ++i) {
    members_[i].process.kill9();
    std::error_code ignored;
    std::filesystem::remove_all(data_dir(i), ignored);
  }
  std::vector<Start> results(members_.size(), Start::kTimedOut);
  for (int i = 0; i < size(); ++i)
    results[i] = start(i, 10s);
  bool port_taken = false;
  for (int i = 0; i < size(); ++i) {
    if (results[i] == Start::kServing) continue;
    std::string run_log = read_file(log_path(i), members_[i].log_offset);
    if (results[i] == Start::kExited && run_log.find(kPortTaken) != std::string::npos) {
      port_taken = true;
      continue;
    }
    ADD_FAILURE() << name(i) << " did not start serving: " << tail(run_log, 20);
    return true;  // not a port collision: trying again would not help
  }
  return !port_taken;
}

bool Cluster::running(int i) {
  return members_.at(i).process.running();
}

void Cluster::kill9(int i) {
  members_.at(i).process.kill9();
}

std::optional<int> Cluster::terminate(int i, Millis timeout) {
  Child& process = members_.at(i).process;
  process.signal(SIGTERM);
  std::optional<int> code = process.wait(timeout);
  if (!code) process.kill9();
  return code;
}

bool Cluster::restart(int i, Millis timeout) {
  EXPECT_FALSE(running(i)) << name(i) << " is still running";
  auto deadline = Clock::now() + timeout;
  for (int attempt = 0; attempt < kPortAttempts; ++attempt) {
    Start result = start(i, Millis(remaining_ms(deadline)));
    if (result == Start::kServing) return true;
    if (result == Start::kTimedOut) {
      members_[i].process.kill9();
      return false;
    }
    // Another process may hold one of its ports for a moment (an outgoing
    // connection's ephemeral port): wait and try again.
    if (read_file(log_path(i), members_[i].log_offset).find(kPortTaken) == std::string::npos)
      return false;
    std::this_thread::sleep_for(200ms);
  }
  return false;
}

std::string Cluster::endpoint(int i) const {
  return "127.0.0.1:" + std::to_string(client_port(i));
}

std::string Cluster::endpoints() const {
  std::string out;
  for (int i = 0; i < size(); ++i)
    out += (i > 0 ? "," : "") + endpoint(i);
  return out;
}

std::optional<std::string> Cluster::metrics(int i) {
  auto reply = http_get(metrics_port(i), "/metrics");
  if (!reply || reply->status != 200) return std::nullopt;
  return reply->body;
}

std::optional<double> Cluster::metric(int i, std::string_view series) {
  auto page = metrics(i);
  if (!page) return std::nullopt;
  return metric_value(*page, series);
}

std::optional<int> Cluster::leader() {
  std::optional<int> best;
  double best_term = -1;
  for (int i = 0; i < size(); ++i) {
    if (!running(i)) continue;
    auto page = metrics(i);
    if (!page) continue;
    auto role = metric_value(*page, R"(synod_raft_role{role="leader"})");
    auto term = metric_value(*page, "synod_raft_term");
    if (role == 1.0 && term && *term > best_term) {
      best = i;
      best_term = *term;
    }
  }
  return best;
}

std::optional<int> Cluster::wait_for_leader(Millis timeout) {
  std::optional<int> found;
  wait_until(
      [&] {
        found = leader();
        return found.has_value();
      },
      timeout);
  return found;
}

bool Cluster::wait_for_applied(int i, double index, Millis timeout) {
  return wait_until(
      [&] {
        auto applied = metric(i, "synod_raft_applied_index");
        return applied && *applied >= index;
      },
      timeout);
}

RunResult Cluster::run(const std::vector<std::string>& args, Millis timeout) const {
  return run_synod(dir_, args, timeout);
}

RunResult Cluster::kv(const std::vector<std::string>& args, int kv_timeout_s) const {
  std::vector<std::string> all = {"kv", "--endpoints", endpoints(), "--timeout",
                                  std::to_string(kv_timeout_s)};
  all.insert(all.end(), args.begin(), args.end());
  // The client gives up by itself after kv_timeout_s; the margin is for a
  // loaded machine.
  return run(all, Millis((kv_timeout_s + 30) * 1000));
}

Child Cluster::spawn(const std::vector<std::string>& args, const std::string& label) const {
  std::vector<std::string> argv = {synod_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return Child(argv, dir_ + "/" + label + ".out", dir_ + "/" + label + ".err");
}

void Cluster::print_logs(size_t lines) const {
  for (int i = 0; i < size(); ++i) {
    std::fprintf(stderr, "----- last %zu lines of %s (%s) -----\n%s", lines, name(i).c_str(),
                 log_path(i).c_str(), tail(log(i), lines).c_str());
  }
  std::fprintf(stderr, "----- end of member logs -----\n");
}

}  // namespace synod::serve::testing
