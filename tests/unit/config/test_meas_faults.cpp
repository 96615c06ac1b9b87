// Issue 10 measurement and CAN faults on the wire: golden frames for the foxbms2 and packsim
// profiles (each fault changes exactly the bytes it should: its channel's or sensor's signal, the
// validity bit, the CRC where the profile has E2E, nothing else), and sequence tests for the CAN
// faults (delay, babbling node, silence). Expected bytes are derived by hand from the profiles'
// DBCs in the comments. foxbms2.dbc: Motorola (@0), start bit = MSB, byte b bit k = 8b + k.
#include <array>
#include <catch2/catch.hpp>
#include <map>
#include <set>
#include <vector>

#include "packsim/can/protocol.hpp"
#include "packsim/config/loaders.hpp"
#include "packsim/model/afe.hpp"
#include "support/synthetic_cell.hpp"

using namespace packsim;

namespace {

// Two AFE modules of 12 channels and 6 sensors, one cell per group.
config::ProfileLayout layout_2x12() {
  config::ProfileLayout l;
  l.n_channels = 24;
  l.cells_per_module = 12;
  l.n_modules = 2;
  l.sensors_per_module = 6;
  l.n_sensors = 12;
  l.tick_ns = 1'000'000;
  return l;
}

std::shared_ptr<const can::Profile> load(const std::string& name) {
  Diagnostics diags;
  auto p =
      config::load_profile(config::resolve_profile(name, PACKSIM_SOURCE_DIR), layout_2x12(), diags);
  INFO(diags.format());
  REQUIRE(p);
  return p;
}

// The measurement chain of the layout above, every channel at exactly 3.7 V and every cell at
// 25 degC, so that the frames have known contents.
struct Chain {
  model::PackModel pack;
  model::PackData data;
  model::AfeModel afe;
  model::ShuntSpec shunt_spec;

  Chain() {
    model::PackSpec s;
    s.series = 24;
    s.parallel = 1;
    s.groups_per_module = 12;
    test::SyntheticCellSpec cs;
    cs.ocv = [](double z) { return 3.0 + z; };
    pack = model::build_pack_model(s, test::make_cell(cs), 1'000'000, {0.5, 298.15, 7});
    data = model::make_data(pack);
    for (auto& v : data.v_group) v = 3.7;
    for (auto& t : data.temp_k) t = 298.15;
    data.pack_current_a = 0.0;
    data.pack_voltage_v = 0.0;
    data.link_voltage_v = 0.0;
    model::AfeSpec spec;
    spec.v_lsb = 1e-3;
    spec.sensors_per_module = 6;
    spec.ov_threshold = 4.2;
    spec.uv_threshold = 2.5;
    afe = model::build_afe_model(spec, pack);
  }
  model::AfeData fresh() const { return model::make_afe_data(afe, pack, data); }
  void measure(model::AfeData& a, model::ShuntData& sh) const {
    model::afe_measure(afe, pack, data, a);
    model::shunt_measure(shunt_spec, pack, data, sh);
  }
};

struct Sent {
  std::int64_t t;
  std::size_t bus;
  can::CanFrame f;
};
struct Capture : can::FrameSink {
  std::vector<Sent> frames;
  std::int64_t now = 0;
  bool send(std::size_t bus, const can::CanFrame& f) override {
    frames.push_back({now, bus, f});
    return true;
  }
};

std::vector<Sent> run(can::SimProtocol& sim, const model::AfeData& afe, const model::ShuntData& sh,
                      std::int64_t to_ns) {
  Capture cap;
  for (std::int64_t t = 0; t < to_ns; t += 1'000'000) {
    cap.now = t;
    sim.transmit(t, afe, sh, cap);
  }
  return cap.frames;
}

// (id, mux) -> the byte positions that differ between two runs with the same schedule.
using DiffMap = std::map<std::pair<std::uint32_t, int>, std::set<int>>;

DiffMap diff(const std::vector<Sent>& a, const std::vector<Sent>& b, bool mux_low_nibble) {
  REQUIRE(a.size() == b.size());
  DiffMap out;
  for (std::size_t k = 0; k < a.size(); ++k) {
    const auto& fa = a[k].f;
    const auto& fb = b[k].f;
    REQUIRE(fa.id == fb.id);
    REQUIRE(fa.len == fb.len);
    REQUIRE(a[k].t == b[k].t);
    // packsim: only the voltage and temperature rows (0x600..0x63F) are multiplexed, in byte 0's
    // low nibble; elsewhere that nibble is the counter. foxbms2: the mux is byte 0.
    const bool packsim_rows = fa.id >= 0x600 && fa.id < 0x640;
    const int mux = mux_low_nibble ? (packsim_rows ? fa.data[0] & 0x0F : 0) : fa.data[0];
    for (int i = 0; i < fa.len; ++i) {
      if (fa.data[static_cast<std::size_t>(i)] != fb.data[static_cast<std::size_t>(i)])
        out[{fa.id, mux}].insert(i);
    }
  }
  return out;
}

// Golden comparison: the frames of 200 ms with and without the fault.
DiffMap golden(const std::string& profile, const model::AfeData& base_afe,
               const model::ShuntData& base_sh, const model::AfeData& afe,
               const model::ShuntData& sh) {
  const auto p = load(profile);
  can::SimProtocol a(p, 24, 12, 2), b(p, 24, 12, 2);
  return diff(run(a, base_afe, base_sh, 200'000'000), run(b, afe, sh, 200'000'000),
              profile == "packsim");
}

using Key = std::pair<std::uint32_t, int>;

}  // namespace

TEST_CASE("Golden frames, foxbms2: each AFE and current-sensor fault changes exactly its bytes",
          "[profile][faults]") {
  const Chain c;
  model::AfeData base = c.fresh();
  model::ShuntData base_sh;
  c.measure(base, base_sh);
  const auto p = load("foxbms2");

  // Channel 5 is CellVoltage_005 of row (mux) 1 of 0x270: 30|13@0 = byte 3 bits 6..0 and byte 4
  // bits 7..2; its flag 13|1@0 = byte 1 bit 5. 3.7 V = 3700 mV: byte 3 low bits 3700 >> 6 = 57,
  // byte 4 high bits 3700 & 63 = 52.
  SECTION("gain error: 3.737 V = 3737 mV (58, 25): the two bytes of the signal") {
    model::AfeData f = c.fresh();
    model::ShuntData sh;
    f.v_fault_gain[5] = 1.01;
    c.measure(f, sh);
    CHECK(golden("foxbms2", base, base_sh, f, sh) == DiffMap{{Key{0x270, 1}, {3, 4}}});
  }
  SECTION("stuck at 3.0 V = 3000 mV (46, 56)") {
    model::AfeData f = c.fresh();
    model::ShuntData sh;
    f.v_stuck[5] = 1;
    f.v_stuck_value[5] = 3.0;
    c.measure(f, sh);
    CHECK(golden("foxbms2", base, base_sh, f, sh) == DiffMap{{Key{0x270, 1}, {3, 4}}});
  }
  SECTION("dropout: the flag clears and the signal reads all ones (8191: 127, 63)") {
    model::AfeData f = c.fresh();
    model::ShuntData sh;
    f.v_dropout[5] = 1;
    c.measure(f, sh);
    CHECK(golden("foxbms2", base, base_sh, f, sh) == DiffMap{{Key{0x270, 1}, {1, 3, 4}}});
    // The BMS side sees the channel invalid, its neighbours valid.
    can::SimProtocol sim(p, 24, 12, 2);
    can::BmsProtocol bms(p, 24, 12, 2, 12, 6);
    for (const auto& s : run(sim, f, sh, 200'000'000)) bms.receive(s.f, s.t);
    CHECK(bms.view().cell_valid[5] == 0);
    CHECK(bms.view().cell_valid[4] == 1);
    CHECK(bms.view().cell_valid[6] == 1);
  }
  SECTION("noise burst: only the channel's signal bytes move") {
    model::AfeData f = c.fresh();
    model::ShuntData sh;
    f.v_noise_burst_sigma[5] = 0.05;
    c.measure(f, sh);
    const DiffMap d = golden("foxbms2", base, base_sh, f, sh);
    REQUIRE(d.size() == 1);
    CHECK(d.begin()->first == Key{0x270, 1});
    for (int b : d.begin()->second) CHECK((b == 3 || b == 4));
  }
  // Sensor 3 is CellTemperature_003 of row 0 of 0x280: 47|8@0- = byte 5; flag 11|1@0 = byte 1
  // bit 3. 25 degC = 0x19; the rails: -40 degC = 0xD8, 125 degC = 0x7D.
  SECTION("NTC open: the cold rail, flagged") {
    model::AfeData f = c.fresh();
    model::ShuntData sh;
    f.ntc_open[3] = 1;
    c.measure(f, sh);
    CHECK(golden("foxbms2", base, base_sh, f, sh) == DiffMap{{Key{0x280, 0}, {1, 5}}});
    can::SimProtocol sim(p, 24, 12, 2);
    can::BmsProtocol bms(p, 24, 12, 2, 12, 6);
    const auto frames = run(sim, f, sh, 200'000'000);
    for (const auto& s : frames) bms.receive(s.f, s.t);
    CHECK(bms.view().temp_valid[3] == 0);
    CHECK(bms.view().temp_valid[2] == 1);
    for (const auto& s : frames) {
      if (s.f.id == 0x280 && s.f.data[0] == 0) CHECK(s.f.data[5] == 0xD8);
    }
  }
  SECTION("NTC short: the hot rail, flagged") {
    model::AfeData f = c.fresh();
    model::ShuntData sh;
    f.ntc_short[3] = 1;
    c.measure(f, sh);
    CHECK(golden("foxbms2", base, base_sh, f, sh) == DiffMap{{Key{0x280, 0}, {1, 5}}});
    can::SimProtocol sim(p, 24, 12, 2);
    for (const auto& s : run(sim, f, sh, 200'000'000)) {
      if (s.f.id == 0x280 && s.f.data[0] == 0) CHECK(s.f.data[5] == 0x7D);
    }
  }
  // 0x521 IVT_Result_I 23|32@0- = bytes 2..5, mA. 0 A -> 2 A = 0x000007D0 and 10 A = 0x00002710:
  // bytes 4 and 5. Pack voltage 0 keeps power at 0, and 2 A for 1 ms is 0.002 As: the power,
  // charge and energy frames do not change.
  SECTION("current offset") {
    model::AfeData f = c.fresh();
    model::ShuntData sh;
    sh.fault_offset_a = 2.0;
    c.measure(f, sh);
    CHECK(golden("foxbms2", base, base_sh, f, sh) == DiffMap{{Key{0x521, 0}, {4, 5}}});
  }
  SECTION(
      "current-sensor error bits: every IVT frame's system-error flag; the BMS side drops the "
      "current") {
    model::AfeData f = c.fresh();
    model::ShuntData sh;
    c.measure(f, sh);
    sh.error_bits = 1;
    // IVT_Result_*_System_Error 15|1@0 = byte 1 bit 7, in all eight IVT messages (0x521..0x528).
    const DiffMap d = golden("foxbms2", base, base_sh, f, sh);
    CHECK(d.size() == 8);
    for (const auto& [k, bytes] : d) {
      CHECK(k.first >= 0x521);
      CHECK(k.first <= 0x528);
      CHECK(bytes == std::set<int>{1});
    }
    can::SimProtocol sim(p, 24, 12, 2);
    can::BmsProtocol bms(p, 24, 12, 2, 12, 6);
    for (const auto& s : run(sim, f, sh, 200'000'000)) bms.receive(s.f, s.t);
    CHECK(!bms.view().current_valid);
  }
  SECTION("current stuck") {
    model::AfeData f = c.fresh();
    model::ShuntData sh;
    sh.stuck = true;
    sh.stuck_a = 10.0;
    c.measure(f, sh);
    // Power = 0 V x 10 A = 0; charge 0.01 As rounds to 0 As.
    CHECK(golden("foxbms2", base, base_sh, f, sh) == DiffMap{{Key{0x521, 0}, {4, 5}}});
  }
}

TEST_CASE("Golden frames, packsim: each fault changes its bytes and the CRC, nothing else",
          "[profile][faults]") {
  const Chain c;
  model::AfeData base = c.fresh();
  model::ShuntData base_sh;
  c.measure(base, base_sh);
  const auto p = load("packsim");
  // Channel 5 is CellVoltage05 of module 0's row 1 on 0x600: 40|16@1 = bytes 5, 6 (100 uV);
  // CRC 56|8 = byte 7. The mux is byte 0's low nibble, the counter its high one (same in both).
  SECTION("gain error: 37000 (0x9088) -> 37370 (0x91FA)") {
    model::AfeData f = c.fresh();
    model::ShuntData sh;
    f.v_fault_gain[5] = 1.01;
    c.measure(f, sh);
    CHECK(golden("packsim", base, base_sh, f, sh) == DiffMap{{Key{0x600, 1}, {5, 6, 7}}});
  }
  SECTION("dropout: 0xFFFF, which the BMS side reads as invalid") {
    model::AfeData f = c.fresh();
    model::ShuntData sh;
    f.v_dropout[5] = 1;
    c.measure(f, sh);
    CHECK(golden("packsim", base, base_sh, f, sh) == DiffMap{{Key{0x600, 1}, {5, 6, 7}}});
    can::SimProtocol sim(p, 24, 12, 2);
    can::BmsProtocol bms(p, 24, 12, 2, 12, 6);
    for (const auto& s : run(sim, f, sh, 200'000'000)) bms.receive(s.f, s.t);
    CHECK(bms.view().cell_valid[5] == 0);
    CHECK(bms.view().cell_valid[4] == 1);
    CHECK(bms.view().cell_v[4] == Approx(3.7).margin(1e-4));
  }
  SECTION("hardware OV on the true voltage, the reading stuck at a healthy value") {
    Chain hot;
    hot.data.v_group[5] = 4.3;  // over the 4.2 V comparator
    model::AfeData f = hot.fresh();
    model::ShuntData sh;
    f.v_stuck[5] = 1;
    f.v_stuck_value[5] = 3.7;  // the reading does not move
    hot.measure(f, sh);
    // 0x640 AFE_Status of module 0: CellStatus5 26|2@1 = byte 3 bits 2..3 = 1 (over-voltage),
    // CRC byte 7. The voltage frames are unchanged.
    CHECK(golden("packsim", base, base_sh, f, sh) == DiffMap{{Key{0x640, 0}, {3, 7}}});
    can::SimProtocol sim(p, 24, 12, 2);
    can::BmsProtocol bms(p, 24, 12, 2, 12, 6);
    for (const auto& s : run(sim, f, sh, 200'000'000)) bms.receive(s.f, s.t);
    CHECK(bms.view().cell_hw_ov[5] == 1);
    CHECK(bms.view().cell_hw_ov[4] == 0);
    CHECK(bms.view().cell_v[5] == Approx(3.7).margin(1e-4));
  }
  SECTION("NTC open: -40 degC in Temperature03 (row 1, bytes 1, 2) and the CRC") {
    model::AfeData f = c.fresh();
    model::ShuntData sh;
    f.ntc_open[3] = 1;
    c.measure(f, sh);
    // The status frame's AFE_Status has no temperature field: the packsim profile carries no
    // temperature validity, the rail value is what the BMS sees.
    CHECK(golden("packsim", base, base_sh, f, sh) == DiffMap{{Key{0x620, 1}, {1, 2, 7}}});
  }
  SECTION("vent gas: PACK_GasSensor 0x660 VentGas 8|24@1 = bytes 1..3, and the CRC") {
    model::AfeData f = c.fresh();
    model::ShuntData sh;
    c.measure(f, sh);
    f.gas_ppm = 8738.0;  // the sensor model is tested in test_afe; here its encoding: 0x002222
    CHECK(golden("packsim", base, base_sh, f, sh) == DiffMap{{Key{0x660, 0}, {1, 2, 7}}});
    can::SimProtocol sim(p, 24, 12, 2);
    can::BmsProtocol bms(p, 24, 12, 2, 12, 6);
    for (const auto& s : run(sim, f, sh, 200'000'000)) bms.receive(s.f, s.t);
    CHECK(bms.view().gas_valid);
    CHECK(bms.view().gas_ppm == 8738.0);
  }
  SECTION("insulation 200 kOhm: iso165C Info 0x037, R_ISO bytes 0, 1 and both flags in byte 2") {
    Chain leaky;
    leaky.data.insulation_ohm = 200e3;  // below the 500 kOhm error and 750 kOhm warning levels
    model::AfeData f = leaky.fresh();
    model::ShuntData sh;
    leaky.measure(f, sh);
    // Healthy: 10 MOhm = 10000 kOhm = 0x2710; faulted 200 = 0x00C8; bits 16 and 21 = byte 2.
    const DiffMap d = golden("packsim", base, base_sh, f, sh);
    CHECK(d == DiffMap{{Key{0x037, 0}, {0, 1, 2}}});
    can::SimProtocol sim(p, 24, 12, 2);
    can::BmsProtocol bms(p, 24, 12, 2, 12, 6);
    for (const auto& s : run(sim, f, sh, 200'000'000)) bms.receive(s.f, s.t);
    CHECK(bms.view().insulation_valid);
    CHECK(bms.view().insulation_ohm == Approx(200e3));
  }
  SECTION("current offset: IVT 0x521 bytes 4, 5 (no E2E on the IVT frames)") {
    model::AfeData f = c.fresh();
    model::ShuntData sh;
    sh.fault_offset_a = 2.0;
    c.measure(f, sh);
    CHECK(golden("packsim", base, base_sh, f, sh) == DiffMap{{Key{0x521, 0}, {4, 5}}});
  }
}

namespace {
std::size_t tx_index(const can::Profile& p, const std::string& name) {
  for (std::size_t k = 0; k < p.tx.size(); ++k) {
    if (p.tx[k].name == name) return k;
  }
  FAIL("no TX message " << name);
  return 0;
}
std::vector<Sent> only(const std::vector<Sent>& v, std::uint32_t id, bool keep) {
  std::vector<Sent> out;
  for (const auto& s : v) {
    if ((s.f.id == id) == keep) out.push_back(s);
  }
  return out;
}
bool same_bytes(const can::CanFrame& a, const can::CanFrame& b) {
  return a.id == b.id && a.len == b.len && a.data == b.data;
}
}  // namespace

namespace {

using Bytes = std::array<std::uint8_t, 8>;
Bytes bytes_of(const can::CanFrame& f) {
  Bytes b{};
  for (std::size_t i = 0; i < 8; ++i) b[i] = f.data[i];
  return b;
}
// The frames of one id and mux (-1: any) from a run, in order.
std::vector<Sent> frames_of(const std::vector<Sent>& v, std::uint32_t id, int mux,
                            bool mux_low_nibble) {
  std::vector<Sent> out;
  for (const auto& s : v) {
    const int m = mux_low_nibble ? s.f.data[0] & 0x0F : s.f.data[0];
    if (s.f.id == id && (mux < 0 || m == mux)) out.push_back(s);
  }
  return out;
}
// The frames of `ms` milliseconds, the AFE measured every 1 ms tick first, with
// t_fault_offset_k[sensor] = offset_k(t) set before each measurement: how the fault scheduler
// drives a drift (a ramp of the offset) tick by tick.
template <typename Offset>
std::vector<Sent> run_drift(const Chain& c, const std::shared_ptr<const can::Profile>& p,
                            int sensor, Offset offset_k, int ms) {
  can::SimProtocol sim(p, 24, 12, 2);
  model::AfeData a = c.fresh();
  model::ShuntData sh;
  Capture cap;
  for (int k = 0; k < ms; ++k) {
    const std::int64_t t = static_cast<std::int64_t>(k) * 1'000'000;
    a.t_fault_offset_k[static_cast<std::size_t>(sensor)] = offset_k(t);
    c.measure(a, sh);
    cap.now = t;
    sim.transmit(t, a, sh, cap);
  }
  return cap.frames;
}

}  // namespace

TEST_CASE("Golden frames: NTC offset and drift, byte for byte", "[profile][faults]") {
  // The AFE reads temperatures to 0.1 K (AfeSpec::t_lsb): the cells sit at 25.05 degC
  // (298.20 K), in the middle of a step, so that every value below (25.05 + whole kelvins) is
  // exact and no rounding of a 0.05 edge decides a byte.
  Chain c;
  for (auto& t : c.data.temp_k) t = 298.2;
  model::AfeData base = c.fresh();
  model::ShuntData base_sh;
  c.measure(base, base_sh);
  REQUIRE(base.t_meas_k[3] == Approx(298.2).margin(1e-9));
  const auto none = [](std::int64_t) { return 0.0; };
  // A drift of +10 K/s from 50 ms on, as the scheduler writes a ramp's value every tick
  // (test_faults.cpp checks that): fast, so that a second of frames shows ten steps. Whole
  // kelvins at 50 + 100 k ms, the times the rows checked below are sent.
  const auto drift = [](std::int64_t t) {
    return t > 50'000'000 ? static_cast<double>(t - 50'000'000) / 1e8 : 0.0;
  };

  SECTION("foxbms2, offset +10 K: CellTemperature_003 (0x280 row 0, byte 5) 25 -> 35 degC") {
    const auto p = load("foxbms2");
    model::AfeData f = c.fresh();
    model::ShuntData sh;
    f.t_fault_offset_k[3] = 10.0;
    c.measure(f, sh);
    // int8 degC: 25.05 -> 25 = 0x19, 35.05 -> 35 = 0x23. The validity flag (byte 1 bit 3) stays
    // set: no AFE can tell an offset NTC.
    CHECK(golden("foxbms2", base, base_sh, f, sh) == DiffMap{{Key{0x280, 0}, {5}}});
    can::SimProtocol a(p, 24, 12, 2), b(p, 24, 12, 2);
    const auto healthy = frames_of(run(a, base, base_sh, 200'000'000), 0x280, 0, false);
    const auto faulted = frames_of(run(b, f, sh, 200'000'000), 0x280, 0, false);
    REQUIRE(!faulted.empty());
    REQUIRE(healthy.size() == faulted.size());
    for (std::size_t k = 0; k < faulted.size(); ++k) {
      Bytes want = bytes_of(healthy[k].f);
      CHECK(want[5] == 0x19);
      want[5] = 0x23;
      CHECK(bytes_of(faulted[k].f) == want);
    }
  }
  SECTION("foxbms2, drift: the byte follows the ramp, 1 degC per frame") {
    const auto p = load("foxbms2");
    const auto healthy = run_drift(c, p, 3, none, 1000);
    const auto drifted = run_drift(c, p, 3, drift, 1000);
    REQUIRE(healthy.size() == drifted.size());
    const auto rows = frames_of(drifted, 0x280, 0, false);
    const auto rows0 = frames_of(healthy, 0x280, 0, false);
    REQUIRE(rows.size() == 10);  // 100 ms period, row 0 at 50 ms
    for (std::size_t k = 0; k < rows.size(); ++k) {
      INFO("frame at " << rows[k].t / 1'000'000 << " ms");
      REQUIRE(rows[k].t == 50'000'000 + static_cast<std::int64_t>(k) * 100'000'000);
      Bytes want = bytes_of(rows0[k].f);
      CHECK(want[5] == 25);
      want[5] = static_cast<std::uint8_t>(25 + k);
      CHECK(bytes_of(rows[k].f) == want);
    }
    // Nothing else moves: every other frame is the healthy run's, byte for byte.
    for (std::size_t k = 0; k < drifted.size(); ++k) {
      if (drifted[k].f.id == 0x280 && drifted[k].f.data[0] == 0) continue;
      CHECK(same_bytes(drifted[k].f, healthy[k].f));
    }
  }
  SECTION("packsim, offset +10 K: Temperature03 (0x620 row 1, bytes 1, 2) and the CRC") {
    const auto p = load("packsim");
    model::AfeData f = c.fresh();
    model::ShuntData sh;
    f.t_fault_offset_k[3] = 10.0;
    c.measure(f, sh);
    CHECK(golden("packsim", base, base_sh, f, sh) == DiffMap{{Key{0x620, 1}, {1, 2, 7}}});
    can::SimProtocol a(p, 24, 12, 2), b(p, 24, 12, 2);
    const auto healthy = frames_of(run(a, base, base_sh, 400'000'000), 0x620, 1, true);
    const auto faulted = frames_of(run(b, f, sh, 400'000'000), 0x620, 1, true);
    REQUIRE(!faulted.empty());
    REQUIRE(healthy.size() == faulted.size());
    for (std::size_t k = 0; k < faulted.size(); ++k) {
      // 16 bit signed, 0.01 degC, little endian: 25.05 = 2505 = 0x09C9, 35.05 = 3505 = 0x0DB1.
      Bytes want = bytes_of(healthy[k].f);
      CHECK(want[1] == 0xC9);
      CHECK(want[2] == 0x09);
      want[1] = 0xB1;
      want[2] = 0x0D;
      const Bytes got = bytes_of(faulted[k].f);
      want[7] = got[7];  // the CRC: checked below by the receiver, which rejects a wrong one
      CHECK(got == want);
      CHECK(got[7] != bytes_of(healthy[k].f)[7]);
    }
    can::SimProtocol sim(p, 24, 12, 2);
    can::BmsProtocol bms(p, 24, 12, 2, 12, 6);
    for (const auto& s : run(sim, f, sh, 400'000'000)) bms.receive(s.f, s.t);
    CHECK(bms.stats().rx_rejected() == 0);
    CHECK(bms.view().temp_k[3] == Approx(308.2).margin(1e-9));
    CHECK(bms.view().temp_k[2] == Approx(298.2).margin(1e-9));
  }
  SECTION("packsim, drift: each frame carries the ramp's value at its time") {
    const auto p = load("packsim");
    const auto healthy = run_drift(c, p, 3, none, 1000);
    const auto drifted = run_drift(c, p, 3, drift, 1000);
    REQUIRE(healthy.size() == drifted.size());
    can::BmsProtocol bms(p, 24, 12, 2, 12, 6);
    int rows = 0;
    for (std::size_t k = 0; k < drifted.size(); ++k) {
      const can::CanFrame& fr = drifted[k].f;
      bms.receive(fr, drifted[k].t);
      if (!(fr.id == 0x620 && (fr.data[0] & 0x0F) == 1)) {
        CHECK(same_bytes(fr, healthy[k].f));  // nothing else moves
        continue;
      }
      // Row 1 every 200 ms from 50 ms: +2 K a frame, 2505 + 200 k in 0.01 degC.
      const std::int64_t t = drifted[k].t;
      INFO("frame at " << t / 1'000'000 << " ms");
      REQUIRE(t == 50'000'000 + rows * 200'000'000);
      const auto raw = static_cast<std::uint16_t>(2505 + 200 * rows);
      Bytes want = bytes_of(healthy[k].f);
      want[1] = static_cast<std::uint8_t>(raw & 0xFF);
      want[2] = static_cast<std::uint8_t>(raw >> 8);
      const Bytes got = bytes_of(fr);
      want[7] = got[7];
      CHECK(got == want);
      CHECK(bms.view().temp_k[3] == Approx(298.2 + 2.0 * rows).margin(1e-9));
      ++rows;
    }
    CHECK(rows == 5);
    CHECK(bms.stats().rx_rejected() == 0);
  }
}

TEST_CASE("Golden frames: the AFE's hardware OV/UV comparators, byte for byte",
          "[profile][faults]") {
  // Channel 5 over the 4.2 V comparator, channel 6 under the 2.5 V one, both readings stuck at a
  // healthy 3.7 V: the comparators sit on the true voltage, so only their flags move.
  const Chain c;
  model::AfeData base = c.fresh();
  model::ShuntData base_sh;
  c.measure(base, base_sh);
  Chain bad;
  bad.data.v_group[5] = 4.3;
  bad.data.v_group[6] = 2.4;
  model::AfeData f = bad.fresh();
  model::ShuntData sh;
  for (std::size_t ch : {5u, 6u}) {
    f.v_stuck[ch] = 1;
    f.v_stuck_value[ch] = 3.7;
  }
  bad.measure(f, sh);
  REQUIRE(f.ov_flag[5] == 1);
  REQUIRE(f.uv_flag[6] == 1);

  SECTION("packsim: AFE_Status 0x640 byte 3 = CellStatus4..7, 0x00 -> 0x24, and the CRC") {
    const auto p = load("packsim");
    CHECK(golden("packsim", base, base_sh, f, sh) == DiffMap{{Key{0x640, 0}, {3, 7}}});
    can::SimProtocol a(p, 24, 12, 2), b(p, 24, 12, 2);
    const auto healthy = frames_of(run(a, base, base_sh, 200'000'000), 0x640, -1, false);
    const auto faulted = frames_of(run(b, f, sh, 200'000'000), 0x640, -1, false);
    REQUIRE(faulted.size() == 2);
    REQUIRE(healthy.size() == faulted.size());
    for (std::size_t k = 0; k < faulted.size(); ++k) {
      // CellStatus5 26|2 = byte 3 bits 2..3 = 1 (over-voltage): 0x04; CellStatus6 28|2 = bits
      // 4..5 = 2 (under-voltage): 0x20.
      Bytes want = bytes_of(healthy[k].f);
      CHECK(want[3] == 0x00);
      want[3] = 0x24;
      const Bytes got = bytes_of(faulted[k].f);
      want[7] = got[7];
      CHECK(got == want);
    }
    can::SimProtocol sim(p, 24, 12, 2);
    can::BmsProtocol bms(p, 24, 12, 2, 12, 6);
    for (const auto& s : run(sim, f, sh, 200'000'000)) bms.receive(s.f, s.t);
    CHECK(bms.stats().rx_rejected() == 0);
    CHECK(bms.view().cell_hw_ov[5] == 1);
    CHECK(bms.view().cell_hw_uv[5] == 0);
    CHECK(bms.view().cell_hw_uv[6] == 1);
    CHECK(bms.view().cell_hw_ov[6] == 0);
    CHECK(bms.view().cell_hw_ov[4] == 0);
    CHECK(bms.view().cell_hw_uv[7] == 0);
    CHECK(bms.view().cell_v[5] == Approx(3.7).margin(1e-4));
    CHECK(bms.view().cell_v[6] == Approx(3.7).margin(1e-4));
  }
  SECTION("foxbms2: no frame changes (its debug-CAN AFE frames carry no comparator flag)") {
    CHECK(golden("foxbms2", base, base_sh, f, sh).empty());
  }
}

TEST_CASE("CAN delay: the message's frames leave late, unchanged and in order",
          "[profile][faults]") {
  const Chain c;
  model::AfeData afe = c.fresh();
  model::ShuntData sh;
  c.measure(afe, sh);
  const auto p = load("packsim");
  can::SimProtocol base(p, 24, 12, 2), late(p, 24, 12, 2);
  late.set_delay(tx_index(*p, "AFE_CellVoltages"), 0, 35'000'000, 150'000'000);
  const auto a = run(base, afe, sh, 400'000'000);
  const auto b = run(late, afe, sh, 400'000'000);
  // Everything but module 0's voltages: the same frames at the same times.
  const auto a_rest = only(a, 0x600, false), b_rest = only(b, 0x600, false);
  REQUIRE(a_rest.size() == b_rest.size());
  for (std::size_t k = 0; k < a_rest.size(); ++k) {
    CHECK(a_rest[k].t == b_rest[k].t);
    CHECK(same_bytes(a_rest[k].f, b_rest[k].f));
  }
  // Module 0's voltages (4 rows at 0, 100, 200, 300 ms): those generated before 150 ms come 35 ms
  // late with the bytes (counter, CRC) they were generated with; later ones on time.
  const auto a0 = only(a, 0x600, true), b0 = only(b, 0x600, true);
  REQUIRE(a0.size() == 16);
  REQUIRE(b0.size() == 16);
  for (std::size_t k = 0; k < a0.size(); ++k) {
    CHECK(same_bytes(a0[k].f, b0[k].f));
    CHECK(b0[k].t == a0[k].t + (a0[k].t < 150'000'000 ? 35'000'000 : 0));
  }
  CHECK(late.stats().tx_delayed == 8);
  // The BMS accepts the late frames: their E2E counters are in order.
  can::BmsProtocol bms(p, 24, 12, 2, 12, 6);
  for (const auto& s : b) bms.receive(s.f, s.t);
  CHECK(bms.stats().rx_rejected() == 0);
}

TEST_CASE("CAN delay line: full, it loses frames and counts them, never allocates more",
          "[profile][faults]") {
  const Chain c;
  model::AfeData afe = c.fresh();
  model::ShuntData sh;
  c.measure(afe, sh);
  const auto p = load("packsim");
  can::SimProtocol sim(p, 24, 12, 2);
  // The 10 ms current frames held for 10 s: 1000 frames in flight, beyond the line's 512.
  sim.set_delay(tx_index(*p, "IVT_Msg_Result_I"), -1, 10'000'000'000, 20'000'000'000);
  const auto out = run(sim, afe, sh, 6'000'000'000);
  CHECK(only(out, 0x521, true).empty());
  CHECK(sim.stats().tx_delay_overflow == 600 - can::SimProtocol::kDelayCapacity);
}

TEST_CASE("CAN babble: a flood of one id at its rate, the profile's frames untouched",
          "[profile][faults]") {
  const Chain c;
  model::AfeData afe = c.fresh();
  model::ShuntData sh;
  c.measure(afe, sh);
  const auto p = load("packsim");
  can::SimProtocol base(p, 24, 12, 2), noisy(p, 24, 12, 2);
  noisy.set_babble(0, 0x001, false, 8, 1000.0, 50'000'000);
  const auto a = run(base, afe, sh, 100'000'000);
  const auto b = run(noisy, afe, sh, 100'000'000);
  const auto flood = only(b, 0x001, true);
  // 1 kHz from the first transmit (t = 0) until 50 ms (exclusive): one per 1 ms tick, 50 frames.
  REQUIRE(flood.size() == 50);
  for (std::size_t k = 0; k < flood.size(); ++k) {
    CHECK(flood[k].t == static_cast<std::int64_t>(k) * 1'000'000);
    CHECK(flood[k].f.len == 8);
    CHECK(!flood[k].f.extended);
  }
  const auto rest = only(b, 0x001, false);
  REQUIRE(rest.size() == a.size());
  for (std::size_t k = 0; k < a.size(); ++k) {
    CHECK(rest[k].t == a[k].t);
    CHECK(same_bytes(rest[k].f, a[k].f));
  }
  CHECK(noisy.stats().tx_babble == 50);
  // A faster babbler than the tick: 5 kHz sends its 5 frames per 1 ms tick in a burst.
  can::SimProtocol fast(p, 24, 12, 2);
  fast.set_babble(0, 0x1ABCDE, true, 12, 5000.0, 10'000'000);
  const auto burst = only(run(fast, afe, sh, 20'000'000), 0x1ABCDE, true);
  // Due by t (ms) = floor(5 t) + 1, last tick 9 ms: 46 frames, CAN FD of 24 bytes (DLC 12).
  REQUIRE(burst.size() == 46);
  CHECK(burst[0].f.fd);
  CHECK(burst[0].f.len == 24);
  CHECK(burst[0].f.extended);
}

TEST_CASE("CAN silence: one AFE module's frames, or the whole bus, stop and resume",
          "[profile][faults]") {
  const Chain c;
  model::AfeData afe = c.fresh();
  model::ShuntData sh;
  c.measure(afe, sh);
  const auto p = load("packsim");
  can::SimProtocol base(p, 24, 12, 2), quiet(p, 24, 12, 2);
  quiet.set_silence(-1, 1, 250'000'000);
  const auto a = run(base, afe, sh, 500'000'000);
  const auto b = run(quiet, afe, sh, 500'000'000);
  std::size_t module1_before = 0, module1_after = 0;
  for (const auto& s : b) {
    const bool module1 = s.f.id == 0x601 || s.f.id == 0x621 || s.f.id == 0x641;
    if (module1 && s.t < 250'000'000) ++module1_before;
    if (module1 && s.t >= 250'000'000) ++module1_after;
  }
  CHECK(module1_before == 0);
  CHECK(module1_after > 0);
  // Every other frame as without the fault (module 0, the current sensor).
  std::vector<Sent> a_other, b_other;
  for (const auto& s : a) {
    if (s.f.id != 0x601 && s.f.id != 0x621 && s.f.id != 0x641) a_other.push_back(s);
  }
  for (const auto& s : b) {
    if (s.f.id != 0x601 && s.f.id != 0x621 && s.f.id != 0x641) b_other.push_back(s);
  }
  REQUIRE(a_other.size() == b_other.size());
  for (std::size_t k = 0; k < a_other.size(); ++k) {
    CHECK(a_other[k].t == b_other[k].t);
    CHECK(same_bytes(a_other[k].f, b_other[k].f));
  }
  // The silent module's counters did not move: when it resumes, the BMS's E2E check accepts it.
  can::BmsProtocol bms(p, 24, 12, 2, 12, 6);
  for (const auto& s : b) bms.receive(s.f, s.t);
  CHECK(bms.stats().rx_rejected() == 0);
  CHECK(bms.view().module_voltage_rx_ns[1] >= 250'000'000);

  can::SimProtocol mute(p, 24, 12, 2);
  mute.set_silence(-1, -1, 50'000'000);
  mute.set_babble(0, 0x002, false, 1, 1000.0, 100'000'000);
  const auto m = run(mute, afe, sh, 100'000'000);
  REQUIRE(!m.empty());
  CHECK(m.front().t >= 50'000'000);  // nothing at all on the bus before, not even the babbler
}

TEST_CASE("CAN error frames: flagged frames of the error class at their rate, counted by the BMS",
          "[profile][faults]") {
  const Chain c;
  model::AfeData afe = c.fresh();
  model::ShuntData sh;
  c.measure(afe, sh);
  const auto p = load("packsim");
  can::SimProtocol sim(p, 24, 12, 2);
  sim.set_error_frames(0, 0x80, 100.0, 100'000'000);  // bus errors, 100 per second, for 100 ms
  const auto frames = run(sim, afe, sh, 200'000'000);
  std::vector<Sent> errors;
  for (const auto& s : frames) {
    if (s.f.error) errors.push_back(s);
  }
  // From t = 0 every 10 ms until 100 ms (exclusive): 10 frames.
  REQUIRE(errors.size() == 10);
  for (std::size_t k = 0; k < errors.size(); ++k) {
    CHECK(errors[k].t == static_cast<std::int64_t>(k) * 10'000'000);
    CHECK(errors[k].f.id == 0x80u);
    CHECK(errors[k].f.len == 8);
  }
  can::BmsProtocol bms(p, 24, 12, 2, 12, 6);
  for (const auto& s : frames) bms.receive(s.f, s.t);
  CHECK(bms.stats().rx_error_frames == 10);
  CHECK(bms.stats().rx_rejected() == 0);  // counted, not taken for a corrupt profile frame
}
