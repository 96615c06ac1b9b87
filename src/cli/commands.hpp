#pragma once
// One file per subcommand (cmd_*.cpp). Each binds its options to a plain struct and registers a
// callback that stores the exit code here.

#include <CLI/CLI.hpp>
#include <atomic>
#include <cmath>
#include <string>

namespace packsim::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitRuntime = 1;
inline constexpr int kExitBadInput = 2;

struct Context {
  int exit_code = kExitOk;
  std::string version;
};

// A number in [lo, hi]. CLI11's Range and PositiveNumber compare, and every comparison with NaN
// is false, so they let "nan" through.
inline CLI::Validator finite_range(double lo, double hi) {
  return CLI::Validator(
      [lo, hi](std::string& text) -> std::string {
        double v = 0.0;
        if (!CLI::detail::lexical_cast(text, v) || !std::isfinite(v) || v < lo || v > hi) {
          return "expected a number from " + CLI::detail::to_string(lo) + " to " +
                 CLI::detail::to_string(hi) + ", got '" + text + "'";
        }
        return {};
      },
      "NUMBER in [" + CLI::detail::to_string(lo) + " - " + CLI::detail::to_string(hi) + "]");
}

void add_run_command(CLI::App& app, Context& ctx);
void add_check_command(CLI::App& app, Context& ctx);
void add_info_command(CLI::App& app, Context& ctx);
void add_bench_command(CLI::App& app, Context& ctx);
void add_dbc_command(CLI::App& app, Context& ctx);
void add_validate_command(CLI::App& app, Context& ctx);
void add_link_command(CLI::App& app, Context& ctx);

// Runs an executable's body; an exception that escapes it (a bug or an exhausted resource: inputs
// are diagnosed before anything runs) is reported on stderr and exits kExitRuntime, not abort().
int guarded_main(int (*body)(int, char**), int argc, char** argv) noexcept;

// SIGINT/SIGTERM/SIGHUP set this (to the signal number); long runs poll it and stop cleanly.
std::atomic<int>& stop_request();
void install_stop_handlers();

}  // namespace packsim::cli
