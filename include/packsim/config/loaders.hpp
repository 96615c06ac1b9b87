#pragma once
// Loaders for the three kinds of input file. Each collects every problem of its file (and of the
// files it references) as located diagnostics and returns nothing if there was any.
//   models/*.toml     cell parameter file (docs/cell-model.md)     -> model::CellType
//   configs/*.toml    pack: topology, spread, network, thermal      -> model::PackSpec + its cell
//   scenarios/*.toml  what to run: pack, tick, duration, load, ...  -> sim::Scenario

#include <filesystem>
#include <optional>
#include <string>

#include "packsim/model/pack.hpp"
#include "packsim/sim/scenario.hpp"
#include "packsim/util/diagnostic.hpp"

namespace packsim::config {

std::optional<model::CellType> load_cell_type(const std::filesystem::path& path,
                                              Diagnostics& diags);

struct LoadedPack {
  model::PackSpec spec;
  model::CellType cell;
  std::string file;
  std::string cell_file;
};
std::optional<LoadedPack> load_pack(const std::filesystem::path& path, Diagnostics& diags);

std::optional<sim::Scenario> load_scenario(const std::filesystem::path& path, Diagnostics& diags);

enum class FileKind { kUnknown, kCell, kPack, kScenario };
// Looks at a file's top-level tables ([cell], [pack], [scenario]) to tell what it is.
FileKind detect_kind(const std::filesystem::path& path, Diagnostics& diags);

// Reads a CSV load profile: a header row, then numbers. Errors carry file:line:col.
std::optional<sim::Profile> load_profile_csv(const std::filesystem::path& path,
                                             const std::string& time_column,
                                             const std::string& value_column, double scale,
                                             Diagnostics& diags);

}  // namespace packsim::config
