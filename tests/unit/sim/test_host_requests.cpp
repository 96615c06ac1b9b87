// The host's requests over a run (issue 11, item 6): a session on the foxbms2 profile, external BMS
// on the loopback (nobody answers), its can.log read back. The request sequence follows [bms] and
// the bms_drive/fault_reset events frame by frame, and every message's first frame goes out at its
// phase from t = 0. A frame due at time T carries what the host asks after the events before T
// (those at T itself apply from the next frame on, as for every other event).
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "packsim/config/loaders.hpp"
#include "packsim/sim/runner.hpp"
#include "packsim/sim/session.hpp"
#include "sim_test_util.hpp"
#include "support/temp_dir.hpp"

using namespace packsim;
namespace fs = std::filesystem;

namespace {

// Named after the tests that use it.
struct TempDir : test::TempDir {
  TempDir() : test::TempDir("packsim-host-run") {}
};

std::string scenario_text(const std::string& bms, const std::string& events) {
  return "[scenario]\nname = \"host\"\npack = \"" PACKSIM_SOURCE_DIR
         "/configs/foxbms2_18s1p.toml\"\nduration = \"11 s\"\ntick = \"1 ms\"\nseed = 1\n"
         "[bms]\nmode = \"external\"\nprofile = \"" PACKSIM_SOURCE_DIR
         "/profiles/foxbms2/profile.toml\"\n" +
         bms + "\n[[load]]\nkind = \"rest\"\n" + events;
}

struct Loaded {
  std::optional<sim::Scenario> sc;
  std::string file;
  std::string errors;
  std::size_t count = 0;
};

Loaded load(const TempDir& dir, const std::string& text) {
  Loaded l;
  l.file = dir.write("scenario.toml", text).string();
  Diagnostics d;
  l.sc = config::load_scenario(l.file, d);
  l.errors = d.format();
  l.count = d.size();
  return l;
}

struct Logged {
  std::int64_t t_us;
  std::uint32_t id;
  std::string data;
};

// Runs the scenario to its end and returns can.log's frames.
std::vector<Logged> run(const sim::Scenario& sc, const fs::path& out) {
  {
    sim::Session session(sc);
    test::run_to_end(session, out);
    sim::RunResult r;
    REQUIRE(session.finish(r, "test").ok);
  }
  std::vector<Logged> frames;
  std::ifstream log(out / "can.log");
  std::string line;
  while (std::getline(log, line)) {
    // "(12.345678) loop0 210#0000C80000000000"
    long long s = 0, us = 0;
    char iface[32];
    unsigned id = 0;
    char data[140];
    REQUIRE(std::sscanf(line.c_str(), "(%lld.%6lld) %31s %x#%139s", &s, &us, iface, &id, data) ==
            5);
    frames.push_back({s * 1'000'000 + us, id, data});
  }
  return frames;
}

}  // namespace

TEST_CASE("The host asks for standby, then its mode, and starts over on each drive request",
          "[host][session]") {
  TempDir dir;
  const Loaded l = load(dir, scenario_text("host_mode = \"charge\"\nhost_standby = \"1.5 s\"\n"
                                           "host_reset = \"250 ms\"",
                                           "[[event]]\nat = \"3 s\"\nbms_drive = false\n"
                                           "[[event]]\nat = \"5 s\"\nbms_drive = true\n"
                                           "[[event]]\nat = \"8 s\"\nfault_reset = true\n"
                                           "[[event]]\nat = \"10.02 s\"\nbms_drive = false\n"));
  INFO(l.errors);
  REQUIRE(l.sc);
  CHECK(l.sc->bms.host_mode == can::HostMode::kCharge);
  CHECK(l.sc->bms.host_standby_ns == 1'500'000'000);
  CHECK(l.sc->bms.host_reset_ns == 250'000'000);
  const auto frames = run(*l.sc, dir.path / "out");
  // 0x210 every 100 ms from 20 ms; byte 0 = RequestBmsMode (0 standby, 2 charge) | reset << 2.
  //   0.02 .. 1.42 s  standby (the first 1.5 s after the start's drive request)
  //   1.52 .. 2.92 s  charge
  //   3.02 .. 6.42 s  standby: not driving from 3 s, then 1.5 s after the drive request at 5 s
  //   6.52 .. 7.92 s  charge
  //   8.02 .. 8.22 s  charge + reset (the 250 ms from the reset at 8 s: 8.02, 8.12, 8.22)
  //   8.32 .. 10.02 s charge (the event at 10.02 s comes after that time's frame)
  //  10.12 .. 10.92 s standby
  std::vector<std::int64_t> times;
  std::string modes;
  for (const auto& f : frames) {
    if (f.id != 0x210) continue;
    times.push_back(f.t_us);
    REQUIRE(f.data.size() == 16);
    CHECK(f.data.substr(2) == "00C80000000000");
    modes += f.data.substr(0, 2) == "00"   ? 's'
             : f.data.substr(0, 2) == "02" ? 'c'
             : f.data.substr(0, 2) == "06" ? 'r'
                                           : '?';
  }
  REQUIRE(times.size() == 110);
  for (std::size_t k = 0; k < times.size(); ++k)
    CHECK(times[k] == 20'000 + 100'000 * static_cast<std::int64_t>(k));
  const std::string want = std::string(15, 's') + std::string(15, 'c') + std::string(35, 's') +
                           std::string(15, 'c') + std::string(3, 'r') + std::string(18, 'c') +
                           std::string(9, 's');
  CHECK(modes == want);
}

TEST_CASE("The defaults: 2 s of standby, then normal", "[host][session]") {
  TempDir dir;
  const Loaded l = load(dir, scenario_text("", ""));
  INFO(l.errors);
  REQUIRE(l.sc);
  const auto frames = run(*l.sc, dir.path / "out");
  std::string modes;
  for (const auto& f : frames) {
    if (f.id == 0x210)
      modes += f.data.substr(0, 2) == "00" ? 's' : f.data.substr(0, 2) == "01" ? 'n' : '?';
  }
  // 0.02 .. 1.92 s standby (20 frames), 2.02 .. 10.92 s normal (90 frames).
  CHECK(modes == std::string(20, 's') + std::string(90, 'n'));
}

TEST_CASE("Frames due at t = 0 go out: each message's first frame at its phase",
          "[host][session]") {
  TempDir dir;
  const Loaded l = load(dir, scenario_text("", ""));
  INFO(l.errors);
  REQUIRE(l.sc);
  const auto frames = run(*l.sc, dir.path / "out");
  REQUIRE_FALSE(frames.empty());
  // The log starts at 0 with 0x270 row 0 and the current (both phase 0).
  CHECK(frames[0].t_us == 0);
  // ... carrying the AFE's reading of the initial state, not its empty buffers (0 V): row 0's
  // first cell reads as it does 100 ms later at rest (its upper bits: 1 mV steps, 0.3 mV noise).
  REQUIRE(frames[0].id == 0x270);
  const auto row0_later = std::find_if(frames.begin() + 1, frames.end(), [](const Logged& f) {
    return f.id == 0x270 && f.data.compare(0, 2, "00") == 0;
  });
  REQUIRE(row0_later != frames.end());
  CHECK(row0_later->t_us == 100'000);
  CHECK(frames[0].data.substr(0, 6) == row0_later->data.substr(0, 6));
  CHECK(frames[0].data.substr(2, 4) != "0000");
  std::map<std::uint32_t, std::int64_t> first;
  std::map<std::uint32_t, int> count;
  for (const auto& f : frames) {
    first.try_emplace(f.id, f.t_us);
    ++count[f.id];
  }
  // The profile's phases (profiles/foxbms2/profile.toml): 0x270 0, 0x280 50 ms, 0x521 0,
  // 0x522..0x526 2/4/6/8 ms, 0x525 12 ms, 0x527 14 ms, 0x528 16 ms, 0x210 20 ms.
  const std::map<std::uint32_t, std::int64_t> phase_us{
      {0x270, 0},      {0x280, 50'000}, {0x521, 0},     {0x522, 2'000},
      {0x523, 4'000},  {0x524, 6'000},  {0x526, 8'000}, {0x525, 12'000},
      {0x527, 14'000}, {0x528, 16'000}, {0x210, 20'000}};
  for (const auto& [id, p] : phase_us) {
    INFO("id 0x" << std::hex << id);
    CHECK(first[id] == p);
  }
  // Over 11 s, frames at t = phase + k * period for every such t in [0, 11 s]: k = 0 ..
  // floor((11 s - phase) / period). 0x521 (10 ms, phase 0): 1101, one more than the 1100 before
  // the t = 0 frames went out. 0x270: 5 rows (18 cells), row m at m * 10 ms every 100 ms:
  // floor((11 - 0.01 m) / 0.1) + 1 = 111 for m = 0, 110 for m = 1..4 -> 551. 0x280: 2 rows at 50
  // and 60 ms: 110 each -> 220. 20 ms messages at 2..8 ms: floor((11 - 0.002) / 0.02) + 1 = 550.
  // 100 ms ones at 12..20 ms: floor((11 - 0.012) / 0.1) + 1 = 110.
  CHECK(count[0x521] == 1101);
  CHECK(count[0x270] == 551);
  CHECK(count[0x280] == 220);
  for (const std::uint32_t id : {0x522u, 0x523u, 0x524u, 0x526u}) CHECK(count[id] == 550);
  for (const std::uint32_t id : {0x525u, 0x527u, 0x528u, 0x210u}) CHECK(count[id] == 110);
}

TEST_CASE("Bad [bms] host keys are located errors", "[host][config]") {
  // [bms] starts on line 7: mode (8), profile (9), then the key under test on line 10.
  auto expect = [](const std::string& key, int col, const std::string& part) {
    TempDir dir;
    const Loaded l = load(dir, scenario_text(key, ""));
    INFO(l.errors);
    CHECK_FALSE(l.sc);
    CHECK(l.count == 1);
    CHECK(l.errors.find(l.file + ":10:" + std::to_string(col) + ": ") != std::string::npos);
    CHECK(l.errors.find(part) != std::string::npos);
  };
  expect("host_mode = \"drive\"", 13, "bms.host_mode");
  expect("host_standby = \"2 min\"", 16, "bms.host_standby");
  expect("host_reset = \"0 s\"", 14, "bms.host_reset");
}
