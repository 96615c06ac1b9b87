// Energy books of a shipped pack with its real, fitted tables: 192 Kokam cells with capacity, R0
// and SOC spread, busbars and contactors, discharged and rested. Isothermal (the cells' heat
// capacity made huge) so the enthalpy each cell released has a closed form over its OCV table:
//   sum_c Q_c * integral_{z_end,c}^{z0,c} (OCV(z, T0) - T0 dOCV/dT(z, T0)) dz
// = energy at the pack terminals + heat in the cells and in the busbars between them + energy left
//   in the RC capacitors.
#include <catch2/catch.hpp>
#include <cmath>

#include "packsim/config/loaders.hpp"
#include "packsim/model/pack.hpp"

using namespace packsim;
using namespace packsim::model;

TEST_CASE("A shipped pack's energy books balance within 0.1 % with its real tables",
          "[pack][energy]") {
  Diagnostics diags;
  auto pack =
      config::load_pack(std::string(PACKSIM_SOURCE_DIR) + "/configs/ev_96s2p_nmc.toml", diags);
  INFO(diags.format());
  REQUIRE(pack);
  CellType cell = pack->cell;
  cell.mass_kg = 1e12;  // isothermal
  const double temp0 = 298.15;
  const PackModel m = build_pack_model(pack->spec, cell, 10'000'000, {0.9, temp0, 3});
  PackData d = make_data(m);
  const std::vector<double> z0 = d.z;
  d.input.contactors = {true, true, false};
  d.input.load.mode = LoadMode::kCurrent;
  d.input.load.current_a = 55.0;  // about 1C
  while (d.soc_min > 0.15) step(m, d);
  d.input.load.current_a = -20.0;  // some charge, so both R0 tables and hysteresis turn
  for (int k = 0; k < 30'000; ++k) step(m, d);
  d.input.load.current_a = 0.0;
  for (int k = 0; k < 1'000; ++k) step(m, d);

  const GridTable& ocv = m.cell.ocv;
  auto g = [&](double z) {
    const GridPoint p = ocv.locate(z, temp0);
    return ocv.value(p, kOcv) - temp0 * ocv.value(p, kDocvDt);
  };
  const double step_z = ocv.x().step;
  double enthalpy = 0.0;
  for (std::size_t c = 0; c < d.z.size(); ++c) {
    // Exact integral of the piecewise-linear table between the cell's end and start SOC.
    double lo = std::min(d.z[c], z0[c]);
    const double hi_end = std::max(d.z[c], z0[c]);
    double integral = 0.0;
    while (lo < hi_end) {
      const double x0 = ocv.x().start;
      const double hi =
          std::min(hi_end, x0 + (std::floor((lo - x0) / step_z + 1e-12) + 1.0) * step_z);
      integral += 0.5 * (g(lo) + g(hi)) * (hi - lo);
      lo = hi;
    }
    const double sign = d.z[c] < z0[c] ? 1.0 : -1.0;
    enthalpy += sign * integral / m.inv_capacity_as[c];
  }
  const EnergyBooks& b = d.energy;
  const double books = b.battery_out_j + b.cell_heat_j + b.interconnect_j + b.rc_stored_j;
  INFO("enthalpy " << enthalpy << " J, books " << books << " J, interconnect " << b.interconnect_j
                   << " path " << b.path_j << " load " << b.load_j << " out " << b.battery_out_j);
  CHECK(std::fabs(books - enthalpy) / enthalpy < 1e-4);
  // The terminal energy went into the load, the contactor path and the DC-link capacitor (charged
  // by backward Euler, which loses a little of the capacitor's 100-odd joules at each step of the
  // load: hence 1e-5 of the 47 MJ, not 1e-9).
  const double link_j = 0.5 * pack->spec.link.dc_link_f * d.link_voltage_v * d.link_voltage_v;
  CHECK(b.battery_out_j == Approx(b.load_j + b.path_j + link_j).epsilon(1e-5));
  CHECK(b.interconnect_j > 0.0);
  CHECK(b.rc_j > 0.0);
  CHECK(b.charged_j > 0.0);
}
