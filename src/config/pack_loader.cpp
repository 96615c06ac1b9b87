// configs/*.toml -> model::PackSpec (+ the cell type it names).
#include <toml++/toml.h>

#include <algorithm>
#include <cmath>

#include "packsim/config/loaders.hpp"
#include "packsim/config/toml_reader.hpp"

namespace packsim::config {

namespace {

// A cell is named by its index (`cell = 17`) or by group and position (`group = 5, position = 1`).
std::optional<int> read_cell_ref(TableReader& t, std::string_view index_key, int ns, int np) {
  const int n = ns * np;
  if (t.has(index_key)) {
    const auto c = t.integer(index_key, Need::kRequired, 0, n - 1);
    if (!c) return std::nullopt;
    return static_cast<int>(*c);
  }
  const auto g = t.integer("group", Need::kOptional, 0, ns - 1);
  const auto p = t.integer("position", Need::kOptional, 0, np - 1);
  if (g && p) return static_cast<int>(*g) * np + static_cast<int>(*p);
  if (!t.has("group") && !t.has("position")) {
    t.error_here("name the cell with '" + std::string(index_key) + " = N' (0.." +
                 std::to_string(n - 1) + ") or with 'group' and 'position'");
  } else if (t.has("group") != t.has("position")) {
    // Only when one is missing: a value out of range has been reported already.
    t.error_here("'group' and 'position' go together");
  }
  return std::nullopt;
}

// An integer key as written, for messages about a profile that cannot carry its value.
KeyRef integer_key(const TableReader& t, std::string_view key) {
  KeyRef k;
  k.key = t.key_path(key);
  k.where = t.where(key);
  if (const auto* n = t.table_ref().get(key); n && n->as_integer())
    k.value = std::to_string(n->as_integer()->get());
  return k;
}

}  // namespace

std::optional<LoadedPack> load_pack(const std::filesystem::path& path, Diagnostics& diags) {
  const std::size_t errors_before = diags.size();
  const auto file = TomlFile::load(path, diags);
  if (!file) return std::nullopt;
  TableReader root(file->root(), "", file->name(), diags);
  LoadedPack out;
  out.file = file->name();
  model::PackSpec& s = out.spec;

  std::optional<model::CellType> cell;
  if (auto t = root.table("pack", Need::kRequired)) {
    s.name = t->string("name", Need::kRequired).value_or("");
    if (const auto cell_path = t->string("cell", Need::kRequired)) {
      const auto resolved = resolve_path(file->directory(), *cell_path);
      if (const auto problem = referenced_file_problem(resolved, file->directory(), *cell_path);
          !problem.empty()) {
        t->error("cell", "cell model file '" + *cell_path + "' " + problem);
      } else {
        out.cell_file = resolved.string();
        cell = load_cell_type(resolved, diags);
      }
    }
    s.series = static_cast<int>(t->integer("series", Need::kRequired, 1, 10000).value_or(1));
    s.parallel = static_cast<int>(t->integer("parallel", Need::kRequired, 1, 10000).value_or(1));
    // Each count alone may be large, not both: a million cells is about 40 MWh of 280 Ah LFP
    // cells, and several hundred MB of state; more would exhaust memory before the first tick.
    constexpr long long kMaxCells = 1'000'000;
    if (static_cast<long long>(s.series) * s.parallel > kMaxCells) {
      t->error("parallel", "series x parallel = " +
                               std::to_string(static_cast<long long>(s.series) * s.parallel) +
                               " cells; expected at most " + std::to_string(kMaxCells));
    }
    s.groups_per_module =
        static_cast<int>(t->integer("groups_per_module", Need::kOptional, 1, 10000).value_or(0));
    // The AFE's module size is its own key, else the pack's modules, else one module of every
    // group; each is the key a profile too small for the pack must name.
    out.afe_keys.series = integer_key(*t, "series");
    out.afe_keys.cells_per_module =
        integer_key(*t, s.groups_per_module > 0 ? std::string_view("groups_per_module") : "series");
    // Enclosure and electronics: up to a 100 t container.
    s.extra_mass_kg =
        t->quantity("extra_mass", Dimension::kMass, Need::kOptional, between(0.0, 1e5))
            .value_or(0.0);
    s.insulation_ohm = t->quantity("insulation_resistance", Dimension::kResistance, Need::kOptional,
                                   {0.0, 1e12, true})
                           .value_or(s.insulation_ohm);
    t->finish();
  }
  const int ns = s.series, np = s.parallel;

  if (auto t = root.table("spread")) {
    s.spread.capacity_rel_sigma =
        t->quantity("capacity", Dimension::kRatio, Need::kOptional, between(0, 0.3)).value_or(0.0);
    s.spread.r0_rel_sigma =
        t->quantity("r0", Dimension::kRatio, Need::kOptional, between(0, 0.3)).value_or(0.0);
    s.spread.soc_sigma =
        t->quantity("soc", Dimension::kRatio, Need::kOptional, between(0, 0.3)).value_or(0.0);
    s.spread.truncate_sigma =
        t->number("truncate_sigma", Need::kOptional, {0.0, 10.0, true}).value_or(3.0);
    // A scale of 1 - sigma * truncate_sigma must stay well above zero: a cell with no capacity or
    // no resistance is not a spread, it is a broken pack (and a numerically singular one).
    for (const auto& [key, sigma] :
         {std::pair<const char*, double>{"capacity", s.spread.capacity_rel_sigma},
          {"r0", s.spread.r0_rel_sigma}}) {
      const double low = 1.0 - sigma * s.spread.truncate_sigma;
      if (low < 0.1) {
        t->error(key, "a spread of " + format_number(sigma) + " truncated at " +
                          format_number(s.spread.truncate_sigma) + " sigma can scale a cell's " +
                          key + " to " + format_number(low) +
                          "; expected sigma * truncate_sigma <= 0.9");
      }
    }
    t->finish();
  }
  for (auto& t : root.tables("override")) {
    model::CellOverride o;
    o.cell = -1;
    if (const auto c = read_cell_ref(t, "cell", ns, np)) o.cell = *c;
    if (auto v = t.quantity("capacity", Dimension::kRatio, Need::kOptional, {0.0, 2.0, true}))
      o.capacity_scale = v;
    if (auto v = t.quantity("r0", Dimension::kRatio, Need::kOptional, {0.0, 100.0, true}))
      o.r0_scale = v;
    if (auto v = t.quantity("soc", Dimension::kRatio, Need::kOptional, between(0.0, 1.0)))
      o.soc = v;
    if (auto v = t.quantity("temperature", Dimension::kTemperature, Need::kOptional,
                            plausible::cell_temperature()))
      o.temp_k = v;
    if (!t.has("capacity") && !t.has("r0") && !t.has("soc") && !t.has("temperature")) {
      t.error_here("an override changes nothing; expected capacity, r0, soc or temperature");
    }
    for (const auto& prev : s.overrides) {
      if (o.cell >= 0 && prev.cell == o.cell) {
        t.error("cell", "cell " + std::to_string(o.cell) +
                            " is overridden twice; put its values in one [[override]]");
      }
    }
    t.finish();
    s.overrides.push_back(o);
  }
  if (auto t = root.table("interconnect")) {
    s.busbar_segment_ohm = t->quantity("busbar_segment", Dimension::kResistance, Need::kOptional,
                                       plausible::conductor())
                               .value_or(0.0);
    s.group_link_ohm =
        t->quantity("group_link", Dimension::kResistance, Need::kOptional, plausible::conductor())
            .value_or(0.0);
    s.lead_ohm =
        t->quantity("leads", Dimension::kResistance, Need::kOptional, plausible::conductor())
            .value_or(0.0);
    t->finish();
  }
  s.link.contactor_ohm = 1e-4;
  s.link.precharge_ohm = 20.0;
  s.link.dc_link_f = 0.0;
  if (auto t = root.table("contactors")) {
    s.link.contactor_ohm =
        t->quantity("resistance", Dimension::kResistance, Need::kOptional, plausible::conductor())
            .value_or(s.link.contactor_ohm);
    s.link.precharge_ohm = t->quantity("precharge_resistor", Dimension::kResistance,
                                       Need::kOptional, plausible::resistor())
                               .value_or(s.link.precharge_ohm);
    // DC links are millifarads; 100 F is a supercapacitor bank.
    s.link.dc_link_f = t->quantity("dc_link_capacitance", Dimension::kCapacitance, Need::kOptional,
                                   between(0.0, 100.0))
                           .value_or(0.0);
    t->finish();
  }
  if (auto t = root.table("thermal")) {
    model::ThermalSpec& th = s.thermal;
    // Conductances up to 10 kW/K: a thick copper bar between two cells is about 10 W/K; beyond
    // this range the thermal network's matrix loses its precision (at 1e25 W/K it is singular).
    const Range conductance = between(0.0, 1e4);
    th.grid_cols =
        static_cast<int>(t->integer("grid_columns", Need::kOptional, 1, 100000).value_or(0));
    th.cell_to_cell_w_per_k =
        t->quantity("cell_to_cell", Dimension::kThermalConductance, Need::kOptional, conductance)
            .value_or(0.0);
    th.module_to_module_w_per_k = t->quantity("module_to_module", Dimension::kThermalConductance,
                                              Need::kOptional, conductance)
                                      .value_or(0.0);
    if (auto v =
            t->quantity("cooling", Dimension::kThermalConductance, Need::kOptional, conductance))
      th.cooling_w_per_k = v;
    th.step_s = t->quantity("step", Dimension::kTime, Need::kOptional, {1e-4, 60.0, false})
                    .value_or(th.step_s);
    const int gpm = s.groups_per_module > 0 ? s.groups_per_module : ns;
    const int n_modules = (ns + gpm - 1) / gpm;
    for (auto& b : t->tables("barrier")) {
      // Between two cells (`cells = [a, b]`) or two modules (`modules = [a, b]`).
      const bool by_module = b.has("modules");
      const std::string_view key = by_module ? "modules" : "cells";
      const int limit = by_module ? n_modules : ns * np;
      const auto pair = b.numbers(key, Need::kRequired);
      const auto g =
          b.quantity("conductance", Dimension::kThermalConductance, Need::kRequired, conductance);
      // A fire barrier also stops the ejecta of a cell in runaway unless told otherwise.
      const bool blocks = b.boolean("blocks_impingement").value_or(true);
      if (by_module && b.has("cells")) {
        b.node("cells");  // reported here, not again as an unknown key
        b.error("cells", "give either 'cells' or 'modules', not both");
      }
      b.finish();
      if (!pair || !g) continue;
      if (pair->size() != 2) {
        b.error(key, "expected two indices, got " + std::to_string(pair->size()));
        continue;
      }
      bool ok = true;
      for (double c : *pair) {
        if (c != std::floor(c)) {
          b.error(key, "index " + format_number(c) + " is not a whole number");
          ok = false;
        } else if (c < 0 || c >= limit) {
          b.error(key,
                  "index " + format_number(c) + " out of range 0.." + std::to_string(limit - 1));
          ok = false;
        }
      }
      if (ok && (*pair)[0] == (*pair)[1]) {
        b.error(key, "a barrier needs two different " + std::string(key));
        ok = false;
      }
      // Modules touch only their neighbours (each module's last row faces the next one's first).
      if (ok && by_module && std::fabs((*pair)[0] - (*pair)[1]) != 1.0) {
        b.error(key, "modules " + format_number((*pair)[0]) + " and " + format_number((*pair)[1]) +
                         " are not neighbours; a module barrier is between modules m and m+1");
        ok = false;
      }
      if (ok) {
        const int a0 = static_cast<int>((*pair)[0]), a1 = static_cast<int>((*pair)[1]);
        for (const auto& prev : th.barriers) {
          if (prev.modules == by_module && std::min(prev.cell_a, prev.cell_b) == std::min(a0, a1) &&
              std::max(prev.cell_a, prev.cell_b) == std::max(a0, a1)) {
            b.error(key, "this pair already has a barrier; give each pair one");
            ok = false;
          }
        }
      }
      if (ok) {
        th.barriers.push_back(
            {static_cast<int>((*pair)[0]), static_cast<int>((*pair)[1]), *g, by_module, blocks});
      }
    }
    std::vector<int> impinging;  // every table's cell, valid or not: one table per cell
    for (auto& b : t->tables("impingement")) {
      // The cells a cell's vent faces: its ejecta land there instead of on its neighbours.
      const auto venting = b.integer("cell", Need::kRequired, 0, ns * np - 1);
      const auto onto = b.numbers("onto", Need::kRequired);
      const auto share = b.quantity("share", Dimension::kRatio, Need::kOptional, between(0.0, 1.0));
      b.finish();
      if (!venting || !onto) continue;
      model::ImpingementSpec imp;
      imp.cell = static_cast<int>(*venting);
      imp.share = share;
      bool ok = true;
      if (onto->empty()) {
        b.error("onto", "expected at least one cell");
        ok = false;
      }
      for (double c : *onto) {
        if (c != std::floor(c) || c < 0 || c >= ns * np) {
          b.error("onto", "cell " + format_number(c) + " is not a cell of the pack; expected 0.." +
                              std::to_string(ns * np - 1));
          ok = false;
        } else if (static_cast<int>(c) == imp.cell) {
          b.error("onto", "cell " + format_number(c) + " is the venting cell itself");
          ok = false;
        } else if (std::find(imp.onto.begin(), imp.onto.end(), static_cast<int>(c)) !=
                   imp.onto.end()) {
          b.error("onto", "cell " + format_number(c) + " is named twice");
          ok = false;
        } else {
          imp.onto.push_back(static_cast<int>(c));
        }
      }
      if (std::find(impinging.begin(), impinging.end(), imp.cell) != impinging.end()) {
        b.error("cell", "cell " + std::to_string(imp.cell) +
                            " already has an impingement table; give each cell one");
        ok = false;
      }
      impinging.push_back(imp.cell);
      if (ok) th.impingement.push_back(std::move(imp));
    }
    t->finish();
  }
  // The measurement chain the BMS sees. Defaults: an LTC681x-like AFE without errors, hardware
  // thresholds just outside the cell's window, no temperature sensors unless configured.
  model::AfeSpec& afe = out.afe;
  if (cell) {
    afe.ov_threshold = cell->v_max + 0.1;
    afe.uv_threshold = std::max(0.0, cell->v_min - 0.2);
  }
  if (auto t = root.table("afe")) {
    afe.cells_per_module =
        static_cast<int>(t->integer("cells_per_module", Need::kOptional, 1, 64).value_or(0));
    if (afe.cells_per_module > 0)
      out.afe_keys.cells_per_module = integer_key(*t, "cells_per_module");
    // One channel measures one cell group: its range, steps and errors are a cell's voltages.
    const double cell_v = plausible::kCellVoltageV;
    afe.v_lsb = t->quantity("resolution", Dimension::kVoltage, Need::kOptional, between(0.0, 1.0))
                    .value_or(afe.v_lsb);
    afe.v_min =
        t->quantity("min_voltage", Dimension::kVoltage, Need::kOptional, between(-cell_v, cell_v))
            .value_or(afe.v_min);
    afe.v_max =
        t->quantity("max_voltage", Dimension::kVoltage, Need::kOptional, plausible::cell_voltage())
            .value_or(afe.v_max);
    afe.v_noise_sigma =
        t->quantity("noise", Dimension::kVoltage, Need::kOptional, between(0.0, 1.0)).value_or(0.0);
    afe.v_gain_sigma =
        t->quantity("gain_error", Dimension::kRatio, Need::kOptional, between(0, 0.1))
            .value_or(0.0);
    afe.v_offset_sigma =
        t->quantity("offset_error", Dimension::kVoltage, Need::kOptional, between(0.0, 1.0))
            .value_or(0.0);
    afe.ov_threshold =
        t->quantity("ov_threshold", Dimension::kVoltage, Need::kOptional, plausible::cell_voltage())
            .value_or(afe.ov_threshold);
    afe.uv_threshold =
        t->quantity("uv_threshold", Dimension::kVoltage, Need::kOptional, between(0.0, cell_v))
            .value_or(afe.uv_threshold);
    afe.balance_ohm = t->quantity("balance_resistor", Dimension::kResistance, Need::kOptional,
                                  plausible::resistor())
                          .value_or(afe.balance_ohm);
    afe.balance_heat_to_cell =
        t->quantity("balance_heat_to_cell", Dimension::kRatio, Need::kOptional, between(0, 1))
            .value_or(0.0);
    if (afe.v_max <= afe.v_min) t->error("max_voltage", "must be above min_voltage");
    if (auto tt = t->table("temperature")) {
      afe.sensors_per_module =
          static_cast<int>(tt->integer("sensors_per_module", Need::kOptional, 0, 64).value_or(0));
      if (afe.sensors_per_module > 0) out.afe_keys.sensors = integer_key(*tt, "sensors_per_module");
      // An NTC lags by seconds to minutes; its errors are kelvins, not hundreds of them.
      afe.ntc_tau_s =
          tt->quantity("time_constant", Dimension::kTime, Need::kOptional, above(0.0, 3600.0))
              .value_or(afe.ntc_tau_s);
      afe.t_lsb = tt->quantity("resolution", Dimension::kTemperatureDifference, Need::kOptional,
                               between(0.0, 10.0))
                      .value_or(afe.t_lsb);
      afe.t_noise_sigma = tt->quantity("noise", Dimension::kTemperatureDifference, Need::kOptional,
                                       between(0.0, 100.0))
                              .value_or(0.0);
      afe.t_offset_sigma = tt->quantity("offset_error", Dimension::kTemperatureDifference,
                                        Need::kOptional, between(0.0, 100.0))
                               .value_or(0.0);
      afe.die_temp_rise_k = tt->quantity("die_rise", Dimension::kTemperatureDifference,
                                         Need::kOptional, between(-100.0, 100.0))
                                .value_or(afe.die_temp_rise_k);
      auto placed = tt->tables("sensor");
      if (!placed.empty()) {
        out.afe_keys.sensors = {tt->key_path("sensor"), std::to_string(placed.size()) + " sensors",
                                placed.front().where()};
      }
      for (auto& st : placed) {
        model::NtcPlacement placement;
        const auto cells = st.numbers("cells", Need::kRequired);
        const auto weights = st.numbers("weights");
        st.finish();
        if (!cells) continue;
        bool ok = !cells->empty();
        if (cells->empty()) st.error("cells", "a sensor needs at least one cell to sit on");
        for (double c : *cells) {
          if (c < 0 || c >= ns * np || c != static_cast<int>(c)) {
            st.error("cells", "cell index " + format_number(c) + " out of range 0.." +
                                  std::to_string(ns * np - 1));
            ok = false;
          }
          placement.cells.push_back(static_cast<int>(c));
        }
        if (weights) {
          double sum = 0.0;
          for (double w : *weights) sum += w;
          if (weights->size() != cells->size() || std::fabs(sum - 1.0) > 1e-6) {
            st.error("weights", "expected one weight per cell, summing to 1");
            ok = false;
          }
          placement.weights = *weights;
        } else {
          placement.weights.assign(placement.cells.size(),
                                   1.0 / static_cast<double>(placement.cells.size()));
        }
        if (ok) afe.ntc.push_back(placement);
      }
      afe.t_rail_low_k = tt->quantity("min_temperature", Dimension::kTemperature, Need::kOptional,
                                      plausible::cell_temperature())
                             .value_or(afe.t_rail_low_k);
      afe.t_rail_high_k = tt->quantity("max_temperature", Dimension::kTemperature, Need::kOptional,
                                       plausible::cell_temperature())
                              .value_or(afe.t_rail_high_k);
      if (afe.t_rail_high_k <= afe.t_rail_low_k)
        tt->error("max_temperature", "must be above min_temperature");
      tt->finish();
    }
    // The vent-gas sensor in the enclosure (docs/faults.md for the defaults' sources).
    if (auto tg = t->table("gas_sensor")) {
      afe.gas_free_volume_m3 = tg->number("free_volume_l", Need::kOptional, above(0.0, 1e5))
                                   .value_or(afe.gas_free_volume_m3 * 1e3) *
                               1e-3;
      afe.gas_molar_mass_g_per_mol =
          tg->number("molar_mass_g_per_mol", Need::kOptional, above(1.0, 300.0))
              .value_or(afe.gas_molar_mass_g_per_mol);
      afe.gas_air_changes_per_h =
          tg->number("air_changes_per_h", Need::kOptional, between(0.0, 1e4)).value_or(0.0);
      afe.gas_tau_s =
          tg->quantity("time_constant", Dimension::kTime, Need::kOptional, between(0.0, 3600.0))
              .value_or(afe.gas_tau_s);
      afe.gas_lsb_ppm = tg->number("resolution_ppm", Need::kOptional, between(0.0, 1e5))
                            .value_or(afe.gas_lsb_ppm);
      afe.gas_max_ppm =
          tg->number("max_ppm", Need::kOptional, above(0.0, 1e6)).value_or(afe.gas_max_ppm);
      tg->finish();
    }
    // The insulation monitor (a Bender iso165C-like IMD).
    if (auto ti = t->table("insulation")) {
      afe.imd_max_ohm =
          ti->quantity("max_resistance", Dimension::kResistance, Need::kOptional, above(0.0, 1e12))
              .value_or(afe.imd_max_ohm);
      afe.imd_period_s =
          ti->quantity("period", Dimension::kTime, Need::kOptional, above(0.0, 3600.0))
              .value_or(afe.imd_period_s);
      afe.imd_error_ohm = ti->quantity("error_threshold", Dimension::kResistance, Need::kOptional,
                                       between(0.0, 1e12))
                              .value_or(afe.imd_error_ohm);
      afe.imd_warning_ohm = ti->quantity("warning_threshold", Dimension::kResistance,
                                         Need::kOptional, between(0.0, 1e12))
                                .value_or(afe.imd_warning_ohm);
      ti->finish();
    }
    t->finish();
  }
  if (auto t = root.table("current_sensor")) {
    model::ShuntSpec& sh = out.shunt;
    // A shunt's step, offset and noise are amperes (a thousand at most); its voltages a pack's.
    sh.i_lsb = t->quantity("resolution", Dimension::kCurrent, Need::kOptional, between(0.0, 100.0))
                   .value_or(sh.i_lsb);
    sh.i_offset_a = t->quantity("offset", Dimension::kCurrent, Need::kOptional, between(-1e3, 1e3))
                        .value_or(0.0);
    sh.i_gain_error =
        t->quantity("gain_error", Dimension::kRatio, Need::kOptional, between(-0.1, 0.1))
            .value_or(0.0);
    sh.i_noise_sigma =
        t->quantity("noise", Dimension::kCurrent, Need::kOptional, between(0.0, 1e3)).value_or(0.0);
    sh.v_lsb =
        t->quantity("voltage_resolution", Dimension::kVoltage, Need::kOptional, between(0.0, 100.0))
            .value_or(sh.v_lsb);
    sh.v_noise_sigma =
        t->quantity("voltage_noise", Dimension::kVoltage, Need::kOptional, between(0.0, 100.0))
            .value_or(0.0);
    t->finish();
  }
  root.finish();
  if (cell && !(cell->mass_kg * cell->specific_heat > 0.0)) {
    diags.error({out.cell_file, 0, 0}, "cell model has no thermal mass (mass * specific_heat)");
  }
  if (diags.size() != errors_before || !cell) return std::nullopt;
  out.cell = std::move(*cell);
  return out;
}

}  // namespace packsim::config
