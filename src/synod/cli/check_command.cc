// synod check history FILE

#include <iostream>
#include <memory>

#include "synod/check/linearizability.h"
#include "synod/cli/commands.h"

namespace synod::cli {

void add_check_commands(CLI::App& app, int& exit_code) {
  CLI::App* check = app.add_subcommand("check", "Check recorded histories.");
  check->require_subcommand(1);
  auto file = std::make_shared<std::string>();
  CLI::App* history = check->add_subcommand(
      "history",
      "Check a history of key-value operations for linearizability. One JSON object per line:\n"
      "  {\"client\":0,\"kind\":\"put\",\"key\":\"k\",\"value\":\"v\",\"call\":NS,\"return\":NS,"
      "\"ok\":true}\n"
      "kind: get (value: what was read, null if absent), put, delete, cas (expected, value, "
      "swapped).\n"
      "\"return\":-1 with \"ok\":false: unknown outcome; \"ok\":false with a return time: "
      "failed, did not take effect.\n"
      "Exit 0 when linearizable, 1 when not (or when the search limit was reached\n"
      "before deciding, said as UNDECIDED), 2 when the file cannot be read or parsed.");
  history->add_option("FILE", *file, "the history, JSON lines")->required();
  history->callback([file, &exit_code] {
    auto parsed = check::read_history_file(*file);
    if (!parsed.ok()) {
      std::cerr << "synod check: " << parsed.status().message() << "\n";
      exit_code = kExitBadArguments;
      return;
    }
    check::Verdict verdict = check::check_linearizable(*parsed);
    if (verdict.linearizable) {
      std::cout << "linearizable: " << verdict.operations << " operations on " << verdict.keys
                << " keys\n";
      exit_code = kExitOk;
      return;
    }
    // Undecided (the search limit was hit) is not a pass either, but it is
    // said as what it is.
    std::cout << (verdict.undecided ? "UNDECIDED: key " : "NOT linearizable: key ") << verdict.key
              << "\n"
              << verdict.explanation << "\n";
    exit_code = kExitCheckFailed;
  });
}

}  // namespace synod::cli
