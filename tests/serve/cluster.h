#pragma once

// A harness for tests of `synod serve` as an operator meets it: real
// processes on loopback ports, each with its own data directory and log
// file, driven through the synod binary itself (`synod kv`, `synod check`)
// and watched through /metrics.
//
// Every wait here is bounded: a poll loop with a deadline, never a fixed
// sleep standing in for an assertion. Every child is started with
// PR_SET_PDEATHSIG, and the destructors kill (SIGKILL) and reap whatever is
// still running, so a test leaves no process behind even when it fails or
// the test binary dies. When a test has failed, the cluster prints the tail
// of every member's log before it goes, so a CI failure can be read.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace synod::serve::testing {

using namespace std::chrono_literals;
using Millis = std::chrono::milliseconds;

// $SYNOD_BIN, the synod binary under test.
std::string synod_binary();

// Polls `done` every `every` until it holds or `timeout` passes; says which.
bool wait_until(const std::function<bool()>& done, Millis timeout, Millis every = 20ms);

// A file's bytes from `from` on; empty when it cannot be read.
std::string read_file(const std::string& path, size_t from = 0);

// Loopback ports that were free a moment ago: each bound to 127.0.0.1:0 (all
// held at once, so they differ), read back and closed.
std::vector<uint16_t> free_ports(size_t n);

// Exit code of a wait status: the code, or 128 + signal for a killed process.
int exit_code_of(int wait_status);

// A child process, killed (SIGKILL) and reaped when destroyed. Its stdin is
// /dev/null; stdout and stderr go to files (appended, so a restarted
// member's log follows its previous run).
class Child {
 public:
  Child() = default;
  Child(const std::vector<std::string>& argv, const std::string& stdout_path,
        const std::string& stderr_path);
  Child(Child&& other) noexcept;
  Child& operator=(Child&& other) noexcept;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child();

  pid_t pid() const { return pid_; }
  bool started() const { return pid_ > 0; }
  // Still running (reaps it if it has exited).
  bool running();
  // Waits for the exit: its code (exit_code_of), or nullopt at the timeout.
  std::optional<int> wait(Millis timeout);
  // The exit code once it has exited and been reaped.
  std::optional<int> exit_code() const { return exit_code_; }
  void signal(int sig);
  // SIGKILL and reap; a no-op for a child that has exited.
  void kill9();

 private:
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
};

// What one run of a command left.
struct RunResult {
  int code = -1;  // exit code; -1 when it timed out (and was killed)
  bool timed_out = false;
  std::string out;
  std::string err;
};
// Runs argv (argv[0] a path or a name on $PATH); output goes through files
// in scratch_dir.
RunResult run_program(const std::string& scratch_dir, const std::vector<std::string>& argv,
                      Millis timeout);
// Runs $SYNOD_BIN with args.
RunResult run_synod(const std::string& scratch_dir, const std::vector<std::string>& args,
                    Millis timeout);

// One plain HTTP/1.1 GET of 127.0.0.1:port/path; nullopt when there is no
// complete answer within the timeout.
struct HttpReply {
  int status = 0;
  std::string body;
};
std::optional<HttpReply> http_get(uint16_t port, std::string_view path, Millis timeout = 2s);

// The value of one sample of a Prometheus text page: `series` is the name
// with its labels as printed, e.g. `synod_raft_role{role="leader"}`.
std::optional<double> metric_value(std::string_view page, std::string_view series);

// A client-side TCP connection for feeding a server bytes it should refuse.
class Socket {
 public:
  // Connects to 127.0.0.1:port; check ok().
  explicit Socket(uint16_t port, Millis timeout = 2s);
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  ~Socket();

  bool ok() const { return fd_ >= 0; }
  // Sends everything (without SIGPIPE); false when the peer has gone.
  bool send(std::string_view bytes);
  // Closes the sending side: the other side reads EOF.
  void shutdown_send();
  // Reads until the other side closes (EOF or reset) or the timeout passes;
  // true when it closed. What was read is appended to `received`.
  bool wait_closed(Millis timeout, std::string* received = nullptr);

 private:
  int fd_ = -1;
};

// [u32 length, little-endian][payload]: net/frame.h's framing.
std::string framed(std::string_view payload);

struct ClusterOptions {
  int heartbeat_ms = 20;
  int election_timeout_ms = 200;
  std::string token = "synod-serve-test";
  // Members (by index) that get another --initial-cluster-token.
  std::map<int, std::string> token_of;
  // Extra flags for every member.
  std::vector<std::string> extra_args;
};

class Cluster {
 public:
  // Starts n members n1..nN in a fresh temporary directory and waits until
  // each says it is serving. Ports that another process took in the
  // meantime mean a fresh set of ports and another try.
  explicit Cluster(int n, ClusterOptions options = {});
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;
  // Kills every member, prints their logs when the test failed, removes the
  // directory.
  ~Cluster();

  int size() const { return static_cast<int>(members_.size()); }
  const std::string& dir() const { return dir_; }
  std::string name(int i) const { return "n" + std::to_string(i + 1); }
  std::string data_dir(int i) const;
  std::string log_path(int i) const;
  std::string log(int i) const;  // everything member i wrote, every run
  uint16_t peer_port(int i) const { return members_.at(i).peer_port; }
  uint16_t client_port(int i) const { return members_.at(i).client_port; }
  uint16_t metrics_port(int i) const { return members_.at(i).metrics_port; }
  pid_t pid(int i) const { return members_.at(i).process.pid(); }
  // The flags `synod serve` gets for member i.
  std::vector<std::string> serve_args(int i) const;

  bool running(int i);
  void kill9(int i);
  // SIGTERM, then wait: the exit code, or nullopt when it did not exit in
  // time (it is killed then).
  std::optional<int> terminate(int i, Millis timeout = 10s);
  // Starts member i again (it must not be running) and waits until it says
  // it is serving: true then; false when it exited instead (see exit_code)
  // or did not get there in time.
  bool restart(int i, Millis timeout = 10s);
  std::optional<int> exit_code(int i) const { return members_.at(i).process.exit_code(); }

  // Every member's client address, comma-separated, for --endpoints.
  std::string endpoints() const;
  std::string endpoint(int i) const;

  // GET /metrics of member i; nullopt when it does not answer.
  std::optional<std::string> metrics(int i);
  std::optional<double> metric(int i, std::string_view series);
  // The running member that reports itself leader (the highest term's, if
  // two do for a moment), or nullopt.
  std::optional<int> leader();
  std::optional<int> wait_for_leader(Millis timeout = 10s);
  // Waits until member i's applied index reaches `index`.
  bool wait_for_applied(int i, double index, Millis timeout = 20s);

  // Runs $SYNOD_BIN args; kv(args) runs `synod kv --endpoints <all>
  // --timeout <kv_timeout> args...`.
  RunResult run(const std::vector<std::string>& args, Millis timeout = 60s) const;
  RunResult kv(const std::vector<std::string>& args, int kv_timeout_s = 10) const;
  // Starts $SYNOD_BIN args in the background, output to <dir>/<label>.out/.err.
  Child spawn(const std::vector<std::string>& args, const std::string& label) const;

  // The last `lines` lines of every member's log, to stderr.
  void print_logs(size_t lines = 40) const;

 private:
  struct Member {
    uint16_t peer_port = 0;
    uint16_t client_port = 0;
    uint16_t metrics_port = 0;
    Child process;
    size_t log_offset = 0;  // where the current run's log starts
  };
  enum class Start { kServing, kExited, kTimedOut };
  Start start(int i, Millis timeout);
  bool start_all();
  void assign_ports();

  ClusterOptions options_;
  std::string dir_;
  std::vector<Member> members_;
};

}  // namespace synod::serve::testing
