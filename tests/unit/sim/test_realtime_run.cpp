// A whole real-time run (tick thread, writer thread, main thread polling) on the loopback bus, at
// 10x so it takes a tenth of a second: complete outputs, statistics, and the same bytes as the
// same run done as fast as possible. The TSan build runs this too: it is the three-thread code.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "packsim/sim/runner.hpp"
#include "packsim/sim/session.hpp"
#include "sim_test_util.hpp"

using namespace packsim;

namespace {
std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}
}  // namespace

TEST_CASE("A real-time run at 10x writes what a fast run writes, from three threads", "[run]") {
  auto sc = test::load_test_scenario("noalloc.toml");
  sc.duration_ns = 4'000'000'000;  // 4 s simulated: the CAN faults and the BMS trip included
  sc.record.every_ns = 10'000'000;
  const auto base = std::filesystem::temp_directory_path() / "packsim-rt-run-test";
  std::filesystem::remove_all(base);

  sim::RunOptions fast;
  fast.out_dir = base / "fast";
  fast.version = "test";
  const sim::RunResult rf = sim::run_scenario(sc, fast);
  REQUIRE(rf.status == sim::RunStatus::kCompleted);

  sim::RunOptions rt = fast;
  rt.out_dir = base / "rt";
  rt.realtime = true;
  rt.speed = 10.0;
  const sim::RunResult rr = sim::run_scenario(sc, rt);
  REQUIRE(rr.status == sim::RunStatus::kCompleted);
  REQUIRE(rr.realtime);
  CHECK(rr.realtime->ticks == 4000);
  CHECK(rr.realtime->period_us == Approx(100.0));
  CHECK(rr.realtime->records_dropped == 0);
  CHECK(rr.realtime->wake_latency_us.max >= rr.realtime->wake_latency_us.min);
  // Threads change when things are written, never what: the same bytes (can.log timestamps are
  // simulated time on the loopback).
  CHECK(slurp(base / "rt" / "signals.csv") == slurp(base / "fast" / "signals.csv"));
  CHECK(slurp(base / "rt" / "can.log") == slurp(base / "fast" / "can.log"));
  CHECK(slurp(base / "rt" / "signals.csv").size() > 10000);
  std::filesystem::remove_all(base);
}

TEST_CASE("A full sample ring loses rows, never the last state", "[run]") {
  auto sc = test::load_test_scenario("noalloc.toml");
  sc.record.every_ns = sc.tick_ns;  // a row every tick, into a ring that nobody empties
  const auto out = std::filesystem::temp_directory_path() / "packsim-ring-full-test";
  std::filesystem::remove_all(out);
  {
    sim::Session session(sc);
    sim::SessionOptions so;
    so.out_dir = out;
    REQUIRE(session.open(so).ok);
    session.enable_threaded_recording(4, 1 << 16);
    for (int k = 0; k < 237; ++k) {  // stops at 0.237 s, as a signal would stop it
      session.read(0);
      session.update();
      session.write(0);
    }
    CHECK(session.records_dropped() > 200);
    sim::RunResult r;
    r.status = sim::RunStatus::kInterrupted;
    REQUIRE(session.finish(r, "test").ok);
  }
  std::ifstream csv(out / "signals.csv");
  std::string line, last;
  int rows = 0;
  while (std::getline(csv, line)) {
    last = line;
    ++rows;
  }
  // Header, the initial state, the rows the ring held, and the final state.
  CHECK(rows < 20);
  CHECK(last.rfind("0.237,", 0) == 0);
  std::filesystem::remove_all(out);
}
