// Protection: exact trip times, latching and reset, transients, timeouts, corrupt frames, init.

#include <algorithm>
#include <catch2/catch.hpp>
#include <functional>
#include <string>

#include "bms_test_util.hpp"

using namespace packsim::bms;
using namespace packsim::bms::test;

namespace {

struct FaultCase {
  const char* name;
  Fault flag;
  std::int64_t delay_ns;
  int cell;
  int sensor;
  std::function<void(Rig&)> apply;
  std::function<void(Rig&)> clear;
};

// The defaults of small_config(): OV/UV 500 ms, OT/UT 1 s, OC 100 ms, invalid 500 ms; hardware
// flag 1 s, vent gas above 500 ppm for 1 s, insulation below 500 kOhm for 2 s.
std::vector<FaultCase> fault_cases() {
  return {
      {"over-voltage", Fault::kOverVoltage, ms(500), 4, -1, [](Rig& r) { r.cell_v[4] = 4.25; },
       [](Rig& r) { r.cell_v[4] = 3.7; }},
      {"under-voltage", Fault::kUnderVoltage, ms(500), 2, -1, [](Rig& r) { r.cell_v[2] = 2.95; },
       [](Rig& r) { r.cell_v[2] = 3.7; }},
      {"over-temperature", Fault::kOverTemp, ms(1000), -1, 1, [](Rig& r) { r.temp_k[1] = 340.0; },
       [](Rig& r) { r.temp_k[1] = 300.0; }},
      {"under-temperature", Fault::kUnderTemp, ms(1000), -1, 2, [](Rig& r) { r.temp_k[2] = 250.0; },
       [](Rig& r) { r.temp_k[2] = 300.0; }},
      {"over-current discharge", Fault::kOverCurrentDischarge, ms(100), -1, -1,
       [](Rig& r) { r.in.current_a = 60.0; }, [](Rig& r) { r.in.current_a = 10.0; }},
      {"over-current charge", Fault::kOverCurrentCharge, ms(100), -1, -1,
       [](Rig& r) { r.in.current_a = -25.0; }, [](Rig& r) { r.in.current_a = -10.0; }},
      {"invalid cell voltage", Fault::kMeasurementInvalid, ms(500), 7, -1,
       [](Rig& r) { r.cell_ok[7] = 0; }, [](Rig& r) { r.cell_ok[7] = 1; }},
      {"invalid temperature", Fault::kMeasurementInvalid, ms(500), -1, 0,
       [](Rig& r) { r.temp_ok[0] = 0; }, [](Rig& r) { r.temp_ok[0] = 1; }},
      {"invalid current", Fault::kMeasurementInvalid, ms(500), -1, -1,
       [](Rig& r) { r.in.current_valid = false; }, [](Rig& r) { r.in.current_valid = true; }},
      // The AFE's comparator flags a cell whose reading looks healthy (a stuck channel).
      {"hardware OV flag", Fault::kHardwareFlag, ms(1000), 3, -1, [](Rig& r) { r.hw_ov[3] = 1; },
       [](Rig& r) { r.hw_ov[3] = 0; }},
      {"hardware UV flag", Fault::kHardwareFlag, ms(1000), 6, -1, [](Rig& r) { r.hw_uv[6] = 1; },
       [](Rig& r) { r.hw_uv[6] = 0; }},
      {"vent gas", Fault::kVentGas, ms(1000), -1, -1, [](Rig& r) { r.in.vent_gas_ppm = 2000.0; },
       [](Rig& r) { r.in.vent_gas_ppm = 0.0; }},
      {"insulation", Fault::kInsulation, ms(2000), -1, -1,
       [](Rig& r) { r.in.insulation_ohm = 200e3; }, [](Rig& r) { r.in.insulation_ohm = 10e6; }},
  };
}

// First update of the grid {0, p, 2p, ...} at or after t.
std::int64_t grid_at_or_after(std::int64_t t, std::int64_t p) { return (t + p - 1) / p * p; }

}  // namespace

TEST_CASE("each fault trips at the first update at or after onset + delay", "[bms][fault]") {
  const std::int64_t period = GENERATE(ms(10), ms(7), ms(1));
  for (const FaultCase& fc : fault_cases()) {
    CAPTURE(fc.name, period);
    Rig r(small_config());
    std::int64_t t = r.connect(period);
    REQUIRE(r.out.state == BmsState::kNormal);
    const std::int64_t t0 = grid_at_or_after(sec(1), period);
    for (; t < t0; t += period) r.step(t);

    fc.apply(r);
    const std::int64_t expected_trip = grid_at_or_after(t0 + fc.delay_ns, period);
    int early = 0;
    for (t = t0; t < expected_trip; t += period) {
      r.step(t);
      if (!normal_closed(r.out) || r.out.faults != Fault::kNone) ++early;
    }
    CHECK(early == 0);
    r.step(expected_trip);
    CHECK(r.out.state == BmsState::kFault);
    CHECK(all_open(r.out));
    CHECK(r.out.faults == fc.flag);
    CHECK(r.out.first_fault == fc.flag);
    CHECK(r.out.first_fault_cell == fc.cell);
    CHECK(r.out.first_fault_sensor == fc.sensor);
    CHECK(r.out.first_fault_module == -1);
    CHECK(r.out.first_fault_onset_ns == t0);
    CHECK(r.out.first_fault_ns == expected_trip);
    CHECK(r.out.first_fault_ns - r.out.first_fault_onset_ns >= fc.delay_ns);
    CHECK(r.out.first_fault_ns - r.out.first_fault_onset_ns < fc.delay_ns + period);
  }
}

TEST_CASE("trip times by hand on a 7 ms cycle", "[bms][fault]") {
  // Updates at multiples of 7 ms; the condition appears at 1001 ms (143 * 7).
  SECTION("over-voltage 500 ms: first update >= 1501 ms is 1505 ms") {
    Rig r(small_config());
    r.connect(ms(7));
    r.run(ms(7) * 30, ms(994), ms(7));
    r.cell_v[4] = 4.3;
    r.run(ms(1001), ms(1498), ms(7));
    CHECK(r.out.state == BmsState::kNormal);
    r.step(ms(1505));
    CHECK(r.out.state == BmsState::kFault);
    CHECK(r.out.first_fault_ns == ms(1505));
  }
  SECTION("over-current 100 ms: first update >= 1101 ms is 1106 ms") {
    Rig r(small_config());
    r.connect(ms(7));
    r.run(ms(7) * 30, ms(994), ms(7));
    r.in.current_a = 51.0;
    r.run(ms(1001), ms(1099), ms(7));
    CHECK(r.out.state == BmsState::kNormal);
    r.step(ms(1106));
    CHECK(r.out.state == BmsState::kFault);
    CHECK(r.out.faults == Fault::kOverCurrentDischarge);
  }
}

TEST_CASE("a zero delay trips in the update that sees the condition", "[bms][fault]") {
  BmsConfig c = small_config();
  c.ov_delay_ns = 0;
  Rig r(c);
  std::int64_t t = r.connect(ms(10));
  r.cell_v[0] = 4.21;
  r.step(t);
  CHECK(r.out.state == BmsState::kFault);
  CHECK(r.out.first_fault_ns == t);
  CHECK(r.out.first_fault_onset_ns == t);
}

TEST_CASE("faults latch until a reset edge with the condition gone", "[bms][fault]") {
  for (const FaultCase& fc : fault_cases()) {
    CAPTURE(fc.name);
    Rig r(small_config());
    std::int64_t t = r.connect(ms(10));
    fc.apply(r);
    t = r.run(t, t + fc.delay_ns, ms(10));
    REQUIRE(r.out.state == BmsState::kFault);
    const std::int64_t tripped = r.out.first_fault_ns;

    // Reset while the condition is present: nothing clears.
    r.in.fault_reset = true;
    r.step(t);
    t += ms(10);
    CHECK(r.out.faults == fc.flag);
    CHECK(r.out.state == BmsState::kFault);
    r.in.fault_reset = false;

    // The condition goes away: still latched, first-fault record unchanged.
    fc.clear(r);
    t = r.run(t, t + sec(2), ms(10));
    CHECK(r.out.state == BmsState::kFault);
    CHECK(r.out.faults == fc.flag);
    CHECK(all_open(r.out));
    CHECK(r.out.first_fault_ns == tripped);

    // Reset edge: cleared; the request still raised does not reconnect.
    r.in.fault_reset = true;
    r.step(t);
    t += ms(10);
    CHECK(r.out.faults == Fault::kNone);
    CHECK(r.out.first_fault == Fault::kNone);
    CHECK(r.out.first_fault_cell == -1);
    CHECK(r.out.state == BmsState::kStandby);
    t = r.run(t, t + ms(200), ms(10));
    CHECK(r.out.state == BmsState::kStandby);
    r.in.fault_reset = false;
    r.in.drive_request = false;
    r.step(t);
    r.in.drive_request = true;
    r.step(t + ms(10));
    CHECK(r.out.state == BmsState::kPrecharge);
  }
}

TEST_CASE("a reset held high does not defeat latching", "[bms][fault]") {
  Rig r(small_config());
  std::int64_t t = r.connect(ms(10));
  r.in.fault_reset = true;  // stuck high from here on
  r.cell_v[1] = 4.3;
  t = r.run(t, t + ms(500), ms(10));
  REQUIRE(r.out.state == BmsState::kFault);
  r.cell_v[1] = 3.7;
  r.run(t, t + sec(1), ms(10));
  CHECK(r.out.state == BmsState::kFault);
  CHECK(r.out.faults == Fault::kOverVoltage);
}

TEST_CASE("a reset clears only the faults whose condition is gone", "[bms][fault]") {
  Rig r(small_config());
  std::int64_t t = r.connect(ms(10));
  r.cell_v[1] = 4.3;
  r.temp_k[0] = 340.0;
  t = r.run(t, t + sec(1), ms(10));
  CHECK(r.out.faults == (Fault::kOverVoltage | Fault::kOverTemp));
  CHECK(r.out.first_fault == Fault::kOverVoltage);  // 500 ms before the 1 s of OT
  CHECK(r.out.first_fault_cell == 1);
  r.cell_v[1] = 3.7;
  r.in.fault_reset = true;
  r.step(t);
  CHECK(r.out.faults == Fault::kOverTemp);
  CHECK(r.out.state == BmsState::kFault);
  CHECK(r.out.first_fault == Fault::kOverVoltage);  // kept until every flag is cleared
  r.in.fault_reset = false;
  r.temp_k[0] = 300.0;
  r.step(t + ms(10));
  r.in.fault_reset = true;
  r.step(t + ms(20));
  CHECK(r.out.faults == Fault::kNone);
  CHECK(r.out.state == BmsState::kStandby);
}

TEST_CASE("a transient one cycle shorter than the delay does not trip", "[bms][fault]") {
  for (const FaultCase& fc : fault_cases()) {
    CAPTURE(fc.name);
    Rig r(small_config());
    std::int64_t t = r.connect(ms(10));
    for (int repeat = 0; repeat < 3; ++repeat) {
      // Present at t .. t + delay - 10 ms, gone at t + delay.
      fc.apply(r);
      t = r.run(t, t + fc.delay_ns - ms(10), ms(10));
      CHECK(r.out.state == BmsState::kNormal);
      fc.clear(r);
      t = r.run(t, t + ms(50), ms(10));
    }
    CHECK(r.out.state == BmsState::kNormal);
    CHECK(r.out.faults == Fault::kNone);
  }
}

TEST_CASE("debounce is per channel", "[bms][fault]") {
  Rig r(small_config());
  std::int64_t t = r.connect(ms(10));
  const std::int64_t t0 = t;
  // Cell 1 over t0 .. t0+290, cell 2 over from t0+200: "some cell over" holds 500 ms at
  // t0+500, but no single cell has.
  for (; t <= t0 + ms(690); t += ms(10)) {
    r.cell_v[1] = t - t0 < ms(300) ? 4.3 : 3.7;
    r.cell_v[2] = t - t0 >= ms(200) ? 4.3 : 3.7;
    r.step(t);
  }
  CHECK(r.out.state == BmsState::kNormal);
  r.step(t0 + ms(700));  // cell 2: 500 ms since t0 + 200
  CHECK(r.out.state == BmsState::kFault);
  CHECK(r.out.first_fault_cell == 2);
  CHECK(r.out.first_fault_onset_ns == t0 + ms(200));
}

TEST_CASE("the channel over the limit longest is the cause", "[bms][fault]") {
  Rig r(small_config());
  std::int64_t t = r.connect(ms(10));
  const std::int64_t t0 = t;
  r.cell_v[5] = 4.3;
  r.step(t);
  r.cell_v[3] = 4.3;
  r.run(t + ms(10), t0 + ms(500), ms(10));
  CHECK(r.out.state == BmsState::kFault);
  CHECK(r.out.first_fault_cell == 5);
  CHECK(r.out.first_fault_ns == t0 + ms(500));
}

TEST_CASE("invalid samples neither confirm nor break a condition", "[bms][fault]") {
  SECTION("an invalid gap inside an over-voltage episode keeps its onset") {
    Rig r(small_config());
    std::int64_t t = r.connect(ms(10));
    const std::int64_t t0 = t;
    r.cell_v[6] = 4.3;
    for (; t < t0 + ms(500); t += ms(10)) {
      r.cell_ok[6] = (t - t0 >= ms(200) && t - t0 < ms(300)) ? 0 : 1;
      r.step(t);
    }
    CHECK(r.out.state == BmsState::kNormal);
    r.step(t0 + ms(500));
    CHECK(r.out.state == BmsState::kFault);
    CHECK(r.out.first_fault == Fault::kOverVoltage);
    CHECK(r.out.first_fault_onset_ns == t0);
  }
  SECTION("a channel that goes invalid while over the limit still trips on time") {
    Rig r(small_config());
    std::int64_t t = r.connect(ms(10));
    const std::int64_t t0 = t;
    r.cell_v[6] = 4.3;
    r.run(t0, t0 + ms(90), ms(10));
    r.cell_ok[6] = 0;
    r.run(t0 + ms(100), t0 + ms(490), ms(10));
    CHECK(r.out.state == BmsState::kNormal);
    r.step(t0 + ms(500));
    CHECK(r.out.faults == Fault::kOverVoltage);
    // The invalid channel itself trips 500 ms after it went invalid.
    r.run(t0 + ms(510), t0 + ms(590), ms(10));
    CHECK(r.out.faults == Fault::kOverVoltage);
    r.step(t0 + ms(600));
    CHECK(r.out.faults == (Fault::kOverVoltage | Fault::kMeasurementInvalid));
    CHECK(r.out.first_fault == Fault::kOverVoltage);
  }
}

TEST_CASE("a short input array reads as invalid channels", "[bms][fault]") {
  Rig r(small_config());
  std::int64_t t = r.connect(ms(10));
  r.in.cell_v = Span<const double>(r.cell_v.data(), 8);  // channel 8 missing
  const std::int64_t t0 = t;
  r.run(t0, t0 + ms(490), ms(10));
  CHECK(r.out.state == BmsState::kNormal);
  CHECK(r.out.cell_v_max_index != 8);
  r.step(t0 + ms(500));
  CHECK(r.out.faults == Fault::kMeasurementInvalid);
  CHECK(r.out.first_fault_cell == 8);
}

// --- Init and timeouts -----------------------------------------------------------------------

TEST_CASE("no data fault before the first data; a silent bus is lost after the start-up grace",
          "[bms][fault][init]") {
  Rig r(small_config());
  REQUIRE(r.cfg.startup_grace_ns == sec(10));
  std::fill(r.voltage_silent.begin(), r.voltage_silent.end(), std::uint8_t{1});
  std::fill(r.temp_silent.begin(), r.temp_silent.end(), std::uint8_t{1});
  r.current_silent = true;
  // Values that would trip everything if they counted.
  std::fill(r.cell_v.begin(), r.cell_v.end(), 5.0);
  r.temp_k[0] = 400.0;
  r.in.current_a = 100.0;
  r.cell_ok[3] = 0;
  r.in.drive_request = true;
  // First update at 1 s: nothing heard for 10 s is quiet; at 1 s + 10 s every source is lost.
  r.run(sec(1), sec(11) - ms(10), ms(10));
  CHECK(r.out.state == BmsState::kInit);
  CHECK(r.out.faults == Fault::kNone);
  CHECK(all_open(r.out));
  CHECK(std::count(r.out.balance.begin(), r.out.balance.end(), 1) == 0);
  r.step(sec(11));
  CHECK(r.out.state == BmsState::kFault);
  CHECK(r.out.faults == (Fault::kAfeDataLost | Fault::kCurrentSensorLost));
  CHECK(r.out.first_fault == Fault::kAfeDataLost);
  CHECK(r.out.first_fault_module == 0);
  // As if the last frame had come one timeout before the grace ran out.
  CHECK(r.out.first_fault_onset_ns == sec(11) - r.cfg.afe_timeout_ns);
  // Once the data arrives and the faults are reset, the BMS goes to standby, then judges data.
  std::fill(r.voltage_silent.begin(), r.voltage_silent.end(), std::uint8_t{0});
  std::fill(r.temp_silent.begin(), r.temp_silent.end(), std::uint8_t{0});
  r.current_silent = false;
  r.step(sec(12));
  r.in.fault_reset = true;
  r.step(sec(12) + ms(10));
  CHECK(r.out.faults == Fault::kNone);
  CHECK(r.out.state == BmsState::kStandby);
  // The data faults are timed from the first update that judged data (12 s).
  r.in.fault_reset = false;
  r.step(sec(12) + ms(90));
  CHECK(r.out.state == BmsState::kStandby);
  r.step(sec(12) + ms(100));  // over-current 100 ms after 12 s
  CHECK(r.out.state == BmsState::kFault);
  CHECK(r.out.faults == Fault::kOverCurrentDischarge);
  CHECK(r.out.first_fault_onset_ns == sec(12));
}

TEST_CASE("a BMS started before the simulator waits for its first frames", "[bms][fault][init]") {
  // Issue 11: the starting order must not decide the verdict. The BMS runs 3 s on a silent bus
  // (six timeouts), then the simulator comes up.
  const auto silence = [](Rig& r, bool on) {
    std::fill(r.voltage_silent.begin(), r.voltage_silent.end(),
              static_cast<std::uint8_t>(on ? 1 : 0));
    std::fill(r.temp_silent.begin(), r.temp_silent.end(), static_cast<std::uint8_t>(on ? 1 : 0));
    r.current_silent = on;
  };
  SECTION("every source arrives: no fault, the BMS goes on to normal") {
    Rig r(small_config());
    silence(r, true);
    r.in.drive_request = true;
    r.in.link_v = r.in.pack_v;
    std::int64_t t = r.run(0, sec(3) - ms(10), ms(10));
    CHECK(r.out.state == BmsState::kInit);
    silence(r, false);
    r.run(t, sec(5), ms(10));
    CHECK(r.out.faults == Fault::kNone);
    CHECK(r.out.state == BmsState::kNormal);
  }
  SECTION("the simulator's current arrives, one module's voltages never do") {
    Rig r(small_config());
    silence(r, true);
    std::int64_t t = r.run(0, sec(3) - ms(10), ms(10));
    silence(r, false);
    r.voltage_silent[1] = 1;
    // Lost one timeout after the bus's first frame (3 s), not after the BMS's start.
    t = r.run(t, sec(3) + r.cfg.afe_timeout_ns - ms(10), ms(10));
    CHECK(r.out.faults == Fault::kNone);
    CHECK(r.out.state == BmsState::kInit);
    r.step(t);
    CHECK(r.out.faults == Fault::kAfeDataLost);
    CHECK(r.out.first_fault_module == 1);
    CHECK(r.out.first_fault_onset_ns == sec(3));
  }
}

TEST_CASE("init ends when every source has delivered, data faults are timed from there",
          "[bms][fault][init]") {
  Rig r(small_config());
  r.voltage_silent[1] = 1;  // module 1's voltages late
  r.cell_v[0] = 4.3;
  r.run(0, ms(190), ms(10));
  CHECK(r.out.state == BmsState::kInit);
  CHECK(r.out.soc_valid);  // SOC starts from the first valid voltages regardless
  r.voltage_silent[1] = 0;
  r.step(ms(200));
  CHECK(r.out.state == BmsState::kStandby);
  r.run(ms(210), ms(690), ms(10));
  CHECK(r.out.state == BmsState::kStandby);
  r.step(ms(700));
  CHECK(r.out.state == BmsState::kFault);
  CHECK(r.out.faults == Fault::kOverVoltage);
  CHECK(r.out.first_fault_onset_ns == ms(200));
}

TEST_CASE("AFE timeout per module and per frame type", "[bms][fault][timeout]") {
  SECTION("module 1 voltage frames stop between two updates") {
    Rig r(small_config());
    std::int64_t t = r.connect(ms(10));
    t = r.run(t, sec(2), ms(10));
    r.voltage_silent[1] = 1;
    r.voltage_frame[1] = ms(2003);  // the last frame, received between updates
    // Timeout 500 ms: the first update at or after 2503 ms is 2510 ms.
    r.run(t, ms(2500), ms(10));
    CHECK(r.out.state == BmsState::kNormal);
    r.step(ms(2510));
    CHECK(r.out.state == BmsState::kFault);
    CHECK(all_open(r.out));
    CHECK(r.out.faults == Fault::kAfeDataLost);
    CHECK(r.out.first_fault_module == 1);
    CHECK(r.out.first_fault_onset_ns == ms(2003));
    CHECK(r.out.first_fault_ns == ms(2510));
    // Frames resume: the reset clears it.
    r.voltage_silent[1] = 0;
    r.step(ms(3000));
    CHECK(r.out.state == BmsState::kFault);
    r.in.fault_reset = true;
    r.step(ms(3010));
    CHECK(r.out.faults == Fault::kNone);
  }
  SECTION("module 0 temperature frames stop") {
    Rig r(small_config());
    std::int64_t t = r.connect(ms(10));
    t = r.run(t, sec(2), ms(10));
    r.temp_silent[0] = 1;  // last frame at 2000 ms
    r.run(t, ms(2490), ms(10));
    CHECK(r.out.state == BmsState::kNormal);
    r.step(ms(2500));
    CHECK(r.out.faults == Fault::kAfeDataLost);
    CHECK(r.out.first_fault_module == 0);
    // A reset while the frames are still missing does not clear it.
    r.in.fault_reset = true;
    r.step(ms(2600));
    CHECK(r.out.faults == Fault::kAfeDataLost);
  }
  SECTION("a module without temperature sensors needs no temperature frames") {
    Rig r(small_config());
    r.temp_silent[2] = 1;
    r.temp_frame[2] = kNoFrame;
    std::int64_t t = r.connect(ms(10));
    r.run(t, sec(5), ms(10));
    CHECK(r.out.state == BmsState::kNormal);
    CHECK(r.out.faults == Fault::kNone);
  }
  SECTION("the module silent longest is the cause") {
    Rig r(small_config());
    std::int64_t t = r.connect(ms(10));
    t = r.run(t, sec(1), ms(10));
    r.voltage_silent[2] = 1;
    r.voltage_frame[2] = ms(990);
    r.voltage_silent[0] = 1;
    r.voltage_frame[0] = ms(980);
    r.run(t, ms(1480), ms(10));
    CHECK(r.out.faults == Fault::kAfeDataLost);
    CHECK(r.out.first_fault_module == 0);
    CHECK(r.out.first_fault_ns == ms(1480));
  }
}

TEST_CASE("current sensor timeout", "[bms][fault][timeout]") {
  Rig r(small_config());
  std::int64_t t = r.connect(ms(10));
  t = r.run(t, sec(3), ms(10));
  r.current_silent = true;
  r.in.current_frame_ns = ms(2995);
  r.run(t, ms(3490), ms(10));
  CHECK(r.out.state == BmsState::kNormal);
  r.step(ms(3500));  // first update >= 3495 ms
  CHECK(r.out.state == BmsState::kFault);
  CHECK(r.out.faults == Fault::kCurrentSensorLost);
  CHECK(r.out.first_fault_onset_ns == ms(2995));
}

// --- Corrupt frames --------------------------------------------------------------------------

TEST_CASE("rejected frames: more than the limit within the window", "[bms][fault][corrupt]") {
  // Limit 5 within 1 s; a rejection counts while now - (update that saw it) < 1 s.
  Rig r(small_config());
  std::int64_t t = r.connect(ms(10));
  t = r.run(t, sec(1), ms(10));
  auto reject_at = [&](std::int64_t when, bool crc) {
    r.run(t, when - ms(10), ms(10));
    if (crc) {
      ++r.in.rejected_crc;
    } else {
      ++r.in.rejected_counter;
    }
    r.step(when);
    t = when + ms(10);
  };
  reject_at(ms(1100), true);
  reject_at(ms(1300), false);
  reject_at(ms(1500), true);
  reject_at(ms(1700), false);
  reject_at(ms(1900), true);
  CHECK(r.out.state == BmsState::kNormal);  // 5: at the limit, not above
  // At 2100 ms the one of 1100 ms is exactly one window old: 1300..1900 and 2100 are 5.
  reject_at(ms(2100), true);
  CHECK(r.out.state == BmsState::kNormal);
  // At 2200 ms: 1300, 1500, 1700, 1900, 2100, 2200 are 6.
  reject_at(ms(2200), false);
  CHECK(r.out.state == BmsState::kFault);
  CHECK(r.out.faults == Fault::kAfeDataCorrupt);
  CHECK(r.out.first_fault_ns == ms(2200));
  // Reset while the window still holds 6: stays. Once they age out: clears.
  r.in.fault_reset = true;
  r.step(ms(2290));
  CHECK(r.out.faults == Fault::kAfeDataCorrupt);
  r.in.fault_reset = false;
  r.run(ms(2300), ms(3190), ms(10));
  r.in.fault_reset = true;
  r.step(ms(3200));  // (2200 ms, 3200 ms] holds none of them
  CHECK(r.out.faults == Fault::kNone);
}

TEST_CASE("a burst of rejections trips at once, counts wrap modulo 2^32", "[bms][fault][corrupt]") {
  SECTION("six in one cycle") {
    Rig r(small_config());
    std::int64_t t = r.connect(ms(10));
    r.in.rejected_crc += 4;
    r.in.rejected_counter += 2;
    r.step(t);
    CHECK(r.out.state == BmsState::kFault);
    CHECK(r.out.faults == Fault::kAfeDataCorrupt);
  }
  SECTION("wrap-around") {
    Rig r(small_config());
    r.in.rejected_crc = 0xFFFFFFFEu;  // the baseline at the first update
    std::int64_t t = r.connect(ms(10));
    r.in.rejected_crc = 1u;  // +3
    r.step(t);
    CHECK(r.out.state == BmsState::kNormal);
    r.in.rejected_crc = 4u;  // +3: six within the window
    r.step(t + ms(10));
    CHECK(r.out.faults == Fault::kAfeDataCorrupt);
  }
  SECTION("counts before the first update are not the BMS's") {
    Rig r(small_config());
    r.in.rejected_crc = 1000;
    r.in.rejected_counter = 77;
    std::int64_t t = r.connect(ms(10));
    r.run(t, sec(1), ms(10));
    CHECK(r.out.state == BmsState::kNormal);
  }
  SECTION("limit 0: any rejection trips") {
    BmsConfig c = small_config();
    c.corrupt_limit = 0;
    Rig r(c);
    std::int64_t t = r.connect(ms(10));
    t = r.run(t, sec(1), ms(10));
    ++r.in.rejected_counter;
    r.step(t);
    CHECK(r.out.faults == Fault::kAfeDataCorrupt);
  }
}
