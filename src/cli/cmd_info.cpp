// packsim info PACK: what a pack configuration amounts to.
#include <cstdio>

#include "commands.hpp"
#include "packsim/config/loaders.hpp"
#include "packsim/sim/json.hpp"

namespace packsim::cli {
namespace {

int info(const std::string& file, bool json) {
  Diagnostics diags;
  std::optional<config::LoadedPack> pack;
  const config::FileKind kind = config::detect_kind(file, diags);
  if (kind == config::FileKind::kScenario) {
    if (auto sc = config::load_scenario(file, diags)) {
      pack = config::LoadedPack{sc->pack,      sc->cell,      sc->afe,     sc->shunt,
                                sc->pack_file, sc->cell_file, sc->afe_keys};
    }
  } else if (kind == config::FileKind::kPack) {
    pack = config::load_pack(file, diags);
  } else if (kind == config::FileKind::kCell) {
    diags.error({file, 1, 1}, "this is a cell model; `packsim info` takes a pack (or a scenario)");
  }
  if (!pack) {
    std::fputs(diags.format().c_str(), stderr);
    return kExitBadInput;
  }
  const model::PackSpec& s = pack->spec;
  const model::CellType& c = pack->cell;
  const int cells = s.series * s.parallel;
  const int gpm = s.groups_per_module > 0 ? s.groups_per_module : s.series;
  const int modules = (s.series + gpm - 1) / gpm;
  const double cap_ah = c.capacity_as / 3600.0 * s.parallel;
  const double v_nom = c.v_nominal * s.series;
  const double energy_kwh = cap_ah * v_nom * 1e-3;
  const double mass_kg = cells * c.mass_kg + s.extra_mass_kg;
  if (json) {
    sim::JsonWriter j;
    j.begin_object();
    j.field("name", s.name)
        .field("file", pack->file)
        .field("cell", c.name)
        .field("cell_file", pack->cell_file);
    j.field("series", s.series)
        .field("parallel", s.parallel)
        .field("cells", cells)
        .field("modules", modules);
    j.field("nominal_voltage_v", v_nom)
        .field("min_voltage_v", c.v_min * s.series)
        .field("max_voltage_v", c.v_max * s.series);
    j.field("capacity_ah", cap_ah).field("energy_kwh", energy_kwh).field("mass_kg", mass_kg);
    j.field("cell_mass_kg", cells * c.mass_kg);
    j.end_object();
    std::fputs(j.str().c_str(), stdout);
    return kExitOk;
  }
  std::printf("pack        %s (%s)\n", s.name.c_str(), pack->file.c_str());
  std::printf("cell        %s, %s, %.3f Ah (%s)\n", c.name.c_str(), c.chemistry.c_str(),
              c.capacity_as / 3600.0, pack->cell_file.c_str());
  std::printf("topology    %ds%dp = %d cells in %d module(s) of %d group(s)\n", s.series,
              s.parallel, cells, modules, gpm);
  std::printf("voltage     %.1f V nominal (%.1f .. %.1f V)\n", v_nom, c.v_min * s.series,
              c.v_max * s.series);
  std::printf("capacity    %.2f Ah\n", cap_ah);
  std::printf("energy      %.3f kWh nominal\n", energy_kwh);
  std::printf("mass        %.2f kg (cells %.2f kg + other %.2f kg)\n", mass_kg, cells * c.mass_kg,
              s.extra_mass_kg);
  return kExitOk;
}

}  // namespace

void add_info_command(CLI::App& app, Context& ctx) {
  auto file = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  CLI::App* sub =
      app.add_subcommand("info", "Describe a pack: cells, voltage, capacity, energy, mass");
  sub->add_option("pack", *file, "Pack (or scenario) file")->required();
  sub->add_flag("--json", *json, "Print JSON");
  sub->callback([file, json, &ctx]() { ctx.exit_code = info(*file, *json); });
}

}  // namespace packsim::cli
