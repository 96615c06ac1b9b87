// packsim: the thin executable. Subcommands live in cmd_*.cpp; the work in the libraries.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <string>
#include <vector>

#include "commands.hpp"
#include "packsim/config/data_dirs.hpp"
#include "packsim/util/suggest.hpp"

namespace {

// CLI11 says only "A subcommand is required" for `packsim runn`: find the word that was meant as
// a subcommand of an app that requires one (packsim, packsim dbc) and say which it is not, with
// the closest one. Returns false when the command line has no such word.
bool report_unknown_subcommand(CLI::App& app, int argc, char** argv) {
  CLI::App* current = &app;
  std::string path = "packsim";
  for (int k = 1; k < argc; ++k) {
    const std::string arg = argv[k];
    if (arg == "--") return false;
    if (arg.size() > 1 && arg[0] == '-') {
      // An option of this level that takes a value takes the next word too ("--opt value").
      const CLI::Option* opt = current->get_option_no_throw(arg.substr(0, arg.find('=')));
      if (opt && opt->get_type_size_max() > 0 && arg.find('=') == std::string::npos) ++k;
      continue;
    }
    if (current->get_require_subcommand_min() == 0) return false;  // a leaf's own arguments
    std::vector<std::string> names;
    CLI::App* next = nullptr;
    for (CLI::App* sub :
         current->get_subcommands([](CLI::App* a) { return !a->get_name().empty(); })) {
      names.push_back(sub->get_name());
      if (sub->check_name(arg)) next = sub;
    }
    if (next) {
      current = next;
      path += " " + next->get_name();
      continue;
    }
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
    std::fprintf(stderr, "%s: unknown subcommand '%s'%s; expected one of: %s\n", path.c_str(),
                 arg.c_str(), packsim::did_you_mean(arg, names).c_str(), list.c_str());
    std::fprintf(stderr, "Run with --help for more information.\n");
    return true;
  }
  return false;
}

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
    if (!report_unknown_subcommand(app, argc, argv)) app.exit(e);
    return kExitBadInput;
  }
  return ctx.exit_code;
}

}  // namespace

int main(int argc, char** argv) { return packsim::cli::guarded_main(packsim_main, argc, argv); }
