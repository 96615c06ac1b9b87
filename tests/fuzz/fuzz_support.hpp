#pragma once
// Shared by the fuzz targets (tests/fuzz/*_fuzz.cpp). Each target defines LLVMFuzzerInitialize and
// LLVMFuzzerTestOneInput. With PACKSIM_FUZZ=ON (clang) they link with libFuzzer; in every other
// build with replay_main.cpp, which runs them over the committed regression inputs, so a finding
// stays a test where clang is absent. docs/fuzzing.md.

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <system_error>

// NOLINTBEGIN(readability-identifier-naming): libFuzzer's names.
extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv);
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);
// NOLINTEND(readability-identifier-naming)

namespace packsim::fuzz {

// A property of the code under test broke. Aborts in every build (an assert would vanish under
// NDEBUG), so libFuzzer keeps the input and a replay test fails.
[[noreturn]] inline void finding(const std::string& what, const std::string& detail = {}) {
  std::fprintf(stderr, "fuzz finding: %s\n%s\n", what.c_str(), detail.c_str());
  std::fflush(stderr);
  std::abort();
}

inline void check(bool ok, const std::string& what, const std::string& detail = {}) {
  if (!ok) finding(what, detail);
}

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

inline std::filesystem::path source_dir() { return PACKSIM_SOURCE_DIR; }

// A private directory that mirrors the shipped data (configs/, models/, scenarios/, profiles/):
// real directories, a symlink per file. An input written into it finds the files it references by
// the same relative paths as the shipped file it was mutated from ("../configs/x.toml",
// "profiles/us06_c_rate.csv", "packsim.dbc"), and nothing is ever written into the source tree.
// Under $TMPDIR; removed at exit (tools/fuzz points TMPDIR into the build directory, so what a
// crashed process leaves is cleaned there).
class Workspace {
 public:
  static Workspace& get() {
    static Workspace w;
    return w;
  }
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;

  const std::filesystem::path& root() const { return root_; }

  // Writes the input to `dir`/`name` (dir relative to the root, created when missing).
  std::filesystem::path write(const std::string& dir, const std::string& name,
                              std::string_view data) const {
    const std::filesystem::path d = root_ / dir;
    std::error_code ec;
    std::filesystem::create_directories(d, ec);
    const std::filesystem::path p = d / name;
    // Never through a symlink: that would write into the source tree.
    std::filesystem::remove(p, ec);
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(data.data(), static_cast<std::streamsize>(data.size()));
    out.close();
    check(static_cast<bool>(out), "harness: cannot write " + p.string());
    return p;
  }

  // Symlinks the files ending in `ext` directly in `from` (relative to the source tree) into `to`
  // (relative to the root), for a directory that needs files from several places (a fuzzed
  // profile and the DBCs of every shipped profile).
  void link_files(const std::string& from, const std::string& ext, const std::string& to) const {
    std::error_code ec;
    std::filesystem::create_directories(root_ / to, ec);
    for (const auto& e : std::filesystem::directory_iterator(source_dir() / from, ec)) {
      if (!e.is_regular_file() || e.path().extension() != ext) continue;
      std::filesystem::create_symlink(e.path(), root_ / to / e.path().filename(), ec);
    }
  }

 private:
  Workspace() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "packsim-fuzz-XXXXXX").string();
    check(::mkdtemp(tmpl.data()) != nullptr, "harness: mkdtemp failed in " + tmpl);
    root_ = tmpl;
    for (const char* dir : {"configs", "models", "scenarios", "profiles"}) mirror(dir);
  }
  ~Workspace() {
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }

  void mirror(const std::filesystem::path& rel) const {
    std::error_code ec;
    std::filesystem::create_directories(root_ / rel, ec);
    for (const auto& e : std::filesystem::directory_iterator(source_dir() / rel, ec)) {
      const auto sub = rel / e.path().filename();
      if (e.is_directory()) {
        mirror(sub);
      } else if (e.is_regular_file()) {
        std::filesystem::create_symlink(e.path(), root_ / sub, ec);
      }
    }
  }

  std::filesystem::path root_;
};

}  // namespace packsim::fuzz
