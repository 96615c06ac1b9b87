// can.log rotation: bounded files, each a candump log of whole lines, together the log's tail.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "packsim/can/candump.hpp"
#include "packsim/hil/can_log.hpp"

using namespace packsim;
namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Frames of varying length (0..8 bytes), so lines differ in size and rotation points move.
can::CanFrame frame(int k) {
  can::CanFrame f;
  f.id = static_cast<std::uint32_t>(0x100 + k % 0x500);
  f.len = static_cast<std::uint8_t>(k % 9);
  for (std::uint8_t b = 0; b < f.len; ++b) f.data[b] = static_cast<std::uint8_t>(k + b);
  return f;
}

struct LogDir {
  fs::path path = fs::temp_directory_path() / ("packsim-canlog-test-" + std::to_string(::getpid()));
  LogDir() {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~LogDir() { fs::remove_all(path); }
};

}  // namespace

TEST_CASE("A size-limited CAN log rotates at line boundaries and keeps its tail", "[canlog]") {
  LogDir dir;
  hil::CanLogWriter log;
  std::string error;
  const hil::CanLogLimits limits{4096, 2};
  REQUIRE(log.open(dir.path / "can.log", limits, error));
  std::string all;  // what one unlimited log would hold
  const int n = 1000;
  for (int k = 0; k < n; ++k) {
    char line[can::kCandumpLineMax];
    const std::int64_t t = std::int64_t{k} * 1'000'000;
    all.append(line, can::format_candump(line, t, "loop0", frame(k)));
    log.write(t, "loop0", frame(k));
  }
  REQUIRE(log.close());
  CHECK(log.lines() == n);

  const auto files = log.files();
  REQUIRE(files.size() == 3);  // can.log.2, can.log.1, can.log
  CHECK(files[0].path.filename() == "can.log.2");
  CHECK(files[1].path.filename() == "can.log.1");
  CHECK(files[2].path.filename() == "can.log");
  CHECK_FALSE(fs::exists(dir.path / "can.log.3"));
  std::string tail;
  std::uint64_t frames = 0;
  for (const auto& f : files) {
    const std::string text = slurp(f.path);
    INFO(f.path);
    CHECK(text.size() == f.bytes);
    CHECK(text.size() <= limits.max_bytes);
    // Each file on its own: whole candump lines only.
    REQUIRE_FALSE(text.empty());
    CHECK(text.back() == '\n');
    std::istringstream lines(text);
    std::string l;
    std::uint64_t count = 0;
    while (std::getline(lines, l)) {
      can::CandumpRecord rec;
      can::CandumpError err;
      CHECK(can::parse_candump_line(l, rec, err));
      ++count;
    }
    CHECK(count == f.frames);
    frames += f.frames;
    tail += text;
  }
  // Oldest first, the files are the end of the unlimited log; the rest was deleted, whole files.
  REQUIRE(tail.size() <= all.size());
  CHECK(all.compare(all.size() - tail.size(), tail.size(), tail) == 0);
  CHECK(frames + log.deleted_frames() == n);
  CHECK(tail.size() + log.deleted_bytes() == all.size());
  CHECK(log.rotations() == log.deleted_files() + 2);
  CHECK(log.deleted_files() > 0);
  // A file is rotated only when the next line would not fit: every full one is nearly full.
  CHECK(files[0].bytes > limits.max_bytes - can::kCandumpLineMax);
  CHECK(files[1].bytes > limits.max_bytes - can::kCandumpLineMax);
}

TEST_CASE("Without a limit the CAN log is one file", "[canlog]") {
  LogDir dir;
  hil::CanLogWriter log;
  std::string error;
  REQUIRE(log.open(dir.path / "can.log", error));
  for (int k = 0; k < 2000; ++k) log.write(k, "can0", frame(k));
  REQUIRE(log.close());
  const auto files = log.files();
  REQUIRE(files.size() == 1);
  CHECK(files[0].frames == 2000);
  CHECK(files[0].bytes == fs::file_size(dir.path / "can.log"));
  CHECK(log.rotations() == 0);
  CHECK_FALSE(fs::exists(dir.path / "can.log.1"));
}
