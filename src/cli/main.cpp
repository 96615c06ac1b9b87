// packsim: the thin executable. Subcommands live in cmd_*.cpp; the work in the libraries.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "commands.hpp"
#include "packsim/config/data_dirs.hpp"

namespace {

int packsim_main(int argc, char** argv) {
  using namespace packsim::cli;
  Context ctx;
  ctx.version = PACKSIM_VERSION;
  CLI::App app{"packsim - hardware-in-the-loop battery-pack simulator"};
  // The data directory too: "which files is this binary using?" is the question after an install.
  app.set_version_flag("--version", []() {
    return std::string("packsim ") + PACKSIM_VERSION + "\n" + packsim::config::data_dirs_report();
  });
  app.require_subcommand(1);
  app.fallthrough();
  add_run_command(app, ctx);
  add_check_command(app, ctx);
  add_info_command(app, ctx);
  add_bench_command(app, ctx);
  add_dbc_command(app, ctx);
  add_validate_command(app, ctx);
  add_link_command(app, ctx);
  // Diagnostics go to stderr; stdout carries only results (info --json, bench --json, check).
  spdlog::set_default_logger(spdlog::stderr_color_st("packsim"));
  spdlog::set_pattern("%^%l%$: %v");
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);  // --help, --version
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitBadInput;
  }
  return ctx.exit_code;
}

}  // namespace

int main(int argc, char** argv) { return packsim::cli::guarded_main(packsim_main, argc, argv); }
