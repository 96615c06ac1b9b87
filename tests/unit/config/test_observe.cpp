// Observe bindings (issue 11, item 1): what a BMS reports about itself, decoded into SI
// observables. The loader's good and bad bindings with their exact messages, the simulator side's
// decode (scaling, units, the state map, NaN before the first frame, stale after a timeout), and
// the reference BMS side's encode -> decode round trip of every observable of the shipped
// packsim and foxbms2 profiles.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "config_test_util.hpp"
#include "packsim/bms/node.hpp"
#include "packsim/can/protocol.hpp"
#include "packsim/config/loaders.hpp"

using namespace packsim;
namespace fs = std::filesystem;
using can::Observable;

namespace {

struct TempDir : test::TempDir {
  TempDir() : test::TempDir("packsim-observe") {}
};

// 12 channels in 2 modules of 6, two sensors per module.
const config::ProfileLayout kLayout{12, 4, 2, 6, 2, 1'000'000, {}};

// A DBC of one BMS message: a state, a fault flag, SOC in %, a temperature in degC, a current
// limit without a unit and a power in kW.
const char* kDbc = R"(VERSION ""
NS_ :
BS_:
BU_: BMS SIM
BO_ 1792 BMS_Report: 8 BMS
 SG_ State : 0|4@1+ (1,0) [0|15] "" SIM
 SG_ Fault : 4|1@1+ (1,0) [0|1] "" SIM
 SG_ Soc : 8|10@1+ (0.1,0) [0|102.3] "%" SIM
 SG_ Temp : 24|8@1- (1,0) [-128|127] "degC" SIM
 SG_ Limit : 32|12@1+ (0.5,0) [0|2047.5] "" SIM
 SG_ Power : 48|12@1+ (0.1,0) [0|409.5] "kW" SIM
 SG_ Odd : 60|4@1+ (1,0) [0|15] "furlong" SIM
BO_ 1793 BMS_Module: 8 BMS
 SG_ Soc : 0|8@1+ (1,0) [0|255] "%" SIM
)";

std::string profile_text(const std::string& signals) {
  return "[profile]\nname = \"obs\"\ndbc = \"obs.dbc\"\n[[rx]]\nmessage = \"BMS_Report\"\n"
         "period = \"100 ms\"\ntimeout = \"300 ms\"\non_timeout = \"hold\"\n[rx.signals]\n" +
         signals + "\n";
}

struct Loaded {
  std::shared_ptr<const can::Profile> profile;
  std::string errors;
  std::size_t count = 0;
};

Loaded load(const TempDir& dir, const std::string& text) {
  dir.write("obs.dbc", kDbc);
  Diagnostics d;
  Loaded l;
  l.profile = config::load_profile(dir.write("profile.toml", text), kLayout, d);
  l.errors = d.format();
  l.count = d.size();
  return l;
}

using test::Capture;

const std::string kGood =
    "State = { observe = \"bms_state\", states = { 5 = \"standby\", 7 = \"normal\", 10 = "
    "\"fault\" }, other_state = \"init\" }\n"
    "Fault = \"bms_fault\"\n"
    "Soc = \"bms_soc\"\n"
    "Temp = \"bms_t_max\"\n"
    "Limit = { observe = \"bms_discharge_current_limit\", unit = \"A\" }\n"
    "Power = { observe = \"bms_charge_power_limit\", scale = 2.0 }\n";

// Writes `raw` into signal `name` of the message and hands the frame to the simulator side.
void send(const can::Profile& p, can::SimProtocol& sim,
          const std::vector<std::pair<const char*, std::uint64_t>>& raw, std::int64_t t_ns) {
  const can::MessageCodec& codec = *p.rx[0].codec;
  can::CanFrame f;
  codec.prepare_frame(f);
  f.id = p.rx[0].id;
  for (const auto& [name, value] : raw) codec.set_raw(codec.find(name), value, f.data.data());
  sim.receive(0, f, t_ns);
}

}  // namespace

TEST_CASE("Observe bindings load with their units and the state map", "[observe]") {
  TempDir dir;
  const Loaded l = load(dir, profile_text(kGood));
  INFO(l.errors);
  REQUIRE(l.profile);
  const can::Profile& p = *l.profile;
  CHECK(p.observes(Observable::kState));
  CHECK(p.observes(Observable::kSoc));
  CHECK_FALSE(p.observes(Observable::kSoh));
  CHECK_FALSE(p.commands_contactors);  // observing drives nothing
  REQUIRE(p.rx[0].bindings.size() == 6);
  auto binding = [&](Observable o) -> const can::RxBinding& {
    for (const auto& b : p.rx[0].bindings) {
      if (b.observe == o) return b;
    }
    FAIL("not bound: " << can::observable_name(o));
    return p.rx[0].bindings[0];
  };
  CHECK(binding(Observable::kState).command == can::Command::kObserve);
  CHECK(binding(Observable::kState).observe_states.size() == 3);
  CHECK(binding(Observable::kSoc).observe_scale == Approx(0.01));                 // "%" -> fraction
  CHECK(binding(Observable::kTempMax).observe_offset == Approx(273.15));          // degC -> K
  CHECK(binding(Observable::kChargePowerLimit).observe_scale == Approx(2000.0));  // 2 x kW
  CHECK(binding(Observable::kDischargeCurrentLimit).observe_scale == 1.0);
}

TEST_CASE("Bad observe bindings are located errors that say what was expected", "[observe]") {
  TempDir dir;
  auto one = [&](const std::string& signals) {
    const Loaded l = load(dir, profile_text(signals));
    CHECK_FALSE(l.profile);
    return l.errors;
  };
  const std::string f = (dir.path / "profile.toml").string();
  CHECK(one("Soc = { observe = \"bms_sco\" }") ==
        f + ":10:19: rx[0].signals.Soc.observe: unknown observable 'bms_sco' (did you mean "
            "'bms_soc'?); expected one of bms_state, bms_fault, bms_fault_code, bms_main_pos, "
            "bms_main_neg, bms_precharge, bms_soc, bms_soh, bms_charge_current_limit, "
            "bms_discharge_current_limit, bms_charge_power_limit, bms_discharge_power_limit, "
            "bms_balancing, bms_v_min, bms_v_max, bms_t_min, bms_t_max\n");
  CHECK(one("Limit = \"bms_charge_current_limit\"") ==
        f + ":10:9: rx[0].signals.Limit: bms_charge_current_limit: the DBC gives "
            "BMS_Report.Limit the unit \"\", which packsim does not convert; say what the value "
            "is in with unit = ..., expected \"A\", \"mA\", \"kA\"\n");
  CHECK(one("Odd = { observe = \"bms_t_min\", unit = \"F\" }") ==
        f + ":10:39: rx[0].signals.Odd.unit: unit \"F\" is not one of bms_t_min's; expected "
            "\"K\", \"degC\"\n");
  CHECK(one("State = { observe = \"bms_state\", states = { 5 = \"stand-by\" } }") ==
        f + ":10:49: rx[0].signals.State.states.5: \"stand-by\" is not a BMS state (did you "
            "mean 'standby'?); expected one of \"init\", \"standby\", \"precharge\", \"closing\", "
            "\"normal\", \"opening\", \"fault\"\n");
  CHECK(one("Soc = \"bms_soc\"\nPower = { observe = \"bms_soc\", unit = \"%\" }") ==
        f + ":10:7: rx[0].signals.Soc: bms_soc is observed twice: by BMS_Report.Power and by "
            "BMS_Report.Soc\n");  // bindings are read in key order
  CHECK(one("Fault = { observe = \"bms_fault\", scale = 2.0 }") ==
        f + ":10:42: rx[0].signals.Fault.scale: bms_fault is a flag (nonzero = 1): 'scale' "
            "does not apply\n");
  CHECK(one("Soc = { command = \"observe\" }") ==
        f + ":10:7: rx[0].signals.Soc: \"observe\" needs the observable: { observe = "
            "\"bms_soc\" } or just \"bms_soc\"\n");
  CHECK(one("Soc = { command = \"record\", states = { 1 = \"init\" } }") ==
        f + ":10:38: rx[0].signals.Soc.states: 'states' applies to an observe binding; add "
            "observe = \"bms_...\"\n");
  // An observable is one value of the BMS, not one per module.
  const Loaded m = load(dir,
                        "[profile]\nname = \"obs\"\ndbc = \"obs.dbc\"\n[[rx]]\nmessage = "
                        "\"BMS_Module\"\nper = \"module\"\n[rx.signals]\nSoc = \"bms_soc\"\n");
  CHECK_FALSE(m.profile);
  CHECK(m.errors == f + ":8:7: rx[0].signals.Soc: bms_soc is one value of the BMS: observe "
                        "it in a message sent once (per = \"pack\"), not per module\n");
}

TEST_CASE("The simulator side decodes observables: scaled, in SI, NaN before, stale after",
          "[observe]") {
  TempDir dir;
  const Loaded l = load(dir, profile_text(kGood));
  INFO(l.errors);
  REQUIRE(l.profile);
  can::SimProtocol sim(l.profile, 12, 4, 2);
  const can::BmsObservations& o = sim.commands().observed;
  for (std::size_t k = 0; k < can::kObservableCount; ++k) {
    CHECK(std::isnan(o.value[k]));
    CHECK(o.rx_ns[k] == -1);
  }
  // State 7 (normal), fault, SOC 61.2 %, -5 degC, 120.5 A, 12.3 kW x 2.
  send(*l.profile, sim,
       {{"State", 7}, {"Fault", 1}, {"Soc", 612}, {"Temp", 0xFB}, {"Limit", 241}, {"Power", 123}},
       50'000'000);
  CHECK(o.get(Observable::kState) == 4.0);  // kBmsStateNames[4] = "normal"
  CHECK(o.state_raw == 7);
  CHECK(o.get(Observable::kFault) == 1.0);
  CHECK(o.get(Observable::kSoc) == Approx(0.612));
  CHECK(o.get(Observable::kTempMax) == Approx(268.15));
  CHECK(o.get(Observable::kDischargeCurrentLimit) == Approx(120.5));
  CHECK(o.get(Observable::kChargePowerLimit) == Approx(24'600.0));
  CHECK(o.rx_ns[static_cast<std::size_t>(Observable::kSoc)] == 50'000'000);
  CHECK(std::isnan(o.get(Observable::kSoh)));  // not bound
  // A raw state the map does not list reads as other_state ("init").
  send(*l.profile, sim, {{"State", 3}, {"Soc", 612}}, 100'000'000);
  CHECK(o.get(Observable::kState) == 0.0);
  CHECK(o.state_raw == 3);
  // Quiet for more than the 300 ms timeout: the values stay, marked stale.
  sim.supervise(400'000'000);
  CHECK(o.stale[static_cast<std::size_t>(Observable::kSoc)] == 0);
  sim.supervise(400'000'001);
  CHECK(o.stale[static_cast<std::size_t>(Observable::kSoc)] == 1);
  CHECK(o.get(Observable::kSoc) == Approx(0.612));
  send(*l.profile, sim, {{"Soc", 500}}, 500'000'000);
  CHECK(o.stale[static_cast<std::size_t>(Observable::kSoc)] == 0);
  CHECK(o.get(Observable::kSoc) == Approx(0.5));
}

namespace {

// The reference BMS's outputs with every observable set, as the node fills BmsCommands.
bms::BmsOutputs reference_outputs() {
  bms::BmsOutputs o;
  o.state = bms::BmsState::kNormal;
  o.contactors = {true, true, false};
  o.balance.assign(12, 0);  // one per channel of kLayout: the BMS side reads n_channels of them
  o.balance[1] = 1;
  o.faults = bms::Fault::kOverTemp;
  o.first_fault = bms::Fault::kOverTemp;
  o.soc = 0.4321;
  o.soc_valid = true;
  o.soh = 1.0;
  o.charge_current_limit_a = 12.3;
  o.discharge_current_limit_a = 45.6;
  o.charge_power_limit_w = 1234.0;
  o.discharge_power_limit_w = 4567.0;
  o.cell_v_min_v = 3.2101;
  o.cell_v_max_v = 3.3456;
  o.cell_v_min_index = 0;
  o.cell_v_max_index = 1;
  o.temp_min_k = 273.15 + 21.0;
  o.temp_max_k = 273.15 + 34.0;
  o.temp_min_index = 0;
  o.temp_max_index = 1;
  return o;
}

// Sends the commands through the profile's BMS side and decodes them on the simulator side.
can::BmsObservations round_trip(const std::shared_ptr<const can::Profile>& p,
                                const bms::BmsOutputs& out) {
  can::BmsCommands cmd;
  cmd.contactors = out.contactors;
  cmd.balance = out.balance.data();
  cmd.state = static_cast<std::uint8_t>(out.state);
  bms::fill_observations(out, cmd);
  can::BmsProtocol side(p, kLayout.n_channels, kLayout.n_sensors, kLayout.n_modules,
                        kLayout.cells_per_module, kLayout.sensors_per_module);
  Capture c;
  side.transmit(0, cmd, c);
  can::SimProtocol sim(p, kLayout.n_channels, kLayout.n_sensors, kLayout.n_modules);
  for (const auto& f : c.frames) sim.receive(0, f, 1'000);
  CHECK(sim.stats().rx_rejected() == 0);
  return sim.commands().observed;
}

std::shared_ptr<const can::Profile> shipped(const std::string& name) {
  Diagnostics d;
  auto p = config::load_profile(fs::path(PACKSIM_SOURCE_DIR) / "profiles" / name / "profile.toml",
                                kLayout, d);
  INFO(d.format());
  REQUIRE(p);
  return p;
}

}  // namespace

TEST_CASE("Every observable of the packsim profiles survives the reference BMS's frames",
          "[observe]") {
  for (const std::string name : {"packsim", "packsim_fd"}) {
    INFO(name);
    const auto p = shipped(name);
    for (std::size_t k = 0; k < can::kObservableCount; ++k) {
      INFO(can::observable_name(static_cast<Observable>(k)));
      CHECK(p->observes(static_cast<Observable>(k)));
    }
    const can::BmsObservations o = round_trip(p, reference_outputs());
    CHECK(o.get(Observable::kState) == 4.0);
    CHECK(o.get(Observable::kFault) == 1.0);
    CHECK(o.get(Observable::kFaultCode) == 3.0);  // kOverTemp is bit 2
    CHECK(o.get(Observable::kMainPos) == 1.0);
    CHECK(o.get(Observable::kMainNeg) == 1.0);
    CHECK(o.get(Observable::kPrecharge) == 0.0);
    CHECK(o.get(Observable::kBalancing) == 1.0);
    // Within half a step of each signal's resolution.
    CHECK(o.get(Observable::kSoc) == Approx(0.4321).margin(0.00005));
    CHECK(o.get(Observable::kSoh) == Approx(1.0).margin(0.00005));
    CHECK(o.get(Observable::kChargeCurrentLimit) == Approx(12.3).margin(0.05));
    CHECK(o.get(Observable::kDischargeCurrentLimit) == Approx(45.6).margin(0.05));
    CHECK(o.get(Observable::kChargePowerLimit) == Approx(1234.0).margin(0.5));
    CHECK(o.get(Observable::kDischargePowerLimit) == Approx(4567.0).margin(0.5));
    CHECK(o.get(Observable::kCellVMin) == Approx(3.2101).margin(0.00005));
    CHECK(o.get(Observable::kCellVMax) == Approx(3.3456).margin(0.00005));
    CHECK(o.get(Observable::kTempMin) == Approx(294.15).margin(0.5));
    CHECK(o.get(Observable::kTempMax) == Approx(307.15).margin(0.5));
  }
}

TEST_CASE("What the BMS does not know yet travels as not-available and decodes as unknown",
          "[observe]") {
  // A BMS before its first SOC estimate (and without cell data for its min/max): the packsim
  // DBC's SOC (16 bit, 0.01 %, 0..100 %) is sent as raw 0xFFFF, beyond its maximum, and read back
  // as NaN, not as 0 % (which a scorer would count as a 60 % error).
  const auto p = shipped("packsim");
  bms::BmsOutputs out = reference_outputs();
  out.soc_valid = false;
  out.cell_v_min_index = out.cell_v_max_index = -1;
  const can::BmsObservations o = round_trip(p, out);
  CHECK(std::isnan(o.get(Observable::kSoc)));
  CHECK(o.received(Observable::kSoc));  // the frame came; the value is unknown
  CHECK(std::isnan(o.get(Observable::kCellVMin)));
  CHECK(std::isnan(o.get(Observable::kCellVMax)));
  CHECK(o.get(Observable::kSoh) == Approx(1.0).margin(0.00005));  // the rest of the frame holds
  CHECK(o.get(Observable::kFault) == 1.0);
}

TEST_CASE("The foxbms2 profile observes what foxBMS 2 reports on CAN1", "[observe][foxbms2]") {
  const auto p = shipped("foxbms2");
  for (const Observable k :
       {Observable::kState, Observable::kFault, Observable::kSoc, Observable::kSoh,
        Observable::kChargeCurrentLimit, Observable::kDischargeCurrentLimit,
        Observable::kChargePowerLimit, Observable::kDischargePowerLimit, Observable::kCellVMin,
        Observable::kCellVMax, Observable::kTempMin, Observable::kTempMax}) {
    INFO(can::observable_name(k));
    CHECK(p->observes(k));
  }
  CHECK_FALSE(p->observes(Observable::kFaultCode));  // foxBMS reports flags, not a code
  // A foxBMS frame 0x220 with BmsState = 7 (NORMAL): the contactors close and the state is
  // observed as normal; 10 (ERROR) reads as fault.
  can::SimProtocol sim(p, kLayout.n_channels, kLayout.n_sensors, kLayout.n_modules);
  std::size_t state_msg = 0;
  while (p->rx[state_msg].name != "f_BmsState") ++state_msg;
  const can::MessageCodec& codec = *p->rx[state_msg].codec;
  can::CanFrame f;
  codec.prepare_frame(f);
  f.id = 0x220;
  codec.set_raw(codec.find("BmsState"), 7, f.data.data());
  sim.receive(0, f, 0);
  CHECK(sim.commands().contactors.main_pos);
  CHECK(sim.commands().observed.get(Observable::kState) == 4.0);
  codec.set_raw(codec.find("BmsState"), 10, f.data.data());
  codec.set_raw(codec.find("GeneralError"), 1, f.data.data());
  sim.receive(0, f, 1);
  CHECK(sim.commands().observed.get(Observable::kState) == 6.0);
  CHECK(sim.commands().observed.get(Observable::kFault) == 1.0);
  // The other messages, through the BMS side: foxBMS's mV, degC, kW and % come out in SI.
  const can::BmsObservations o = round_trip(p, reference_outputs());
  CHECK(o.get(Observable::kSoc) == Approx(0.4321).margin(0.0005));              // 0.1 %
  CHECK(o.get(Observable::kSoh) == Approx(1.0).margin(0.0025));                 // 0.5 %
  CHECK(o.get(Observable::kChargeCurrentLimit) == Approx(12.3).margin(0.125));  // 0.25 A
  CHECK(o.get(Observable::kDischargeCurrentLimit) == Approx(45.6).margin(0.125));
  CHECK(o.get(Observable::kChargePowerLimit) == Approx(1234.0).margin(50.0));  // 0.1 kW
  CHECK(o.get(Observable::kDischargePowerLimit) == Approx(4567.0).margin(50.0));
  CHECK(o.get(Observable::kCellVMin) == Approx(3.2101).margin(0.0005));  // 1 mV
  CHECK(o.get(Observable::kCellVMax) == Approx(3.3456).margin(0.0005));
  CHECK(o.get(Observable::kTempMin) == Approx(294.15).margin(0.5));  // 1 degC
  CHECK(o.get(Observable::kTempMax) == Approx(307.15).margin(0.5));
}

TEST_CASE("A scenario's bms_* condition needs the profile to bind that observable", "[observe]") {
  TempDir dir;
  const std::string root = PACKSIM_SOURCE_DIR;
  auto scenario = [&](const std::string& until) {
    return "[scenario]\nname = \"x\"\npack = \"" + root +
           "/configs/foxbms2_18s1p.toml\"\nduration = \"1 s\"\ntick = \"1 ms\"\n[bms]\nmode = "
           "\"external\"\nprofile = \"" +
           root + "/profiles/foxbms2/profile.toml\"\n[[load]]\nkind = \"rest\"\nuntil = [\"" +
           until + "\"]\n";
  };
  {
    // foxBMS reports its state: bms_state works for this external BMS.
    Diagnostics d;
    const auto sc = config::load_scenario(
        dir.write("ok.toml", scenario("bms_state == normal and bms_soc < 50 %")), d);
    INFO(d.format());
    CHECK(sc);
  }
  Diagnostics d;
  const auto path = dir.write("bad.toml", scenario("bms_soc < 50 % or bms_fault_code == 4"));
  CHECK_FALSE(config::load_scenario(path, d));
  CHECK(d.format() == path.string() +
                          ":11:1: a condition uses bms_fault_code, but profile 'foxbms2' binds no "
                          "signal to it (a received signal with observe = \"bms_fault_code\", "
                          "docs/protocol.md)\n");
}

// Per-cell SOC (issue 11 item 3, "per cell where the BMS reports it"): an indexed binding per
// channel, in a multiplexed message per module.
TEST_CASE("Per-cell SOC estimates travel per module, a mux row per three cells", "[observe]") {
  for (const std::string name : {"packsim", "packsim_fd"}) {
    INFO(name);
    const auto p = shipped(name);
    CHECK(p->observes_cell_soc);
    const can::RxMessage* m = nullptr;
    for (const auto& rx : p->rx) {
      if (rx.name == "BMS_CellSoc") m = &rx;
    }
    REQUIRE(m);
    // kLayout's modules hold 6 cells: CellSoc06..17 name no cell of a module and are dropped.
    CHECK(m->bindings.size() == 6);
    CHECK(m->instances == 2);

    bms::BmsOutputs out = reference_outputs();
    out.cell_soc.assign(12, 0.0);
    for (std::size_t c = 0; c < 12; ++c) out.cell_soc[c] = 0.10 + 0.0567 * static_cast<double>(c);
    out.cell_soc[5] = std::numeric_limits<double>::quiet_NaN();  // not estimated yet
    can::BmsCommands cmd;
    cmd.balance = out.balance.data();
    bms::fill_observations(out, cmd);
    can::BmsProtocol side(p, kLayout.n_channels, kLayout.n_sensors, kLayout.n_modules,
                          kLayout.cells_per_module, kLayout.sensors_per_module);
    can::SimProtocol sim(p, kLayout.n_channels, kLayout.n_sensors, kLayout.n_modules);
    REQUIRE(sim.commands().observed.cell_soc.size() == 12);
    CHECK(std::isnan(sim.commands().observed.cell_soc[0]));  // nothing received yet
    // Two periods: the E2E counter of each module's stream steps once per row frame.
    for (std::int64_t t : {std::int64_t{0}, std::int64_t{1'000'000'000}}) {
      Capture c;
      side.transmit(t, cmd, c);
      std::vector<std::uint32_t> ids;
      for (const auto& f : c.frames) {
        if (f.id >= 0x6C0 && f.id < 0x6D0) ids.push_back(f.id);
        sim.receive(0, f, t + 1'000);
      }
      // Rows 0 and 1 (cells 0-2, 3-5) of modules 0 and 1; no row 2..5 for 6-cell modules.
      CHECK(ids == std::vector<std::uint32_t>{0x6C0, 0x6C0, 0x6C1, 0x6C1});
    }
    CHECK(sim.stats().rx_rejected() == 0);
    const auto& got = sim.commands().observed.cell_soc;
    for (std::size_t c = 0; c < 12; ++c) {
      INFO("channel " << c);
      if (c == 5) {
        CHECK(std::isnan(got[c]));  // raw 0xFFFF: not available, not 655 %
      } else {
        CHECK(got[c] == Approx(out.cell_soc[c]).margin(0.00005));  // half of 0.01 %
      }
    }
  }
}

TEST_CASE("Bad bms_cell_soc bindings are located errors", "[observe]") {
  TempDir dir;
  const std::string f = (dir.path / "profile.toml").string();
  auto one = [&](const std::string& binding) {
    const Loaded l = load(dir,
                          "[profile]\nname = \"obs\"\ndbc = \"obs.dbc\"\n[[rx]]\nmessage = "
                          "\"BMS_Module\"\nper = \"module\"\n[rx.signals]\nSoc = " +
                              binding + "\n");
    CHECK_FALSE(l.profile);
    return l.errors;
  };
  CHECK(one("\"bms_cell_soc\"") ==
        f + ":8:7: rx[0].signals.Soc: 'bms_cell_soc' needs the first channel as an index, e.g. "
            "bms_cell_soc[module * cells_per_module]\n");
  CHECK(one("{ command = \"bms_cell_soc[module * cells_per_module]\", observe = \"bms_soc\" }") ==
        f + ":8:72: rx[0].signals.Soc.observe: 'observe' does not apply to bms_cell_soc[...]\n");
  CHECK(one("{ command = \"bms_cell_soc[module * cells_per_module]\", unit = \"V\" }") ==
        f + ":8:69: rx[0].signals.Soc.unit: unit \"V\" is not one of bms_cell_soc's; expected "
            "\"\", \"%\"\n");
  // A good one: per module, % in the DBC, so raw 50 reads as 0.5.
  const Loaded ok = load(dir,
                         "[profile]\nname = \"obs\"\ndbc = \"obs.dbc\"\n[[rx]]\nmessage = "
                         "\"BMS_Module\"\nper = \"module\"\n[rx.signals]\nSoc = "
                         "\"bms_cell_soc[module * cells_per_module + 2]\"\n");
  INFO(ok.errors);
  REQUIRE(ok.profile);
  CHECK(ok.profile->observes_cell_soc);
  can::SimProtocol sim(ok.profile, kLayout.n_channels, kLayout.n_sensors, kLayout.n_modules);
  const can::MessageCodec& codec = *ok.profile->rx[0].codec;
  can::CanFrame fr;
  codec.prepare_frame(fr);
  fr.id = ok.profile->rx[0].id + 1;  // module 1: channel 6 + 2
  codec.set_raw(0, 50, fr.data.data());
  sim.receive(0, fr, 0);
  CHECK(sim.commands().observed.cell_soc[8] == Approx(0.5));
  CHECK(std::isnan(sim.commands().observed.cell_soc[2]));
}
