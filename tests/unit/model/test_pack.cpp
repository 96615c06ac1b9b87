// Pack step: network split in the same tick, contactors, energy books, spread, determinism.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <string>

#include "packsim/model/pack.hpp"
#include "support/synthetic_cell.hpp"

using namespace packsim::model;
using packsim::test::make_cell;
using packsim::test::SyntheticCellSpec;

namespace {
PackSpec simple_spec(int ns, int np) {
  PackSpec s;
  s.name = "test";
  s.series = ns;
  s.parallel = np;
  s.link.contactor_ohm = 0.0;
  s.thermal.cooling_w_per_k = 0.0;
  return s;
}
void close_with_current(PackData& d, double current) {
  d.input.contactors = {true, true, false};
  d.input.load.mode = LoadMode::kCurrent;
  d.input.load.current_a = current;
}
}  // namespace

TEST_CASE("Parallel split in the pack step matches the hand-solved group", "[pack]") {
  // Same circuit as the network test: E = 3.5 + z gives 4.00, 3.90, 3.95 V; R0 10/20/15 mOhm;
  // a 5-ohm leak on cell 3; 10 A drawn. The first tick from rest has no RC or hysteresis state.
  SyntheticCellSpec cs;
  cs.ocv = [](double z) { return 3.5 + z; };
  cs.rc = {};
  PackSpec spec = simple_spec(1, 3);
  spec.overrides = {{0, {}, 1.0, 0.5, {}}, {1, {}, 2.0, 0.4, {}}, {2, {}, 1.5, 0.45, {}}};
  const PackModel m = build_pack_model(spec, make_cell(cs), 100'000, {0.5, 298.15, 1});
  PackData d = make_data(m);
  d.leak_s[2] = 0.2;
  close_with_current(d, 10.0);
  step(m, d);
  // The linearised SOC change adds dOCV/dz * dt/Q = 1.4e-8 ohm to each cell: 1e-5 A at most.
  CHECK(d.i[0] == Approx(8.822625268982478).margin(1e-4));
  CHECK(d.i[1] == Approx(-0.5886873655087611).margin(1e-4));
  CHECK(d.i[2] == Approx(2.5484168459883185).margin(1e-4));
  CHECK(d.pack_current_a == Approx(10.0));
  CHECK(d.v_group[0] == Approx(3.9117737473101752).margin(1e-6));
}

TEST_CASE("Open contactors: no pack current, but parallel cells equalise", "[pack]") {
  SyntheticCellSpec cs;
  cs.ocv = [](double z) { return 3.2 + 0.9 * z; };
  PackSpec spec = simple_spec(2, 2);
  spec.overrides = {{0, {}, {}, 0.8, {}}, {1, {}, {}, 0.4, {}}};
  // 10 ms ticks for 2000 s: about four SOC time constants Q R / (dOCV/dz) = 7200*0.06/0.9 = 480 s.
  const PackModel m = build_pack_model(spec, make_cell(cs), 10'000'000, {0.5, 298.15, 1});
  PackData d = make_data(m);
  d.input.load.mode = LoadMode::kCurrent;
  d.input.load.current_a = 20.0;  // demanded, but the contactors are open
  const double charge0 = d.z[0] + d.z[1];
  for (int k = 0; k < 200000; ++k) {
    step(m, d);
    REQUIRE(d.pack_current_a == 0.0);
    REQUIRE(d.i[0] + d.i[1] == Approx(0.0).margin(1e-9));
    REQUIRE(d.i[2] == Approx(0.0).margin(1e-9));  // the second group has equal cells
  }
  CHECK(d.z[0] + d.z[1] == Approx(charge0).margin(1e-9));    // charge moves, none is lost
  CHECK(std::fabs(d.z[0] - d.z[1]) < 0.4 * std::exp(-3.5));  // and the cells converge
  CHECK(d.z[0] > d.z[1]);
}

TEST_CASE("Energy balance over a full discharge within 0.1 %", "[pack][energy]") {
  // Nonlinear OCV, entropic coefficient, two RC pairs and hysteresis; the cell's heat capacity is
  // so large that T stays at T0, so the enthalpy released has a closed form over the OCV table:
  //   Q * integral_{z_end}^{z0} (OCV(z) - T0 dOCV/dT(z)) dz
  // which must equal terminal energy + all heat + energy left in the RC capacitors.
  SyntheticCellSpec cs;
  cs.ocv = [](double z) { return 3.0 + 1.1 * z - 0.4 * z * z + 0.1 * std::sin(6.0 * z); };
  cs.docv_dt = [](double z) { return -2e-4 + 3e-4 * z; };
  cs.rc = {{0.015, 20.0}, {0.008, 400.0}};
  cs.gamma = 80.0;
  cs.m = 0.02;
  cs.m0 = -0.003;
  cs.mass_kg = 1e12;
  const double temp0 = 300.0;
  const CellType cell = make_cell(cs);
  PackSpec spec = simple_spec(1, 1);
  for (std::int64_t tick_ns : {10'000'000LL, 1'000'000'000LL}) {
    const PackModel m = build_pack_model(spec, cell, tick_ns, {0.98, temp0, 1});
    PackData d = make_data(m);
    close_with_current(d, 2.0);
    while (d.z[0] > 0.03) step(m, d);
    d.input.load.current_a = 0.0;  // and rest a little: the books must hold at any moment
    for (int k = 0; k < 100; ++k) step(m, d);

    // Exact integral of the piecewise-linear table between z_end and z0.
    const GridTable& ocv = m.cell.ocv;
    auto interp = [&](double z, int f) { return ocv.value(ocv.locate(z, temp0), f); };
    auto g = [&](double z) { return interp(z, kOcv) - temp0 * interp(z, kDocvDt); };
    const double z0 = 0.98, z1 = d.z[0];
    double integral = 0.0;
    const double step_z = ocv.x().step;
    double lo = z1;
    while (lo < z0) {
      const double hi = std::min(z0, (std::floor(lo / step_z + 1e-12) + 1.0) * step_z);
      integral += 0.5 * (g(lo) + g(hi)) * (hi - lo);
      lo = hi;
    }
    const double enthalpy = cell.capacity_as * integral;
    const EnergyBooks& b = d.energy;
    const double books = b.battery_out_j + b.cell_heat_j + b.rc_stored_j;
    INFO("tick " << tick_ns << " ns: enthalpy " << enthalpy << " J, books " << books << " J");
    CHECK(std::fabs(books - enthalpy) / enthalpy < 1e-3);
    CHECK(b.cell_heat_j ==
          Approx(b.ohmic_j + b.rc_j + b.reversible_j + b.hysteresis_j + b.side_j + b.leak_j)
              .epsilon(1e-9));
    CHECK(b.reversible_j != 0.0);
    CHECK(b.hysteresis_j > 0.0);
  }
}

TEST_CASE("Series string sums group voltages, groups carry the pack current", "[pack]") {
  SyntheticCellSpec cs;
  cs.ocv = [](double z) { return 3.3 + 0.6 * z; };
  PackSpec spec = simple_spec(4, 2);
  spec.group_link_ohm = 0.001;
  spec.lead_ohm = 0.002;
  const PackModel m = build_pack_model(spec, make_cell(cs), 1'000'000, {0.5, 298.15, 1});
  PackData d = make_data(m);
  close_with_current(d, 8.0);
  for (int k = 0; k < 1000; ++k) step(m, d);
  double sum = 0.0;
  for (int g = 0; g < 4; ++g) {
    sum += d.v_group[static_cast<std::size_t>(g)];
    CHECK(d.i[2 * static_cast<std::size_t>(g)] + d.i[2 * static_cast<std::size_t>(g) + 1] ==
          Approx(8.0).margin(1e-9));
  }
  CHECK(d.pack_voltage_v == Approx(sum - 8.0 * (3 * 0.001 + 0.002)).margin(1e-9));
  CHECK(d.pack_current_a == Approx(8.0));
}

TEST_CASE("Spread is drawn from the seed: same seed same pack, other seed other pack", "[pack]") {
  PackSpec spec = simple_spec(12, 3);
  spec.spread.capacity_rel_sigma = 0.02;
  spec.spread.r0_rel_sigma = 0.05;
  spec.spread.soc_sigma = 0.01;
  const CellType cell = make_cell({});
  const PackModel a = build_pack_model(spec, cell, 1'000'000, {0.5, 298.15, 7});
  const PackModel b = build_pack_model(spec, cell, 1'000'000, {0.5, 298.15, 7});
  const PackModel c = build_pack_model(spec, cell, 1'000'000, {0.5, 298.15, 8});
  CHECK(a.capacity_as == b.capacity_as);
  CHECK(a.r0_scale == b.r0_scale);
  CHECK(a.soc0 == b.soc0);
  CHECK(a.capacity_as != c.capacity_as);
  double mean = 0.0;
  for (double q : a.capacity_as) mean += q / cell.capacity_as;
  mean /= 36.0;
  CHECK(mean == Approx(1.0).margin(0.02));  // 5 sigma of the mean of 36 draws at 2 %
  for (double z : a.soc0) CHECK(std::fabs(z - 0.5) <= 0.03 + 1e-12);  // truncated at 3 sigma
}

TEST_CASE("Stepping is deterministic to the bit", "[pack]") {
  PackSpec spec = simple_spec(6, 3);
  spec.spread.capacity_rel_sigma = 0.03;
  spec.spread.soc_sigma = 0.02;
  spec.busbar_segment_ohm = 0.0003;
  spec.thermal.cell_to_cell_w_per_k = 0.3;
  spec.thermal.cooling_w_per_k = 0.05;
  SyntheticCellSpec cs;
  cs.ocv = [](double z) { return 3.2 + 0.9 * z; };
  cs.docv_dt = [](double) { return 1e-4; };
  cs.m = 0.01;
  cs.gamma = 50;
  const CellType cell = make_cell(cs);
  auto run = [&]() {
    const PackModel m = build_pack_model(spec, cell, 1'000'000, {0.7, 298.15, 3});
    PackData d = make_data(m);
    close_with_current(d, 9.0);
    for (int k = 0; k < 20000; ++k) {
      d.input.load.current_a = (k / 1000) % 2 ? -4.0 : 9.0;
      step(m, d);
    }
    return d;
  };
  const PackData a = run(), b = run();
  CHECK(std::memcmp(a.v.data(), b.v.data(), a.v.size() * sizeof(double)) == 0);
  CHECK(std::memcmp(a.temp_k.data(), b.temp_k.data(), a.temp_k.size() * sizeof(double)) == 0);
  CHECK(a.energy.battery_out_j == b.energy.battery_out_j);
}

TEST_CASE("Thermal layout: module grids, module links and barriers", "[pack][thermal]") {
  PackSpec spec = simple_spec(4, 3);  // two modules of 2 groups x 3 cells: 2 rows of 3
  spec.groups_per_module = 2;
  spec.thermal.cell_to_cell_w_per_k = 1.0;
  spec.thermal.module_to_module_w_per_k = 0.1;
  spec.thermal.barriers = {{0, 1, 0.0}};
  const PackModel m = build_pack_model(spec, make_cell({}), 1'000'000, {0.5, 298.15, 1});
  CHECK(m.n_modules == 2);
  // Per module: 2 rows x 2 horizontal + 3 vertical = 7 edges; 3 between modules; minus the barrier.
  CHECK(m.thermal.edges.size() == 2 * 7 + 3 - 1);
  int module_links = 0;
  for (const auto& e : m.thermal.edges) {
    if (e.g_w_per_k == 0.1) {
      ++module_links;
      CHECK(e.b - e.a == 3);  // cell (row 1, col c) of module 0 faces (row 0, col c) of module 1
    }
  }
  CHECK(module_links == 3);

  // A barrier between the two modules replaces all three links.
  spec.thermal.barriers = {{0, 1, 0.002, true}};
  const PackModel shielded = build_pack_model(spec, make_cell({}), 1'000'000, {0.5, 298.15, 1});
  int shields = 0;
  for (const auto& e : shielded.thermal.edges) shields += e.g_w_per_k == 0.002 ? 1 : 0;
  CHECK(shields == 3);
  CHECK(shielded.thermal.edges.size() == 2 * 7 + 3);

  // Modules thermally isolated by default: a barrier between them is the only path, not a no-op.
  spec.thermal.module_to_module_w_per_k = 0.0;
  const PackModel isolated = build_pack_model(spec, make_cell({}), 1'000'000, {0.5, 298.15, 1});
  shields = 0;
  for (const auto& e : isolated.thermal.edges) shields += e.g_w_per_k == 0.002 ? 1 : 0;
  CHECK(shields == 3);
  spec.thermal.barriers.clear();
  const PackModel apart = build_pack_model(spec, make_cell({}), 1'000'000, {0.5, 298.15, 1});
  CHECK(apart.thermal.edges.size() == 2 * 7);
}

TEST_CASE("A last module with fewer groups than the others joins the thermal network whole",
          "[pack][thermal]") {
  // 16 groups in modules of 5: three whole modules and one of a single group. Every conduction
  // edge must join two cells of the pack, each cell of the partial module must be connected, and
  // the network must conserve heat (no cooling, no load: the total heat content stays put).
  SyntheticCellSpec cs;
  PackSpec spec = simple_spec(16, 2);
  spec.groups_per_module = 5;
  spec.thermal.cell_to_cell_w_per_k = 0.5;
  spec.thermal.module_to_module_w_per_k = 0.1;
  const PackModel m = build_pack_model(spec, make_cell(cs), 1'000'000, {0.5, 298.15, 1});
  REQUIRE(m.n_modules == 4);
  std::vector<int> degree(static_cast<std::size_t>(m.n_cells), 0);
  for (const auto& e : m.thermal.edges) {
    REQUIRE(e.a >= 0);
    REQUIRE(e.b >= 0);
    REQUIRE(e.a < m.n_cells);
    REQUIRE(e.b < m.n_cells);
    ++degree[static_cast<std::size_t>(e.a)];
    ++degree[static_cast<std::size_t>(e.b)];
  }
  for (int c = 30; c < 32; ++c) CHECK(degree[static_cast<std::size_t>(c)] > 0);
  PackData d = make_data(m);
  d.temp_k[31] = 330.0;  // a hot cell in the partial module
  double before = 0.0;
  for (double t : d.temp_k) before += t;
  for (int k = 0; k < 2000; ++k) step(m, d);
  double after = 0.0;
  for (double t : d.temp_k) after += t;
  CHECK(after == Approx(before).epsilon(1e-9));
  CHECK(d.temp_k[25] > 298.15 + 1e-6);  // heat crossed from the partial module into the one before
}

namespace {
// The synthetic cell with its dynamic table over 15 .. 45 degC (two rows of equal values), as
// fitted models have: a run below 15 degC clamps every dynamic lookup on temperature.
CellType cell_with_warm_dynamic_table() {
  CellType c = make_cell(SyntheticCellSpec{});
  const GridTable& src = c.dynamic;
  GridTable dyn(src.x(), {288.15, 30.0, 2}, src.fields());
  for (int iy = 0; iy < 2; ++iy)
    for (int ix = 0; ix < src.x().count; ++ix)
      for (int f = 0; f < src.fields(); ++f) dyn.at(ix, iy, f) = src.at(ix, 0, f);
  c.dynamic = dyn;
  return c;
}
}  // namespace

TEST_CASE("Clamped lookups are counted per table and axis, with the span the run needed",
          "[pack][clamp]") {
  PackSpec spec = simple_spec(2, 2);
  const CellType cell = cell_with_warm_dynamic_table();
  SECTION("at -10 degC every dynamic lookup clamps on temperature, and nothing else does") {
    const PackModel m = build_pack_model(spec, cell, 1'000'000'000, {0.5, 263.15, 1});
    PackData d = make_data(m);
    close_with_current(d, 20.0);  // 5C: the cells warm, without cooling, while below the table
    for (int k = 0; k < 100; ++k) step(m, d);
    const ClampStats& s = d.clamp_stats;
    CHECK(s.count[kDynTemp] == 400);  // 100 ticks x 4 cells
    CHECK(s.count[kDynSoc] == 0);
    CHECK(s.count[kOcvSoc] == 0);
    CHECK(s.count[kOcvTemp] == 0);  // a single-row axis never clamps
    CHECK(d.clamp_total == 400);
    CHECK(s.lo[kDynTemp] == 263.15);  // the first tick looks up at the initial temperature
    CHECK(s.hi[kDynTemp] > 263.2);    // ... and the last at a warmer cell
    CHECK(s.hi[kDynTemp] == Approx(d.t_max_k).margin(1.0));
    CHECK(s.hi[kDynTemp] < 288.15);
    const auto w = table_clamp_warnings(m, d);
    REQUIRE(w.size() == 1);
    CHECK(std::string(w[0].table) == "dynamic");
    CHECK(std::string(w[0].axis) == "temperature");
    CHECK(w[0].temperature);
    CHECK(w[0].axis_lo == 288.15);
    CHECK(w[0].axis_hi == Approx(318.15));
    CHECK(w[0].needed_lo == 263.15);
    CHECK(w[0].needed_hi == s.hi[kDynTemp]);
    CHECK(w[0].share == 1.0);
  }
  SECTION("at 25 degC nothing clamps and nothing is warned") {
    const PackModel m = build_pack_model(spec, cell, 1'000'000'000, {0.5, 298.15, 1});
    PackData d = make_data(m);
    close_with_current(d, 20.0);
    for (int k = 0; k < 100; ++k) step(m, d);
    CHECK(d.clamp_total == 0);
    for (int a = 0; a < kClampAxes; ++a)
      CHECK(d.clamp_stats.count[static_cast<std::size_t>(a)] == 0);
    CHECK(table_clamp_warnings(m, d).empty());
  }
  SECTION("a share of 1 % or less is not worth a warning") {
    const PackModel m = build_pack_model(spec, cell, 1'000'000'000, {0.5, 298.15, 1});
    PackData d = make_data(m);
    for (int k = 0; k < 25; ++k) step(m, d);  // 100 cell-ticks
    d.clamp_stats.add(1u << kOcvSoc, 1.02, 298.15);
    CHECK(table_clamp_warnings(m, d).empty());  // 1 of 100
    d.clamp_stats.add(1u << kOcvSoc, 1.04, 298.15);
    const auto w = table_clamp_warnings(m, d);  // 2 of 100
    REQUIRE(w.size() == 1);
    CHECK(std::string(w[0].table) == "ocv");
    CHECK(std::string(w[0].axis) == "soc");
    CHECK_FALSE(w[0].temperature);
    CHECK(w[0].axis_lo == 0.0);
    CHECK(w[0].axis_hi == Approx(1.0));
    CHECK(w[0].needed_lo == 1.02);
    CHECK(w[0].needed_hi == 1.04);
    CHECK(w[0].share == Approx(0.02));
  }
}

TEST_CASE("Clamp statistics keep the span of what clamped, per axis", "[clamp]") {
  ClampStats s;
  s.add((1u << kOcvSoc) | (1u << kDynSoc), -0.1, 300.0);
  s.add(1u << kDynTemp, 0.5, 250.0);
  s.add(1u << kDynTemp, 0.5, 240.0);
  s.add(1u << kOcvSoc, std::nan(""), 300.0);  // counted; the span stays what it was
  CHECK(s.count[kOcvSoc] == 2);
  CHECK(s.count[kDynSoc] == 1);
  CHECK(s.count[kOcvTemp] == 0);
  CHECK(s.count[kDynTemp] == 2);
  CHECK(s.lo[kOcvSoc] == -0.1);
  CHECK(s.hi[kOcvSoc] == -0.1);
  CHECK(s.lo[kDynTemp] == 240.0);
  CHECK(s.hi[kDynTemp] == 250.0);
}
