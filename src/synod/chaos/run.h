#pragma once

// One chaos run, start to end: the network and the cluster built, the
// workloads started, the planned faults applied and healed, the workloads
// stopped and checked, the summary printed, everything removed again (on
// success, failure, an exception, or SIGINT/SIGTERM/SIGHUP).

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

namespace synod::chaos {

struct RunOptions {
  std::string system = "synod";  // synod | etcd
  std::string binary;            // the server binary (default: this synod, or etcd on $PATH)
  int nodes = 3;
  double duration_s = 60;
  double recover_s = 8;  // faults stop this long before the end
  uint64_t seed = 1;
  std::vector<std::string> workloads = {"register"};
  std::string nemesis = "all";
  double gap_min_s = 2, gap_max_s = 5;
  double length_min_s = 3, length_max_s = 8;
  int clients = 16;
  double rate = 200;
  int keys = 5;
  double op_timeout_s = 2;
  int heartbeat_ms = 100, election_ms = 1000;
  std::string out_dir;  // histories, logs, summary; default /tmp/synod-chaos-<system>-<seed>-<pid>
  std::string bug;
  bool plan_only = false;  // print the plan and exit
};

// Exit code: 0 every check passed, 1 a check failed (or was undecided, or the
// cluster could not be set up), 2 bad arguments or a machine that cannot run
// it (not root, no network namespaces).
int run_chaos(const RunOptions& options, std::ostream& out);

}  // namespace synod::chaos
