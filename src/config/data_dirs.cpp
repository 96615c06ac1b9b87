#include "packsim/config/data_dirs.hpp"

#include <algorithm>
#include <cstdlib>
#include <system_error>

namespace packsim::config {

namespace {

namespace fs = std::filesystem;

bool dir_exists(const fs::path& p) {
  std::error_code ec;
  return fs::is_directory(p, ec);
}

// Component-wise: /a/build-asan is not inside /a/build.
bool is_inside(const fs::path& p, const fs::path& dir) {
  const auto [d, q] = std::mismatch(dir.begin(), dir.end(), p.begin(), p.end());
  (void)q;
  return d == dir.end();
}

}  // namespace

fs::path executable_path() {
  std::error_code ec;
  fs::path p = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return {};
  return p;
}

std::vector<DataDir> data_dir_candidates() {
  std::vector<DataDir> out;
  if (const char* env = std::getenv("PACKSIM_DATA_DIR"); env && *env) {
    out.push_back({fs::path(env), "$PACKSIM_DATA_DIR", dir_exists(env)});
  }
  const fs::path exe = executable_path();
  if (exe.empty()) return out;
#if defined(PACKSIM_BUILD_TREE_DIR) && defined(PACKSIM_SOURCE_TREE_DIR)
  // An executable still in the tree it was built in reads the source tree (nothing is installed
  // next to it). A copy elsewhere must not find files here by accident, and keep working until
  // the checkout is deleted.
  std::error_code ec;
  const fs::path build = fs::canonical(PACKSIM_BUILD_TREE_DIR, ec);
  if (!ec && is_inside(exe, build)) {
    out.push_back(
        {fs::path(PACKSIM_SOURCE_TREE_DIR), "source tree", dir_exists(PACKSIM_SOURCE_TREE_DIR)});
    return out;
  }
#endif
#ifdef PACKSIM_DATA_FROM_BINDIR
  const fs::path installed = (exe.parent_path() / PACKSIM_DATA_FROM_BINDIR).lexically_normal();
  out.push_back({installed, "next to the executable", dir_exists(installed)});
#endif
  return out;
}

std::vector<fs::path> data_dirs() {
  std::vector<fs::path> out;
  for (const auto& d : data_dir_candidates()) {
    if (d.exists) out.push_back(d.path);
  }
  return out;
}

std::string data_dirs_text() {
  std::string out;
  for (const auto& d : data_dir_candidates()) {
    out += (out.empty() ? "" : ", ") + d.path.string() + (d.exists ? "" : " (missing)");
  }
  return out;
}

std::string data_dirs_report() {
  const auto candidates = data_dir_candidates();
  std::string used, missing;
  int n_used = 0;
  for (const auto& d : candidates) {
    n_used += d.exists ? 1 : 0;
    std::string& list = d.exists ? used : missing;
    list += (list.empty() ? "" : ", ") + d.path.string() + " (" + d.origin + ")";
  }
  const bool env_set = std::any_of(candidates.begin(), candidates.end(),
                                   [](const DataDir& d) { return d.origin[0] == '$'; });
  std::string out;
  if (!used.empty()) {
    // Several: a file is taken from the first that has it.
    out = (n_used > 1 ? "data directories, in search order: " : "data directory: ") + used;
    if (!missing.empty()) out += "; missing: " + missing;
  } else {
    out = "data directory: none found (searched: " + (missing.empty() ? "nothing" : missing) + ")";
  }
  if (!env_set) out += "; PACKSIM_DATA_DIR is not set";
  return out;
}

}  // namespace packsim::config
