// synod chaos on real clusters: a short run of every workload with every
// fault, on synod and on etcd, judged by the checkers on the histories (never
// by timing: availability is reported, not asserted); and a run per workload
// with an injected client-side bug, which its checker must catch (exit 1).
//
// The runs need root (network namespaces, iptables). Without it they are
// skipped with a note, as a machine without etcd skips the etcd run.

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "serve/cluster.h"

namespace synod::chaos {
namespace {

using serve::testing::run_program;
using serve::testing::RunResult;
using serve::testing::synod_binary;

// A whole run's bound on a loaded machine; a run ends by itself well before.
constexpr auto kRunTimeout = std::chrono::minutes(8);

std::string scratch_dir() {
  std::string pattern = ::testing::TempDir() + "synod-chaos-test-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) return "";
  return pattern;
}

bool can_run(std::string& why) {
  if (::geteuid() != 0) {
    why = "needs root (network namespaces and iptables)";
    return false;
  }
  for (const char* tool : {"/usr/sbin/ip", "/usr/sbin/iptables"}) {
    if (!std::filesystem::exists(tool)) {
      why = std::string("needs ") + tool + " (scripts/setup.sh installs it)";
      return false;
    }
  }
  return true;
}

struct ChaosRun {
  RunResult result;
  std::string dir;
};

ChaosRun chaos(const std::vector<std::string>& args) {
  ChaosRun run{.dir = scratch_dir()};
  std::vector<std::string> argv = {synod_binary(), "chaos", "--out", run.dir + "/out"};
  argv.insert(argv.end(), args.begin(), args.end());
  run.result = run_program(run.dir, argv, kRunTimeout);
  return run;
}

// Nothing of the run is left: no namespace of ours, no member process.
void expect_cleaned_up() {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/run/netns", ec)) {
    std::string name = entry.path().filename();
    EXPECT_FALSE(name.starts_with("synod-chaos-")) << "namespace left behind: " << name;
  }
}

void remove_dir(const std::string& dir) {
  if (std::getenv("SYNOD_KEEP_TEST_DIRS")) return;
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
}

// Every workload, every fault: one short run, each fault once (the plan
// takes every kind of the mix once before repeating any).
const std::vector<std::string> kEveryWorkloadEveryFault = {
    "--workload",     "register,bank,set,watch,lock",
    "--nemesis",      "all",
    "--duration",     "75",
    "--recover",      "8",
    "--fault-length", "1.5,2.5",
    "--fault-gap",    "0.5,1.5",
    "--clients",      "8",
    "--rate",         "250",
    "--seed",         "20"};

TEST(Chaos, EveryWorkloadUnderEveryFaultOnSynod) {
  std::string why;
  if (!can_run(why)) GTEST_SKIP() << why;
  ChaosRun run = chaos(kEveryWorkloadEveryFault);
  EXPECT_FALSE(run.result.timed_out);
  std::string out = run.result.out + run.result.err;
  // Every fault of the mix started and healed.
  for (const char* fault : {"partition-majority", "partition-leader", "partition-bridge",
                            "partition-oneway", "latency", "loss", "duplicate", "reorder", "pause",
                            "pause-leader", "kill", "kill-leader", "clock", "disk", "membership"}) {
    EXPECT_NE(out.find(std::string("start ") + fault + ":"), std::string::npos) << fault;
    EXPECT_NE(out.find(std::string("heal ") + fault + ":"), std::string::npos) << fault;
  }
  for (const char* w : {"register", "bank", "set", "watch", "lock"})
    EXPECT_NE(out.find(std::string("  ") + w + ": "), std::string::npos) << w;
  EXPECT_EQ(run.result.code, 0) << out;
  expect_cleaned_up();
  if (!HasFailure()) remove_dir(run.dir);
}

TEST(Chaos, EveryWorkloadUnderEveryFaultOnEtcd) {
  std::string why;
  if (!can_run(why)) GTEST_SKIP() << why;
  if (!std::filesystem::exists("/usr/bin/etcd")) GTEST_SKIP() << "no etcd (etcd-server)";
  std::vector<std::string> args = kEveryWorkloadEveryFault;
  args.insert(args.end(), {"--system", "etcd"});
  ChaosRun run = chaos(args);
  std::string out = run.result.out + run.result.err;
  EXPECT_NE(out.find("clock skipped on etcd"), std::string::npos) << out;
  EXPECT_NE(out.find("disk skipped on etcd"), std::string::npos) << out;
  EXPECT_EQ(run.result.code, 0) << out;
  expect_cleaned_up();
  if (!HasFailure()) remove_dir(run.dir);
}

// Each checker catches its workload's injected bug on a healthy cluster.
class ChaosBug : public ::testing::TestWithParam<std::pair<std::string, std::string>> {};

TEST_P(ChaosBug, IsCaught) {
  std::string why;
  if (!can_run(why)) GTEST_SKIP() << why;
  auto [workload, bug] = GetParam();
  ChaosRun run = chaos({"--workload", workload, "--bug", bug, "--nemesis", "none", "--duration",
                        "10", "--recover", "2", "--seed", "21"});
  std::string out = run.result.out + run.result.err;
  EXPECT_EQ(run.result.code, 1) << out;
  EXPECT_NE(out.find(workload + ": FAIL"), std::string::npos) << out;
  expect_cleaned_up();
  if (!HasFailure()) remove_dir(run.dir);
}

INSTANTIATE_TEST_SUITE_P(Workloads, ChaosBug,
                         ::testing::Values(std::make_pair("register", "stale-read"),
                                           std::make_pair("bank", "bad-read"),
                                           std::make_pair("set", "lose-add"),
                                           std::make_pair("watch", "drop-event"),
                                           std::make_pair("lock", "no-wait")),
                         [](const auto& info) { return info.param.first; });

TEST(Chaos, BadArgumentsExitTwo) {
  ChaosRun run = chaos({"--workload", "nonsense"});
  EXPECT_EQ(run.result.code, 2) << run.result.out << run.result.err;
  run = chaos({"--nemesis", "partition,earthquake"});
  EXPECT_EQ(run.result.code, 2) << run.result.out << run.result.err;
  remove_dir(run.dir);
}

}  // namespace
}  // namespace synod::chaos
