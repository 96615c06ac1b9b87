#pragma once
// Loaders for the three kinds of input file. Each collects every problem of its file (and of the
// files it references) as located diagnostics and returns nothing if there was any.
//   models/*.toml     cell parameter file (docs/cell-model.md)     -> model::CellType
//   configs/*.toml    pack: topology, spread, network, thermal      -> model::PackSpec + its cell
//   scenarios/*.toml  what to run: pack, tick, duration, load, ...  -> sim::Scenario

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "packsim/config/toml_reader.hpp"
#include "packsim/model/afe.hpp"
#include "packsim/model/pack.hpp"
#include "packsim/sim/scenario.hpp"
#include "packsim/util/diagnostic.hpp"

namespace packsim::config {

std::optional<model::CellType> load_cell_type(const std::filesystem::path& path,
                                              Diagnostics& diags);

struct LoadedPack {
  model::PackSpec spec;
  model::CellType cell;
  model::AfeSpec afe;      // [afe]: the measurement chain a BMS sees
  model::ShuntSpec shunt;  // [current_sensor]
  std::string file;
  std::string cell_file;
  model::AfeLayoutKeys afe_keys;  // where the file set the AFE layout, for profile messages
};
std::optional<LoadedPack> load_pack(const std::filesystem::path& path, Diagnostics& diags);

std::optional<sim::Scenario> load_scenario(const std::filesystem::path& path, Diagnostics& diags);
// The same, `at_end` expectations checked against `metrics` rather than sim::run_metrics().
std::optional<sim::Scenario> load_scenario(const std::filesystem::path& path, Diagnostics& diags,
                                           const std::vector<sim::MetricInfo>& metrics);

// Adds the per-cell column sets of a comma list ("v,t", "v, soc", "all") to `out`, the same
// language for [record] cells and --cells ("none" adds nothing and is accepted where
// `allow_none`). Returns the items that are none of these, in order.
std::vector<std::string> add_cell_columns(std::string_view list, bool allow_none,
                                          sim::CellColumns& out);

enum class FileKind { kUnknown, kCell, kPack, kScenario, kProfile };
// Looks at a file's top-level tables ([cell], [pack], [scenario], [profile]) to tell what it is.
FileKind detect_kind(const std::filesystem::path& path, Diagnostics& diags);

// Reads a CSV load profile: a header row, then numbers. Each value times `scale` must lie in
// `value_range` (in `unit`, for messages). Errors carry file:line:col.
std::optional<sim::Profile> load_profile_csv(const std::filesystem::path& path,
                                             const std::string& time_column,
                                             const std::string& value_column, double scale,
                                             Diagnostics& diags, Range value_range = {},
                                             const char* unit = "");

}  // namespace packsim::config

// ---------------------------------------------------------------------------------------------------
// Protocol profiles (profiles/<name>/profile.toml + its DBC). Resolving a profile needs the pack's
// layout (how many channels, sensors, modules) and the tick (periods and phases are checked to be
// multiples of it).
namespace packsim::can {
struct Profile;
}
namespace packsim::config {

struct ProfileLayout {
  int n_channels = 0;
  int n_sensors = 0;
  int n_modules = 0;
  int cells_per_module = 0;
  int sensors_per_module = 0;
  std::int64_t tick_ns = 1'000'000;
  model::AfeLayoutKeys keys;  // where the pack set the sizes above, for messages
};

// A profile named like "packsim" is looked up as profiles/packsim/profile.toml in the data
// directories; anything with a '/' or ending in .toml is a path.
std::filesystem::path resolve_profile(const std::string& name_or_path,
                                      const std::filesystem::path& referencing_dir);

// "profile 'NAME' not found (looked for profiles/NAME/profile.toml in DIR, DATA_DIR, ...)".
std::string profile_not_found(const std::string& name_or_path,
                              const std::filesystem::path& referencing_dir);

std::shared_ptr<const can::Profile> load_profile(const std::filesystem::path& path,
                                                 const ProfileLayout& layout, Diagnostics& diags);

// (Re)loads a scenario's profile for its current BMS mode and tick (after command-line overrides).
bool resolve_scenario_profile(sim::Scenario& scenario, Diagnostics& diags);

// The layout a pack presents on the bus: channels = series groups, modules of the AFE, sensors.
// With the pack's keys, a profile that cannot carry the layout names the key to change.
ProfileLayout profile_layout(const model::PackSpec& pack, const model::AfeSpec& afe,
                             std::int64_t tick_ns, const model::AfeLayoutKeys& keys = {});

}  // namespace packsim::config
