// How a run ends when the model does: a state that becomes non-finite fails the run, with a reason
// and complete outputs.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "packsim/sim/runner.hpp"
#include "sim_test_util.hpp"

using namespace packsim;

TEST_CASE("A model state that becomes non-finite fails the run, its outputs complete", "[run]") {
  // Files cannot ask for this (check refuses a 1e300 A load); a scenario built in code still can,
  // and the run must stop with the time instead of completing with NaNs.
  auto sc = test::load_test_scenario("noalloc.toml");
  sc.bms.mode = sim::BmsMode::kNone;
  sc.profile.reset();
  sc.events.clear();
  sc.initial_contactors = sim::kContactorsClosed;
  sc.tick_ns = 1'000'000'000;
  sc.duration_ns = 10'000'000'000;
  sc.record.every_ns = 1'000'000'000;
  sim::LoadSegment absurd;
  absurd.kind = sim::SegmentKind::kCurrent;
  absurd.value = 1e300;
  absurd.label = "absurd";
  sc.load = {absurd};
  const auto out = std::filesystem::temp_directory_path() / "packsim-diverge-test";
  std::filesystem::remove_all(out);
  sim::RunOptions opt;
  opt.out_dir = out;
  opt.version = "test";
  const sim::RunResult r = sim::run_scenario(sc, opt);
  CHECK(r.status == sim::RunStatus::kFailed);
  CHECK(r.stop_reason.rfind("the model state became non-finite at t = 1.000000 s", 0) == 0);
  std::ifstream summary(out / "summary.json");
  std::stringstream text;
  text << summary.rdbuf();
  CHECK(text.str().find("\"status\": \"failed\"") != std::string::npos);
  std::ifstream csv(out / "signals.csv");
  int lines = 0;
  for (std::string line; std::getline(csv, line);) ++lines;
  CHECK(lines == 3);  // the header, the initial state, the tick that diverged
  std::filesystem::remove_all(out);
}
