// synod chaos: fault testing of a real cluster, as Jepsen tests etcd.

#include <iostream>
#include <memory>

#include "synod/chaos/nemesis.h"
#include "synod/chaos/run.h"
#include "synod/chaos/workload.h"
#include "synod/cli/commands.h"

namespace synod::cli {
namespace {

constexpr const char* kDescription =
    "Fault testing of a real cluster, as Jepsen tests etcd. Starts an N-member cluster of\n"
    "synod serve (or etcd: --system etcd), each member in its own network namespace with its\n"
    "own address and data directory, drives it through etcd's gRPC API with the chosen\n"
    "workloads while a nemesis injects faults planned from --seed, heals everything, checks\n"
    "what the clients saw, and removes every namespace, rule and process it made (also on\n"
    "failure or Ctrl-C). Needs root. Histories, member logs, run.log and summary.txt stay in\n"
    "--out.\n"
    "\n"
    "Workloads (--workload, a comma-separated list; each under its own key prefix):\n"
    "  register  gets, puts and compare-and-sets on --keys keys, unique values; checked for\n"
    "            linearizability (the checker of synod check history)\n"
    "  bank      transfers between accounts in transactions; every read must see the total\n"
    "  set       adds of unique elements; every acknowledged add must be there at the end\n"
    "  watch     watchers on one prefix through faults; each must see every revision in\n"
    "            order, no gap, no duplicate, the same values, agreeing with the final range\n"
    "  lock      etcd's lock recipe on leases; holders must never overlap. Overlaps that only\n"
    "            a holder's lapsed lease explains (it stalled past its TTL) are reported as\n"
    "            the known limit of leases without fencing, apart from real violations\n"
    "\n"
    "Faults (--nemesis all | none | a list of these, or the groups partition, net, pauses,\n"
    "kills); one at a time, --fault-length long, --fault-gap apart, all healed\n"
    "--recover before the end:\n"
    "  partition-majority  a random minority cut off from the majority (iptables)\n"
    "  partition-leader    the leader cut off from the others\n"
    "  partition-bridge    two halves cut apart, one member sees both\n"
    "  partition-oneway    one member (often the leader) hears nothing; the others hear it\n"
    "  latency, reorder    packets held 50 ms + 0-25 ms, or 0-20 ms at random (NFQUEUE)\n"
    "  loss, duplicate     20% of packets dropped, or sent twice (iptables statistic, TEE)\n"
    "  pause, pause-leader SIGSTOP for the fault's length, longer than an election timeout\n"
    "  kill, kill-leader   SIGKILL, restarted at the heal\n"
    "  clock               a member's clocks jump 2-10 s ahead, then run at double speed\n"
    "                      (libfaketime; synod only)\n"
    "  disk                the fsyncs of one member, or of a majority, block until the heal\n"
    "                      (a preloaded shim; synod only)\n"
    "  membership          a member removed and its data wiped; added back empty at the heal\n"
    "\n"
    "Examples:\n"
    "  synod chaos --workload register,bank,set,watch,lock --duration 120 --seed 7\n"
    "  synod chaos --system etcd --workload register --nemesis partition,pauses --seed 7\n"
    "  synod chaos --workload lock --bug no-wait --nemesis none    # the checker must fail\n"
    "\n"
    "Exit code: 0 every check passed, 1 a check failed or could not decide (or the cluster\n"
    "did not come up), 2 bad arguments or not root.";

}  // namespace

void add_chaos_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<chaos::RunOptions>();
  auto workloads = std::make_shared<std::string>("register");
  auto gap = std::make_shared<std::vector<double>>(std::vector<double>{o->gap_min_s, o->gap_max_s});
  auto length =
      std::make_shared<std::vector<double>>(std::vector<double>{o->length_min_s, o->length_max_s});
  CLI::App* cmd = app.add_subcommand("chaos", kDescription);
  cmd->add_option("--system", o->system, "synod | etcd")->capture_default_str();
  cmd->add_option("--binary", o->binary,
                  "the server binary (default: this synod, or etcd on $PATH)");
  cmd->add_option("--nodes", o->nodes, "members")->capture_default_str();
  cmd->add_option("--duration", o->duration_s, "seconds of load")->capture_default_str();
  cmd->add_option("--recover", o->recover_s, "seconds at the end with every fault healed")
      ->capture_default_str();
  cmd->add_option("--seed", o->seed, "plans the faults and the clients' choices")
      ->capture_default_str();
  cmd->add_option("--workload", *workloads,
                  "register,bank,set,watch,lock (a list runs them together)")
      ->capture_default_str();
  cmd->add_option("--nemesis", o->nemesis, "all | none | a list of faults or groups (see above)")
      ->capture_default_str();
  cmd->add_option("--fault-gap", *gap, "MIN,MAX seconds between faults")
      ->delimiter(',')
      ->expected(2)
      ->capture_default_str();
  cmd->add_option("--fault-length", *length, "MIN,MAX seconds each fault lasts")
      ->delimiter(',')
      ->expected(2)
      ->capture_default_str();
  cmd->add_option("--clients", o->clients, "clients per workload")->capture_default_str();
  cmd->add_option("--rate", o->rate, "operations per second, all workloads together")
      ->capture_default_str();
  cmd->add_option("--keys", o->keys, "register: keys")->capture_default_str();
  cmd->add_option("--op-timeout", o->op_timeout_s, "seconds a client waits for an answer")
      ->capture_default_str();
  cmd->add_option("--heartbeat-interval", o->heartbeat_ms, "ms, passed to every member")
      ->capture_default_str();
  cmd->add_option("--election-timeout", o->election_ms, "ms, passed to every member")
      ->capture_default_str();
  cmd->add_option("--out", o->out_dir,
                  "directory for histories, logs and the summary (default "
                  "/tmp/synod-chaos-SYSTEM-SEED-PID)");
  cmd->add_option("--bug", o->bug,
                  "inject a client-side bug the checks must catch: stale-read (register), "
                  "bad-read (bank), lose-add (set), drop-event (watch), no-wait (lock)");
  cmd->add_flag("--plan", o->plan_only, "print the planned faults and exit");
  cmd->callback([o, workloads, gap, length, &exit_code] {
    o->workloads.clear();
    size_t at = 0;
    while (at <= workloads->size()) {
      size_t comma = std::min(workloads->find(',', at), workloads->size());
      if (comma > at) o->workloads.push_back(workloads->substr(at, comma - at));
      at = comma + 1;
    }
    o->gap_min_s = (*gap)[0];
    o->gap_max_s = (*gap)[1];
    o->length_min_s = (*length)[0];
    o->length_max_s = (*length)[1];
    exit_code = chaos::run_chaos(*o, std::cout);
  });
}

}  // namespace synod::cli
