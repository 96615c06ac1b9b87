// Electrical and cooling faults in the pack step (issue 10): internal shorts, open cells, loose
// busbars and links, weak cells, welded / stuck contactors, open precharge, insulation, cooling
// loss. Expected values are closed forms or hand-solved circuits; tolerances say why.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <vector>

#include "packsim/model/pack.hpp"
#include "support/synthetic_cell.hpp"

using namespace packsim::model;
using packsim::test::make_cell;
using packsim::test::SyntheticCellSpec;

namespace {
PackSpec spec_of(int ns, int np) {
  PackSpec s;
  s.name = "faults";
  s.series = ns;
  s.parallel = np;
  s.link.contactor_ohm = 0.0;
  s.thermal.cooling_w_per_k = 0.0;
  return s;
}
// A flat 3.7 V cell, R0 10 mOhm, no RC pair, no hysteresis, isothermal: every current and heat
// has a closed form, and the enthalpy released is 3.7 V times the charge drawn.
SyntheticCellSpec flat_cell() {
  SyntheticCellSpec cs;
  cs.rc = {};
  cs.mass_kg = 1e9;
  return cs;
}
void draw(PackData& d, double current) {
  d.input.contactors = {true, true, false};
  d.input.load.mode = LoadMode::kCurrent;
  d.input.load.current_a = current;
}
double books_residual(const PackModel& m, const PackData& d, const std::vector<double>& z0) {
  double enthalpy = 0.0;
  for (std::size_t c = 0; c < d.z.size(); ++c)
    enthalpy += 3.7 * (z0[c] - d.z[c]) / m.inv_capacity_as[c] * d.capacity_fault_scale[c];
  const EnergyBooks& b = d.energy;
  return (b.battery_out_j + b.cell_heat_j + b.interconnect_j + b.rc_stored_j - enthalpy) / enthalpy;
}
}  // namespace

TEST_CASE("Internal short, np = 1 at rest: drains at V/R, heats V^2/R inside the cell",
          "[pack][faults]") {
  const PackModel m =
      build_pack_model(spec_of(1, 1), make_cell(flat_cell()), 10'000'000, {0.8, 298.15, 1});
  PackData d = make_data(m);
  const double r_short = 5.0;
  d.leak_s[0] = 1.0 / r_short;
  const std::vector<double> z0 = d.z;
  const int ticks = 10'000;  // 100 s
  for (int k = 0; k < ticks; ++k) step(m, d);
  // Closed form: I = 3.7 / (R + R0), V = I R.
  const double i = 3.7 / (r_short + 0.010), v = i * r_short;
  CHECK(d.pack_current_a == 0.0);
  CHECK(d.i[0] == Approx(i).epsilon(1e-12));
  CHECK(d.u[0] == Approx(v).epsilon(1e-12));
  CHECK(d.heat_w[0] == Approx(v * v / r_short + i * i * 0.010).epsilon(1e-12));
  const double t_s = ticks * 0.01;
  CHECK(d.energy.leak_j == Approx(v * v / r_short * t_s).epsilon(1e-9));
  CHECK(z0[0] - d.z[0] == Approx(i * t_s / m.capacity_as[0]).epsilon(1e-9));
  CHECK(std::fabs(books_residual(m, d, z0)) < 1e-9);
}

TEST_CASE("Internal short in a parallel group: the neighbours feed it, Kirchhoff holds",
          "[pack][faults]") {
  PackSpec spec = spec_of(2, 3);
  spec.busbar_segment_ohm = 0.0005;
  const PackModel m = build_pack_model(spec, make_cell(flat_cell()), 1'000'000, {0.8, 298.15, 1});
  PackData d = make_data(m);
  const std::vector<double> z0 = d.z;
  for (double r_short : {1000.0, 1.0, 0.001}) {  // soft, medium, hard
    d.leak_s[1] = 1.0 / r_short;
    for (double current : {0.0, 12.0}) {
      draw(d, current);
      for (int k = 0; k < 200; ++k) step(m, d);
      // The group's cells deliver the group current plus what the short takes (1e-9 A: rounding
      // of currents up to a few kA).
      const double sum = d.i[0] + d.i[1] + d.i[2];
      CHECK(sum == Approx(current + d.leak_s[1] * d.u[1]).margin(1e-9));
      CHECK(d.i[3] + d.i[4] + d.i[5] == Approx(current).margin(1e-9));
      if (current == 0.0) {
        CHECK(d.i[0] > 0.0);  // the neighbours discharge into the shorted cell's node
        CHECK(d.i[2] > 0.0);
      }
      CHECK(std::isfinite(d.v_group[0]));
    }
  }
  // Books balance to rounding (flat OCV: the enthalpy is 3.7 V times the charge).
  CHECK(std::fabs(books_residual(m, d, z0)) < 1e-9);
  CHECK(d.energy.leak_j > 0.0);
}

TEST_CASE("A short whose resistance changes every tick stays stable and balanced",
          "[pack][faults]") {
  const PackModel m =
      build_pack_model(spec_of(2, 2), make_cell(flat_cell()), 1'000'000, {0.9, 298.15, 1});
  PackData d = make_data(m);
  const std::vector<double> z0 = d.z;
  draw(d, 5.0);
  const int ticks = 20'000;
  double z_prev = d.z[1];
  for (int k = 0; k < ticks; ++k) {
    // 1 kOhm to 1 mOhm, log-linear: a soft short that hardens within 20 s
    d.leak_s[1] = 1.0 / (1000.0 * std::pow(1e-6, static_cast<double>(k) / ticks));
    step(m, d);
    REQUIRE(std::isfinite(d.i[1]));
    REQUIRE(d.z[1] < z_prev);  // the shorted cell only ever discharges
    z_prev = d.z[1];
  }
  CHECK(std::fabs(books_residual(m, d, z0)) < 1e-9);
}

TEST_CASE("Open cell: its siblings carry its share, an open group opens the string",
          "[pack][faults]") {
  const PackModel m =
      build_pack_model(spec_of(2, 3), make_cell(flat_cell()), 1'000'000, {0.8, 298.15, 1});
  PackData d = make_data(m);
  d.open[1] = 1;
  draw(d, 9.0);
  step(m, d);
  CHECK(d.i[1] == 0.0);
  CHECK(d.i[0] == Approx(4.5).margin(1e-9));
  CHECK(d.i[2] == Approx(4.5).margin(1e-9));
  CHECK(d.v[1] == Approx(3.7).margin(1e-12));                     // its own terminals: the OCV
  CHECK(d.v_group[0] == Approx(3.7 - 4.5 * 0.010).margin(1e-9));  // what the BMS sees
  // An open cell with its own short drains through it alone.
  d.leak_s[1] = 0.5;
  step(m, d);
  CHECK(d.i[1] == Approx(3.7 * 0.5 / (1.0 + 0.010 * 0.5)).epsilon(1e-12));
  CHECK(d.i[0] == Approx(4.5).margin(1e-9));
  // The whole group open: no pack current; the gap takes the string's voltage.
  d.leak_s[1] = 0.0;
  d.open[0] = d.open[2] = 1;
  step(m, d);
  CHECK(d.pack_current_a == 0.0);
  for (int c = 0; c < 6; ++c) CHECK(d.i[static_cast<std::size_t>(c)] == Approx(0.0).margin(1e-12));
  CHECK(d.contactors.main_pos);  // the contactors stay as commanded
  CHECK(d.pack_voltage_v == Approx(d.link_voltage_v));
  CHECK(d.v_group[1] == Approx(3.7).margin(1e-12));
  CHECK(d.v_group[0] == Approx(3.7 - d.pack_voltage_v).margin(1e-12));
  // Reconnected: back to the intact split.
  d.open[0] = d.open[1] = d.open[2] = 0;
  step(m, d);
  CHECK(d.i[0] == Approx(3.0).margin(1e-9));
}

TEST_CASE("Loose busbar segment against the hand-solved ladder, heat to the cells beside it",
          "[pack][faults]") {
  // E = (4.0, 3.95) V, R = (10, 20) mOhm, an ideal busbar with 5 mOhm extra between them, 10 A:
  // u0 = 137/35 V, u1 = 549/140 V; i0 = 60/7 A, i1 = 10/7 A (test_network's hand solution).
  SyntheticCellSpec cs = flat_cell();
  cs.ocv = [](double z) { return 3.5 + z; };
  PackSpec spec = spec_of(1, 2);
  spec.overrides = {{0, {}, 1.0, 0.5, {}}, {1, {}, 2.0, 0.45, {}}};
  const PackModel m = build_pack_model(spec, make_cell(cs), 100'000, {0.5, 298.15, 1});
  PackData d = make_data(m);
  d.busbar_extra_ohm[0] = 0.005;
  draw(d, 10.0);
  step(m, d);
  // The linearised SOC change within the tick moves the currents by 1e-5 A at most.
  CHECK(d.i[0] == Approx(60.0 / 7.0).margin(1e-4));
  CHECK(d.i[1] == Approx(10.0 / 7.0).margin(1e-4));
  CHECK(d.v_group[0] == Approx(137.0 / 35.0).margin(1e-5));
  const double q_seg = d.i[1] * d.i[1] * 0.005;  // all segment current is cell 1's
  CHECK(d.energy.interconnect_j == Approx(q_seg * 1e-4).epsilon(1e-9));
  CHECK(d.heat_acc_j[0] - d.heat_w[0] * 1e-4 == Approx(0.5 * q_seg * 1e-4).epsilon(1e-9));
  CHECK(d.heat_acc_j[1] - d.heat_w[1] * 1e-4 == Approx(0.5 * q_seg * 1e-4).epsilon(1e-9));
}

TEST_CASE("Loose link and lead: in series, I^2 R to the adjacent groups, books balance",
          "[pack][faults]") {
  PackSpec spec = spec_of(3, 2);
  spec.group_link_ohm = 0.001;
  const PackModel m = build_pack_model(spec, make_cell(flat_cell()), 1'000'000, {0.8, 298.15, 1});
  PackData d = make_data(m);
  const std::vector<double> z0 = d.z;
  d.group_link_extra_ohm[1] = 0.010;  // between groups 0 and 1
  d.group_link_extra_ohm[3] = 0.020;  // positive lead, group 2
  draw(d, 10.0);
  step(m, d);
  // 3 groups of two 10-mOhm cells in parallel (5 mOhm), links 2 x 1 mOhm, extras 30 mOhm.
  CHECK(d.pack_voltage_v == Approx(3 * 3.7 - 10.0 * (0.015 + 0.002 + 0.030)).margin(1e-6));
  const double tick = 1e-3;
  // Link: 100 A^2 * 10 mOhm = 1 W, half to each group's two cells; lead 2 W to group 2's.
  const double per_cell_link = 0.25 * tick, per_cell_lead = 1.0 * tick;
  auto extra = [&](std::size_t c) { return d.heat_acc_j[c] - d.heat_w[c] * tick; };
  CHECK(extra(0) == Approx(per_cell_link).epsilon(1e-9));
  CHECK(extra(3) == Approx(per_cell_link).epsilon(1e-9));
  CHECK(extra(4) == Approx(per_cell_lead).epsilon(1e-9));
  CHECK(extra(5) == Approx(per_cell_lead).epsilon(1e-9));
  for (int k = 0; k < 5000; ++k) step(m, d);
  CHECK(std::fabs(books_residual(m, d, z0)) < 1e-9);
}

TEST_CASE("Weak and aged cells: capacity and R0 fault scales on top of the spread",
          "[pack][faults]") {
  const PackModel m =
      build_pack_model(spec_of(3, 1), make_cell(flat_cell()), 10'000'000, {0.8, 298.15, 1});
  PackData d = make_data(m);
  d.capacity_fault_scale[1] = 0.5;
  d.r0_fault_scale[2] = 2.0;
  draw(d, 20.0);
  for (int k = 0; k < 1000; ++k) step(m, d);
  // Same current in series: half the capacity, twice the SOC drop (to rounding of the sums).
  CHECK((0.8 - d.z[1]) == Approx(2.0 * (0.8 - d.z[0])).epsilon(1e-9));
  // Flat OCV, no RC: the drop is R0 I alone, doubled.
  CHECK(3.7 - d.v[2] == Approx(2.0 * (3.7 - d.v[0])).epsilon(1e-9));
  CHECK(3.7 - d.v[0] == Approx(20.0 * 0.010).epsilon(1e-9));
}

TEST_CASE("Welded and stuck-open contactors, an open precharge resistor", "[pack][faults]") {
  PackSpec spec = spec_of(2, 1);
  spec.link.contactor_ohm = 1e-4;
  spec.link.precharge_ohm = 20.0;
  spec.link.dc_link_f = 1e-3;
  const PackModel m = build_pack_model(spec, make_cell(flat_cell()), 1'000'000, {0.8, 298.15, 1});
  auto count = [](PackData& d, ModelEventKind kind, ModelEvent* last) {
    int n = 0;
    ModelEvent e;
    while (d.events.pop(e)) {
      if (e.kind == kind) {
        ++n;
        if (last) *last = e;
      }
    }
    return n;
  };
  SECTION("welded main+ stays closed when commanded open; one event") {
    PackData d = make_data(m);
    d.input.contactor_welded.main_pos = true;
    d.input.contactors = {true, true, false};
    step(m, d);
    d.input.contactors = {false, false, false};
    ModelEvent e;
    for (int k = 0; k < 10; ++k) step(m, d);
    CHECK(count(d, ModelEventKind::kContactorStuck, &e) == 1);
    CHECK(e.index == 0);
    CHECK(e.value == 1.0);
    CHECK(d.contactors.main_pos);
    CHECK_FALSE(d.contactors.main_neg);
  }
  SECTION("stuck-open main- never closes: no current") {
    PackData d = make_data(m);
    d.input.contactor_stuck_open.main_neg = true;
    draw(d, 10.0);
    ModelEvent e;
    for (int k = 0; k < 10; ++k) step(m, d);
    CHECK(count(d, ModelEventKind::kContactorStuck, &e) == 1);
    CHECK(e.index == 1);
    CHECK(e.value == 0.0);
    CHECK_FALSE(d.contactors.main_neg);
    CHECK(d.pack_current_a == 0.0);
  }
  SECTION("open precharge resistor: the link never charges; the failure at main+ closing") {
    PackData d = make_data(m);
    d.input.precharge_open = true;
    d.input.contactors = {false, true, true};
    for (int k = 0; k < 200; ++k) step(m, d);  // 10 tau of an intact precharge (20 ms)
    CHECK(d.link_voltage_v == 0.0);
    CHECK(d.pack_current_a == 0.0);
    CHECK(d.contactors.precharge);
    CHECK(count(d, ModelEventKind::kPrechargeFailed, nullptr) == 0);
    d.input.contactors = {true, true, false};
    step(m, d);
    CHECK(count(d, ModelEventKind::kPrechargeFailed, nullptr) == 1);
    // The intact precharge reaches the battery voltage to 1 mV in the same time.
    PackData ok = make_data(m);
    ok.input.contactors = {false, true, true};
    for (int k = 0; k < 200; ++k) step(m, ok);
    CHECK(ok.link_voltage_v == Approx(7.4).margin(1e-3));
  }
}

TEST_CASE("Insulation: healthy in parallel with the fault, and the fault's location",
          "[pack][faults]") {
  PackSpec spec = spec_of(4, 2);
  spec.insulation_ohm = 5e6;
  const PackModel m = build_pack_model(spec, make_cell(flat_cell()), 1'000'000, {0.8, 298.15, 1});
  PackData d = make_data(m);
  step(m, d);
  CHECK(d.insulation_ohm == Approx(5e6));
  CHECK(d.insulation_location == Approx(0.5));
  d.input.iso_fault_cell = 3;  // group 1: its positive terminal at 2 x 3.7 V
  d.input.iso_fault_s = 1.0 / 50e3;
  step(m, d);
  CHECK(d.insulation_ohm == Approx(1.0 / (1.0 / 5e6 + 1.0 / 50e3)).epsilon(1e-12));
  // Chassis potential: (g/2 * V + g_f * V_f) / (g + g_f), g = 1 / 5 MOhm, V = 14.8, V_f = 7.4.
  const double g = 1.0 / 5e6, gf = 1.0 / 50e3;
  CHECK(d.chassis_v == Approx((0.5 * g * 14.8 + gf * 7.4) / (g + gf)).epsilon(1e-12));
  CHECK(d.insulation_location == Approx(d.chassis_v / 14.8).epsilon(1e-12));
  // A hard fault pins the chassis at the faulted node: half-way up the string.
  d.input.iso_fault_s = 1.0;
  step(m, d);
  CHECK(d.insulation_location == Approx(0.5).margin(1e-6));
  d.input.iso_fault_cell = 7;
  step(m, d);
  CHECK(d.insulation_location == Approx(1.0).margin(1e-6));
}

TEST_CASE("Cooling loss as an explicit correction matches a refactorised backward Euler",
          "[pack][faults][thermal]") {
  // One node, C = 45 J/K, g = 1 W/K, 1-s thermal step: x = g dt / C = 1/45. Convection scaled to
  // s = 0.3. Refactorised backward Euler: theta_n = theta_0 / (1 + s x)^n. The correction scheme:
  // theta_n = theta_0 rho^n with rho = (1 + (1 - s) x) / (1 + x); their difference peaks near
  // n = 1 / (s x) at about theta_0 (1 - s) x / e, so theta_0 (1 - s) x bounds it. Both reach the
  // exact steady state (ambient, with no heat).
  PackSpec spec = spec_of(1, 1);
  spec.thermal.cooling_w_per_k = 1.0;
  spec.thermal.step_s = 1.0;
  SyntheticCellSpec cs = flat_cell();
  cs.mass_kg = 0.045;
  const PackModel m = build_pack_model(spec, make_cell(cs), 1'000'000'000, {0.5, 348.15, 1});
  PackData d = make_data(m);
  d.input.ambient_k = 298.15;
  const double s = 0.3, x = 1.0 / 45.0, theta0 = 50.0;
  d.module_cooling_scale[0] = s;
  double worst = 0.0;
  for (int k = 1; k <= 2000; ++k) {
    step(m, d);
    const double be = theta0 / std::pow(1.0 + s * x, k);
    const double mixed = theta0 * std::pow((1.0 + (1.0 - s) * x) / (1.0 + x), k);
    const double theta = d.temp_k[0] - 298.15;
    REQUIRE(theta == Approx(mixed).margin(1e-9));  // the scheme is what the comment says
    worst = std::max(worst, std::fabs(theta - be));
    REQUIRE(theta > 0.0);  // monotone, no overshoot
  }
  INFO("largest difference from backward Euler " << worst << " K");
  CHECK(worst < theta0 * (1.0 - s) * x);
  CHECK(worst > 0.5 * theta0 * (1.0 - s) * x / std::exp(1.0));  // and the bound is not loose
  CHECK(d.temp_k[0] - 298.15 < 1e-3);                           // steady state reached
  // Intact convection: the correction vanishes.
  d.module_cooling_scale[0] = 1.0;
  d.temp_k[0] = 348.15;
  step(m, d);
  CHECK(d.temp_k[0] - 298.15 == Approx(theta0 / (1.0 + x)).epsilon(1e-12));
}

TEST_CASE("Runs with electrical faults are deterministic to the bit", "[pack][faults]") {
  PackSpec spec = spec_of(4, 3);
  spec.busbar_segment_ohm = 0.0003;
  spec.spread.capacity_rel_sigma = 0.02;
  spec.thermal.cell_to_cell_w_per_k = 0.3;
  spec.thermal.cooling_w_per_k = 0.1;
  const CellType cell = make_cell({});
  auto run = [&]() {
    const PackModel m = build_pack_model(spec, cell, 1'000'000, {0.7, 298.15, 5});
    PackData d = make_data(m);
    draw(d, 8.0);
    d.module_cooling_scale[0] = 0.4;
    d.r0_fault_scale[3] = 1.7;
    for (int k = 0; k < 5000; ++k) {
      d.leak_s[5] = 1e-3 * k;
      d.busbar_extra_ohm[2] = 1e-4 * (k % 11);
      d.group_link_extra_ohm[2] = 1e-3;
      d.open[7] = k > 2500 ? 1 : 0;
      step(m, d);
    }
    return d;
  };
  const PackData a = run(), b = run();
  CHECK(std::memcmp(a.v.data(), b.v.data(), a.v.size() * sizeof(double)) == 0);
  CHECK(std::memcmp(a.temp_k.data(), b.temp_k.data(), a.temp_k.size() * sizeof(double)) == 0);
  CHECK(std::memcmp(a.z.data(), b.z.data(), a.z.size() * sizeof(double)) == 0);
  CHECK(a.energy.interconnect_j == b.energy.interconnect_j);
}
