// Scenario driver: load segments, profiles, stop conditions and events, tick by tick.
#include <catch2/catch.hpp>

#include "packsim/sim/driver.hpp"
#include "support/synthetic_cell.hpp"

using namespace packsim;
using namespace packsim::sim;

namespace {
struct Bench {
  Scenario sc;
  model::PackModel m;
  model::PackData d;
  explicit Bench(Scenario s) : sc(std::move(s)) {
    sc.pack.series = 1;
    sc.pack.parallel = 1;
    sc.pack.thermal.cooling_w_per_k = 0.0;
    packsim::test::SyntheticCellSpec cs;
    cs.ocv = [](double z) { return 3.0 + z; };
    sc.cell = packsim::test::make_cell(cs);
    m = model::build_pack_model(sc.pack, sc.cell, sc.tick_ns, {0.9, 298.15, 0});
    d = model::make_data(m);
    d.input.contactors = {true, true, false};
  }
};
std::shared_ptr<Profile> make_profile(bool linear, int repeat) {
  auto p = std::make_shared<Profile>();
  p->t_ns = {0, 1'000'000'000, 3'000'000'000};
  p->value = {1.0, 2.0, -4.0};
  p->linear = linear;
  p->repeat = repeat;
  return p;
}
}  // namespace

TEST_CASE("Step profile holds each value, repeats, then hands over", "[driver]") {
  Scenario sc;
  sc.tick_ns = 500'000'000;
  LoadSegment seg;
  seg.kind = SegmentKind::kProfile;
  seg.profile = make_profile(false, 2);
  sc.load = {seg, LoadSegment{}};  // then rest
  Bench b(sc);
  ScenarioDriver drv(b.sc);
  // Samples at 0, 1, 3 s: one play lasts 5 s (the last value is held one sample interval, 2 s).
  const double expected[] = {1, 1, 2, 2, 2, 2, -4, -4, -4, -4, 1, 1, 2, 2, 2, 2, -4, -4, -4, -4};
  for (double want : expected) {
    drv.read(b.d.time_ns, b.d);
    CHECK(b.d.input.load.mode == model::LoadMode::kCurrent);
    CHECK(b.d.input.load.current_a == want);
    model::step(b.m, b.d);
    drv.after_step(b.d);
  }
  CHECK(drv.segment() == 1);  // the profile finished exactly after two plays
  CHECK(drv.segment_log()[0].end_ns == 10'000'000'000);
  CHECK(drv.segment_log()[0].ended_by == -3);
  drv.read(b.d.time_ns, b.d);
  CHECK(b.d.input.load.mode == model::LoadMode::kNone);
}

TEST_CASE("Linear profile interpolates between samples", "[driver]") {
  Scenario sc;
  sc.tick_ns = 250'000'000;
  LoadSegment seg;
  seg.kind = SegmentKind::kProfile;
  seg.profile = make_profile(true, 1);
  sc.load = {seg};
  Bench b(sc);
  ScenarioDriver drv(b.sc);
  const double expected[] = {1.0, 1.25, 1.5, 1.75, 2.0, 1.25, 0.5, -0.25, -1.0};
  for (double want : expected) {
    drv.read(b.d.time_ns, b.d);
    CHECK(b.d.input.load.current_a == Approx(want));
    model::step(b.m, b.d);
    drv.after_step(b.d);
  }
}

TEST_CASE("A stop condition ends a segment, durations end the next", "[driver]") {
  Scenario sc;
  sc.tick_ns = 1'000'000'000;
  LoadSegment dis;
  dis.kind = SegmentKind::kCurrent;
  dis.value = 7.2;  // 1 % SOC per second on the 2 Ah synthetic cell... 7.2 A = 3.6C: 0.1 %/s
  ConditionError err;
  const auto until = parse_condition("soc < 85 %", {}, err);
  REQUIRE(until);
  dis.until = {*until};
  LoadSegment rest;
  rest.duration_ns = 5'000'000'000;
  sc.load = {dis, rest};
  Bench b(sc);
  ScenarioDriver drv(b.sc);
  int ticks = 0;
  while (!drv.load_done() && ticks < 10000) {
    drv.read(b.d.time_ns, b.d);
    model::step(b.m, b.d);
    drv.after_step(b.d);
    ++ticks;
  }
  // 7.2 A on 7200 A s is 0.1 % per second: from 90 % to below 85 % takes 51 ticks (float rounding
  // may leave z a hair above 0.85 after 50).
  const auto& log = drv.segment_log();
  CHECK((log[0].end_ns == 50'000'000'000 || log[0].end_ns == 51'000'000'000));
  CHECK(log[0].ended_by == 0);
  CHECK(log[1].end_ns - log[1].start_ns == 5'000'000'000);
  CHECK(log[1].ended_by == -2);
  CHECK(b.d.soc_mean < 0.85);
}

TEST_CASE("Events apply at their tick", "[driver]") {
  Scenario sc;
  sc.tick_ns = 1'000'000'000;
  Event open;
  open.at_ns = 3'000'000'000;
  open.contactors = model::ContactorState{};
  Event warm;
  warm.at_ns = 5'000'000'000;
  warm.ambient_k = 320.0;
  sc.events = {open, warm};
  LoadSegment cur;
  cur.kind = SegmentKind::kCurrent;
  cur.value = 1.0;
  sc.load = {cur};
  Bench b(sc);
  ScenarioDriver drv(b.sc);
  for (int k = 0; k < 6; ++k) {
    drv.read(b.d.time_ns, b.d);
    model::step(b.m, b.d);
    drv.after_step(b.d);
    CHECK(b.d.pack_current_a == (k < 3 ? Approx(1.0) : Approx(0.0)));
    CHECK(b.d.input.ambient_k == (k < 5 ? 298.15 : 320.0));
  }
}
