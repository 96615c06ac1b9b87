// What the reference BMS reports besides its state (docs/refbms.md "Limits and what it reports"):
// current and power limits derated near the voltage and temperature limits, SOH, the fault code.
// small_config(): 9 cells, 3.0 .. 4.2 V, 10 Ah (1 C = 10 A): over-current limits 50 A discharge,
// 20 A charge; OT 60 degC, UT -20 degC; so dv = 0.05 x 1.2 V = 60 mV and dT = 10 K.
#include <catch2/catch.hpp>

#include "bms_test_util.hpp"

using namespace packsim::bms;
using namespace packsim::bms::test;

TEST_CASE("Current limits are the over-current limits, derated to 0 near the limits", "[bms]") {
  Rig r(small_config());
  std::int64_t t = r.connect(ms(10));
  REQUIRE(r.out.state == BmsState::kNormal);
  CHECK(r.out.discharge_current_limit_a == Approx(50.0));
  CHECK(r.out.charge_current_limit_a == Approx(20.0));
  CHECK(r.out.discharge_power_limit_w == Approx(50.0 * 9 * 3.7));
  CHECK(r.out.charge_power_limit_w == Approx(20.0 * 9 * 3.7));
  CHECK(r.out.soh == 1.0);

  // Cell 4 at 3.03 V: half-way through the last 60 mV before UV, discharge halved.
  r.cell_v[4] = 3.03;
  r.step(t);
  t += ms(10);
  CHECK(r.out.discharge_current_limit_a == Approx(25.0));
  CHECK(r.out.charge_current_limit_a == Approx(20.0));
  CHECK(r.out.discharge_power_limit_w == Approx(25.0 * (8 * 3.7 + 3.03)));
  // Cell 5 at 4.185 V: a quarter of the window left before OV, charge at a quarter.
  r.cell_v[5] = 4.185;
  r.step(t);
  t += ms(10);
  CHECK(r.out.charge_current_limit_a == Approx(5.0));
  // 55 degC: half-way through the last 10 K before OT, both halved on top.
  r.temp_k[1] = 273.15 + 55.0;
  r.step(t);
  t += ms(10);
  CHECK(r.out.discharge_current_limit_a == Approx(12.5));
  CHECK(r.out.charge_current_limit_a == Approx(2.5));
  // -17.5 degC: a quarter of the 10 K above UT left, charge at a quarter more.
  r.temp_k[0] = 273.15 - 17.5;
  r.step(t);
  t += ms(10);
  CHECK(r.out.charge_current_limit_a == Approx(0.625));
  CHECK(r.out.discharge_current_limit_a == Approx(12.5));
  // Under-voltage latched: nothing allowed.
  r.cell_v[4] = 2.9;
  r.run(t, t + sec(1), ms(10));
  REQUIRE(has_fault(r.out.faults, Fault::kUnderVoltage));
  CHECK(r.out.discharge_current_limit_a == 0.0);
  CHECK(r.out.charge_current_limit_a == 0.0);
  CHECK(r.out.discharge_power_limit_w == 0.0);
}

TEST_CASE("The fault code is the first fault's bit number + 1", "[bms]") {
  CHECK(fault_code(Fault::kNone) == 0);
  CHECK(fault_code(Fault::kOverVoltage) == 1);
  CHECK(fault_code(Fault::kOverTemp) == 3);
  CHECK(fault_code(Fault::kCurrentSensorLost) == 9);
  CHECK(fault_code(Fault::kInsulation) == 14);
}
