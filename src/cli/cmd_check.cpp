// packsim check FILE...: validate scenarios, packs and cell models without running anything.
#include <cstdio>

#include "commands.hpp"
#include "packsim/can/dbc.hpp"
#include "packsim/config/loaders.hpp"
#include "packsim/sim/session.hpp"

namespace packsim::cli {
namespace {

int check(const std::vector<std::string>& files, bool quiet) {
  int bad = 0;
  for (const auto& f : files) {
    Diagnostics diags;
    if (std::filesystem::path(f).extension() == ".dbc") {
      const auto r = can::load_dbc_file(f);
      if (r.ok()) {
        if (!quiet)
          std::printf("ok: %s (DBC, %zu messages)\n", f.c_str(), r.database.messages.size());
      } else {
        ++bad;
        std::fputs(r.diagnostics.format().c_str(), stderr);
      }
      continue;
    }
    const config::FileKind kind = config::detect_kind(f, diags);
    const char* what = "?";
    switch (kind) {
      case config::FileKind::kScenario:
        what = "scenario";
        if (const auto sc = config::load_scenario(f, diags)) {
          // What only the assembled run can tell: the reference BMS's limits against the cell's.
          const sim::SetupResult r = sim::Session(*sc).validate_bms();
          if (!r.ok) diags.error(sc->bms_where, "bms: " + r.message);
        }
        break;
      case config::FileKind::kPack:
        what = "pack";
        config::load_pack(f, diags);
        break;
      case config::FileKind::kCell:
        what = "cell model";
        config::load_cell_type(f, diags);
        break;
      case config::FileKind::kProfile: {
        // A profile is resolved against a pack; check it against a generic one (96 channels in
        // modules of 12, two sensors per module, 1 ms ticks). Scenarios check it for their own
        // pack.
        what = "protocol profile";
        const config::ProfileLayout layout{96, 16, 8, 12, 2, 1'000'000, {}};
        config::load_profile(f, layout, diags);
        break;
      }
      case config::FileKind::kUnknown:
        break;
    }
    if (diags.empty()) {
      if (!quiet) std::printf("ok: %s (%s)\n", f.c_str(), what);
    } else {
      ++bad;
      std::fputs(diags.format().c_str(), stderr);
    }
  }
  if (bad > 0) {
    std::fprintf(stderr, "%d of %zu file(s) have errors\n", bad, files.size());
    return kExitBadInput;
  }
  return kExitOk;
}

}  // namespace

void add_check_command(CLI::App& app, Context& ctx) {
  auto files = std::make_shared<std::vector<std::string>>();
  auto quiet = std::make_shared<bool>(false);
  CLI::App* sub =
      app.add_subcommand("check", "Validate scenario, pack, cell model, profile and DBC files");
  sub->add_option("files", *files, "Files to check")->required();
  sub->add_flag("-q,--quiet", *quiet, "Print only errors");
  sub->callback([files, quiet, &ctx]() { ctx.exit_code = check(*files, *quiet); });
}

}  // namespace packsim::cli
