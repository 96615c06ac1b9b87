// packsim validate: replay the fitted models on their held-out measurements and print the errors.
#include <cstdio>

#include "commands.hpp"
#include "packsim/config/toml_reader.hpp"
#include "packsim/config/validation.hpp"
#include "packsim/sim/json.hpp"
#include "packsim/util/input_file.hpp"

namespace packsim::cli {
namespace {

struct ValidateArgs {
  std::string manifest;
  std::string root;
  bool json = false;
};

int validate(const ValidateArgs& a) {
  constexpr const char* kManifest = "data/measured/validation.toml";
  std::filesystem::path root = a.root;
  if (root.empty()) {
    // The working directory (a checkout), else the first data directory that ships the manifest
    // and the measurements it names.
    const auto cwd = std::filesystem::current_path();
    root = config::resolve_path(cwd, kManifest).parent_path().parent_path().parent_path();
    if (a.manifest.empty() && !input_exists(root / kManifest)) {
      std::fprintf(stderr, "validation manifest '%s' %s\n", kManifest,
                   config::referenced_file_problem(root / kManifest, cwd, kManifest).c_str());
      return kExitBadInput;
    }
  }
  const std::filesystem::path manifest =
      a.manifest.empty() ? root / kManifest : std::filesystem::path(a.manifest);
  Diagnostics diags;
  const auto cases = config::load_validation_manifest(manifest, diags);
  if (!diags.empty()) {
    std::fputs(diags.format().c_str(), stderr);
    return kExitBadInput;
  }
  sim::JsonWriter j;
  j.begin_array();
  if (!a.json) {
    std::printf("%-24s %9s %10s %9s %7s %14s %8s  %s\n", "case", "RMS [mV]", "p99.9 [mV]",
                "mean [mV]", "rows", "rise RMS [K]", "bound", "");
  }
  int failures = 0;
  for (const auto& c : cases) {
    const auto r = config::run_validation_case(c, root, diags);
    if (!r) {
      std::fputs(diags.format().c_str(), stderr);
      return kExitBadInput;
    }
    const bool over = (c.bound_rms_mv && r->rms_mv > *c.bound_rms_mv) ||
                      (c.bound_p999_mv && r->p999_mv > *c.bound_p999_mv) ||
                      (c.bound_rise_rms_k && r->rise_error_rms_k > *c.bound_rise_rms_k);
    failures += over ? 1 : 0;
    if (a.json) {
      j.begin_object();
      j.field("id", r->id)
          .field("rms_mv", r->rms_mv)
          .field("p999_mv", r->p999_mv)
          .field("mean_mv", r->mean_mv);
      j.field("rows_scored", static_cast<std::uint64_t>(r->rows_scored))
          .field("table_clamps", r->table_clamps);
      if (r->has_rise) {
        j.field("rise_error_rms_k", r->rise_error_rms_k)
            .field("rise_error_maxabs_k", r->rise_error_maxabs_k);
        j.field("rise_peak_measured_k", r->rise_peak_measured_k)
            .field("rise_peak_model_k", r->rise_peak_model_k);
      }
      j.field("within_bound", !over);
      j.end_object();
    } else {
      char rise[32] = "-";
      if (r->has_rise) std::snprintf(rise, sizeof rise, "%.2f", r->rise_error_rms_k);
      char bound[32] = "-";
      if (c.bound_rms_mv) std::snprintf(bound, sizeof bound, "%.1f", *c.bound_rms_mv);
      std::printf("%-24s %9.2f %10.1f %9.2f %7zu %14s %8s  %s\n", r->id.c_str(), r->rms_mv,
                  r->p999_mv, r->mean_mv, r->rows_scored, rise, bound, over ? "OVER BOUND" : "");
    }
  }
  j.end_array();
  if (a.json) std::fputs(j.str().c_str(), stdout);
  return failures ? kExitRuntime : kExitOk;
}

}  // namespace

void add_validate_command(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<ValidateArgs>();
  CLI::App* sub =
      app.add_subcommand("validate", "Replay the fitted cell models on held-out measurements");
  sub->add_option("manifest", args->manifest,
                  "Validation manifest (default: data/measured/validation.toml in the working "
                  "directory or the data directory)");
  sub->add_option("--root", args->root, "Directory the manifest's paths are relative to");
  sub->add_flag("--json", args->json, "One JSON object per case");
  sub->callback([args, &ctx]() { ctx.exit_code = validate(*args); });
}

}  // namespace packsim::cli
