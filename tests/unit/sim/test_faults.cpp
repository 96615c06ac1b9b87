// [[fault]] tables: the loader (every kind, addressing against the pack, located errors) and the
// scheduler (at / when + delay, duration / until, ramps and steps, restoring the no-fault value).
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "packsim/config/loaders.hpp"
#include "packsim/sim/driver.hpp"
#include "support/synthetic_cell.hpp"

using namespace packsim;
using namespace packsim::sim;
namespace fs = std::filesystem;

namespace {
// A scenario on the 12s2p test pack (24 cells, 12 channels), with `body` appended.
struct Loaded {
  Diagnostics diags;
  std::optional<Scenario> sc;
  std::string file;
};
Loaded load(const std::string& body, const std::string& bms = "[bms]\nmode = \"none\"\n") {
  const fs::path dir =
      fs::temp_directory_path() / ("packsim-fault-test-" + std::to_string(getpid()));
  fs::create_directories(dir);
  Loaded l;
  l.file = (dir / "faults.toml").string();
  std::ofstream(l.file) << "[scenario]\nname = \"faults\"\npack = \"" PACKSIM_SOURCE_DIR
                           "/tests/data/packs/kokam_12s2p.toml\"\nduration = \"10 s\"\n"
                        << bms << body;
  l.sc = config::load_scenario(l.file, l.diags);
  fs::remove_all(dir);
  return l;
}

// One error, at `line:col` of the scenario, containing `part`.
void expect_error(const std::string& body, int line, int col, const std::string& part) {
  const Loaded l = load(body);
  INFO(body << "\n---\n" << l.diags.format());
  CHECK_FALSE(l.sc);
  const std::string want = l.file + ":" + std::to_string(line) + ":" + std::to_string(col) + ":";
  const std::string text = l.diags.format();
  CHECK(text.find(want) != std::string::npos);
  CHECK(text.find(part) != std::string::npos);
}

// The driver on a one-cell synthetic pack with no cooling.
struct Bench {
  Scenario sc;
  model::PackModel m;
  model::PackData d;
  model::AfeModel afe_model;
  model::AfeData afe;
  model::ShuntData shunt;
  explicit Bench(std::vector<Fault> faults) {
    sc.tick_ns = 1'000'000'000;
    sc.pack.series = 2;
    sc.pack.parallel = 2;
    sc.pack.thermal.cooling_w_per_k = 0.0;
    packsim::test::SyntheticCellSpec cs;
    cs.ocv = [](double z) { return 3.0 + z; };
    sc.cell = packsim::test::make_cell(cs);
    sc.faults = std::move(faults);
    m = model::build_pack_model(sc.pack, sc.cell, sc.tick_ns, {0.5, 298.15, 0});
    d = model::make_data(m);
    d.input.contactors = {true, true, false};
    afe_model = model::build_afe_model(sc.afe, m);
    afe = model::make_afe_data(afe_model, m, d);
  }
};

Condition cond(const std::string& text) {
  ConditionError err;
  ConditionContext ctx;
  ctx.n_cells = 4;
  auto c = parse_condition(text, ctx, err);
  INFO(err.message);
  REQUIRE(c);
  return *c;
}
}  // namespace

TEST_CASE("Every fault kind loads from a [[fault]] table", "[faults][config]") {
  const Loaded l = load(R"(
[[fault]]
type = "internal_short"
cell = 23
when = "cell_t[23] > 60 degC"
delay = "5 s"
resistance = "1 kohm"
steps = [["60 s", "10 ohm"], ["120 s", "50 mohm"]]
label = "soft short hardens"
[[fault]]
type = "heater"
group = 3
position = 1
power = "50 W"
until = "t_max > 150 degC"
[[fault]]
type = "open_cell"
cell = 0
[[fault]]
type = "cell_fade"
cell = 1
capacity_scale = 0.8
r0_scale = 1.5
[[fault]]
type = "loose_busbar"
group = 11
segment = 0
resistance = "5 mohm"
ramp = { to = "50 mohm", over = "300 s" }
[[fault]]
type = "loose_link"
link = 12
resistance = "10 mohm"
[[fault]]
type = "contactor_welded"
contactor = "main_neg"
[[fault]]
type = "contactor_stuck_open"
contactor = "precharge"
[[fault]]
type = "precharge_open"
[[fault]]
type = "insulation"
cell = 5
resistance = "50 kohm"
[[fault]]
type = "cooling_loss"
scale = 0.1
[[fault]]
type = "ambient"
temperature = "45 degC"
at = "1 s"
duration = "2 s"
[[fault]]
type = "afe_offset"
channel = 11
offset = "20 mV"
[[fault]]
type = "afe_gain"
channel = 2
gain = 1.02
[[fault]]
type = "afe_stuck"
channel = 3
[[fault]]
type = "afe_noise"
channel = 4
sigma = "5 mV"
[[fault]]
type = "afe_dropout"
channel = 5
[[fault]]
type = "open_wire"
channel = 6
[[fault]]
type = "ntc_offset"
sensor = 0
offset = "5 K"
[[fault]]
type = "ntc_drift"
sensor = 1
ramp = { to = "20 K", over = "600 s" }
[[fault]]
type = "ntc_open"
sensor = 2
[[fault]]
type = "ntc_short"
sensor = 3
[[fault]]
type = "current_offset"
offset = "0.5 A"
[[fault]]
type = "current_stuck"
value = "3 A"
[[fault]]
type = "current_error"
bits = 4
)");
  INFO(l.diags.format());
  REQUIRE(l.sc);
  const auto& f = l.sc->faults;
  REQUIRE(f.size() == 25);
  CHECK(f[0].kind == FaultKind::kInternalShort);
  CHECK(f[0].target == 23);
  CHECK(f[0].target_text == "cell 23");
  CHECK(f[0].when);
  CHECK(f[0].delay_ns == 5'000'000'000);
  CHECK(f[0].value == Approx(1000.0));
  REQUIRE(f[0].step_ns.size() == 2);
  CHECK(f[0].step_ns[1] == 120'000'000'000);
  CHECK(f[0].step_value[1] == Approx(0.05));
  CHECK(f[0].label == "soft short hardens");
  CHECK(f[1].target == 3 * 2 + 1);  // group x parallel + position
  CHECK(f[1].until);
  CHECK(f[1].at_ns == 0);  // neither at nor when: from the start
  CHECK(f[3].value == Approx(0.8));
  CHECK(f[3].value2 == Approx(1.5));
  CHECK(f[4].target == 11);  // group 11 x (2 - 1) + segment 0
  CHECK(*f[4].ramp_to == Approx(0.05));
  CHECK(f[4].ramp_over_ns == 300'000'000'000);
  CHECK(f[5].target == 12);  // the positive lead
  CHECK(f[6].target == 1);
  CHECK(f[7].target == 2);
  CHECK(f[10].target == -1);  // every module
  CHECK(f[11].value == Approx(318.15));
  CHECK(*f[11].duration_ns == 2'000'000'000);
  CHECK_FALSE(f[14].has_value);  // afe_stuck holds the reading at onset
  CHECK(*f[19].ramp_to == Approx(20.0));
  CHECK(f[24].value == 4.0);
}

TEST_CASE("CAN faults resolve against the profile", "[faults][config]") {
  const Loaded l = load(R"(
[[fault]]
type = "can_drop"
message = "AFE_CellVoltages"
module = 1
at = "2 s"
duration = "1 s"
[[fault]]
type = "can_delay"
message = "IVT_Msg_Result_I"
delay = "20 ms"
[[fault]]
type = "can_babble"
id = 0x100
rate = "1 kHz"
[[fault]]
type = "can_silence"
module = 0
when = "bms_state == normal"
[[fault]]
type = "can_error_frames"
class = "bus_off"
rate = "20 Hz"
)",
                        "[bms]\nperiod = \"10 ms\"\n");
  INFO(l.diags.format());
  REQUIRE(l.sc);
  const auto& f = l.sc->faults;
  CHECK(l.sc->profile->tx[static_cast<std::size_t>(f[0].target)].name == "AFE_CellVoltages");
  CHECK(f[0].target2 == 1);
  CHECK(f[1].value == Approx(0.02));
  CHECK(f[2].can_id == 0x100);
  CHECK_FALSE(f[2].extended);
  CHECK(f[2].rate_hz == Approx(1000.0));
  CHECK(f[3].target == 0);
  CHECK(f[4].error_class == 0x40);  // CAN_ERR_BUSOFF
  CHECK(f[4].bus_index == 0);
  CHECK(f[4].rate_hz == Approx(20.0));
  CHECK(l.sc->uses_bms_state);
}

TEST_CASE("Bad [[fault]] tables: located errors all collected", "[faults][config]") {
  // The body starts on line 7 (scenario: 5 lines, bms: 2).
  expect_error("[[fault]]\ntype = \"internal_short\"\ncell = 24\nresistance = \"1 ohm\"\n", 9, 8,
               "");
  expect_error("[[fault]]\ntype = \"internal_shrot\"\n", 8, 8, "internal_short");
  expect_error(
      "[[fault]]\ntype = \"heater\"\ncell = 1\npower = \"5 W\"\nwhen = \"cell_t[30] > 1 K\"\n", 11,
      16, "out of range; the pack has 24 cells");
  expect_error("[[fault]]\ntype = \"heater\"\ncell = 1\n", 7, 1, "power");
  expect_error(
      "[[fault]]\ntype = \"loose_busbar\"\ngroup = 2\nsegment = 1\nresistance = \"1 mohm\"\n", 10,
      11, "");
  expect_error("[[fault]]\ntype = \"loose_link\"\nlink = 13\nresistance = \"1 mohm\"\n", 9, 8, "");
  expect_error(
      "[[fault]]\ntype = \"afe_offset\"\nchannel = 1\noffset = \"1 mV\"\nat = \"1 s\"\n"
      "when = \"v_min < 3 V\"\n",
      12, 8, "either 'at' or 'when'");
  expect_error("[[fault]]\ntype = \"open_cell\"\ncell = 1\nresistance = \"1 ohm\"\n", 10, 1,
               "resistance");
  expect_error(
      "[[fault]]\ntype = \"internal_short\"\ncell = 1\nresistance = \"1 ohm\"\n"
      "steps = [[\"10 s\", \"1 V\"]]\n",
      11, 19, "steps");
  expect_error("[[fault]]\ntype = \"can_drop\"\nmessage = \"AFE_CellVoltages\"\n", 7, 1,
               "needs frames on a bus");
  expect_error(
      "[[fault]]\ntype = \"heater\"\ncell = 1\npower = \"5 W\"\nwhen = \"bms_state == normal\"\n",
      11, 8, "bms_state");
  // Two faults, two errors: all reported at once.
  const Loaded l = load(
      "[[fault]]\ntype = \"heater\"\ncell = 99\npower = \"1 W\"\n"
      "[[fault]]\ntype = \"afe_gain\"\nchannel = 12\ngain = 1.1\n");
  CHECK(l.diags.size() == 2);
}

TEST_CASE("A timed fault starts and holds and ends with the no-fault value", "[faults][driver]") {
  Fault f;
  f.kind = FaultKind::kInternalShort;
  f.target = 2;
  f.at_ns = 2'000'000'000;
  f.duration_ns = 3'000'000'000;
  f.value = 4.0;  // ohm
  f.has_value = true;
  Bench b({f});
  ScenarioDriver drv(b.sc);
  std::vector<double> leak;
  for (int k = 0; k < 7; ++k) {
    drv.read(b.d.time_ns, b.d, &b.afe, nullptr, &b.shunt);
    leak.push_back(b.d.leak_s[2]);
    model::step(b.m, b.d);
    drv.after_step(b.d);
  }
  // Ticks start at 0 .. 6 s: on at 2 s, off at 2 + 3 = 5 s.
  CHECK(leak == std::vector<double>{0, 0, 0.25, 0.25, 0.25, 0, 0});
  CHECK(drv.fault_log()[0].onset_ns == 2'000'000'000);
  CHECK(drv.fault_log()[0].end_ns == 5'000'000'000);
}

TEST_CASE("when + delay fires once and until stops and ambient restores its own value",
          "[faults][driver]") {
  Fault f;
  f.kind = FaultKind::kAmbient;
  f.when = cond("time >= 2 s");
  f.delay_ns = 1'000'000'000;
  f.until = cond("time >= 5 s");
  f.value = 318.15;
  Bench b({f});
  b.d.input.ambient_k = 290.0;
  ScenarioDriver drv(b.sc);
  std::vector<double> ambient;
  for (int k = 0; k < 8; ++k) {
    drv.read(b.d.time_ns, b.d, &b.afe, nullptr, &b.shunt);
    ambient.push_back(b.d.input.ambient_k);
    model::step(b.m, b.d);
    drv.after_step(b.d);
  }
  // The tick ending at 2 s sees the condition; +1 s delay: on from the tick starting at 3 s. The
  // tick ending at 5 s trips `until`: off from the tick starting at 5 s. It does not fire again.
  CHECK(ambient == std::vector<double>{290, 290, 290, 318.15, 318.15, 290, 290, 290});
}

TEST_CASE("Ramps interpolate from the onset and steps switch at their times", "[faults][driver]") {
  Fault ramp;
  ramp.kind = FaultKind::kAfeOffset;
  ramp.target = 1;
  ramp.at_ns = 1'000'000'000;
  ramp.value = 0.0;
  ramp.ramp_to = 0.04;
  ramp.ramp_over_ns = 4'000'000'000;
  Fault steps;
  steps.kind = FaultKind::kHeater;
  steps.target = 0;
  steps.at_ns = 0;
  steps.step_ns = {0, 2'000'000'000, 3'000'000'000};
  steps.step_value = {5.0, 10.0, 0.5};
  Bench b({ramp, steps});
  ScenarioDriver drv(b.sc);
  std::vector<double> offset, heater;
  std::vector<FaultAction> actions;
  for (int k = 0; k < 7; ++k) {
    drv.read(b.d.time_ns, b.d, &b.afe, nullptr, &b.shunt);
    offset.push_back(b.afe.v_fault_offset[1]);
    heater.push_back(b.d.heater_w[0]);
    for (std::size_t t = 0; t < drv.transition_count(); ++t)
      actions.push_back(drv.transitions()[t].action);
    model::step(b.m, b.d);
    drv.after_step(b.d);
  }
  for (std::size_t k = 0; k < offset.size(); ++k) {
    const double t = static_cast<double>(k) - 1.0;  // s since the onset
    CHECK(offset[k] == Approx(k < 1 ? 0.0 : std::min(0.04, 0.01 * t)));
  }
  CHECK(heater == std::vector<double>{5, 5, 10, 0.5, 0.5, 0.5, 0.5});
  // heater start (0 s), ramp start (1 s), heater steps (2 s, 3 s), ramp end (5 s).
  CHECK(actions == std::vector<FaultAction>{FaultAction::kStart, FaultAction::kStart,
                                            FaultAction::kStep, FaultAction::kStep,
                                            FaultAction::kRampEnd});
}

TEST_CASE("Stuck readings hold the measurement at onset unless given", "[faults][driver]") {
  Fault afe;
  afe.kind = FaultKind::kAfeStuck;
  afe.target = 0;
  afe.at_ns = 1'000'000'000;
  Fault cur;
  cur.kind = FaultKind::kCurrentStuck;
  cur.at_ns = 1'000'000'000;
  cur.value = 7.0;
  cur.has_value = true;
  Bench b({afe, cur});
  b.afe.v_meas[0] = 3.456;
  b.shunt.current_a = 1.0;
  ScenarioDriver drv(b.sc);
  drv.read(0, b.d, &b.afe, nullptr, &b.shunt);
  CHECK(b.afe.v_stuck[0] == 0);
  drv.read(1'000'000'000, b.d, &b.afe, nullptr, &b.shunt);
  CHECK(b.afe.v_stuck[0] == 1);
  CHECK(b.afe.v_stuck_value[0] == 3.456);
  CHECK(b.shunt.stuck);
  CHECK(b.shunt.stuck_a == 7.0);
}
