// synod: one binary, many faces. See `synod --help`.

#include <cstdio>

#include "absl/synchronization/mutex.h"
#include "synod/cli/commands.h"

int main(int argc, char** argv) {
  // Debian's Abseil checks every Mutex for lock-order cycles, a debug aid
  // that keeps one global graph of all of them. gRPC takes Mutexes on every
  // call, so the check costs CPU on every request (bench/RESULTS.md).
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  CLI::App app{
      "synod: fault-tolerant distributed systems, simulated and checked.\n"
      "  synod sim run      run one simulation and check it\n"
      "  synod sim explore  run many seeds, report the failing ones\n"
      "  synod sim list     the protocols and their injectable bugs\n"
      "  synod check history FILE   check a recorded history for linearizability\n"
      "  synod serve        run a member of a replicated key-value store (etcd's flags)\n"
      "  synod kv put|get|del|load  talk to a running cluster\n"
      "  synod chaos        fault-test a real cluster (synod or etcd) and check its histories"};
  app.require_subcommand(1);
  int exit_code = synod::cli::kExitOk;
  synod::cli::add_sim_commands(app, exit_code);
  synod::cli::add_check_commands(app, exit_code);
  synod::cli::add_serve_command(app, exit_code);
  synod::cli::add_kv_commands(app, exit_code);
  synod::cli::add_bench_command(app, exit_code);
  synod::cli::add_snapshot_commands(app, exit_code);
  synod::cli::add_chaos_command(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return synod::cli::kExitBadArguments;
  }
  return exit_code;
}
