// Output files on failing devices: /dev/full (every write is ENOSPC) and a file-size limit
// (RLIMIT_FSIZE, EFBIG), the space held back for the end of a run, and reserved summaries.
#include <sys/resource.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "packsim/util/output_file.hpp"

using namespace packsim;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("packsim-util-test-" + std::to_string(::getpid()) + "-" +
                                        std::to_string(reinterpret_cast<std::uintptr_t>(this)));
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A 30-byte line numbered k.
std::string line(int k) {
  char text[40];
  std::snprintf(text, sizeof text, "line %08d ...............\n", k);
  return text;
}

// Lowers the file-size limit for the test's lifetime, with SIGXFSZ ignored (as packsim does), so
// write() past it fails with EFBIG instead of killing the test.
struct FileSizeLimit {
  rlimit saved{};
  void (*saved_handler)(int) = nullptr;
  explicit FileSizeLimit(rlim_t bytes) {
    getrlimit(RLIMIT_FSIZE, &saved);
    saved_handler = std::signal(SIGXFSZ, SIG_IGN);
    rlimit lower = saved;
    lower.rlim_cur = bytes;
    setrlimit(RLIMIT_FSIZE, &lower);
  }
  ~FileSizeLimit() {
    setrlimit(RLIMIT_FSIZE, &saved);
    std::signal(SIGXFSZ, saved_handler);
  }
};

}  // namespace

TEST_CASE("errno in words and by name", "[util]") {
  CHECK(errno_text(ENOSPC) == "no space left on device (ENOSPC)");
  CHECK(errno_text(EROFS) == "read-only file system (EROFS)");
  CHECK(errno_text(EFBIG) == "file too large (EFBIG)");
  CHECK(errno_text(EDQUOT) == "disk quota exceeded (EDQUOT)");
  CHECK(errno_text(EIO) == "input/output error (EIO)");
  CHECK(is_out_of_space(ENOSPC));
  CHECK(is_out_of_space(EDQUOT));
  CHECK_FALSE(is_out_of_space(EFBIG));
  CHECK_FALSE(is_out_of_space(EIO));
}

TEST_CASE("An output file counts what reaches the disk", "[util]") {
  TempDir dir;
  OutputFile f;
  std::string error;
  REQUIRE(f.open(dir.path / "a.txt", error));
  std::string expected;
  for (int k = 0; k < 5000; ++k) {  // 150 kB: the 64 KiB buffer goes out several times
    const std::string l = line(k);
    f.write(l.data(), l.size());
    expected += l;
  }
  const std::string wide(200'000, 'x');  // a row wider than the buffer goes out as it is
  f.write((wide + "\n").data(), wide.size() + 1);
  expected += wide + "\n";
  CHECK(f.lines() == 5001);
  REQUIRE(f.close());
  CHECK_FALSE(f.failed());
  CHECK(f.bytes() == expected.size());
  CHECK(slurp(dir.path / "a.txt") == expected);
  CHECK(f.error_message().empty());
}

TEST_CASE("A full device fails the file with ENOSPC and its name", "[util]") {
  OutputFile f;
  std::string error;
  REQUIRE(f.open("/dev/full", error));
  const std::string l = line(1);
  for (int k = 0; k < 3000; ++k) f.write(l.data(), l.size());  // past the buffer: a real write
  CHECK(f.failed());
  CHECK(f.error_code() == ENOSPC);
  CHECK(f.bytes() == 0);
  CHECK(f.lines() == 0);
  CHECK(f.error_message() == "/dev/full: no space left on device (ENOSPC) after 0 bytes");
  CHECK_FALSE(f.flush());
  CHECK_FALSE(f.close());
}

TEST_CASE("Past a file-size limit the file ends at its last whole line (EFBIG)", "[util]") {
  TempDir dir;
  const fs::path path = dir.path / "limited.txt";
  OutputFile f;
  std::string error;
  REQUIRE(f.open(path, error));
  {
    FileSizeLimit limit(10'000);  // 333 lines of 30 bytes and a third of another
    for (int k = 0; k < 1000; ++k) {
      const std::string l = line(k);
      f.write(l.data(), l.size());
    }
    f.flush();
  }
  CHECK(f.failed());
  CHECK(f.error_code() == EFBIG);
  f.close();
  const std::string text = slurp(path);
  CHECK(text.size() == 333 * 30);
  CHECK(f.bytes() == 333 * 30);
  CHECK(f.lines() == 333);
  REQUIRE_FALSE(text.empty());
  CHECK(text.back() == '\n');
  CHECK(text.substr(text.size() - 30) == line(332));
  CHECK(f.error_message() == path.string() + ": file too large (EFBIG) after 9990 bytes");
}

TEST_CASE("A reserved file is valid JSON at every step and ends as its content", "[util]") {
  TempDir dir;
  const fs::path path = dir.path / "summary.json";
  ReservedFile r;
  std::string error;
  REQUIRE(r.create(path, "{\"status\": \"running\"}\n", 4096, 8192, error));
  CHECK(fs::file_size(path) == 4096 + 8192);
  std::string text = slurp(path);
  CHECK(text.rfind("{\"status\": \"running\"}\n", 0) == 0);
  // Only whitespace after the placeholder: a JSON parser reads it as the placeholder alone.
  CHECK(text.find_first_not_of(" \n", 22) == std::string::npos);
  CHECK(text.back() == '\n');
  CHECK(r.release_spare());
  CHECK_FALSE(r.release_spare());  // once
  CHECK(fs::file_size(path) == 4096);
  REQUIRE(r.commit("{\"status\": \"completed\"}\n", error));
  CHECK(slurp(path) == "{\"status\": \"completed\"}\n");

  // Content larger than the reservation still goes in when there is room.
  ReservedFile big;
  REQUIRE(big.create(dir.path / "big.json", "{}\n", 16, 0, error));
  const std::string content = "[" + std::string(10'000, ' ') + "1]\n";
  REQUIRE(big.commit(content, error));
  CHECK(slurp(dir.path / "big.json") == content);
}

TEST_CASE("A reservation that cannot be made leaves no file and says why", "[util]") {
  TempDir dir;
  const fs::path path = dir.path / "summary.json";
  ReservedFile r;
  std::string error;
  {
    FileSizeLimit limit(100'000);
    CHECK_FALSE(r.create(path, "{}\n", 64 << 10, 256 << 10, error));
  }
  CHECK(error == path.string() + ": file too large (EFBIG) reserving 327680 bytes");
  CHECK_FALSE(fs::exists(path));
  CHECK_FALSE(r.is_open());
}

TEST_CASE("The first full disk releases the space held back and is remembered", "[util]") {
  TempDir dir;
  ReservedFile summary;
  std::string error;
  REQUIRE(summary.create(dir.path / "summary.json", "{}\n", 4096, 65536, error));
  OutOfSpace space(&summary);
  OutputFile full;
  REQUIRE(full.open("/dev/full", error, &space));
  const std::string l = line(7);
  for (int k = 0; k < 3000; ++k) full.write(l.data(), l.size());
  // The spare went back to the file system at once (the retry on /dev/full fails all the same).
  CHECK(space.tripped());
  CHECK(space.code() == ENOSPC);
  CHECK(space.path() == "/dev/full");
  CHECK(space.message() == "/dev/full: no space left on device (ENOSPC) after 0 bytes");
  CHECK(fs::file_size(dir.path / "summary.json") == 4096);
  CHECK(full.failed());
  // A later report, from another output, is not the first.
  CHECK_FALSE(space.report("out/other.csv", ENOSPC, 1));
  CHECK(space.path() == "/dev/full");
}
