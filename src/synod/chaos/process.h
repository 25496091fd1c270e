#pragma once

// Child processes for a chaos run: servers started inside a network
// namespace, and short commands (ip, iptables) run to completion.
//
// Every child is started with PR_SET_PDEATHSIG (SIGKILL): it dies with the
// thread that forked it, so a chaos run that is itself killed leaves no
// server behind. Fork only from a thread that lives as long as the child
// (the run's main thread).

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace synod::chaos {

using Millis = std::chrono::milliseconds;

struct SpawnOptions {
  std::vector<std::string> argv;  // argv[0]: a path or a name on $PATH
  std::string netns;              // a namespace under /run/netns; empty: the caller's
  std::vector<std::string> env;   // "NAME=value" added to (or replacing in) the environment
  std::string log_path;           // stdout and stderr, appended; empty: /dev/null
};

// A running child, killed (SIGKILL) and reaped when destroyed.
class Process {
 public:
  Process() = default;
  explicit Process(const SpawnOptions& options);  // check started()
  Process(Process&& other) noexcept;
  Process& operator=(Process&& other) noexcept;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  ~Process();

  bool started() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  const std::string& error() const { return error_; }  // why it did not start
  bool running();                                      // reaps it if it exited
  void signal(int sig);
  void kill9();  // SIGKILL and reap
  // Waits for it to exit: its exit code (128 + signal when killed), or
  // nullopt at the timeout.
  std::optional<int> wait(Millis timeout);
  std::optional<int> exit_code() const { return exit_code_; }

 private:
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  std::string error_;
};

struct CommandResult {
  int code = -1;       // exit code; -1 when it could not start or timed out
  std::string output;  // stdout and stderr together, at most kMaxCommandOutput
};
// A command's output past this is dropped: the commands run here print lines.
inline constexpr size_t kMaxCommandOutput = 1 << 20;

// Runs a command to completion (killed at the timeout).
CommandResult run_command(const std::vector<std::string>& argv, const std::string& netns = "",
                          Millis timeout = Millis(10'000));

// "a b c", for logs.
std::string join_argv(const std::vector<std::string>& argv);

}  // namespace synod::chaos
