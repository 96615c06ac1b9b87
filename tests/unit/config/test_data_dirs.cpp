// The data-directory search (data_dirs.hpp) as this test binary sees it: it lives inside the build
// tree, so the source tree is its data directory; $PACKSIM_DATA_DIR comes first.
#include <stdlib.h>  // NOLINT(modernize-deprecated-headers): setenv/unsetenv are POSIX

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "packsim/config/data_dirs.hpp"
#include "packsim/config/toml_reader.hpp"

namespace fs = std::filesystem;
using namespace packsim;

namespace {
// Sets or clears PACKSIM_DATA_DIR for one test, restoring what was there.
struct DataDirEnv {
  explicit DataDirEnv(const char* value) {
    if (const char* old = getenv("PACKSIM_DATA_DIR")) {
      saved = old;
      had = true;
    }
    if (value) {
      setenv("PACKSIM_DATA_DIR", value, 1);
    } else {
      unsetenv("PACKSIM_DATA_DIR");
    }
  }
  ~DataDirEnv() {
    if (had) {
      setenv("PACKSIM_DATA_DIR", saved.c_str(), 1);
    } else {
      unsetenv("PACKSIM_DATA_DIR");
    }
  }
  std::string saved;
  bool had = false;
};
}  // namespace

TEST_CASE("a binary in the build tree reads the source tree, and nothing next to itself") {
  const DataDirEnv env(nullptr);
  const auto candidates = config::data_dir_candidates();
  REQUIRE(candidates.size() == 1);
  CHECK(candidates[0].origin == "source tree");
  CHECK(fs::equivalent(candidates[0].path, PACKSIM_SOURCE_DIR));
  CHECK(candidates[0].exists);
  CHECK(config::data_dirs_report() == "data directory: " + std::string(PACKSIM_SOURCE_DIR) +
                                          " (source tree); PACKSIM_DATA_DIR is not set");
  // A shipped file is found from any directory.
  const auto p = config::resolve_path("/nonexistent", "profiles/packsim/profile.toml");
  CHECK(fs::equivalent(p, fs::path(PACKSIM_SOURCE_DIR) / "profiles/packsim/profile.toml"));
}

TEST_CASE("PACKSIM_DATA_DIR is searched first, and a missing one is named but not searched") {
  const fs::path mine = fs::path(PACKSIM_BINARY_DIR) / "test_data_dirs";
  fs::create_directories(mine / "configs");
  {
    const DataDirEnv env(mine.c_str());
    const auto dirs = config::data_dirs();
    REQUIRE(dirs.size() == 2);
    CHECK(dirs[0] == mine);
    CHECK(config::data_dirs_report().rfind(
              "data directories, in search order: " + mine.string() + " ($PACKSIM_DATA_DIR), ",
              0) == 0);
    // The first directory that has the file wins.
    const std::string own = "configs/ev_96s2p_nmc.toml";
    fs::copy_file(fs::path(PACKSIM_SOURCE_DIR) / own, mine / own,
                  fs::copy_options::overwrite_existing);
    CHECK(config::resolve_path("/nonexistent", own) == mine / own);
    fs::remove(mine / own);
    CHECK(fs::equivalent(config::resolve_path("/nonexistent", own),
                         fs::path(PACKSIM_SOURCE_DIR) / own));
  }
  const fs::path missing = mine / "no_such_dir";
  const DataDirEnv env(missing.c_str());
  CHECK(config::data_dirs().size() == 1);
  CHECK(config::data_dirs_text() ==
        missing.string() + " (missing), " + std::string(PACKSIM_SOURCE_DIR));
}

TEST_CASE("not-found messages name every directory searched") {
  const DataDirEnv env(nullptr);
  const auto p = config::resolve_path("some/dir", "no_such.toml");
  CHECK(config::referenced_file_problem(p, "some/dir", "no_such.toml") ==
        "not found (looked in some/dir, " + std::string(PACKSIM_SOURCE_DIR) + ")");
  CHECK(config::referenced_file_problem(p, "", "no_such.toml") ==
        "not found (looked in ., " + std::string(PACKSIM_SOURCE_DIR) + ")");
  // An absolute path is looked for nowhere else.
  CHECK(config::referenced_file_problem("/no/such.toml", "some/dir", "/no/such.toml") ==
        "not found");
}
