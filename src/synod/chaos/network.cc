#include "synod/chaos/network.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "synod/chaos/process.h"

namespace synod::chaos {
namespace {

// Every namespace of a run starts with this, then the creator's pid.
constexpr std::string_view kPrefix = "synod-chaos-";
constexpr const char* kBridge = "chaos-br";

std::string percent_text(double probability) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.4f", probability);
  return buffer;
}

bool process_alive(int pid) {
  return std::filesystem::exists("/proc/" + std::to_string(pid));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Network>> Network::create(int members) {
  std::unique_ptr<Network> net(
      new Network(std::string(kPrefix) + std::to_string(::getpid()), members));
  absl::Status built = net->build();
  if (!built.ok()) return built;  // the destructor removes what was made
  return net;
}

absl::Status Network::ip(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {"ip"};
  argv.insert(argv.end(), args.begin(), args.end());
  CommandResult r = run_command(argv);
  if (r.code != 0)
    return absl::InternalError(join_argv(argv) + " failed (" + std::to_string(r.code) +
                               "): " + r.output);
  return absl::OkStatus();
}

absl::Status Network::build() {
  built_ = true;
  std::string c = controller_ns();
  std::vector<std::vector<std::string>> steps = {
      {"netns", "add", c},
      {"-n", c, "link", "set", "lo", "up"},
      {"-n", c, "link", "add", kBridge, "type", "bridge"},
      {"-n", c, "addr", "add", std::string(kControllerIp) + "/24", "dev", kBridge},
      {"-n", c, "link", "set", kBridge, "up"},
  };
  for (int i = 0; i < members_; ++i) {
    std::string m = member_ns(i), host = "chaos-n" + std::to_string(i + 1);
    std::vector<std::vector<std::string>> member = {
        {"netns", "add", m},
        {"-n", m, "link", "set", "lo", "up"},
        {"-n", c, "link", "add", host, "type", "veth", "peer", "name", "eth0", "netns", m},
        {"-n", c, "link", "set", host, "master", kBridge},
        {"-n", c, "link", "set", host, "up"},
        {"-n", m, "addr", "add", member_ip(i) + "/24", "dev", "eth0"},
        {"-n", m, "link", "set", "eth0", "up"},
    };
    steps.insert(steps.end(), member.begin(), member.end());
  }
  for (const auto& step : steps) {
    absl::Status s = ip(step);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

Network::~Network() {
  if (!built_) return;
  for (int i = 0; i < members_; ++i)
    run_command({"ip", "netns", "del", member_ns(i)});
  run_command({"ip", "netns", "del", controller_ns()});
}

int Network::remove_stale() {
  std::error_code ec;
  std::vector<std::string> stale;
  for (const auto& entry : std::filesystem::directory_iterator("/run/netns", ec)) {
    std::string name = entry.path().filename();
    if (!name.starts_with(kPrefix)) continue;
    std::string rest = name.substr(kPrefix.size());
    int pid = std::atoi(rest.c_str());
    if (pid > 0 && pid != ::getpid() && !process_alive(pid)) stale.push_back(name);
  }
  for (const std::string& name : stale)
    run_command({"ip", "netns", "del", name});
  return static_cast<int>(stale.size());
}

absl::Status Network::enter_controller() const {
  std::string path = "/run/netns/" + controller_ns();
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::InternalError("cannot open " + path + ": " + std::strerror(errno));
  int r = ::setns(fd, CLONE_NEWNET);
  int saved = errno;
  ::close(fd);
  if (r != 0) return absl::InternalError(std::string("setns: ") + std::strerror(saved));
  return absl::OkStatus();
}

absl::Status Network::run_in(int i, const std::vector<std::string>& argv) const {
  CommandResult r = run_command(argv, member_ns(i));
  if (r.code != 0)
    return absl::InternalError("in " + member_ns(i) + ": " + join_argv(argv) + " failed (" +
                               std::to_string(r.code) + "): " + r.output);
  return absl::OkStatus();
}

absl::Status Network::block(int from, int to) {
  return run_in(to, {"iptables", "-w", "-A", "INPUT", "-s", member_ip(from), "-j", "DROP"});
}

absl::Status Network::loss(double probability) {
  for (int i = 0; i < members_; ++i) {
    absl::Status s =
        run_in(i, {"iptables", "-w", "-A", "OUTPUT", "-o", "eth0", "-m", "statistic", "--mode",
                   "random", "--probability", percent_text(probability), "-j", "DROP"});
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status Network::duplicate(double probability) {
  // TEE sends a copy of the packet to the given address: one rule per
  // destination on the subnet, the controller included.
  for (int i = 0; i < members_; ++i) {
    std::vector<std::string> targets = {kControllerIp};
    for (int j = 0; j < members_; ++j)
      if (j != i) targets.push_back(member_ip(j));
    for (const std::string& to : targets) {
      absl::Status s = run_in(i, {"iptables", "-w", "-t", "mangle", "-A", "OUTPUT", "-d", to, "-m",
                                  "statistic", "--mode", "random", "--probability",
                                  percent_text(probability), "-j", "TEE", "--gateway", to});
      if (!s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

absl::Status Network::queue_output(int queue_number) {
  for (int i = 0; i < members_; ++i) {
    absl::Status s = run_in(i, {"iptables", "-w", "-A", "OUTPUT", "-o", "eth0", "-j", "NFQUEUE",
                                "--queue-num", std::to_string(queue_number), "--queue-bypass"});
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status Network::heal() {
  absl::Status first = absl::OkStatus();
  for (int i = 0; i < members_; ++i) {
    for (const auto& argv : std::vector<std::vector<std::string>>{
             {"iptables", "-w", "-F"}, {"iptables", "-w", "-t", "mangle", "-F"}}) {
      absl::Status s = run_in(i, argv);
      if (!s.ok() && first.ok()) first = s;
    }
  }
  return first;
}

}  // namespace synod::chaos
