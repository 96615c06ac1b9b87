// SOC estimate (coulomb counting, OCV correction at rest) and passive balancing.

#include <catch2/catch.hpp>
#include <cmath>
#include <vector>

#include "bms_test_util.hpp"

using namespace packsim::bms;
using namespace packsim::bms::test;

// small_config(): capacity 36000 A*s, linear OCV 3.0 V at SOC 0 .. 4.2 V at SOC 1.

TEST_CASE("SOC starts from OCV^-1 of the first valid voltages", "[bms][soc]") {
  Rig r(small_config());
  std::fill(r.cell_ok.begin(), r.cell_ok.end(), std::uint8_t{0});
  r.step(0);
  CHECK_FALSE(r.out.soc_valid);
  // Two valid channels, 3.5 V and 3.7 V: mean 3.6 V -> SOC (3.6 - 3.0) / 1.2 = 0.5.
  r.cell_ok[0] = r.cell_ok[5] = 1;
  r.cell_v[0] = 3.5;
  r.cell_v[5] = 3.7;
  r.cell_v[1] = 4.2;  // invalid: ignored
  r.step(ms(10));
  CHECK(r.out.soc_valid);
  CHECK(r.out.soc == Approx(0.5).margin(1e-12));
}

TEST_CASE("non-uniform OCV table inversion", "[bms][soc]") {
  BmsConfig c = small_config();
  c.ocv_soc = {0.0, 0.1, 0.5, 1.0};
  c.ocv_v = {3.0, 3.45, 3.7, 4.2};
  const RefBms bms(c);
  CHECK(bms.soc_from_ocv(2.0) == 0.0);
  CHECK(bms.soc_from_ocv(5.0) == 1.0);
  CHECK(bms.soc_from_ocv(3.45) == Approx(0.1).margin(1e-12));
  CHECK(bms.soc_from_ocv(3.575) == Approx(0.3).margin(1e-12));  // halfway 3.45..3.7
  CHECK(bms.soc_from_ocv(3.95) == Approx(0.75).margin(1e-12));
  // Uniform: ocv_soc empty, three points at 0, 0.5, 1.
  c.ocv_soc.clear();
  c.ocv_v = {3.0, 3.6, 4.0};
  const RefBms uniform(c);
  CHECK(uniform.soc_from_ocv(3.3) == Approx(0.25).margin(1e-12));
  CHECK(uniform.soc_from_ocv(3.9) == Approx(0.875).margin(1e-12));
}

TEST_CASE("coulomb counting matches the integral of the current", "[bms][soc]") {
  Rig r(small_config());
  std::fill(r.cell_v.begin(), r.cell_v.end(), 3.6);  // SOC 0.5
  r.step(0);
  REQUIRE(r.out.soc == Approx(0.5).margin(1e-12));
  // The current measured at an update is the current since the previous update.
  // 20 A to 100 s, -10 A to 150 s, 5 A to 200 s: 2000 - 500 + 250 = 1750 A*s.
  for (std::int64_t t = ms(10); t <= sec(200); t += ms(10)) {
    r.in.current_a = t <= sec(100) ? 20.0 : (t <= sec(150) ? -10.0 : 5.0);
    r.step(t);
  }
  CHECK(r.out.soc == Approx(0.5 - 1750.0 / 36000.0).epsilon(1e-10));
}

TEST_CASE("coulomb counting with an irregular cycle", "[bms][soc]") {
  Rig r(small_config());
  std::fill(r.cell_v.begin(), r.cell_v.end(), 3.6);
  r.step(0);
  r.in.current_a = 36.0;  // 1 % of the capacity per second
  std::int64_t t = 0;
  for (int k = 0; t < sec(10); ++k) {
    t += k % 2 == 0 ? ms(3) : ms(11);
    r.step(t);
  }
  // t ends at the first point >= 10 s on the 3/11 ms pattern: 714 * 14 ms = 9996 ms, + 3 + 11.
  CHECK(t == ms(10010));
  CHECK(r.out.soc == Approx(0.5 - 36.0 * 10.010 / 36000.0).epsilon(1e-10));
}

TEST_CASE("a missing current sample repeats the last one until the sensor times out",
          "[bms][soc]") {
  Rig r(small_config());
  std::fill(r.cell_v.begin(), r.cell_v.end(), 3.6);
  r.in.current_a = 20.0;
  r.step(0);
  r.run(ms(10), sec(10), ms(10));  // 200 A*s
  // Flag false and frames stop after the 10 s frame: 10.01 .. 10.49 s repeat 20 A (49 updates,
  // 9.8 A*s); from 10.5 s the sensor has timed out and nothing is counted.
  r.in.current_valid = false;
  r.in.current_a = 999.0;  // an invalid value must not be used
  r.current_silent = true;
  r.run(ms(10010), sec(20), ms(10));
  CHECK(r.out.soc == Approx(0.5 - 209.8 / 36000.0).epsilon(1e-10));
  CHECK(has_fault(r.out.faults, Fault::kCurrentSensorLost));
}

TEST_CASE("OCV correction at rest converges with the configured gain", "[bms][soc]") {
  BmsConfig c = small_config();
  c.rest_ns = sec(60);
  c.ocv_gain_per_s = 0.01;
  c.rest_current_a = 0.1;
  Rig r(c);
  std::fill(r.cell_v.begin(), r.cell_v.end(), 3.6);  // SOC 0.5 at start
  r.step(0);
  const double soc0 = r.out.soc;
  CHECK(soc0 == Approx(0.5).margin(1e-12));
  // The cells now show the OCV of SOC 0.7 (3.84 V) at zero current (rest since 0 s).
  std::fill(r.cell_v.begin(), r.cell_v.end(), 3.84);
  r.run(ms(10), ms(59990), ms(10));
  CHECK(r.out.soc == soc0);  // no correction before 60 s of rest
  r.step(sec(60));
  // Each update moves 0.01/s * 0.01 s = 1e-4 of the error.
  CHECK(r.out.soc == Approx(0.7 - 0.2 * (1.0 - 1e-4)).epsilon(1e-10));
  r.run(sec(60) + ms(10), sec(160), ms(10));  // 10001 corrections in all
  CHECK(r.out.soc == Approx(0.7 - 0.2 * std::pow(1.0 - 1e-4, 10001)).epsilon(1e-10));
  r.run(sec(160) + ms(10), sec(1500), ms(10));
  CHECK(r.out.soc == Approx(0.7).margin(1e-6));

  // A current above the rest threshold restarts the rest time.
  const double before_pulse = r.out.soc;
  std::fill(r.cell_v.begin(), r.cell_v.end(), 3.6);
  r.in.current_a = 0.2;
  r.step(sec(1500) + ms(10));
  const double after_pulse = r.out.soc;  // coulomb counting only
  CHECK(after_pulse == Approx(before_pulse - 0.2 * 0.01 / 36000.0).epsilon(1e-14));
  r.in.current_a = 0.0;
  r.run(sec(1500) + ms(20), sec(1560), ms(10));  // rest from 1500.02 s: not 60 s yet
  CHECK(r.out.soc == after_pulse);
  r.step(sec(1560) + ms(20));
  CHECK(r.out.soc < after_pulse);
}

TEST_CASE("the OCV correction rate is per second, whatever the cycle", "[bms][soc]") {
  for (const std::int64_t period : {ms(4), ms(10)}) {
    BmsConfig c = small_config();
    c.rest_ns = 0;
    c.ocv_gain_per_s = 0.01;
    Rig r(c);
    std::fill(r.cell_v.begin(), r.cell_v.end(), 3.6);
    r.step(0);
    const double soc0 = r.out.soc;
    std::fill(r.cell_v.begin(), r.cell_v.end(), 3.84);  // SOC 0.7
    r.run(period, sec(100), period);
    // n = 100 s / period corrections of g * period each: the error shrinks by about e^-1.
    const double dt_s = static_cast<double>(period) * 1e-9;
    const double n = 100.0 / dt_s;
    const double expected = 0.7 - (0.7 - soc0) * std::pow(1.0 - 0.01 * dt_s, n);
    CHECK(r.out.soc == Approx(expected).epsilon(1e-10));
    CHECK(r.out.soc == Approx(0.7 - 0.2 * std::exp(-1.0)).epsilon(1e-4));
  }
}

TEST_CASE("OCV correction uses the mean of the valid cells", "[bms][soc]") {
  BmsConfig c = small_config();
  c.rest_ns = 0;
  c.ocv_gain_per_s = 1000.0;  // k clamps to 1: SOC jumps to the OCV value
  Rig r(c);
  std::fill(r.cell_v.begin(), r.cell_v.end(), 3.6);
  r.step(0);
  r.cell_v[2] = 4.2;
  r.cell_ok[2] = 0;
  r.cell_v[3] = 3.9;  // mean of the 8 valid: (7 * 3.6 + 3.9) / 8 = 3.6375 V
  r.step(ms(10));
  CHECK(r.out.soc == Approx((3.6375 - 3.0) / 1.2).epsilon(1e-12));
}

TEST_CASE("each cell's SOC starts from its own voltage and is counted with the string current",
          "[bms][soc]") {
  BmsConfig c = small_config();
  c.rest_ns = sec(60);
  c.ocv_gain_per_s = 0.01;
  c.rest_current_a = 0.1;
  Rig r(c);
  // Channel k at 3.0 + 0.12 k V: SOC 0.1 k; channel 8 invalid at first.
  for (std::size_t k = 0; k < 9; ++k) r.cell_v[k] = 3.0 + 0.12 * static_cast<double>(k);
  r.cell_ok[8] = 0;
  r.step(0);
  REQUIRE(r.out.cell_soc.size() == 9);
  for (std::size_t k = 0; k < 8; ++k) {
    INFO("channel " << k);
    CHECK(r.out.cell_soc[k] == Approx(0.1 * static_cast<double>(k)).margin(1e-12));
  }
  CHECK(std::isnan(r.out.cell_soc[8]));  // no valid reading yet: unknown, not 0
  // 36 A for 10 s: 360 A*s = 1 % of every cell (the current of the series string); channel 8
  // starts from its first valid reading (3.96 V: SOC 0.8) and counts from there.
  r.in.current_a = 36.0;
  r.cell_ok[8] = 1;
  r.run(ms(10), sec(10), ms(10));
  for (std::size_t k = 1; k < 8; ++k) {
    INFO("channel " << k);
    CHECK(r.out.cell_soc[k] == Approx(0.1 * static_cast<double>(k) - 0.01).epsilon(1e-10));
  }
  CHECK(r.out.cell_soc[0] == 0.0);  // clamped at empty
  CHECK(r.out.cell_soc[8] == Approx(0.8 - 36.0 * 9.99 / 36000.0).epsilon(1e-10));
  // At rest each cell is pulled towards its own OCV: one cell that reads 0.2 V low (a
  // self-discharging cell) goes its own way; the others hold.
  r.in.current_a = 0.0;
  const double c3 = r.out.cell_soc[3];
  const double c4 = r.out.cell_soc[4];
  for (std::size_t k = 0; k < 9; ++k) r.cell_v[k] = 3.0 + 1.2 * r.out.cell_soc[k];
  r.cell_v[4] -= 0.2 * 1.2;  // 20 % lower
  r.run(sec(10) + ms(10), sec(1500), ms(10));
  CHECK(r.out.cell_soc[3] == Approx(c3).margin(1e-9));
  CHECK(r.out.cell_soc[4] == Approx(c4 - 0.2).margin(1e-6));
}

TEST_CASE("SOC is clamped to [0, 1]", "[bms][soc]") {
  Rig r(small_config());
  std::fill(r.cell_v.begin(), r.cell_v.end(), 4.2);  // SOC 1
  r.step(0);
  r.in.current_a = -15.0;  // charging a full pack
  r.run(ms(10), sec(1), ms(10));
  CHECK(r.out.soc == 1.0);
}

// --- Balancing -----------------------------------------------------------------------------

namespace {

std::vector<int> on_channels(const BmsOutputs& o) {
  std::vector<int> v;
  for (std::size_t c = 0; c < o.balance.size(); ++c) {
    if (o.balance[c] != 0) v.push_back(static_cast<int>(c));
  }
  return v;
}

// Threshold 10 mV, off at 5 mV, minimum 3.6 V (the default for 3.0..4.2 V), max current 0.5 A.
void set_spread(Rig& r) {
  r.cell_v = {3.700, 3.712, 3.709, 3.7105, 3.7099, 3.705, 3.720, 3.800, 3.701};
}

}  // namespace

TEST_CASE("balancing selects cells above the lowest by the threshold, with hysteresis",
          "[bms][balance]") {
  Rig r(small_config());
  set_spread(r);
  r.step(0);
  CHECK(r.out.cell_v_min_index == 0);
  CHECK(r.out.cell_v_max_index == 7);
  CHECK(r.out.cell_v_max_v == 3.8);
  CHECK(on_channels(r.out) == std::vector<int>{1, 3, 6, 7});

  // Cells 1 and 2 at 7 mV: 1 stays on (above 5 mV), 2 stays off (below 10 mV). Cell 3 at
  // 4.9 mV switches off.
  r.cell_v[1] = 3.707;
  r.cell_v[2] = 3.707;
  r.cell_v[3] = 3.7049;
  r.step(ms(10));
  CHECK(on_channels(r.out) == std::vector<int>{1, 6, 7});
  // Once off, cell 3 needs the full 10 mV again.
  r.cell_v[3] = 3.708;
  r.step(ms(20));
  CHECK(on_channels(r.out) == std::vector<int>{1, 6, 7});
  r.cell_v[3] = 3.7101;
  r.step(ms(30));
  CHECK(on_channels(r.out) == std::vector<int>{1, 3, 6, 7});
  // The reference follows the lowest cell: cell 0 rising by 5 mV turns off 1 (2 mV above).
  r.cell_v[0] = 3.705;
  r.cell_v[5] = 3.706;
  r.cell_v[8] = 3.706;
  r.step(ms(40));
  CHECK(r.out.cell_v_min_index == 0);
  CHECK(on_channels(r.out) == std::vector<int>{3, 6, 7});  // 3: 5.1 mV, still above 5 mV
}

TEST_CASE("balancing never bleeds a cell below the minimum voltage", "[bms][balance]") {
  Rig r(small_config());
  std::fill(r.cell_v.begin(), r.cell_v.end(), 3.50);
  r.cell_v[4] = 3.58;  // 80 mV above, but below 3.6 V
  r.cell_v[5] = 3.61;
  r.step(0);
  CHECK(on_channels(r.out) == std::vector<int>{5});
}

TEST_CASE("no balancing at high current, on invalid data, in fault, before init",
          "[bms][balance]") {
  SECTION("current at or above the limit, and no memory across the pause") {
    Rig r(small_config());
    set_spread(r);
    r.step(0);
    REQUIRE(on_channels(r.out) == std::vector<int>{1, 3, 6, 7});
    r.in.current_a = -0.5;  // |I| not below 0.5 A
    r.step(ms(10));
    CHECK(on_channels(r.out).empty());
    r.in.current_a = 0.49;
    r.cell_v[1] = 3.707;  // between the thresholds: it was reset by the pause, stays off
    r.step(ms(20));
    CHECK(on_channels(r.out) == std::vector<int>{3, 6, 7});
  }
  SECTION("an invalid current") {
    Rig r(small_config());
    set_spread(r);
    r.in.current_valid = false;
    r.step(0);
    CHECK(on_channels(r.out).empty());
  }
  SECTION("any invalid cell voltage") {
    Rig r(small_config());
    set_spread(r);
    r.step(0);
    r.cell_ok[8] = 0;
    r.step(ms(10));
    CHECK(on_channels(r.out).empty());
  }
  SECTION("in fault") {
    Rig r(small_config());
    set_spread(r);
    r.temp_k[0] = 350.0;
    r.run(0, ms(990), ms(10));
    CHECK(on_channels(r.out) == std::vector<int>{1, 3, 6, 7});
    r.step(sec(1));
    REQUIRE(r.out.state == BmsState::kFault);
    CHECK(on_channels(r.out).empty());
    r.temp_k[0] = 300.0;
    r.run(sec(1) + ms(10), sec(2), ms(10));
    CHECK(on_channels(r.out).empty());
  }
  SECTION("before every source has delivered") {
    Rig r(small_config());
    set_spread(r);
    r.temp_silent[1] = 1;
    r.run(0, ms(100), ms(10));
    CHECK(r.out.state == BmsState::kInit);
    CHECK(on_channels(r.out).empty());
  }
}

TEST_CASE("balancing only in standby when configured", "[bms][balance]") {
  for (const bool only_standby : {false, true}) {
    BmsConfig c = small_config();
    c.balance_only_standby = only_standby;
    Rig r(c);
    set_spread(r);
    r.step(0);
    CHECK(r.out.state == BmsState::kStandby);
    CHECK(on_channels(r.out) == std::vector<int>{1, 3, 6, 7});
    r.in.link_v = r.in.pack_v;
    r.in.drive_request = true;
    r.run(ms(10), ms(500), ms(10));
    REQUIRE(r.out.state == BmsState::kNormal);
    CHECK(on_channels(r.out).empty() == only_standby);
  }
}

TEST_CASE("the output vector is written up to its size", "[bms][balance]") {
  Rig r(small_config());
  set_spread(r);
  r.out.balance.assign(4, 9);  // a short output: channels 0..3 written, nothing past it
  r.step(0);
  CHECK(r.out.balance == std::vector<std::uint8_t>{0, 1, 0, 1});
}
