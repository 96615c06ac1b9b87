// models/*.toml -> model::CellType, following docs/cell-model.md.
#include <toml++/toml.h>

#include <cmath>

#include "packsim/config/loaders.hpp"
#include "packsim/config/toml_reader.hpp"

namespace packsim::config {
namespace {

using model::GridTable;
using model::UniformAxis;

// A grid written as an explicit array must be uniform and strictly increasing.
std::optional<UniformAxis> read_axis(TableReader& t, std::string_view key, double offset,
                                     std::optional<Range> range = std::nullopt) {
  const auto values = t.numbers(key, Need::kRequired);
  if (!values) return std::nullopt;
  if (values->empty()) {
    t.error(key, "expected at least one grid point");
    return std::nullopt;
  }
  const auto n = values->size();
  if (range) {
    for (double v : *values) {
      if (v < range->min || v > range->max) {
        t.error(key, "grid point " + format_number(v) + " outside [" + format_number(range->min) +
                         ", " + format_number(range->max) + "]");
        return std::nullopt;
      }
    }
  }
  UniformAxis axis;
  axis.start = values->front() + offset;
  axis.count = static_cast<int>(n);
  if (n == 1) return axis;
  const double step = (values->back() - values->front()) / static_cast<double>(n - 1);
  if (!(step > 0.0)) {
    t.error(key, "grid must be strictly increasing");
    return std::nullopt;
  }
  for (std::size_t i = 0; i < n; ++i) {
    const double expected = values->front() + step * static_cast<double>(i);
    if (std::fabs((*values)[i] - expected) > 1e-6 * step) {
      t.error(key, "grid must be uniform (tables are looked up on uniform grids): point " +
                       std::to_string(i) + " is " + format_number((*values)[i]) + ", expected " +
                       format_number(expected));
      return std::nullopt;
    }
  }
  axis.step = step;
  return axis;
}

// A [temp][soc] matrix with the given shape and every value in range (in `unit`).
std::optional<std::vector<std::vector<double>>> read_matrix(TableReader& t, std::string_view key,
                                                            const UniformAxis& soc,
                                                            const UniformAxis& temp, Range range,
                                                            const char* unit,
                                                            Need need = Need::kRequired) {
  auto m = t.matrix(key, need);
  if (!m) return std::nullopt;
  if (static_cast<int>(m->size()) != temp.count) {
    t.error(key, "has " + std::to_string(m->size()) + " rows; expected one per temperature (" +
                     std::to_string(temp.count) + ")");
    return std::nullopt;
  }
  for (std::size_t r = 0; r < m->size(); ++r) {
    if (static_cast<int>((*m)[r].size()) != soc.count) {
      t.error(key, "row " + std::to_string(r) + " has " + std::to_string((*m)[r].size()) +
                       " values; expected one per SOC point (" + std::to_string(soc.count) + ")");
      return std::nullopt;
    }
    for (double v : (*m)[r]) {
      const bool low = range.min_exclusive ? !(v > range.min) : !(v >= range.min);
      if (low || !(v <= range.max)) {
        t.error(key, "value " + format_number(v) + " in row " + std::to_string(r) +
                         " is out of range; expected " +
                         (range.min_exclusive ? "above " : "between ") + format_number(range.min) +
                         (range.min_exclusive ? " up to " : " and ") + format_number(range.max) +
                         " " + unit);
        return std::nullopt;
      }
    }
  }
  return m;
}

constexpr double kEntropicSpanK = 100.0;  // single-row OCV + entropic: rows at T_row -/+ this
constexpr double kMaxEntropicVPerK = 0.01;
// A cell's R0 or RC resistance: a coin cell's tens of ohms, with room.
constexpr Range kCellOhm{0.0, 1e3, false};

// [runaway]: the Arrhenius chain's reaction set, venting, runaway criterion and the databank's
// energy calibration (docs/faults.md, "Thermal runaway").
void read_runaway(TableReader& t, model::CellType& c) {
  using plausible::kZeroCelsius;
  model::RunawayParams p;
  const auto set = t.choice("reactions", {"kim2007", "hu2020"}, Need::kRequired);
  bool ok = true;
  p = model::with_reaction_set(p, model::reaction_set_from_name(set.value_or("kim2007"), ok));
  // Temperatures: from warm storage to well past any vent or separator.
  const Range hot = between(kZeroCelsius + 30.0, kZeroCelsius + 400.0);
  p.activity_k = t.quantity("activity_temperature", Dimension::kTemperature, Need::kOptional, hot)
                     .value_or(p.activity_k);
  p.vent_k = t.quantity("vent_temperature", Dimension::kTemperature, Need::kRequired, hot)
                 .value_or(p.vent_k);
  const double cell_mass = c.mass_kg > 0.0 ? c.mass_kg : 100.0;
  p.vent_mass_kg =
      t.quantity("vent_mass", Dimension::kMass, Need::kOptional, between(0.0, cell_mass))
          .value_or(0.0);
  p.vent_duration_s =
      t.quantity("vent_duration", Dimension::kTime, Need::kOptional, above(0.0, 3600.0))
          .value_or(p.vent_duration_s);
  p.vent_cooling_j =
      t.quantity("vent_cooling", Dimension::kEnergy, Need::kOptional, between(0.0, 1e6))
          .value_or(0.0);
  // 1 K/s is the usual definition of runaway (Feng et al. 2018); 0.01 .. 1000 K/s allowed.
  p.runaway_rate_k_per_s = t.number("runaway_rate_k_per_s", Need::kOptional, between(0.01, 1000.0))
                               .value_or(p.runaway_rate_k_per_s);
  p.separator_collapse_k =
      t.quantity("separator_collapse", Dimension::kTemperature, Need::kOptional, hot).value_or(0.0);
  p.short_ohm =
      t.quantity("short_resistance", Dimension::kResistance, Need::kOptional, between(1e-6, 10.0))
          .value_or(p.short_ohm);
  p.short_duration_s =
      t.quantity("short_duration", Dimension::kTime, Need::kOptional, between(0.0, 600.0))
          .value_or(p.short_duration_s);
  p.burn_duration_s =
      t.quantity("burn_duration", Dimension::kTime, Need::kOptional, between(0.01, 600.0))
          .value_or(p.burn_duration_s);
  const auto soc = t.numbers("total_heat_soc", Need::kRequired);
  const auto kj = t.numbers("total_heat_kj", Need::kRequired);
  if (soc && kj) {
    bool good = !soc->empty();
    if (soc->empty()) t.error("total_heat_soc", "expected at least one SOC point");
    if (soc->size() != kj->size()) {
      t.error("total_heat_kj", "has " + std::to_string(kj->size()) +
                                   " values; expected one per total_heat_soc point (" +
                                   std::to_string(soc->size()) + ")");
      good = false;
    }
    for (std::size_t i = 0; i < soc->size(); ++i) {
      if (!((*soc)[i] >= 0.0 && (*soc)[i] <= 1.0) || (i > 0 && !((*soc)[i] > (*soc)[i - 1]))) {
        t.error("total_heat_soc", "point " + std::to_string(i) + " (" + format_number((*soc)[i]) +
                                      ") out of order or range; expected increasing SOC in [0, 1]");
        good = false;
      }
    }
    // A cell's runaway: a coin cell's tens of joules to a large prismatic cell's tens of MJ.
    for (std::size_t i = 0; i < kj->size(); ++i) {
      if (!((*kj)[i] > 0.0 && (*kj)[i] <= 1e5)) {
        t.error("total_heat_kj", "value " + format_number((*kj)[i]) + " at point " +
                                     std::to_string(i) +
                                     " is out of range; expected in (0, 1e5] kJ");
        good = false;
      }
    }
    if (good) {
      p.total_heat_soc = *soc;
      p.total_heat_j.clear();
      for (double v : *kj) p.total_heat_j.push_back(v * 1e3);
    }
  }
  p.body_fraction =
      t.quantity("body_fraction", Dimension::kRatio, Need::kRequired, between(0.0, 1.0))
          .value_or(p.body_fraction);
  p.ejected_mass_kg =
      t.quantity("ejected_mass", Dimension::kMass, Need::kRequired, between(0.0, 0.9 * cell_mass))
          .value_or(0.0);
  if (p.vent_mass_kg > p.ejected_mass_kg && p.ejected_mass_kg > 0.0)
    t.error("vent_mass", "exceeds ejected_mass; expected the vent's part of the ejected mass");
  p.impingement_share =
      t.quantity("impingement", Dimension::kRatio, Need::kOptional, between(0.0, 1.0))
          .value_or(0.0);
  p.overcharge_heat = t.boolean("overcharge_heat").value_or(true);
  t.finish();
  c.runaway = p;
}

}  // namespace

std::optional<model::CellType> load_cell_type(const std::filesystem::path& path,
                                              Diagnostics& diags) {
  const std::size_t errors_before = diags.size();
  const auto file = TomlFile::load(path, diags);
  if (!file) return std::nullopt;
  TableReader root(file->root(), "", file->name(), diags);
  model::CellType c;

  if (auto t = root.table("cell", Need::kRequired)) {
    c.name = t->string("name", Need::kRequired).value_or("");
    c.chemistry = t->string("chemistry").value_or("");
    c.format = t->string("format").value_or("");
    c.source = t->string("source").value_or("");
    // 1 mAh (a hearing-aid cell) to 10 kAh (ten times the largest prismatic cells).
    c.capacity_as =
        t->quantity("capacity", Dimension::kCharge, Need::kRequired, between(3.6, 3.6e7))
            .value_or(1.0);
    c.coulombic_efficiency =
        t->quantity("coulombic_efficiency", Dimension::kRatio, Need::kOptional, between(0.5, 1.0))
            .value_or(1.0);
    c.v_min = t->quantity("v_min", Dimension::kVoltage, Need::kRequired, plausible::cell_voltage())
                  .value_or(0.0);
    c.v_max = t->quantity("v_max", Dimension::kVoltage, Need::kRequired, plausible::cell_voltage())
                  .value_or(0.0);
    c.v_nominal = t->quantity("nominal_voltage", Dimension::kVoltage, Need::kOptional,
                              plausible::cell_voltage())
                      .value_or(0.5 * (c.v_min + c.v_max));
    if (c.v_max <= c.v_min && c.v_max > 0.0) t->error("v_max", "must be above v_min");
    t->finish();
  }
  if (auto t = root.table("thermal", Need::kRequired)) {
    // One cell: 1 g .. 100 kg, 0.1 cm2 .. 10 m2; specific heats of solids; still air to boiling.
    c.mass_kg =
        t->quantity("mass", Dimension::kMass, Need::kRequired, between(1e-3, 100.0)).value_or(0.0);
    c.specific_heat =
        t->quantity("specific_heat", Dimension::kSpecificHeat, Need::kRequired, between(100.0, 1e4))
            .value_or(0.0);
    c.surface_area_m2 =
        t->quantity("surface_area", Dimension::kArea, Need::kRequired, between(1e-5, 10.0))
            .value_or(0.0);
    c.h_conv = t->quantity("h_conv", Dimension::kHeatTransfer, Need::kRequired, between(0.0, 1e5))
                   .value_or(0.0);
    t->finish();
  }
  if (auto t = root.table("ocv", Need::kRequired)) {
    const auto soc = read_axis(*t, "soc", 0.0, between(-0.2, 1.2));
    const auto temp = read_axis(*t, "temp_degc", model::kZeroCelsiusK, between(-60, 150));
    std::optional<std::vector<std::vector<double>>> ocv;
    std::optional<std::vector<double>> entropic;
    if (!soc || !temp) {
      t->node("ocv_v");  // not checked without its axes, but not unknown either
      t->node("entropic_v_per_k");
    } else {
      ocv = read_matrix(*t, "ocv_v", *soc, *temp, plausible::cell_voltage(), "V");
      entropic = t->numbers("entropic_v_per_k");
      if (entropic && static_cast<int>(entropic->size()) != soc->count) {
        t->error("entropic_v_per_k", "has " + std::to_string(entropic->size()) +
                                         " values; expected one per SOC point (" +
                                         std::to_string(soc->count) + ")");
        entropic.reset();
      }
      // Cells' dOCV/dT is a fraction of a millivolt per kelvin; 10 mV/K is a unit slip.
      for (std::size_t i = 0; entropic && i < entropic->size(); ++i) {
        if (!(std::fabs((*entropic)[i]) <= kMaxEntropicVPerK)) {
          t->error("entropic_v_per_k",
                   "value " + format_number((*entropic)[i]) + " at point " + std::to_string(i) +
                       " is out of range; expected between " + format_number(-kMaxEntropicVPerK) +
                       " and " + format_number(kMaxEntropicVPerK) + " V/K");
          entropic.reset();
        }
      }
    }
    if (ocv) {
      const auto ns = static_cast<std::size_t>(soc->count);
      if (temp->count == 1 && entropic) {
        // One measured row plus dOCV/dT: two rows either side, linear in T between them.
        const UniformAxis y{temp->start - kEntropicSpanK, kEntropicSpanK, 3};
        c.ocv = GridTable(*soc, y, model::kOcvFields);
        for (std::size_t i = 0; i < ns; ++i) {
          for (int r = 0; r < 3; ++r) {
            const int ix = static_cast<int>(i);
            c.ocv.at(ix, r, model::kOcv) = (*ocv)[0][i] + (r - 1) * kEntropicSpanK * (*entropic)[i];
            c.ocv.at(ix, r, model::kDocvDt) = (*entropic)[i];
          }
        }
      } else {
        c.ocv = GridTable(*soc, *temp, model::kOcvFields);
        for (int r = 0; r < temp->count; ++r) {
          for (std::size_t i = 0; i < ns; ++i) {
            const int ix = static_cast<int>(i);
            const auto rr = static_cast<std::size_t>(r);
            c.ocv.at(ix, r, model::kOcv) = (*ocv)[rr][i];
            double slope = 0.0;
            if (entropic) {
              slope = (*entropic)[i];
            } else if (temp->count > 1) {
              const int lo = std::max(0, r - 1), hi = std::min(temp->count - 1, r + 1);
              slope = ((*ocv)[static_cast<std::size_t>(hi)][i] -
                       (*ocv)[static_cast<std::size_t>(lo)][i]) /
                      (temp->step * (hi - lo));
            }
            c.ocv.at(ix, r, model::kDocvDt) = slope;
          }
        }
      }
    }
    t->finish();
  }
  if (auto t = root.table("dynamic", Need::kRequired)) {
    const auto soc = read_axis(*t, "soc", 0.0, between(-0.2, 1.2));
    const auto temp = read_axis(*t, "temp_degc", model::kZeroCelsiusK, between(-60, 150));
    auto rc_tables = t->tables("rc");
    if (rc_tables.size() > static_cast<std::size_t>(model::kMaxRcPairs)) {
      t->error("rc", "at most " + std::to_string(model::kMaxRcPairs) +
                         " RC pairs are supported, got " + std::to_string(rc_tables.size()));
      rc_tables.erase(rc_tables.begin() + model::kMaxRcPairs, rc_tables.end());
    }
    if (!soc || !temp) {
      t->node("r0_discharge_ohm");
      t->node("r0_charge_ohm");
    } else {
      const auto r0d = read_matrix(*t, "r0_discharge_ohm", *soc, *temp, kCellOhm, "Ohm");
      auto r0c = read_matrix(*t, "r0_charge_ohm", *soc, *temp, kCellOhm, "Ohm", Need::kOptional);
      c.rc_pairs = static_cast<int>(rc_tables.size());
      c.dynamic = GridTable(*soc, *temp, model::kRcBase + model::kRcSourceFields * c.rc_pairs);
      for (std::size_t j = 0; j < rc_tables.size(); ++j) {
        auto& rt = rc_tables[j];
        const auto r = read_matrix(rt, "r_ohm", *soc, *temp, kCellOhm, "Ohm");
        const auto tau = read_matrix(rt, "tau_s", *soc, *temp, above(0.0, 1e6), "s");
        rt.finish();
        if (!r || !tau) continue;
        for (int iy = 0; iy < temp->count; ++iy)
          for (int ix = 0; ix < soc->count; ++ix) {
            const auto y = static_cast<std::size_t>(iy), x = static_cast<std::size_t>(ix);
            const int f = model::kRcBase + model::kRcSourceFields * static_cast<int>(j);
            c.dynamic.at(ix, iy, f) = (*r)[y][x];
            c.dynamic.at(ix, iy, f + 1) = (*tau)[y][x];
          }
      }
      if (r0d) {
        for (int iy = 0; iy < temp->count; ++iy)
          for (int ix = 0; ix < soc->count; ++ix) {
            const auto y = static_cast<std::size_t>(iy), x = static_cast<std::size_t>(ix);
            c.dynamic.at(ix, iy, model::kR0Discharge) = (*r0d)[y][x];
            c.dynamic.at(ix, iy, model::kR0Charge) = r0c ? (*r0c)[y][x] : (*r0d)[y][x];
          }
      }
    }
    t->finish();
  }
  if (auto t = root.table("hysteresis")) {
    // Fitted gammas are tens to hundreds; hysteresis voltages tens of millivolts.
    c.hyst_gamma = t->number("gamma", Need::kRequired, between(0.0, 1e6)).value_or(0.0);
    c.hyst_m =
        t->quantity("m", Dimension::kVoltage, Need::kRequired, between(-1.0, 1.0)).value_or(0.0);
    c.hyst_m0 =
        t->quantity("m0", Dimension::kVoltage, Need::kOptional, between(-1.0, 1.0)).value_or(0.0);
    t->finish();
  }
  if (auto t = root.table("runaway")) read_runaway(*t, c);
  root.finish();
  if (diags.size() != errors_before) return std::nullopt;
  return c;
}

}  // namespace packsim::config
