// Expectations: each temporal form passes and fails on constructed traces, with the exact message
// (rising edges, `within` boundaries, a run that ends or stops while one is pending), the
// condition language's flags and fault onsets, the [[expect]] loader and junit.xml's text.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "packsim/config/loaders.hpp"
#include "packsim/model/pack.hpp"
#include "packsim/sim/expect.hpp"
#include "packsim/sim/junit.hpp"

using namespace packsim;
using namespace packsim::sim;
namespace fs = std::filesystem;

namespace {
const std::vector<std::string> kFaultNames = {"", "short"};

Condition cond(const std::string& text) {
  ConditionContext ctx;
  ctx.n_cells = 4;
  ctx.series = 2;
  ctx.fault_names = &kFaultNames;
  ConditionError err;
  auto c = parse_condition(text, ctx, err);
  INFO(text << " -> column " << err.column << ": " << err.message);
  REQUIRE(c);
  return *c;
}

Expectation make(ExpectForm form, const std::string& expect, const std::string& trigger = "",
                 std::optional<std::int64_t> within_ns = std::nullopt) {
  Expectation e;
  e.name = "x";
  e.form = form;
  if (!expect.empty()) e.expect = cond(expect);
  if (!trigger.empty()) e.trigger = cond(trigger);
  e.within_ns = within_ns;
  return e;
}

constexpr std::int64_t kMs = 1'000'000;

// A trace of ticks: the state after each, the engine checking it.
struct Trace {
  model::PackData d;
  std::vector<FaultLog> faults{2};
  std::vector<Expectation> list;
  ExpectationEngine engine;
  explicit Trace(Expectation e) : list{std::move(e)}, engine(list, kFaultNames) {
    d.v_max = 4.1;
    d.t_max_k = 300.15;
    d.contactors = {true, true, false};
  }
  ConditionView view() const {
    return {&d, d.time_ns, -1, faults.data(), static_cast<int>(faults.size())};
  }
  void tick(std::int64_t t_ns) {
    d.time_ns = t_ns;
    engine.evaluate(view());
  }
  const ExpectationReport& end(bool completed = true, const std::string& reason = "duration",
                               const MetricMap& metrics = {}) {
    engine.finish(view(), completed, reason, metrics);
    return engine.reports().front();
  }
};
}  // namespace

TEST_CASE("always and never: the first tick that breaks them, with the values", "[expect]") {
  {
    Trace tr(make(ExpectForm::kAlways, "v_max < 4.2 V"));
    for (int k = 1; k <= 5; ++k) tr.tick(k * kMs);
    const auto& r = tr.end();
    CHECK(r.verdict == Verdict::kPass);
    CHECK(r.time_ns == 5 * kMs);
    CHECK(r.message.empty());
  }
  {
    Trace tr(make(ExpectForm::kAlways, "v_max < 4.2 V"));
    tr.tick(1 * kMs);
    tr.tick(2 * kMs);
    tr.d.v_max = 4.25;
    tr.tick(3 * kMs);
    tr.d.v_max = 4.3;  // later breaks change nothing: the first is reported
    tr.tick(4 * kMs);
    const auto& r = tr.end();
    CHECK(r.verdict == Verdict::kFail);
    CHECK(r.time_ns == 3 * kMs);
    CHECK(r.message == "expected always: v_max < 4.2 V; false at 0.003 s (v_max = 4.25 V)");
  }
  {
    Trace tr(make(ExpectForm::kNever, "contactor_main_pos"));
    tr.d.contactors = {};
    tr.tick(1 * kMs);
    tr.d.contactors.main_pos = true;
    tr.tick(2 * kMs);
    const auto& r = tr.end();
    CHECK(r.verdict == Verdict::kFail);
    CHECK(r.message ==
          "expected never: contactor_main_pos; true at 0.002 s (contactor_main_pos = 1)");
  }
  {
    Trace tr(make(ExpectForm::kNever, "t_max > 80 degC"));
    tr.tick(1 * kMs);
    CHECK(tr.end().verdict == Verdict::kPass);
  }
}

TEST_CASE("eventually: met, never met, and a within that ends exactly at its limit", "[expect]") {
  {
    Trace tr(make(ExpectForm::kEventually, "not contactor_main_pos"));
    tr.tick(1 * kMs);
    tr.d.contactors.main_pos = false;
    tr.tick(2 * kMs);
    tr.d.contactors.main_pos = true;  // decided: a later change does not undo it
    tr.tick(3 * kMs);
    const auto& r = tr.end();
    CHECK(r.verdict == Verdict::kPass);
    CHECK(r.time_ns == 2 * kMs);
    CHECK(r.details == "true first at 0.002 s");
  }
  {
    Trace tr(make(ExpectForm::kEventually, "v_max > 4.15 V"));
    for (int k = 1; k <= 5; ++k) tr.tick(k * kMs);
    const auto& r = tr.end();
    CHECK(r.verdict == Verdict::kFail);
    CHECK(r.time_ns == 5 * kMs);
    CHECK(r.message ==
          "expected eventually: v_max > 4.15 V; still false when the run ended at 0.005 s "
          "(v_max = 4.1 V)");
  }
  // within 3 ms: true exactly at 3 ms passes, false at 3 ms fails there (no later tick counts).
  {
    Trace tr(make(ExpectForm::kEventually, "v_max > 4.15 V", "", 3 * kMs));
    tr.tick(1 * kMs);
    tr.tick(2 * kMs);
    tr.d.v_max = 4.2;
    tr.tick(3 * kMs);
    const auto& r = tr.end();
    CHECK(r.verdict == Verdict::kPass);
    CHECK(r.time_ns == 3 * kMs);
  }
  {
    Trace tr(make(ExpectForm::kEventually, "v_max > 4.15 V", "", 3 * kMs));
    tr.tick(1 * kMs);
    tr.tick(2 * kMs);
    tr.tick(3 * kMs);
    tr.d.v_max = 4.2;
    tr.tick(4 * kMs);
    const auto& r = tr.end();
    CHECK(r.verdict == Verdict::kFail);
    CHECK(r.time_ns == 3 * kMs);
    CHECK(r.message ==
          "expected within 3 ms of the start: v_max > 4.15 V; still false at 0.003 s "
          "(v_max = 4.1 V)");
  }
  // Ticks that step over the limit: true at the first tick past it is too late.
  {
    Trace tr(make(ExpectForm::kEventually, "v_max > 4.15 V", "", 2500 * 1000));
    tr.tick(2 * kMs);
    tr.d.v_max = 4.2;
    tr.tick(3 * kMs);
    const auto& r = tr.end();
    CHECK(r.verdict == Verdict::kFail);
    CHECK(r.message ==
          "expected within 2.5 ms of the start: v_max > 4.15 V; true only at 0.003 s "
          "(v_max = 4.2 V)");
  }
}

TEST_CASE("after X within T: every rising edge of X, the limit itself, a run that ends first",
          "[expect]") {
  constexpr std::int64_t kTick = 100 * kMs;
  // Edge at 0.2 s answered at 0.4 s; X falls, the contactor recloses; edge at 0.6 s never answered.
  auto run = [&](Trace& tr, int last_tick) {
    for (int k = 1; k <= last_tick; ++k) {
      tr.d.v_max = k == 2 ? 4.25 : k >= 6 ? 4.3 : 4.1;
      tr.d.contactors.main_pos = !(k == 4);
      tr.tick(k * kTick);
    }
  };
  const auto opens = [] {
    return make(ExpectForm::kAfter, "not contactor_main_pos", "v_max > 4.2 V", 600 * kMs);
  };
  {
    Trace tr(opens());
    run(tr, 15);
    const auto& r = tr.end();
    CHECK(r.verdict == Verdict::kFail);
    CHECK(r.time_ns == 1200 * kMs);  // 0.6 s + 600 ms exactly: the last tick that could answer
    CHECK(r.message ==
          "expected within 600 ms after v_max > 4.2 V (true at 0.600 s, v_max = 4.3 V): not "
          "contactor_main_pos; still false at 1.200 s (contactor_main_pos = 1)");
    CHECK(r.details ==
          "rising edges of v_max > 4.2 V: 2 (each checked)\nanswered: 1\n"
          "slowest answer: 200 ms");
  }
  {
    // edges = "first": the second edge is not checked.
    Expectation e = opens();
    e.every_edge = false;
    Trace tr(e);
    run(tr, 15);
    const auto& r = tr.end();
    CHECK(r.verdict == Verdict::kPass);
    CHECK(r.time_ns == 400 * kMs);
  }
  {
    // Answered exactly at the limit: 0.2 s + 600 ms = 0.8 s.
    Trace tr(opens());
    for (int k = 1; k <= 10; ++k) {
      tr.d.v_max = k >= 2 ? 4.25 : 4.1;
      tr.d.contactors.main_pos = k < 8;
      tr.tick(k * kTick);
    }
    const auto& r = tr.end();
    CHECK(r.verdict == Verdict::kPass);
    CHECK(r.time_ns == 800 * kMs);
    CHECK(r.details ==
          "rising edges of v_max > 4.2 V: 1 (each checked)\nanswered: 1\n"
          "slowest answer: 600 ms");
  }
  {
    // The run ends 300 ms after the edge, unanswered: a fail (the answer was not seen).
    Trace tr(opens());
    for (int k = 1; k <= 5; ++k) {
      tr.d.v_max = k >= 2 ? 4.25 : 4.1;
      tr.tick(k * kTick);
    }
    const auto& r = tr.end();
    CHECK(r.verdict == Verdict::kFail);
    CHECK(r.time_ns == 500 * kMs);
    CHECK(r.message ==
          "expected within 600 ms after v_max > 4.2 V (true at 0.200 s, v_max = 4.25 V): not "
          "contactor_main_pos; still false when the run ended at 0.500 s "
          "(contactor_main_pos = 1)");
  }
  {
    // X true at the first tick is an edge; Y in the same tick answers it.
    Trace tr(opens());
    tr.d.v_max = 4.3;
    tr.d.contactors.main_pos = false;
    tr.tick(kTick);
    CHECK(tr.end().verdict == Verdict::kPass);
  }
  {
    // X never rises: nothing to answer.
    Trace tr(opens());
    tr.tick(kTick);
    const auto& r = tr.end();
    CHECK(r.verdict == Verdict::kPass);
    CHECK(r.details == "rising edges of v_max > 4.2 V: 0 (each checked)\nanswered: 0");
  }
}

TEST_CASE("before: A no later than B, B alone fails, neither or A alone passes", "[expect]") {
  const auto flag_first = [] {
    return make(ExpectForm::kBefore, "not contactor_main_pos", "t_max > 80 degC");
  };
  {
    Trace tr(flag_first());
    tr.tick(100 * kMs);
    tr.d.contactors.main_pos = false;
    tr.tick(200 * kMs);
    tr.d.t_max_k = 354.15;
    tr.tick(300 * kMs);
    const auto& r = tr.end();
    CHECK(r.verdict == Verdict::kPass);
    CHECK(r.time_ns == 300 * kMs);
    CHECK(r.details ==
          "not contactor_main_pos: true first at 0.200 s\nt_max > 80 degC: true first at 0.300 s");
  }
  {
    Trace tr(flag_first());
    tr.tick(100 * kMs);
    tr.d.t_max_k = 354.15;
    tr.tick(200 * kMs);
    tr.d.contactors.main_pos = false;
    tr.tick(300 * kMs);
    const auto& r = tr.end();
    CHECK(r.verdict == Verdict::kFail);
    CHECK(r.time_ns == 200 * kMs);
    CHECK(r.message ==
          "expected not contactor_main_pos before t_max > 80 degC; t_max > 80 degC true at "
          "0.200 s (t_max = 81 degC) while not contactor_main_pos had not been "
          "(contactor_main_pos = 1)");
  }
  {
    Trace tr(flag_first());  // the same tick counts as before: ticks are the resolution
    tr.d.t_max_k = 354.15;
    tr.d.contactors.main_pos = false;
    tr.tick(100 * kMs);
    CHECK(tr.end().verdict == Verdict::kPass);
  }
  {
    Trace tr(flag_first());  // neither
    tr.tick(100 * kMs);
    const auto& r = tr.end();
    CHECK(r.verdict == Verdict::kPass);
    CHECK(r.details == "not contactor_main_pos: never true\nt_max > 80 degC: never true");
  }
  {
    Trace tr(flag_first());  // A alone
    tr.d.contactors.main_pos = false;
    tr.tick(100 * kMs);
    CHECK(tr.end().verdict == Verdict::kPass);
  }
}

TEST_CASE("while X: Y checked only where X holds", "[expect]") {
  const auto e = [] { return make(ExpectForm::kWhile, "v_max < 4.2 V", "current < 0 A"); };
  {
    Trace tr(e());
    tr.d.v_max = 4.25;  // above, but not charging
    tr.tick(100 * kMs);
    tr.d.v_max = 4.1;
    tr.d.pack_current_a = -5.0;
    tr.tick(200 * kMs);
    const auto& r = tr.end();
    CHECK(r.verdict == Verdict::kPass);
    CHECK(r.details == "current < 0 A held after 1 of 2 ticks");
  }
  {
    Trace tr(e());
    tr.d.pack_current_a = -5.0;
    tr.tick(100 * kMs);
    tr.d.v_max = 4.25;
    tr.tick(200 * kMs);
    const auto& r = tr.end();
    CHECK(r.verdict == Verdict::kFail);
    CHECK(r.message ==
          "expected while current < 0 A: v_max < 4.2 V; false at 0.200 s (current = -5 A, "
          "v_max = 4.25 V)");
  }
}

TEST_CASE("A run that stops early leaves what is undecided as errors", "[expect]") {
  {
    Trace tr(make(ExpectForm::kAlways, "v_max < 4.2 V"));
    tr.tick(300 * kMs);
    const auto& r = tr.end(false, "SIGINT");
    CHECK(r.verdict == Verdict::kError);
    CHECK(r.time_ns == 300 * kMs);
    CHECK(r.message ==
          "not decided: the run stopped at 0.300 s before its end (SIGINT); expected "
          "always: v_max < 4.2 V");
  }
  {
    // Decided before the stop: it stays decided.
    Trace tr(make(ExpectForm::kAlways, "v_max < 4.2 V"));
    tr.d.v_max = 4.3;
    tr.tick(300 * kMs);
    CHECK(tr.end(false, "SIGINT").verdict == Verdict::kFail);
  }
}

TEST_CASE("at_end: a metric against its threshold, a metric not computed", "[expect]") {
  Expectation e;
  e.name = "soc estimate";
  e.form = ExpectForm::kAtEnd;
  e.metric = "soc_rms_error";
  e.metric_op = CondOp::kLt;
  e.metric_threshold = 0.02;
  e.at_end_text = "soc_rms_error < 2 %";
  {
    Trace tr(e);
    tr.tick(kMs);
    const auto& r = tr.end(true, "duration", {{"soc_rms_error", 0.015}});
    CHECK(r.verdict == Verdict::kPass);
    CHECK(r.details == "soc_rms_error = 0.015");
  }
  {
    Trace tr(e);
    const auto& r = tr.end(true, "duration", {{"soc_rms_error", 0.031}});
    CHECK(r.verdict == Verdict::kFail);
    CHECK(r.message == "expected at the end: soc_rms_error < 2 %; soc_rms_error = 0.031");
  }
  {
    Trace tr(e);
    const auto& r = tr.end(true, "duration", {{"false_alarms", 0.0}});
    CHECK(r.verdict == Verdict::kError);
    CHECK(r.message ==
          "expected at the end: soc_rms_error < 2 %; the run computed no metric 'soc_rms_error'");
  }
}

TEST_CASE("Conditions: flags alone, contactors, fault onsets by name", "[expect][condition]") {
  model::PackData d;
  d.contactors = {true, false, false};
  std::vector<FaultLog> log(2);
  log[1].onset_ns = 2'000'000'000;
  log[1].end_ns = 5'000'000'000;
  auto at = [&](const std::string& text, std::int64_t t_ns) {
    return evaluate(cond(text), {&d, t_ns, -1, log.data(), 2});
  };
  CHECK(at("contactor_main_pos", 0));
  CHECK_FALSE(at("not contactor_main_pos", 0));
  CHECK_FALSE(at("contactor_main_neg or contactor_precharge", 0));
  CHECK(at("contactor_main_pos == 1 and contactor_main_neg == 0", 0));
  CHECK_FALSE(at("fault_active[short]", 1'999'999'999));
  CHECK(at("fault_active[short]", 2'000'000'000));
  CHECK(at("fault_active[ short ] and since_fault[short] > 2.9 s", 4'999'999'999));
  CHECK_FALSE(at("fault_active[short]", 5'000'000'000));  // ended
  CHECK(at("since_fault[short] >= 3 s", 5'000'000'000));  // time since the onset, ended or not
  CHECK_FALSE(at("since_fault[short] < 1 s", 0));         // before the onset: no comparison holds
  // A count alone is true when not zero.
  d.vented_cells = 0;
  CHECK_FALSE(at("vented_cells", 0));
  d.vented_cells = 2;
  CHECK(at("vented_cells", 0));
  CHECK(describe_value(CondQuantity::kFaultActive, 1, 1.0, &kFaultNames) ==
        "fault_active[short] = 1");
  CHECK(describe_value(CondQuantity::kSinceFault, 1, 0.25, &kFaultNames) ==
        "since_fault[short] = 0.250 s");
  CHECK(describe_value(CondQuantity::kCellT, 3, 354.4, nullptr) == "cell_t[3] = 81.25 degC");
  CHECK(describe_value(CondQuantity::kSocMean, 0, 0.5, nullptr) == "soc_mean = 50 %");
  CHECK(describe_value(CondQuantity::kBmsState, 0, 6.0, nullptr) == "bms_state = fault");

  ConditionContext ctx;
  ctx.fault_names = &kFaultNames;
  ConditionError err;
  CHECK_FALSE(parse_condition("fault_active[shrot]", ctx, err));
  CHECK(err.column == 14);
  CHECK(err.message ==
        "no [[fault]] is named 'shrot' (did you mean 'short'?); expected one of short");
  CHECK_FALSE(parse_condition("v_max and time > 1 s", ctx, err));
  CHECK(err.message == "expected an operator (<, <=, >, >=, == or !=) after 'v_max'");
  CHECK_FALSE(parse_condition("contactor_main_pos == 2.5", ctx, err));
  CHECK(err.message == "'contactor_main_pos' is a flag: expected 0 or 1, got '2.5'");
  ConditionContext none;
  CHECK_FALSE(parse_condition("fault_active[short]", none, err));
  CHECK(err.message == "no [[fault]] is named 'short'; no fault has a 'name'");
}

namespace {
struct Loaded {
  Diagnostics diags;
  std::optional<Scenario> sc;
  std::string file, dir;
};
// A scenario on the 12s2p test pack with `body` appended; `extra` files written beside it.
Loaded load(const std::string& body,
            const std::vector<std::pair<std::string, std::string>>& extra = {},
            const std::vector<MetricInfo>& metrics = {}) {
  const fs::path dir =
      fs::temp_directory_path() / ("packsim-expect-test-" + std::to_string(getpid()));
  fs::create_directories(dir);
  Loaded l;
  l.dir = dir.string();
  l.file = (dir / "expect.toml").string();
  std::ofstream(l.file) << "[scenario]\nname = \"expect\"\npack = \"" PACKSIM_SOURCE_DIR
                           "/tests/data/packs/kokam_12s2p.toml\"\nduration = \"10 s\"\n"
                        << body;
  for (const auto& [name, text] : extra) std::ofstream(dir / name) << text;
  l.sc = config::load_scenario(l.file, l.diags, metrics);
  fs::remove_all(dir);
  return l;
}
}  // namespace

TEST_CASE("[[expect]] tables and included files load into the scenario", "[expect][config]") {
  const Loaded l = load(
      "expectations = [\"more.toml\"]\n"
      "[[fault]]\ntype = \"heater\"\ncell = 1\npower = \"5 W\"\nat = \"1 s\"\nname = \"hot\"\n"
      "[[expect]]\nname = \"a\"\nalways = \"v_max < 4.2 V\"\n"
      "[[expect]]\nname = \"b\"\nafter = \"fault_active[hot]\"\nwithin = \"600 ms\"\n"
      "expect = \"not contactor_main_pos\"\nedges = \"first\"\n"
      "[[expect]]\nname = \"c\"\neventually = \"bms_state == normal\"\nwithin = \"2 s\"\n"
      "[[expect]]\nname = \"d\"\nat_end = \"soc_rms_error <= 2 %\"\n",
      {{"more.toml",
        "[[expect]]\nname = \"e\"\nwhile = \"current < 0 A\"\n"
        "expect = \"v_max < 4.2 V\"\n"
        "[[expect]]\nname = \"f\"\nbefore = \"t_max > 80 degC\"\n"
        "expect = \"bms_state == fault\"\n"}},
      {{"soc_rms_error", config::Dimension::kRatio}});
  INFO(l.diags.format());
  REQUIRE(l.sc);
  const auto& x = l.sc->expectations;
  REQUIRE(x.size() == 6);
  CHECK(x[0].form == ExpectForm::kAlways);
  CHECK(x[0].expect.text == "v_max < 4.2 V");
  CHECK(x[1].form == ExpectForm::kAfter);
  CHECK(x[1].trigger.text == "fault_active[hot]");
  CHECK(x[1].trigger.nodes[0].index == 0);
  CHECK(x[1].expect.text == "not contactor_main_pos");
  CHECK(*x[1].within_ns == 600 * kMs);
  CHECK_FALSE(x[1].every_edge);
  CHECK(x[2].form == ExpectForm::kEventually);
  CHECK(*x[2].within_ns == 2'000'000'000);
  CHECK(x[3].form == ExpectForm::kAtEnd);
  CHECK(x[3].metric == "soc_rms_error");
  CHECK(x[3].metric_op == CondOp::kLe);
  CHECK(x[3].metric_threshold == Approx(0.02));
  CHECK(x[4].form == ExpectForm::kWhile);
  CHECK(x[4].name == "e");
  CHECK(x[4].where.file.find("more.toml") != std::string::npos);
  CHECK(x[5].form == ExpectForm::kBefore);
  CHECK(x[5].trigger.text == "t_max > 80 degC");
  CHECK(l.sc->uses_bms_state);
  CHECK(l.sc->faults[0].name == "hot");
}

TEST_CASE("Bad [[expect]] tables: located errors, all collected", "[expect][config]") {
  // The body starts on line 5.
  auto one = [](const std::string& body, const std::string& where, const std::string& part,
                const std::vector<std::pair<std::string, std::string>>& extra = {}) {
    const Loaded l = load(body, extra, {{"false_alarms", config::Dimension::kRatio}});
    const std::string text = l.diags.format();
    INFO(body << "\n---\n" << text);
    CHECK_FALSE(l.sc);
    CHECK(text.find(where) != std::string::npos);
    CHECK(text.find(part) != std::string::npos);
  };
  const std::string f = "expect.toml:";
  one("[[expect]]\nname = \"a\"\n", f + "5:1: ",
      "an expectation needs one of always, never, eventually, after, before, while or at_end");
  one("[[expect]]\nname = \"a\"\nalways = \"v_max < 4.2 V\"\nnever = \"v_max > 5 V\"\n",
      f + "8:9: ", "give one form per expectation: 'always' is given already");
  one("[[expect]]\nname = \"a\"\nalways = \"v_max < 4.2 V\"\n[[expect]]\nname = \"a\"\n"
      "never = \"v_max > 4.3 V\"\n",
      f + "9:8: ", "another expectation is named \"a\"");
  one("[[expect]]\nname = \"a\"\nafter = \"v_max > 4.2 V\"\n",
      f + "5:1: ", "'after' needs 'expect': the condition that must follow it");
  one("[[expect]]\nname = \"a\"\nalways = \"v_max < 4.2 V\"\nwithin = \"1 s\"\n",
      f + "8:10: ", "'within' goes with eventually and after, not 'always'");
  one("[[expect]]\nname = \"a\"\nalways = \"v_max < 4.2 Q\"\n", f + "7:19: ", "v_max < 4.2 Q");
  one("[[expect]]\nname = \"a\"\nat_end = \"false_alarm < 1\"\n", f + "7:11: ",
      "unknown metric 'false_alarm' (did you mean 'false_alarms'?); expected one of "
      "false_alarms");
  one("[[expect]]\nname = \"a\"\nat_end = \"false_alarms ~ 1\"\n",
      f + "7:24: ", "expected an operator");
  one("[[expect]]\nname = \"a\"\nnever = \"fault_active[x]\"\n",
      f + "7:23: ", "no [[fault]] is named 'x'; no fault has a 'name'");
  // Errors inside an included file point into it.
  one("expectations = \"bad.toml\"\n", "bad.toml:3:27: ", "unknown quantity 'v_maxx'",
      {{"bad.toml", "[[expect]]\nname = \"z\"\nalways = \"v_max < 5 V and v_maxx < 5 V\"\n"}});
  one("expectations = \"bad.toml\"\n", "bad.toml:1:",
      "an expectations file holds [[expect]] tables only; 'load' belongs in the scenario",
      {{"bad.toml", "[[load]]\nkind = \"rest\"\n"}});
  one("expectations = \"gone.toml\"\n", f + "5:1: ", "scenario.expectations: file 'gone.toml'");
  // All at once.
  const Loaded l =
      load("[[expect]]\nname = \"a\"\n[[expect]]\nname = \"b\"\nalways = \"v_max < 4.2 Q\"\n");
  CHECK(l.diags.size() == 2);
}

TEST_CASE("junit.xml: suites, cases, failures and escaping", "[expect][junit]") {
  JunitSuite s;
  s.name = "ov <trip> & \"open\"";
  s.classname = "closed_loop_ov";
  s.time_s = 30.0;
  s.system_out = "status: completed\nline two & more";
  ExpectationReport pass;
  pass.name = "opens";
  pass.form = ExpectForm::kAfter;
  pass.verdict = Verdict::kPass;
  pass.time_ns = 20'412'000'000;
  pass.details = "answered: 1";
  ExpectationReport fail = pass;
  fail.name = "never > 4.25 V";
  fail.form = ExpectForm::kNever;
  fail.verdict = Verdict::kFail;
  fail.time_ns = 20'613'000'000;
  fail.message = "expected never: v_max > 4.25 V; true at 20.613 s (v_max = 4.2501 V)\x01";
  fail.details = "";
  ExpectationReport err = pass;
  err.name = "pending one";
  err.verdict = Verdict::kPending;
  s.cases = {pass, fail, err};
  const std::string x = render_junit(s);
  CHECK(x ==
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<testsuites name=\"packsim\" tests=\"3\" failures=\"1\" errors=\"1\" skipped=\"0\" "
        "time=\"30.000\">\n"
        "  <testsuite name=\"ov &lt;trip&gt; &amp; &quot;open&quot;\" tests=\"3\" failures=\"1\" "
        "errors=\"1\" skipped=\"0\" time=\"30.000\">\n"
        "    <testcase classname=\"closed_loop_ov\" name=\"opens\" time=\"20.412\">\n"
        "      <system-out>form: after\nverdict: pass\nanswered: 1</system-out>\n"
        "    </testcase>\n"
        "    <testcase classname=\"closed_loop_ov\" name=\"never &gt; 4.25 V\" time=\"20.613\">\n"
        "      <failure message=\"expected never: v_max &gt; 4.25 V; true at 20.613 s (v_max = "
        "4.2501 V)?\" type=\"never\">expected never: v_max &gt; 4.25 V; true at 20.613 s (v_max = "
        "4.2501 V)?</failure>\n"
        "      <system-out>form: never\nverdict: fail</system-out>\n"
        "    </testcase>\n"
        "    <testcase classname=\"closed_loop_ov\" name=\"pending one\" time=\"20.412\">\n"
        "      <error message=\"not decided: the run has not ended; if packsim is no longer "
        "running, it could not write this file (killed, or the disk was full)\" "
        "type=\"pending\">not decided: the run has not ended; if packsim is no longer running, "
        "it could not write this file (killed, or the disk was full)</error>\n"
        "      <system-out>form: after\nverdict: pending\nanswered: 1</system-out>\n"
        "    </testcase>\n"
        "    <system-out>status: completed\nline two &amp; more</system-out>\n"
        "  </testsuite>\n</testsuites>\n");
  CHECK(xml_escape("a\nb\tc\"d'", true) == "a&#10;b&#9;c&quot;d'");
}
