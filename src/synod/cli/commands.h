#pragma once

#include <CLI/CLI.hpp>

namespace synod::cli {

// Exit codes of every synod command.
inline constexpr int kExitOk = 0;
inline constexpr int kExitCheckFailed = 1;  // a check failed (not linearizable, invariant broken)
inline constexpr int kExitBadArguments = 2;

// Each adds its subcommand; the callback's result becomes the exit code.
void add_sim_commands(CLI::App& app, int& exit_code);
void add_check_commands(CLI::App& app, int& exit_code);
void add_serve_command(CLI::App& app, int& exit_code);
void add_kv_commands(CLI::App& app, int& exit_code);
void add_bench_command(CLI::App& app, int& exit_code);
void add_snapshot_commands(CLI::App& app, int& exit_code);
void add_chaos_command(CLI::App& app, int& exit_code);

}  // namespace synod::cli
