// AFE measurement chain: quantisation, per-channel errors, noise, NTC lag, faults, balancing.
#include <catch2/catch.hpp>
#include <cmath>

#include "packsim/model/afe.hpp"
#include "support/synthetic_cell.hpp"

using namespace packsim::model;
using packsim::test::make_cell;
using packsim::test::SyntheticCellSpec;

namespace {
PackModel pack(int ns, int np, std::int64_t tick_ns = 1'000'000, std::uint64_t seed = 5) {
  PackSpec s;
  s.series = ns;
  s.parallel = np;
  s.groups_per_module = 12;
  s.thermal.cooling_w_per_k = 0.0;
  SyntheticCellSpec cs;
  cs.ocv = [](double z) { return 3.0 + z; };
  return build_pack_model(s, make_cell(cs), tick_ns, {0.61234, 298.15, seed});
}
double stddev(const std::vector<double>& v, double mean) {
  double s2 = 0.0;
  for (double x : v) s2 += (x - mean) * (x - mean);
  return std::sqrt(s2 / static_cast<double>(v.size()));
}
}  // namespace

TEST_CASE("An ideal AFE quantises to its resolution and clamps to its range", "[afe]") {
  const PackModel m = pack(24, 1);
  PackData d = make_data(m);
  AfeSpec spec;
  spec.v_lsb = 1e-3;
  spec.v_max = 3.5;
  const AfeModel a = build_afe_model(spec, m);
  AfeData ad = make_afe_data(a, m, d);
  step(m, d);
  afe_measure(a, m, d, ad);
  CHECK(a.n_modules == 2);
  for (std::size_t ch = 0; ch < 24; ++ch) {
    // OCV 3.61234 V at rest is beyond the 3.5 V range.
    CHECK(ad.v_meas[ch] == 3.5);
  }
  spec.v_max = 5.0;
  const AfeModel b = build_afe_model(spec, m);
  afe_measure(b, m, d, ad);
  CHECK(ad.v_meas[0] == Approx(std::round(d.v_group[0] / 1e-3) * 1e-3).margin(1e-12));
  CHECK(std::fabs(ad.v_meas[0] - d.v_group[0]) <= 0.5e-3 + 1e-12);
}

TEST_CASE("Per-channel gain/offset errors and per-tick noise have their configured spread",
          "[afe]") {
  const PackModel m = pack(2000, 1);
  PackData d = make_data(m);
  AfeSpec spec;
  spec.v_lsb = 0.0;
  spec.v_gain_sigma = 0.001;
  spec.v_offset_sigma = 0.002;
  const AfeModel a = build_afe_model(spec, m);
  double mg = 0.0, mo = 0.0;
  for (int k = 0; k < 2000; ++k) {
    mg += a.gain[static_cast<std::size_t>(k)] / 2000;
    mo += a.offset[static_cast<std::size_t>(k)] / 2000;
  }
  // 2000 draws: the sample sigma is within 10 % of the true one with overwhelming probability.
  CHECK(stddev(a.gain, mg) == Approx(0.001).epsilon(0.1));
  CHECK(stddev(a.offset, mo) == Approx(0.002).epsilon(0.1));
  CHECK(a.gain == build_afe_model(spec, m).gain);  // same seed, same errors

  AfeSpec noisy;
  noisy.v_lsb = 0.0;
  noisy.v_noise_sigma = 0.5e-3;
  const AfeModel n = build_afe_model(noisy, m);
  AfeData ad = make_afe_data(n, m, d);
  std::vector<double> e0, e1;
  afe_measure(n, m, d, ad);
  for (std::size_t ch = 0; ch < 2000; ++ch) e0.push_back(ad.v_meas[ch] - d.v_group[ch]);
  d.tick += 1;  // a new tick draws new noise
  afe_measure(n, m, d, ad);
  for (std::size_t ch = 0; ch < 2000; ++ch) e1.push_back(ad.v_meas[ch] - d.v_group[ch]);
  CHECK(stddev(e0, 0.0) == Approx(0.5e-3).epsilon(0.1));
  CHECK(e0 != e1);
}

TEST_CASE("NTC follows its cell through a first-order lag", "[afe]") {
  const PackModel m = pack(12, 2, 100'000'000);
  PackData d = make_data(m);
  AfeSpec spec;
  spec.sensors_per_module = 3;
  spec.ntc_tau_s = 8.0;
  spec.t_lsb = 0.0;
  const AfeModel a = build_afe_model(spec, m);
  REQUIRE(a.n_sensors == 3);
  CHECK(a.sensors[1].cells == std::vector<int>{12});  // middle of 24 cells
  AfeData ad = make_afe_data(a, m, d);
  const int cell = a.sensors[0].cells[0];
  for (int k = 1; k <= 100; ++k) {
    d.temp_k[static_cast<std::size_t>(cell)] = 308.15;  // a 10 K step on the sensed cell
    afe_measure(a, m, d, ad);
    const double expected = 298.15 + 10.0 * (1.0 - std::exp(-0.1 * k / 8.0));
    REQUIRE(ad.t_meas_k[0] == Approx(expected).margin(1e-9));
  }
  CHECK(ad.t_meas_k[1] == Approx(298.15));  // a sensor on another cell saw nothing
}

TEST_CASE("Faults: open wire, offsets, hardware OV flag", "[afe]") {
  const PackModel m = pack(12, 1);
  PackData d = make_data(m);
  AfeSpec spec;
  spec.ov_threshold = 3.6;
  const AfeModel a = build_afe_model(spec, m);
  AfeData ad = make_afe_data(a, m, d);
  ad.open_wire[3] = 1;
  ad.v_fault_offset[4] = 0.5;
  afe_measure(a, m, d, ad);
  CHECK(ad.v_meas[3] == 0.0);
  CHECK(ad.v_meas[4] == Approx(d.v_group[4] + 0.5).margin(1e-4));
  CHECK(ad.ov_flag[0] == 1);  // 3.612 V > 3.6 V
}

TEST_CASE("A balancing switch bleeds its channel through the resistor", "[afe]") {
  const PackModel m = pack(2, 3);
  PackData d = make_data(m);
  AfeSpec spec;
  spec.balance_ohm = 30.0;
  spec.balance_heat_to_cell = 0.25;
  const AfeModel a = build_afe_model(spec, m);
  AfeData ad = make_afe_data(a, m, d);
  ad.balance[1] = 1;
  apply_balancing(a, m, ad, d);
  step(m, d);
  // Contactors open: group 1's three cells feed only the bleed resistor, about v/30 ohm.
  const double i_bleed = d.v_group[1] / 30.0;
  CHECK(d.i[3] + d.i[4] + d.i[5] == Approx(i_bleed).epsilon(1e-6));
  CHECK(d.i[0] + d.i[1] + d.i[2] == Approx(0.0).margin(1e-12));
  CHECK(d.energy.bleed_j == Approx(d.v_group[1] * i_bleed * m.dt_s).epsilon(1e-6));
  CHECK(d.heat_w[3] > d.heat_w[4]);  // a quarter of the bleed heat lands in the sensed cell
}

TEST_CASE("Issue 10 AFE faults: gain, stuck, noise burst, dropout", "[afe][faults]") {
  const PackModel m = pack(12, 1);
  PackData d = make_data(m);
  AfeSpec spec;
  spec.v_lsb = 0.0;  // no quantisation: the fault's effect is exact
  const AfeModel a = build_afe_model(spec, m);
  AfeData ad = make_afe_data(a, m, d);
  ad.v_fault_gain[1] = 1.02;
  ad.v_stuck[2] = 1;
  ad.v_stuck_value[2] = 3.1;
  ad.v_dropout[3] = 1;
  afe_measure(a, m, d, ad);
  CHECK(ad.v_meas[1] == Approx(d.v_group[1] * 1.02).epsilon(1e-12));
  CHECK(ad.v_meas[2] == 3.1);
  CHECK(ad.v_valid[3] == 0);
  CHECK(ad.v_valid[0] == 1);
  CHECK(ad.v_valid[1] == 1);  // a gain error is not something the AFE can see
  CHECK(ad.v_meas[0] == Approx(d.v_group[0]).epsilon(1e-12));

  // A noise burst: its spread over many ticks is the configured sigma, from the counter-based
  // RNG, so a rerun of the same ticks gives the same readings.
  AfeData burst = make_afe_data(a, m, d);
  burst.v_noise_burst_sigma[5] = 0.02;
  std::vector<double> e, e_again;
  for (std::uint64_t t = 0; t < 4000; ++t) {
    d.tick = t;
    afe_measure(a, m, d, burst);
    e.push_back(burst.v_meas[5] - d.v_group[5]);
    CHECK(burst.v_meas[4] == Approx(d.v_group[4]).epsilon(1e-12));  // the others stay quiet
  }
  for (std::uint64_t t = 0; t < 4000; ++t) {
    d.tick = t;
    afe_measure(a, m, d, burst);
    e_again.push_back(burst.v_meas[5] - d.v_group[5]);
  }
  // 4000 draws: the sample sigma is within 5 % of the true one (its relative standard error is
  // 1/sqrt(2 * 4000) = 1.1 %, so 5 % is over four standard errors).
  CHECK(stddev(e, 0.0) == Approx(0.02).epsilon(0.05));
  CHECK(e == e_again);
}

TEST_CASE("The hardware OV/UV comparators trip on the true voltage, not the faulted reading",
          "[afe][faults]") {
  const PackModel m = pack(12, 1);
  PackData d = make_data(m);
  AfeSpec spec;
  spec.ov_threshold = 3.7;
  spec.uv_threshold = 3.5;
  const AfeModel a = build_afe_model(spec, m);
  AfeData ad = make_afe_data(a, m, d);
  d.v_group[0] = 3.75;  // truly over
  d.v_group[1] = 3.45;  // truly under
  d.v_group[2] = 3.60;  // fine
  ad.v_stuck[0] = 1;    // reads a healthy 3.6 V
  ad.v_stuck_value[0] = 3.6;
  ad.v_fault_offset[1] = 0.15;  // reads 3.60 V
  ad.v_fault_gain[2] = 1.1;     // reads 3.96 V: over, but only on the ADC path
  afe_measure(a, m, d, ad);
  CHECK(ad.v_meas[0] == Approx(3.6).margin(1e-4));
  CHECK(ad.ov_flag[0] == 1);
  CHECK(ad.v_meas[1] == Approx(3.6).margin(1e-4));
  CHECK(ad.uv_flag[1] == 1);
  CHECK(ad.v_meas[2] > 3.9);
  CHECK(ad.ov_flag[2] == 0);
  CHECK(ad.uv_flag[2] == 0);
}

TEST_CASE("An open NTC reads the cold rail, a shorted one the hot rail, both flagged",
          "[afe][faults]") {
  const PackModel m = pack(12, 1);
  PackData d = make_data(m);
  AfeSpec spec;
  spec.sensors_per_module = 4;
  spec.t_lsb = 0.0;
  const AfeModel a = build_afe_model(spec, m);
  AfeData ad = make_afe_data(a, m, d);
  ad.ntc_open[1] = 1;
  ad.ntc_short[2] = 1;
  afe_measure(a, m, d, ad);
  CHECK(ad.t_meas_k[1] == spec.t_rail_low_k);
  CHECK(ad.t_meas_k[2] == spec.t_rail_high_k);
  CHECK(ad.t_valid[1] == 0);
  CHECK(ad.t_valid[2] == 0);
  CHECK(ad.t_valid[0] == 1);
  CHECK(ad.t_meas_k[0] == Approx(298.15));
  // Repaired: the reading returns to the (lagged) sensor temperature, which the fault did not
  // disturb (the fault is in the wiring, not in the sensor's thermal mass).
  ad.ntc_open[1] = 0;
  afe_measure(a, m, d, ad);
  CHECK(ad.t_meas_k[1] == Approx(298.15));
  CHECK(ad.t_valid[1] == 1);
}

TEST_CASE("Current-sensor faults: an offset adds, a stuck sensor holds its value",
          "[afe][faults]") {
  const PackModel m = pack(4, 1);
  PackData d = make_data(m);
  d.pack_current_a = 12.345;
  ShuntSpec spec;
  ShuntData sh;
  sh.fault_offset_a = 1.5;
  shunt_measure(spec, m, d, sh);
  CHECK(sh.current_a == Approx(13.845).margin(1e-9));
  sh.fault_offset_a = 0.0;
  sh.stuck = true;
  sh.stuck_a = 7.0;
  d.pack_current_a = -50.0;
  shunt_measure(spec, m, d, sh);
  CHECK(sh.current_a == 7.0);
  CHECK(sh.power_w == Approx(sh.pack_v * 7.0));  // the sensor computes power from its reading
}

TEST_CASE("The vent-gas sensor: released gas as ppm of the free volume, through its lag",
          "[afe][faults]") {
  const PackModel m = pack(4, 1, 10'000'000);  // 10 ms tick
  PackData d = make_data(m);
  AfeSpec spec;
  spec.gas_free_volume_m3 = 0.1;
  spec.gas_molar_mass_g_per_mol = 28.0;
  spec.gas_tau_s = 2.0;
  spec.gas_lsb_ppm = 0.0;
  const AfeModel a = build_afe_model(spec, m);
  AfeData ad = make_afe_data(a, m, d);
  afe_measure(a, m, d, ad);
  CHECK(ad.gas_ppm == 0.0);
  // 1 g of gas released over 1 s into a sealed 0.1 m3: n = 1/28 mol, at 298.15 K and 1 atm it
  // fills nRT/P = 8.738e-4 m3, i.e. 8738 ppm of the free volume.
  d.vent_gas_g_per_s = 1.0;
  for (int k = 0; k < 100; ++k) {
    ++d.tick;
    afe_measure(a, m, d, ad);
  }
  d.vent_gas_g_per_s = 0.0;
  const double ppm = 1e6 * (1.0 / 28.0) * 8.314462618 * 298.15 / (101325.0 * 0.1);
  CHECK(ad.gas_true_ppm == Approx(ppm).epsilon(1e-9));
  CHECK(ad.gas_ppm < ppm);          // the sensor lags
  for (int k = 0; k < 3000; ++k) {  // 30 s = 15 tau: the sensor has caught up
    ++d.tick;
    afe_measure(a, m, d, ad);
  }
  CHECK(ad.gas_ppm == Approx(ppm).epsilon(1e-6));
}

TEST_CASE("The insulation monitor reports the pack's insulation once per measuring cycle",
          "[afe][faults]") {
  const PackModel m = pack(4, 1, 100'000'000);  // 100 ms tick
  PackData d = make_data(m);
  AfeSpec spec;
  spec.imd_period_s = 1.0;
  spec.imd_max_ohm = 10e6;
  const AfeModel a = build_afe_model(spec, m);
  AfeData ad = make_afe_data(a, m, d);
  d.insulation_ohm = 50e6;  // healthy: above the range, reported as its top
  afe_measure(a, m, d, ad);
  CHECK(ad.insulation_meas_ohm == 10e6);
  d.insulation_ohm = 200e3;  // a fault appears just after a cycle
  for (int k = 1; k < 10; ++k) {
    d.tick = static_cast<std::uint64_t>(k);
    afe_measure(a, m, d, ad);
    REQUIRE(ad.insulation_meas_ohm == 10e6);  // still the last cycle's result
  }
  d.tick = 10;
  afe_measure(a, m, d, ad);
  CHECK(ad.insulation_meas_ohm == 200e3);
}
