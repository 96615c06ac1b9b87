// The condition language: parsing (precedence, operators, units, indices, errors with their column)
// and evaluation over a pack's data. Every expected value is written out by hand.
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>

#include "packsim/can/protocol.hpp"
#include "packsim/model/afe.hpp"
#include "packsim/model/pack.hpp"
#include "packsim/sim/condition.hpp"

using namespace packsim;
using namespace packsim::sim;

namespace {
ConditionContext ctx4() {
  ConditionContext c;
  c.n_cells = 4;
  c.series = 2;
  c.c_rate_to_a = 10.0;  // 1 C = 10 A
  return c;
}

Condition parse_ok(const std::string& text) {
  ConditionError err;
  auto c = parse_condition(text, ctx4(), err);
  INFO(text << " -> column " << err.column << ": " << err.message);
  REQUIRE(c);
  return *c;
}

ConditionError parse_bad(const std::string& text) {
  ConditionError err;
  auto c = parse_condition(text, ctx4(), err);
  INFO(text);
  REQUIRE_FALSE(c);
  return err;
}

// A pack's data without a model: only what conditions read.
struct View {
  model::PackData d;
  View() {
    d.v = {3.6, 3.7, 3.8, 3.9};
    d.temp_k = {298.15, 300.15, 353.15, 299.15};  // cell 2 at 80 degC
    d.z = {0.5, 0.4, 0.3, 0.2};
    d.i = {1.0, 2.0, 3.0, 4.0};
    d.v_min = 3.6;
    d.v_max = 3.9;
    d.pack_voltage_v = 7.5;
    d.link_voltage_v = 7.4;
    d.pack_current_a = -12.0;
    d.soc_min = 0.2;
    d.soc_mean = 0.35;
    d.soc_max = 0.5;
    d.t_max_k = 353.15;
    d.t_min_k = 298.15;
    d.vented_cells = 1;
  }
  bool eval(const std::string& text, int bms_state = -1, std::int64_t t_ns = 5'000'000'000) {
    const Condition c = parse_ok(text);
    return evaluate(c, {&d, t_ns, bms_state});
  }
};
}  // namespace

TEST_CASE("Every comparison operator, on both sides of its threshold", "[condition]") {
  View v;
  CHECK(v.eval("v_min < 3.7 V"));
  CHECK_FALSE(v.eval("v_min < 3.6 V"));
  CHECK(v.eval("v_min <= 3.6 V"));
  CHECK_FALSE(v.eval("v_min <= 3.5 V"));
  CHECK(v.eval("v_max > 3.8 V"));
  CHECK_FALSE(v.eval("v_max > 3.9 V"));
  CHECK(v.eval("v_max >= 3.9 V"));
  CHECK_FALSE(v.eval("v_max >= 4 V"));
  CHECK(v.eval("vented_cells == 1"));
  CHECK_FALSE(v.eval("vented_cells == 2"));
  CHECK(v.eval("vented_cells != 0"));
  CHECK_FALSE(v.eval("vented_cells != 1"));
  CHECK(v.eval("v_min<3.7V"));  // spaces optional
}

TEST_CASE("Condition units convert to SI and C-rates scale with the capacity", "[condition]") {
  View v;
  CHECK(v.eval("cell_t[2] > 79 degC"));
  CHECK_FALSE(v.eval("cell_t[2] > 81 degC"));
  CHECK(v.eval("cell_t[2] > 352 K"));
  CHECK(v.eval("v_min > 3590 mV"));
  CHECK(v.eval("current < -1 C"));  // -12 A < -10 A
  CHECK(v.eval("abs_current > 11 A"));
  CHECK(v.eval("soc_min < 21 %"));
  CHECK(v.eval("soc_min < 0.21"));  // a bare ratio is a fraction
  CHECK(v.eval("cell_soc[3] <= 20 %"));
  CHECK(v.eval("cell_v[1] == 3.7 V"));
  CHECK(v.eval("cell_i[3] > 3.5 A"));
  CHECK(v.eval("pack_v > 7.4 V"));
  CHECK(v.eval("link_v < 7.5 V"));
  CHECK(v.eval("time >= 5 s"));
  CHECK_FALSE(v.eval("time > 5000 ms"));
  CHECK(v.eval("t_max > 70 degC"));
  CHECK(v.eval("t_min < 26 degC"));
}

TEST_CASE("The old until names stay as aliases", "[condition]") {
  View v;
  CHECK(v.eval("cell_v_min < 3.7 V"));
  CHECK(v.eval("cell_v_max > 3.8 V"));
  CHECK(v.eval("soc < 36 %"));  // the mean
  CHECK(v.eval("temp_max > 79 degC"));
  CHECK(v.eval("temp_min < 26 degC"));
  CHECK(v.eval("soc_mean > 34 %"));
}

TEST_CASE("not binds tighter than and and and tighter than or but parentheses override",
          "[condition]") {
  View v;
  // true or (false and false) = true; (true or false) and false = false.
  CHECK(v.eval("v_min < 4 V or v_min > 4 V and v_min > 5 V"));
  CHECK_FALSE(v.eval("(v_min < 4 V or v_min > 4 V) and v_min > 5 V"));
  // (not true) and true = false; not (true and false) = true.
  CHECK_FALSE(v.eval("not v_min < 4 V and v_min < 4 V"));
  CHECK(v.eval("not (v_min < 4 V and v_min > 4 V)"));
  CHECK(v.eval("not not v_min < 4 V"));
  CHECK(v.eval("((((v_min < 4 V))))"));
  // Left to right: false and true or true = true.
  CHECK(v.eval("v_min > 4 V and v_min < 4 V or vented_cells == 1"));
}

TEST_CASE("bms_state compares the BMS's state by name", "[condition]") {
  View v;
  const Condition c = parse_ok("bms_state == normal");
  CHECK(c.uses_bms_state);
  CHECK(evaluate(c, {&v.d, 0, 4}));         // kNormal
  CHECK_FALSE(evaluate(c, {&v.d, 0, 6}));   // kFault
  CHECK_FALSE(evaluate(c, {&v.d, 0, -1}));  // unknown
  CHECK(v.eval("bms_state != fault", 4));
  CHECK_FALSE(parse_ok("v_min < 3 V").uses_bms_state);
}

TEST_CASE("Bad conditions say what and where (column inside the text)", "[condition]") {
  auto at = [](const std::string& text, int column, const std::string& part) {
    const ConditionError e = parse_bad(text);
    INFO(text << ": column " << e.column << ": " << e.message);
    CHECK(e.column == column);
    CHECK(e.message.find(part) != std::string::npos);
  };
  at("", 1, "empty condition");
  at("cell_v_mni < 3 V", 1, "did you mean 'cell_v_min'");
  at("cell_t[4] > 80 degC", 8, "out of range; the pack has 4 cells");
  at("cell_t > 80 degC", 8, "expected an index");
  at("v_min[1] < 3 V", 6, "takes no index");
  at("v_min = 3 V", 7, "expected an operator");
  at("v_min < 3 A", 9, "");  // the unit parser's message, at the value
  at("v_min < abc", 9, "expected a number");
  at("soc_min < 20", 11, "is not a state of charge");
  at("cell_t[0] > 2000 degC", 13, "out of range");
  at("pack_v > 30 V", 10, "out of range");  // 2 series x 10 V
  at("vented_cells > 1.5", 16, "whole number");
  at("bms_state == norml", 14, "did you mean 'normal'");
  at("bms_state < normal", 11, "== or != only");
  at("v_min < 3 V and", 16, "expected a quantity");
  at("(v_min < 3 V", 13, "expected ')'");
  at("v_min < 3 V)", 12, "unexpected ')'");
  at("v_min < 3 V v_max > 4 V", 13, "unexpected");
  at("cell_t[x] > 3 K", 8, "cell index");
}

TEST_CASE("Nesting and length are bounded", "[condition]") {
  std::string deep(kConditionMaxDepth + 1, '(');
  deep += "v_min < 3 V";
  deep += std::string(kConditionMaxDepth + 1, ')');
  CHECK(parse_bad(deep).message.find("nested too deeply") != std::string::npos);
  std::string nots;
  for (int k = 0; k < 1000; ++k) nots += "not ";
  CHECK(parse_bad(nots + "v_min < 3 V").message.find("nested too deeply") != std::string::npos);
  std::string just(kConditionMaxDepth - 1, '(');
  just += "v_min < 3 V" + std::string(kConditionMaxDepth - 1, ')');
  parse_ok(just);
  std::string longest = "v_min < 3 V";
  for (int k = 0; k < 40; ++k) longest += " or v_min < 3 V";
  CHECK(parse_bad(longest).message.find("too long") != std::string::npos);
}

namespace {
// What a BMS reported: SOC 42 %, a fault with code 3, main+ closed, limits 80 A / 120 A and
// 2 kW / 3 kW, cells 3.1 .. 3.4 V, 20 .. 45 degC; SOH never received.
can::BmsObservations reported() {
  can::BmsObservations o;
  auto set = [&](can::Observable k, double v) {
    o.value[static_cast<std::size_t>(k)] = v;
    o.rx_ns[static_cast<std::size_t>(k)] = 1'000'000;
  };
  set(can::Observable::kState, 4.0);
  set(can::Observable::kSoc, 0.42);
  set(can::Observable::kFault, 1.0);
  set(can::Observable::kFaultCode, 3.0);
  set(can::Observable::kMainPos, 1.0);
  set(can::Observable::kBalancing, 0.0);
  set(can::Observable::kChargeCurrentLimit, 80.0);
  set(can::Observable::kDischargeCurrentLimit, 120.0);
  set(can::Observable::kChargePowerLimit, 2000.0);
  set(can::Observable::kDischargePowerLimit, 3000.0);
  set(can::Observable::kCellVMin, 3.1);
  set(can::Observable::kCellVMax, 3.4);
  set(can::Observable::kTempMin, 293.15);
  set(can::Observable::kTempMax, 318.15);
  return o;
}
}  // namespace

TEST_CASE("bms_* quantities read what the BMS reported, in the units people write", "[condition]") {
  View v;
  const can::BmsObservations o = reported();
  const SentValues sent{3.05, 3.45, 294.15, 319.15};
  auto eval = [&](const std::string& text) {
    const Condition c = parse_ok(text);
    return evaluate(c, {&v.d, 0, -1, nullptr, 0, &o, &sent});
  };
  CHECK(eval("bms_soc < 42.5 %"));
  CHECK_FALSE(eval("bms_soc < 41.5 %"));
  CHECK(eval("bms_fault == 1 and bms_fault_code == 3"));
  CHECK(eval("bms_main_pos == 1"));
  CHECK(eval("bms_balancing == 0"));
  CHECK(eval("bms_charge_current_limit >= 80 A and bms_charge_current_limit < 80.1 A"));
  CHECK(eval("bms_discharge_current_limit > 11.9 C"));  // 1 C = 10 A
  CHECK_FALSE(eval("bms_discharge_current_limit > 12.1 C"));
  CHECK(eval("bms_charge_power_limit > 1.99 kW and bms_discharge_power_limit < 3001 W"));
  CHECK(eval("bms_v_min < 3.11 V and bms_v_max > 3.39 V"));
  CHECK(eval("bms_t_max > 44.9 degC and bms_t_min < 20.1 degC"));
  CHECK_FALSE(eval("bms_t_max > 45.1 degC"));
  CHECK(eval("sent_v_min < 3.06 V and sent_v_max > 3.44 V"));
  CHECK(eval("sent_t_min < 21.1 degC and sent_t_max > 45.9 degC"));
  // Never received: NaN, and no comparison holds, not even !=; `not` still negates.
  CHECK_FALSE(eval("bms_soh < 100 %"));
  CHECK_FALSE(eval("bms_soh >= 0 %"));
  CHECK_FALSE(eval("bms_main_neg != 1"));
  CHECK(eval("not bms_soh < 50 %"));
  // Without observations or sent values, every bms_* and sent_* comparison is false.
  const Condition c = parse_ok("bms_soc >= 0 % or sent_v_max > 0 V");
  CHECK(c.bms_observables == 1u << static_cast<unsigned>(can::Observable::kSoc));
  CHECK_FALSE(evaluate(c, {&v.d, 0, -1}));
  CHECK(std::isnan(condition_value(CondQuantity::kBmsSoc, 0, {&v.d, 0, -1})));
}

TEST_CASE("bms_* conditions are checked for their dimension", "[condition]") {
  ConditionError e = parse_bad("bms_soc < 3 V");
  CHECK(e.column == 11);
  INFO(e.message);
  CHECK(e.message.find("V") != std::string::npos);
  e = parse_bad("bms_fault == 2");
  CHECK(e.column == 14);
  CHECK(e.message == "'bms_fault' is a flag: expected 0 or 1, got '2'");
  e = parse_bad("bms_fault_code == 1.5");
  CHECK(e.message ==
        "'bms_fault_code' is the BMS's fault code: expected a whole number, got '1.5'");
  e = parse_bad("bms_charge_power_limit > 5 A");
  CHECK(e.column == 26);
  CHECK(e.message.find("power") != std::string::npos);
  e = parse_bad("bms_charge_power_limit > 1e9 W");
  CHECK(e.message == "threshold 1e+09 W out of range; expected 0 W to 2e+06 W");
  e = parse_bad("bms_t_max > 3 V");
  CHECK(e.column == 13);
  e = parse_bad("bms_sco < 3 %");
  CHECK(e.message.find("unknown quantity 'bms_sco' (did you mean 'bms_soc'?)") == 0);
}

TEST_CASE("sent_values takes min and max over the valid measurements only", "[condition]") {
  model::AfeData afe;
  afe.v_meas = {3.3, 3.1, 3.6, 3.2};
  afe.v_valid = {1, 1, 0, 1};  // channel 2 invalid: its 3.6 V is not what the BMS may use
  afe.t_meas_k = {300.0, 310.0, 290.0};
  afe.t_valid = {1, 1, 1};
  afe.ntc_short = {0, 0, 1};  // sensor 2 shorted
  const SentValues s = sent_values(afe);
  CHECK(s.v_min == 3.1);
  CHECK(s.v_max == 3.3);
  CHECK(s.t_min_k == 300.0);
  CHECK(s.t_max_k == 310.0);
  afe.v_valid = {0, 0, 0, 0};
  CHECK(std::isnan(sent_values(afe).v_min));
  CHECK(std::isnan(sent_values(afe).v_max));
}

TEST_CASE("bms_cell_soc[channel] reads the BMS's per-cell estimate of that series group",
          "[condition]") {
  View v;
  can::BmsObservations o = reported();
  o.cell_soc = {0.61, std::numeric_limits<double>::quiet_NaN()};  // ctx4(): 2 series groups
  auto eval = [&](const std::string& text) {
    return evaluate(parse_ok(text), {&v.d, 0, -1, nullptr, 0, &o, nullptr});
  };
  CHECK(eval("bms_cell_soc[0] > 60.5 % and bms_cell_soc[0] < 61.5 %"));
  CHECK_FALSE(eval("bms_cell_soc[0] > 61.5 %"));
  CHECK_FALSE(eval("bms_cell_soc[1] >= 0 %"));  // not estimated yet: NaN
  CHECK(parse_ok("bms_cell_soc[1] < 50 %").uses_bms_cell_soc);
  CHECK_FALSE(parse_ok("bms_soc < 50 %").uses_bms_cell_soc);
  // Channels, not cells: the 4-cell pack has 2 series groups.
  const ConditionError e = parse_bad("bms_cell_soc[2] < 50 %");
  CHECK(e.column == 14);
  CHECK(e.message == "channel 2 out of range; the BMS measures 2 series groups (0 … 1)");
  CHECK(describe_value(CondQuantity::kBmsCellSoc, 1, 0.25, nullptr) == "bms_cell_soc[1] = 25 %");
}
