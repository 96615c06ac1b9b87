// The foxbms2 profile (profiles/foxbms2): loaded against small packs and run through the simulator
// side of the protocol engine. Every expected byte below is derived by hand from the DBC
// statements of foxBMS 2 v1.11.0 (profiles/foxbms2/foxbms2.dbc); the derivations are in the
// comments. Bit numbering: Motorola (@0) start bit = the signal's MSB, byte b bit k = 8b + k.
#include <array>
#include <catch2/catch.hpp>
#include <map>
#include <vector>

#include "packsim/can/protocol.hpp"
#include "packsim/config/loaders.hpp"

using namespace packsim;

namespace {

constexpr double kZeroC = 273.15;

// Two AFE modules of 12 cells and 6 sensors: 24 channels, 12 sensors.
config::ProfileLayout layout_2x12(std::int64_t tick_ns = 1'000'000) {
  config::ProfileLayout l;
  l.n_channels = 24;
  l.cells_per_module = 12;
  l.n_modules = 2;
  l.sensors_per_module = 6;
  l.n_sensors = 12;
  l.tick_ns = tick_ns;
  return l;
}

// foxBMS 2's default battery system: one module of 18 cell blocks and 8 sensors.
config::ProfileLayout layout_1x18() {
  config::ProfileLayout l;
  l.n_channels = 18;
  l.cells_per_module = 18;
  l.n_modules = 1;
  l.sensors_per_module = 8;
  l.n_sensors = 8;
  l.tick_ns = 1'000'000;
  return l;
}

std::shared_ptr<const can::Profile> load_foxbms2(const config::ProfileLayout& l) {
  Diagnostics diags;
  const auto path = config::resolve_profile("foxbms2", PACKSIM_SOURCE_DIR);
  auto p = config::load_profile(path, l, diags);
  INFO(diags.format());
  REQUIRE(p);
  return p;
}

struct Capture : can::FrameSink {
  struct Sent {
    std::int64_t t;
    can::CanFrame f;
  };
  std::vector<Sent> frames;
  std::int64_t now = 0;
  bool send(std::size_t, const can::CanFrame& f) override {
    frames.push_back({now, f});
    return true;
  }
};

model::AfeData afe_for(int channels, int sensors, int modules) {
  model::AfeData afe;
  afe.v_meas.assign(static_cast<std::size_t>(channels), 3.7);
  afe.open_wire.assign(static_cast<std::size_t>(channels), 0);
  afe.ov_flag.assign(static_cast<std::size_t>(channels), 0);
  afe.uv_flag.assign(static_cast<std::size_t>(channels), 0);
  afe.t_meas_k.assign(static_cast<std::size_t>(sensors), kZeroC + 25.0);
  afe.die_temp_k.assign(static_cast<std::size_t>(modules), kZeroC + 30.0);
  return afe;
}

// Runs the simulator side over [from, to) in 1 ms ticks and returns every frame sent.
std::vector<Capture::Sent> run(can::SimProtocol& sim, const model::AfeData& afe,
                               const model::ShuntData& sh, std::int64_t from_ns,
                               std::int64_t to_ns) {
  Capture cap;
  for (std::int64_t t = from_ns; t < to_ns; t += 1'000'000) {
    cap.now = t;
    sim.transmit(t, afe, sh, cap);
  }
  return cap.frames;
}

std::vector<std::uint8_t> bytes(const can::CanFrame& f) {
  return {f.data.begin(), f.data.begin() + f.len};
}

// The first frame with this id (and, for 0x270/0x280, this mux value in byte 0).
const can::CanFrame* find(const std::vector<Capture::Sent>& frames, std::uint32_t id,
                          int mux = -1) {
  for (const auto& s : frames) {
    if (s.f.id == id && (mux < 0 || s.f.data[0] == mux)) return &s.f;
  }
  return nullptr;
}

can::CanFrame bms_state_frame(std::uint8_t byte0) {
  can::CanFrame f;
  f.id = 0x220;
  f.len = 8;
  f.data[0] =
      byte0;  // BmsState 3|4@0+ = byte 0 bits 3..0; NumberOfConnectedStrings 7|4@0+ = bits 7..4
  return f;
}

}  // namespace

TEST_CASE("foxbms2: the profile resolves against a two-module pack", "[profile][foxbms2]") {
  const auto p = load_foxbms2(layout_2x12());
  CHECK(p->name == "foxbms2");
  CHECK(p->buses == std::vector<std::string>{"bms"});
  std::map<std::uint32_t, std::vector<int>> muxes;  // id -> mux values of its frames
  for (const auto& f : p->frames) {
    int mux = -1;
    for (const auto& s : f.slots) {
      if (s.source == can::Source::kMux) mux = static_cast<int>(s.constant);
    }
    muxes[f.id].push_back(mux);
  }
  // 24 cells = rows 0..5 of 0x270, 12 sensors = rows 0..1 of 0x280; rows 6..53 and 2..29 carry
  // nothing of this pack and are not sent.
  CHECK(muxes[0x270] == std::vector<int>{0, 1, 2, 3, 4, 5});
  CHECK(muxes[0x280] == std::vector<int>{0, 1});
  for (std::uint32_t id = 0x521; id <= 0x528; ++id) CHECK(muxes[id].size() == 1);
  CHECK(muxes[0x210].size() == 1);
  CHECK(p->frames.size() == 6 + 2 + 8 + 1);
  REQUIRE(p->rx.size() == 5);  // the state, and the four pack reports (test_observe.cpp)
  CHECK(p->rx[0].id == 0x220);
  CHECK(p->rx[0].timeout_ns == 300'000'000);
  CHECK(p->rx[0].open_on_timeout);
  CHECK(p->commands_contactors);
  CHECK_FALSE(p->commands_balancing);

  // One second: 0x270 10 x 6 rows, 0x280 10 x 2 rows, current 100, U1/U2/U3/W 50 each,
  // T/As/Wh 10 each, state request 10.
  can::SimProtocol sim(p, 24, 12, 2);
  CHECK(sim.frames_per_second() == Approx(60 + 20 + 100 + 4 * 50 + 3 * 10 + 10));
  const auto frames = run(sim, afe_for(24, 12, 2), model::ShuntData{}, 0, 1'000'000'000);
  std::map<std::uint32_t, int> count;
  for (const auto& s : frames) ++count[s.f.id];
  CHECK(count[0x270] == 60);
  CHECK(count[0x280] == 20);
  CHECK(count[0x521] == 100);
  CHECK(count[0x522] == 50);
  CHECK(count[0x524] == 50);
  CHECK(count[0x526] == 50);
  CHECK(count[0x525] == 10);
  CHECK(count[0x527] == 10);
  CHECK(count[0x528] == 10);
  CHECK(count[0x210] == 10);
  for (const auto& s : frames) {
    INFO("id 0x" << std::hex << s.f.id);
    CHECK(s.f.len == (s.f.id >= 0x521 ? 6 : 8));
    CHECK_FALSE(s.f.extended);
    if (s.f.id == 0x270) CHECK(s.f.data[0] <= 5);
  }
}

TEST_CASE("foxbms2: golden AFE rows", "[profile][foxbms2]") {
  const auto p = load_foxbms2(layout_2x12());
  can::SimProtocol sim(p, 24, 12, 2);
  model::AfeData afe = afe_for(24, 12, 2);
  afe.v_meas[4] = 3.300;
  afe.v_meas[5] = 3.301;
  afe.v_meas[6] = 4.095;
  afe.v_meas[7] = 2.500;
  afe.open_wire[6] = 1;  // the AFE flags cell 6 invalid
  afe.t_meas_k[6] = kZeroC + 25.0;
  afe.t_meas_k[7] = kZeroC - 10.4;
  afe.t_meas_k[8] = kZeroC + 0.0;
  afe.t_meas_k[9] = kZeroC + 127.6;  // beyond int8: clamps to 127
  afe.t_meas_k[10] = kZeroC - 40.0;
  afe.t_meas_k[11] = kZeroC + 60.4;
  const auto frames = run(sim, afe, model::ShuntData{}, 0, 100'000'000);

  // 0x270 row 1 = cells 4..7 at t = 0 (phase 0).
  //  byte 0: AFE_CellVoltages_Mux 7|8 = 1.
  //  flags CellVoltage_00{4,5,6,7}_invalidFlag at 12..15 = byte 1 bits 4..7; 1 = valid:
  //    cells 4, 5, 7 valid, 6 open wire -> 0b1011 << 4 = 0xB0.
  //  V0 (cell 4) 11|13: byte 1 bits 3..0 = V0 >> 9, byte 2 = (V0 >> 1) & 0xFF, byte 3 bit 7 = V0
  //  & 1.
  //    3300 mV: 3300 >> 9 = 6, (3300 >> 1) & 0xFF = 1650 - 1536 = 114 = 0x72, bit 0 = 0.
  //  V1 (cell 5) 30|13: byte 3 bits 6..0 = V1 >> 6, byte 4 bits 7..2 = V1 & 0x3F.
  //    3301 mV: 3301 >> 6 = 51 = 0x33, 3301 - 3264 = 37 -> 37 << 2 = 0x94.
  //  V2 (cell 6) 33|13: byte 4 bits 1..0 = V2 >> 11, byte 5 = (V2 >> 3) & 0xFF, byte 6 bits 7..5 =
  //  V2 & 7.
  //    4095 mV: 1, 0xFF, 7 << 5 = 0xE0.
  //  V3 (cell 7) 52|13: byte 6 bits 4..0 = V3 >> 8, byte 7 = V3 & 0xFF.
  //    2500 mV: 2500 >> 8 = 9, 2500 - 2304 = 196 = 0xC4.
  //  byte 1 = 0xB0 | 6 = 0xB6; byte 3 = 0x33; byte 4 = 0x94 | 1 = 0x95; byte 6 = 0xE0 | 9 = 0xE9.
  const can::CanFrame* v = find(frames, 0x270, 1);
  REQUIRE(v);
  CHECK(bytes(*v) == std::vector<std::uint8_t>{0x01, 0xB6, 0x72, 0x33, 0x95, 0xFF, 0xE9, 0xC4});

  // 0x280 row 1 = sensors 6..11 at t = 50 ms (phase 50 ms).
  //  byte 0: AFE_CellTemperatures_Mux = 1.
  //  flags CellTemperature_0{06..11}_invalidFlag at 8..13 = byte 1 bits 0..5, all valid: 0x3F.
  //  CellTemperature_006..011 at 23, 31, 39, 47, 55, 63 (8 bit signed) = bytes 2..7, 1 degC:
  //    25 -> 0x19; -10.4 -> -10 -> 0xF6; 0 -> 0x00; 127.6 -> 128 clamps to 127 -> 0x7F;
  //    -40 -> 0xD8; 60.4 -> 60 -> 0x3C.
  const can::CanFrame* t = find(frames, 0x280, 1);
  REQUIRE(t);
  CHECK(bytes(*t) == std::vector<std::uint8_t>{0x01, 0x3F, 0x19, 0xF6, 0x00, 0x7F, 0xD8, 0x3C});
  // Rows are spread 10 ms apart (one per foxBMS AFE cycle): row m of 0x270 at m * 10 ms, of 0x280
  // at 50 ms + m * 10 ms.
  for (const auto& s : frames) {
    if (s.f.id == 0x270) CHECK(s.t == s.f.data[0] * 10'000'000);
    if (s.f.id == 0x280) CHECK(s.t == 50'000'000 + s.f.data[0] * 10'000'000);
  }
}

TEST_CASE("foxbms2: a row partly beyond the pack is flagged invalid, rows beyond it are not sent",
          "[profile][foxbms2]") {
  // foxBMS's default: 18 cells -> rows 0..4 of 0x270 (row 4 = cells 16..19), 8 sensors -> rows 0..1
  // of 0x280 (row 1 = sensors 6..11).
  const auto p = load_foxbms2(layout_1x18());
  can::SimProtocol sim(p, 18, 8, 1);
  model::AfeData afe = afe_for(18, 8, 1);
  afe.v_meas[16] = 3.7;
  afe.v_meas[17] = 3.6;
  afe.t_meas_k[6] = kZeroC + 20.0;
  afe.t_meas_k[7] = kZeroC + 21.0;
  const auto frames = run(sim, afe, model::ShuntData{}, 0, 100'000'000);
  int rows = 0;
  std::map<std::int64_t, int> rows_per_tick;
  for (const auto& s : frames) {
    if (s.f.id == 0x270) {
      ++rows;
      ++rows_per_tick[s.t];
      CHECK(s.f.data[0] <= 4);
    }
    if (s.f.id == 0x280) CHECK(s.f.data[0] <= 1);
  }
  // Five rows per period, never two in one tick: foxBMS's 5-deep queue never fills.
  CHECK(rows == 5);
  for (const auto& [t, n] : rows_per_tick) CHECK(n == 1);

  // Row 4: cells 16 and 17 present, 18 and 19 beyond the pack (0 mV, flag 0).
  //  flags: byte 1 bits 4, 5 = 1, bits 6, 7 = 0 -> 0x30.
  //  V0 = 3700: 3700 >> 9 = 7, (3700 >> 1) & 0xFF = 1850 - 1792 = 58 = 0x3A, bit 0 = 0.
  //  V1 = 3600: 3600 >> 6 = 56 = 0x38, 3600 - 3584 = 16 -> 16 << 2 = 0x40.
  //  V2 = V3 = 0.
  const can::CanFrame* v = find(frames, 0x270, 4);
  REQUIRE(v);
  CHECK(bytes(*v) == std::vector<std::uint8_t>{0x04, 0x37, 0x3A, 0x38, 0x40, 0x00, 0x00, 0x00});

  // 0x280 row 1: sensors 6, 7 present (flags bits 0, 1 -> 0x03; 20 = 0x14, 21 = 0x15), 8..11 not.
  const can::CanFrame* t = find(frames, 0x280, 1);
  REQUIRE(t);
  CHECK(bytes(*t) == std::vector<std::uint8_t>{0x01, 0x03, 0x14, 0x15, 0x00, 0x00, 0x00, 0x00});
}

TEST_CASE("foxbms2: IVT-S frames, sign and message counter", "[profile][foxbms2]") {
  const auto p = load_foxbms2(layout_2x12());
  can::SimProtocol sim(p, 24, 12, 2);
  const model::AfeData afe = afe_for(24, 12, 2);
  model::ShuntData sh;
  sh.current_a = -12.345;  // charging (packsim: discharge positive)
  sh.pack_v = 66.6;
  sh.link_v = 12.5;
  sh.temp_k = kZeroC + 31.7;
  // 0x521 IVT_Result_I 23|32@0-: bytes 2..5 big-endian int32, mA. foxBMS stores it as is and
  // reads positive as discharge (BS_POSITIVE_DISCHARGE_CURRENT = true): -12345 mA = 0xFFFFCFC7.
  //  byte 0: IVT_ID_Result_I = 0; byte 1: System/Measurement/Channel/OCS at 15/14/13/12 = bits 7..4
  //  (all 0 here), IVT_MsgCount_Result_I 11|4 = bits 3..0, 0 in the first frame, +1 per frame.
  const auto frames = run(sim, afe, sh, 0, 170'000'000);
  std::vector<const can::CanFrame*> current;
  for (const auto& s : frames) {
    if (s.f.id == 0x521) current.push_back(&s.f);
  }
  REQUIRE(current.size() == 17);  // t = 0, 10, ..., 160 ms
  CHECK(bytes(*current[0]) == std::vector<std::uint8_t>{0x00, 0x00, 0xFF, 0xFF, 0xCF, 0xC7});
  for (std::size_t k = 0; k < current.size(); ++k) {
    INFO("frame " << k);
    CHECK(current[k]->data[1] == (k % 16));  // 0..15, then wraps to 0
  }
  // 0x522 U1 (battery voltage, foxBMS's string voltage) at t = 2 ms: id 1, counter 0,
  //  66.6 V = 66600 mV = 0x00010428.
  const can::CanFrame* u1 = find(frames, 0x522);
  REQUIRE(u1);
  CHECK(bytes(*u1) == std::vector<std::uint8_t>{0x01, 0x00, 0x00, 0x01, 0x04, 0x28});
  // 0x524 U3 (foxBMS's HV bus voltage = packsim's DC link): id 3, 12.5 V = 12500 mV = 0x000030D4.
  const can::CanFrame* u3 = find(frames, 0x524);
  REQUIRE(u3);
  CHECK(bytes(*u3) == std::vector<std::uint8_t>{0x03, 0x00, 0x00, 0x00, 0x30, 0xD4});
  // 0x525 T: id 4, factor 0.1 degC: 31.7 degC -> 317 = 0x0000013D.
  const can::CanFrame* t = find(frames, 0x525);
  REQUIRE(t);
  CHECK(bytes(*t) == std::vector<std::uint8_t>{0x04, 0x00, 0x00, 0x00, 0x01, 0x3D});

  // Discharge reads positive: +2.5 A -> 2500 mA = 0x000009C4. An injected sensor error sets
  // IVT_Result_I_System_Error (byte 1 bit 7); the counter goes on (17 frames sent: 17 % 16 = 1).
  sh.current_a = 2.5;
  sh.error_bits = 0x04;
  const auto more = run(sim, afe, sh, 170'000'000, 171'000'000);
  const can::CanFrame* i = find(more, 0x521);
  REQUIRE(i);
  CHECK(bytes(*i) == std::vector<std::uint8_t>{0x00, 0x81, 0x00, 0x00, 0x09, 0xC4});
}

TEST_CASE("foxbms2: the host's state request: STANDBY, then the mode asked for, every 100 ms",
          "[profile][foxbms2]") {
  const auto p = load_foxbms2(layout_2x12());
  can::SimProtocol sim(p, 24, 12, 2);
  const model::AfeData afe = afe_for(24, 12, 2);
  // RequestBmsMode 1|2@0+ = byte 0 bits 1..0 (0 STANDBY, 1 NORMAL, 2 CHARGE, the host_mode map);
  // ResetPersistentFlags 2|1@0+ = byte 0 bit 2 (host_fault_reset); IndicatePrechargeType,
  // ChargerConnected, DisableInsulationMonitoring (byte 0 bits 3..5) = 0; ActivateBalancing 8|1 =
  // byte 1 bit 0 = 0; SetBalancingThreshold 23|8 = byte 2 = 200 mV = 0xC8.
  auto request = [](std::uint8_t byte0) {
    return std::vector<std::uint8_t>{byte0, 0x00, 0xC8, 0x00, 0x00, 0x00, 0x00, 0x00};
  };
  std::vector<std::int64_t> times;
  std::vector<std::vector<std::uint8_t>> sent;
  // The session sets the host's request before each transmit: STANDBY for the first 200 ms here,
  // NORMAL from 200 ms, a fault reset at 300 ms (during NORMAL), CHARGE from 400 ms.
  for (std::int64_t t = 0; t < 500'000'000; t += 1'000'000) {
    can::HostRequest host;
    host.mode = t < 200'000'000   ? can::HostMode::kStandby
                : t < 400'000'000 ? can::HostMode::kNormal
                                  : can::HostMode::kCharge;
    host.fault_reset = t >= 300'000'000 && t < 400'000'000;
    sim.set_host(host);
    Capture cap;
    cap.now = t;
    sim.transmit(t, afe, model::ShuntData{}, cap);
    for (const auto& s : cap.frames) {
      if (s.f.id != 0x210) continue;
      times.push_back(s.t);
      sent.push_back(bytes(s.f));
    }
  }
  // foxBMS wants them 95..105 ms apart (CAN_CheckCanTiming): phase 20 ms, period 100 ms.
  CHECK(times ==
        std::vector<std::int64_t>{20'000'000, 120'000'000, 220'000'000, 320'000'000, 420'000'000});
  CHECK(sent == std::vector<std::vector<std::uint8_t>>{request(0x00), request(0x00), request(0x01),
                                                       request(0x05), request(0x02)});
}

TEST_CASE("foxbms2: the reported BMS state drives the simulated contactors", "[profile][foxbms2]") {
  const auto p = load_foxbms2(layout_2x12());
  can::SimProtocol sim(p, 24, 12, 2);
  const auto& c = sim.commands();
  CHECK_FALSE(c.contactors_commanded);

  // STANDBY (5), no string connected: open.
  sim.receive(0, bms_state_frame(0x05), 10'000'000);
  CHECK(c.contactors_commanded);
  CHECK_FALSE(c.contactors.main_pos);
  CHECK_FALSE(c.contactors.main_neg);
  CHECK_FALSE(c.contactors.precharge);

  // PRECHARGE (6): foxBMS closes the string minus and the precharge contactor.
  sim.receive(0, bms_state_frame(0x06), 20'000'000);
  CHECK_FALSE(c.contactors.main_pos);
  CHECK(c.contactors.main_neg);
  CHECK(c.contactors.precharge);

  // NORMAL (7) with one connected string (0x1 in bits 7..4): string plus and minus closed.
  sim.receive(0, bms_state_frame(0x17), 30'000'000);
  CHECK(c.contactors.main_pos);
  CHECK(c.contactors.main_neg);
  CHECK_FALSE(c.contactors.precharge);

  // ERROR (10 = 0xA): open.
  sim.receive(0, bms_state_frame(0x0A), 40'000'000);
  CHECK_FALSE(c.contactors.main_pos);
  CHECK_FALSE(c.contactors.main_neg);
  CHECK_FALSE(c.contactors.precharge);

  // OPEN_CONTACTORS (4) and CHARGE (9, never entered by v1.11.0) are not "closed" either.
  sim.receive(0, bms_state_frame(0x17), 50'000'000);
  REQUIRE(c.contactors.main_pos);
  sim.receive(0, bms_state_frame(0x04), 60'000'000);
  CHECK_FALSE(c.contactors.main_pos);
  sim.receive(0, bms_state_frame(0x09), 70'000'000);
  CHECK_FALSE(c.contactors.main_neg);
  CHECK(sim.stats().rx_frames == 7);

  // A short 0x220 (foxBMS sends DLC 8) is malformed and changes nothing.
  sim.receive(0, bms_state_frame(0x17), 80'000'000);
  can::CanFrame short_frame = bms_state_frame(0x05);
  short_frame.len = 4;
  sim.receive(0, short_frame, 90'000'000);
  CHECK(sim.stats().rx_malformed == 1);
  CHECK(c.contactors.main_pos);

  // foxBMS goes quiet: 300 ms after the last good frame (80 ms) the contactors open.
  sim.supervise(380'000'000);
  CHECK(c.contactors.main_pos);
  sim.supervise(381'000'000);
  CHECK_FALSE(c.contactors.main_pos);
  CHECK_FALSE(c.contactors.main_neg);
  CHECK(sim.stats().rx_timeouts == 1);
}
