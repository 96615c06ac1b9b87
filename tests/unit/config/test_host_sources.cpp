// The host's requests as TX sources (host_mode through a value map, host_fault_reset) and the
// per-signal clamp (min/max), on foxBMS 2's own messages: what the loader accepts, what it refuses
// (each refusal at file:line:col), and the bytes the simulator side then sends. Expected bytes are
// derived from the DBC (profiles/foxbms2/foxbms2.dbc): f_BmsStateRequest RequestBmsMode 1|2@0+ =
// byte 0 bits 1..0, ResetPersistentFlags 2|1@0+ = byte 0 bit 2; AFE_CellTemperatures mux 7|8 =
// byte 0, invalid flags 8..13 = byte 1 bits 0..5, CellTemperature_000 23|8@0- = byte 2 (int8).
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "packsim/can/protocol.hpp"
#include "packsim/config/loaders.hpp"
#include "support/temp_dir.hpp"

using namespace packsim;
namespace fs = std::filesystem;

namespace {

constexpr double kZeroC = 273.15;

// Named after the tests that use it.
struct TempDir : test::TempDir {
  TempDir() : test::TempDir("packsim-host") {}
};

// One module of 4 cells and 6 sensors.
const config::ProfileLayout kLayout{4, 6, 1, 4, 6, 1'000'000, {}};

// A profile on foxBMS's DBC: the state request with `request` as its [tx.signals] body, and
// 0x280 row 0 with `temperature` as the binding of its six sensors.
std::string profile_text(const std::string& request, const std::string& temperature) {
  return "[profile]\nname = \"host\"\ndbc = \"" PACKSIM_SOURCE_DIR
         "/profiles/foxbms2/foxbms2.dbc\"\n"
         "[[tx]]\nmessage = \"f_BmsStateRequest\"\nbus = \"bms\"\nperiod = \"100 ms\"\n"
         "phase = \"20 ms\"\n[tx.signals]\n" +
         request +
         "\n[[tx]]\nmessage = \"AFE_CellTemperatures\"\nbus = \"bms\"\nperiod = \"100 ms\"\n"
         "mux = \"AFE_CellTemperatures_Mux\"\nmux_values = \"0..0\"\n[tx.signals]\n"
         "\"CellTemperature_{n}\" = " +
         temperature + "\n\"CellTemperature_{n}_invalidFlag\" = \"temperature_valid[n]\"\n";
}

const std::string kRequest =
    "RequestBmsMode = { source = \"host_mode\", map = { standby = 0, normal = 1, charge = 2 } }\n"
    "ResetPersistentFlags = \"host_fault_reset\"";
const std::string kTemperature = "\"temperature[n]\"";

struct Loaded {
  std::shared_ptr<const can::Profile> profile;
  std::string file;
  std::string errors;
  std::size_t count = 0;
};

Loaded load(const TempDir& dir, const std::string& text) {
  Loaded l;
  l.file = dir.write("profile.toml", text).string();
  Diagnostics d;
  l.profile = config::load_profile(l.file, kLayout, d);
  l.errors = d.format();
  l.count = d.size();
  return l;
}

// The profile does not load, with one error at line:col that contains `part`.
void expect_error(const std::string& request, const std::string& temperature, int line, int col,
                  const std::string& part) {
  TempDir dir;
  const Loaded l = load(dir, profile_text(request, temperature));
  INFO(profile_text(request, temperature) << "\n---\n" << l.errors);
  CHECK_FALSE(l.profile);
  CHECK(l.count == 1);
  CHECK(l.errors.find(l.file + ":" + std::to_string(line) + ":" + std::to_string(col) + ": ") !=
        std::string::npos);
  CHECK(l.errors.find(part) != std::string::npos);
}

struct Capture final : can::FrameSink {
  std::vector<can::CanFrame> frames;
  bool send(std::size_t /*bus*/, const can::CanFrame& f) override {
    frames.push_back(f);
    return true;
  }
};

model::AfeData afe_4x6() {
  model::AfeData afe;
  afe.v_meas.assign(4, 3.7);
  afe.open_wire.assign(4, 0);
  afe.ov_flag.assign(4, 0);
  afe.uv_flag.assign(4, 0);
  afe.t_meas_k.assign(6, kZeroC + 25.0);
  afe.die_temp_k.assign(1, kZeroC + 25.0);
  return afe;
}

// The one frame with this id that transmit(time_ns) sends.
can::CanFrame sent_at(can::SimProtocol& sim, std::int64_t time_ns, std::uint32_t id,
                      const model::AfeData& afe) {
  Capture cap;
  sim.transmit(time_ns, afe, model::ShuntData{}, cap);
  can::CanFrame out;
  int n = 0;
  for (const auto& f : cap.frames) {
    if (f.id == id) {
      out = f;
      ++n;
    }
  }
  REQUIRE(n == 1);
  return out;
}

}  // namespace

TEST_CASE("host_mode goes out through its map, host_fault_reset as 0/1", "[profile][host]") {
  TempDir dir;
  const Loaded l = load(dir, profile_text(kRequest, kTemperature));
  INFO(l.errors);
  REQUIRE(l.profile);
  can::SimProtocol sim(l.profile, 4, 6, 1);
  const model::AfeData afe = afe_4x6();
  // No request set: standby (0), no reset.
  CHECK(sent_at(sim, 20'000'000, 0x210, afe).data[0] == 0x00);
  sim.set_host({can::HostMode::kNormal, false});
  CHECK(sent_at(sim, 120'000'000, 0x210, afe).data[0] == 0x01);
  sim.set_host({can::HostMode::kCharge, false});
  CHECK(sent_at(sim, 220'000'000, 0x210, afe).data[0] == 0x02);
  // Reset during a normal request: bit 2 and mode 1 = 0x05.
  sim.set_host({can::HostMode::kNormal, true});
  CHECK(sent_at(sim, 320'000'000, 0x210, afe).data[0] == 0x05);
  sim.set_host({can::HostMode::kStandby, true});
  CHECK(sent_at(sim, 420'000'000, 0x210, afe).data[0] == 0x04);
}

TEST_CASE("A map may give the modes any values the signal carries", "[profile][host]") {
  // A BMS whose protocol has no charge mode: the host's charge request is its "connect" (1), and
  // standby is 3. Scale applies after the map: 3 * 1 = 3 fits 2 bits.
  TempDir dir;
  const Loaded l = load(
      dir, profile_text(
               "RequestBmsMode = { source = \"host_mode\", map = { standby = 3, normal = 1, charge "
               "= 1 } }",
               kTemperature));
  INFO(l.errors);
  REQUIRE(l.profile);
  can::SimProtocol sim(l.profile, 4, 6, 1);
  const model::AfeData afe = afe_4x6();
  CHECK(sent_at(sim, 20'000'000, 0x210, afe).data[0] == 0x03);
  sim.set_host({can::HostMode::kCharge, false});
  CHECK(sent_at(sim, 120'000'000, 0x210, afe).data[0] == 0x01);
}

TEST_CASE("min clamps a signal: foxBMS v1.10.0's unsigned temperatures", "[profile][host]") {
  // -1 degC as int8 is 0xFF, which foxBMS v1.10.0 reads as 255 degC; with min = 0 it is 0x00.
  // max = 30 clamps 45 degC to 30 (0x1E); 25 degC (0x19) is inside and goes out as it is.
  model::AfeData afe = afe_4x6();
  afe.t_meas_k[0] = kZeroC - 1.0;
  afe.t_meas_k[1] = kZeroC + 45.0;
  {
    TempDir dir;
    const Loaded l = load(dir, profile_text(kRequest, kTemperature));
    REQUIRE(l.profile);
    can::SimProtocol sim(l.profile, 4, 6, 1);
    const can::CanFrame f = sent_at(sim, 0, 0x280, afe);
    CHECK(f.data[2] == 0xFF);  // -1
    CHECK(f.data[3] == 0x2D);  // 45
    CHECK(f.data[4] == 0x19);
  }
  {
    TempDir dir;
    const Loaded l =
        load(dir, profile_text(kRequest, "{ source = \"temperature[n]\", min = 0, max = 30 }"));
    INFO(l.errors);
    REQUIRE(l.profile);
    can::SimProtocol sim(l.profile, 4, 6, 1);
    const can::CanFrame f = sent_at(sim, 0, 0x280, afe);
    CHECK(f.data[1] == 0x3F);  // all six valid: the clamp changes the value, not the flag
    CHECK(f.data[2] == 0x00);
    CHECK(f.data[3] == 0x1E);
    CHECK(f.data[4] == 0x19);
  }
}

TEST_CASE("Bad host sources and clamps are located errors", "[profile][host]") {
  // The request body starts on line 10 of the profile, the temperature binding on line 19; the
  // column is the value's, or the map's for a key missing from it.
  expect_error("RequestBmsMode = \"host_mode\"", kTemperature, 10, 18,
               "source 'host_mode' needs the value of each mode");
  expect_error("RequestBmsMode = { source = \"host_mode\", map = { standby = 0, normal = 1 } }",
               kTemperature, 10, 48,
               "missing required key 'tx[0].signals.RequestBmsMode.map.charge'");
  expect_error(
      "RequestBmsMode = { source = \"host_mode\", map = { standby = 0, normal = 1, charge = 4 } }",
      kTemperature, 10, 84, "RequestBmsMode.map.charge: 4 does not fit signal 'RequestBmsMode'");
  expect_error("RequestBmsMode = { source = \"host_mode\", map = [0, 1, 2] }", kTemperature, 10, 48,
               "expected a table, e.g. map = { standby = 0, normal = 1, charge = 2 }");
  expect_error(
      "ResetPersistentFlags = { source = \"host_fault_reset\", map = { standby = 0, normal = 1, "
      "charge = 2 } }",
      kTemperature, 10, 61, "only source 'host_mode' takes a map (here 'host_fault_reset')");
  expect_error(kRequest, "{ source = \"temperature[n]\", min = 10, max = 0 }", 19, 60,
               "min: greater than max; expected min <= max");
  expect_error("RequestBmsMode = \"host_moed\"", kTemperature, 10, 18,
               "unknown source 'host_moed' (did you mean 'host_mode'?)");
}
