// The tick allocates nothing: every malloc/new is counted while a closed-loop session runs
// read -> update -> write for thousands of ticks with frames flowing both ways, the reference BMS
// running, recording into the real-time rings, faults (AFE offset and open wire, a SOC jump, an
// ambient step) landing inside the counted window, and an expectation of each form checked. With
// one fault of every kind active the tick also takes no lock (pthread mutex, rwlock, spin lock,
// semaphore) and logs nothing (stdout, stderr, syslog, spdlog): tests/lock_log_counter.hpp. Built
// without sanitizers (they replace malloc and the pthread functions).
#include <spdlog/spdlog.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>

#include "alloc_counter.hpp"
#include "lock_log_counter.hpp"
#include "packsim/sim/runner.hpp"
#include "packsim/sim/session.hpp"
#include "sim_test_util.hpp"

using namespace packsim;

TEST_CASE("No heap allocation in a tick, with faults active and frames flowing", "[noalloc]") {
  const auto sc = test::load_test_scenario("noalloc.toml");
  const auto out = std::filesystem::temp_directory_path() / "packsim-noalloc-test";
  sim::Session session(sc);
  sim::SessionOptions so;
  so.out_dir = out;
  REQUIRE(session.open(so).ok);
  session.enable_threaded_recording(8192, 1 << 18);
  for (int k = 0; k < 1000; ++k) {  // warm up: contactors close, every code path has run once
    session.read(0);
    session.update();
    session.write(0);
  }
  const auto tx_before = session.protocol()->stats().tx_frames;
  const auto rx_before = session.protocol()->stats().rx_frames;
  test::start_counting_allocations();
  for (int k = 0; k < 4000; ++k) {  // 1 s .. 5 s: every event fires in here
    session.read(0);
    session.update();
    session.write(0);
  }
  CHECK(test::stop_counting_allocations() == 0);
  // The window really exercised the loop: frames both ways, the faults applied.
  // 280 frames/s for 4 s, less the 20 current-sensor frames the injected fault drops.
  CHECK(session.protocol()->stats().tx_frames - tx_before >= 1100);
  CHECK(session.protocol()->stats().rx_frames - rx_before >= 280);  // the BMS: 70 frames/s
  CHECK(session.data().input.ambient_k == Approx(308.15));
  CHECK(session.reference_bms()->outputs().faults !=
        bms::Fault::kNone);                           // the open wire tripped it
  CHECK(session.protocol()->stats().tx_faulted > 0);  // the CAN faults were on the wire
  CHECK(session.records_dropped() == 0);
  // The BMS's reports were decoded and tracked inside the window: its state went to fault.
  const can::BmsObservations& obs = session.protocol()->commands().observed;
  CHECK(obs.rx_ns[static_cast<std::size_t>(can::Observable::kSoc)] > 1'000'000'000);
  CHECK(obs.get(can::Observable::kFault) == 1.0);
  CHECK(session.bms_track().first_fault_ns > 1'000'000'000);
  CHECK(session.bms_track().states.back().state == 6);  // fault
  CHECK(session.sent().v_max > 3.0);
  std::size_t drained = session.drain();
  CHECK(drained > 400);
  sim::RunResult r;
  CHECK(session.finish(r, "test").ok);
  // The expectations ran in the window: the open wire at 2.5 s trips the BMS after its 500 ms
  // invalid-measurement delay (within two 10 ms cycles), deciding `trips` and answering the edge.
  REQUIRE(r.expectations.size() == 6);
  CHECK(r.expectations[3].verdict == sim::Verdict::kPass);
  CHECK(r.expectations[3].time_ns >= 3'000'000'000);
  CHECK(r.expectations[3].time_ns <= 3'020'000'000);
  CHECK(r.expectations[0].details.find("answered: 1") != std::string::npos);
  for (const auto& x : r.expectations) {
    INFO(x.name << ": " << x.message);
    CHECK(x.verdict != sim::Verdict::kFail);
  }
  std::filesystem::remove_all(out);
}

TEST_CASE("No heap allocation on the tick thread of a whole real-time run", "[noalloc]") {
  // The same closed loop, through run_scenario's real-time loop at 10x: pacing, statistics and the
  // hand-off to the writer included. Counted on the tick thread only, from its first tick to its
  // last (its set-up, before it takes its name, may allocate).
  const auto sc = test::load_test_scenario("noalloc.toml");
  sim::RunOptions opt;
  opt.out_dir = std::filesystem::temp_directory_path() / "packsim-noalloc-rt-test";
  opt.version = "test";
  opt.realtime = true;
  opt.speed = 10.0;
  test::start_counting_allocations_on(sim::kTickThreadName);
  const sim::RunResult r = sim::run_scenario(sc, opt);
  const std::uint64_t allocations = test::stop_counting_allocations();
  REQUIRE(r.status == sim::RunStatus::kCompleted);
  REQUIRE(r.realtime);
  CHECK(r.realtime->ticks == 10'000);
  CHECK(allocations == 0);
  std::filesystem::remove_all(opt.out_dir);
}

namespace {
// The instruments themselves must see what they are meant to count, or a 0 proves nothing.
void check_instruments() {
  std::mutex m;
  test::start_counting_locks();
  m.lock();
  m.unlock();
  CHECK(test::stop_counting_locks() == 1);
  test::prepare_log_capture();
  test::start_capturing_logs();
  std::fputs("to stderr\n", stderr);
  std::printf("to stdout\n");
  spdlog::debug("to spdlog");
  const test::LogCapture c = test::stop_capturing_logs();
  CHECK(c.output == "to stderr\nto stdout\n");
  CHECK(c.spdlog == 1);
}
}  // namespace

TEST_CASE(
    "No allocation, lock or log call in a tick with one fault of every kind and a condition "
    "pending",
    "[noalloc][faults]") {
  check_instruments();
  const auto sc = test::load_test_scenario("noalloc_faults.toml");
  REQUIRE(sc.faults.size() == static_cast<std::size_t>(sim::kFaultKindCount) + 2);
  const auto out = std::filesystem::temp_directory_path() / "packsim-noalloc-faults-test";
  sim::Session session(sc);
  sim::SessionOptions so;
  so.out_dir = out;
  REQUIRE(session.open(so).ok);
  session.enable_threaded_recording(8192, 1 << 18);
  for (int k = 0; k < 1000; ++k) {  // warm up: contactors close
    session.read(0);
    session.update();
    session.write(0);
  }
  test::prepare_log_capture();
  test::start_counting_allocations();
  test::start_counting_locks();
  test::start_capturing_logs();
  for (int k = 0; k < 4000; ++k) {  // 1 s .. 5 s: every fault starts in here, many end
    session.read(0);
    session.update();
    session.write(0);
  }
  const test::LogCapture logs = test::stop_capturing_logs();
  const std::uint64_t locks = test::stop_counting_locks();
  CHECK(test::stop_counting_allocations() == 0);
  CHECK(locks == 0);
  INFO("logged: " << logs.output);
  CHECK(logs.output.empty());
  CHECK(logs.syslog == 0);
  CHECK(logs.spdlog == 0);
  // The faults really were applied inside the window.
  CHECK(session.data().leak_s[3] == Approx(1.0 / 100.0));
  CHECK(session.data().input.contactor_welded.main_neg);
  CHECK(session.data().input.iso_fault_cell == 8);
  CHECK(session.protocol()->stats().tx_faulted > 0);
  CHECK(session.records_dropped() == 0);
  session.drain();
  sim::RunResult r;
  CHECK(session.finish(r, "test").ok);
  // The records the tick handed over reached events.csv through the ring: a start for every fault
  // but the pending one, the short's step and the busbar ramp's end among them.
  std::ifstream in(out / "events.csv");
  std::string line;
  int starts = 0;
  bool step = false, ramp_end = false;
  while (std::getline(in, line)) {
    starts += line.find(",start,") != std::string::npos ? 1 : 0;
    step = step || line.find("internal_short,cell 3,step,100,") != std::string::npos;
    ramp_end = ramp_end ||
               line.find("loose_busbar,group 2 segment 0,ramp_end,0.005,") != std::string::npos;
  }
  CHECK(starts == sim::kFaultKindCount + 1);
  CHECK(step);
  CHECK(ramp_end);
  std::filesystem::remove_all(out);
}
