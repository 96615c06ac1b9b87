#pragma once
// Where packsim finds its shipped files (configs/, models/, scenarios/, profiles/, data/) when a
// path written in a file is not found next to that file. The candidates, in order:
//   1. $PACKSIM_DATA_DIR, when set: the user's explicit choice;
//   2. for an executable inside the build tree it was built in, the source tree (so
//      build/src/cli/packsim works in a checkout; a copied binary never reaches back into it);
//      for any other, <directory of the executable>/<bindir-to-datadir>/packsim, e.g.
//      /usr/bin/../share/packsim, so an installed tree works wherever its prefix is moved.
// Plain std::filesystem: /proc/self/exe simply does not exist where there is no procfs.

#include <filesystem>
#include <string>
#include <vector>

namespace packsim::config {

struct DataDir {
  std::filesystem::path path;
  std::string origin;  // "$PACKSIM_DATA_DIR", "next to the executable", "source tree"
  bool exists = false;
};

// Every candidate in search order, the missing ones included (messages name what was searched).
std::vector<DataDir> data_dir_candidates();

// The candidates that exist, in search order.
std::vector<std::filesystem::path> data_dirs();

// The candidates for a message: "/opt/p/share/packsim, /src (missing)"; "" when there are none.
std::string data_dirs_text();

// What --version prints after the version line: the data directories in use, or that none was
// found and what was searched.
std::string data_dirs_report();

// The executable's own path (/proc/self/exe), or "" where it cannot be read.
std::filesystem::path executable_path();

}  // namespace packsim::config
