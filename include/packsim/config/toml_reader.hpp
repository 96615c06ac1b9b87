#pragma once
// A schema-checking view over a toml++ table. Every getter marks its key as known; finish() reports
// the keys nobody asked for. Problems are collected as located diagnostics, never thrown, so a
// loader reports every error in a file at once.

#include <cstdint>
#include <filesystem>
#include <limits>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "packsim/config/data_dirs.hpp"
#include "packsim/config/quantity.hpp"
#include "packsim/util/diagnostic.hpp"

namespace toml {
inline namespace v3 {
class table;
class node;
}  // namespace v3
}  // namespace toml

namespace packsim::config {

enum class Need { kOptional, kRequired };

struct Range {
  double min = -std::numeric_limits<double>::infinity();
  double max = std::numeric_limits<double>::infinity();
  bool min_exclusive = false;
};
inline Range positive() { return {0.0, std::numeric_limits<double>::infinity(), true}; }
inline Range non_negative() { return {0.0, std::numeric_limits<double>::infinity(), false}; }
inline Range between(double lo, double hi) { return {lo, hi, false}; }
// Above lo (exclusive), up to hi.
inline Range above(double lo, double hi) { return {lo, hi, true}; }

// Physically plausible values, shared by the loaders (SI units). Generous on purpose: a value
// outside one is a typo, a wrong unit or an exponent too many, which `check` must refuse rather
// than leave for the run to fail on (or, worse, to complete with).
namespace plausible {
inline constexpr double kZeroCelsius = 273.15;
// A cell's voltage: limits, thresholds, setpoints (a pack's scale with its series count).
inline constexpr double kCellVoltageV = 10.0;
// A pack's current: 100 kA is far beyond any traction or storage pack's short-circuit current.
inline constexpr double kPackCurrentA = 1e5;
// A pack's power: a million 280 Ah cells at 3 C.
inline constexpr double kPackPowerW = 1e9;
// A cell's state: from arctic storage to thermal runaway (a cell at 800 degC is a scenario).
inline Range cell_temperature() { return between(kZeroCelsius - 100.0, kZeroCelsius + 1000.0); }
// What the cells are cooled towards: an ambient or a coolant, an oven test at most.
inline Range ambient_temperature() { return between(kZeroCelsius - 100.0, kZeroCelsius + 200.0); }
inline Range cell_voltage() { return above(0.0, kCellVoltageV); }
inline Range pack_current() { return between(-kPackCurrentA, kPackCurrentA); }
inline Range pack_current_magnitude() { return above(0.0, kPackCurrentA); }
// A resistor (a load, a precharge or balancing resistor): 1 uOhm .. 1 GOhm.
inline Range resistor() { return between(1e-6, 1e9); }
// A conductor in the current path (busbar, lead, contactor): 0 .. 10 Ohm.
inline Range conductor() { return between(0.0, 10.0); }
}  // namespace plausible

// A parsed TOML file. Owns the toml++ document.
class TomlFile {
 public:
  // Parses the file; on a syntax error, adds a located diagnostic and returns nullptr.
  static std::shared_ptr<TomlFile> load(const std::filesystem::path& path, Diagnostics& diags);
  static std::shared_ptr<TomlFile> parse(std::string_view text, const std::string& name,
                                         Diagnostics& diags);
  ~TomlFile();
  const toml::table& root() const;
  const std::string& name() const { return name_; }
  std::filesystem::path directory() const;

 private:
  TomlFile() = default;
  std::string name_;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class TableReader {
 public:
  TableReader(const toml::table& table, std::string prefix, const std::string& file,
              Diagnostics& diags);

  SourceLocation where() const;
  SourceLocation where(std::string_view key) const;
  SourceLocation where_of(const toml::node& node) const;
  const std::string& file() const { return *file_; }
  const toml::table& table_ref() const { return *table_; }
  Diagnostics& diagnostics() const { return *diags_; }
  std::string key_path(std::string_view key) const;

  bool has(std::string_view key) const;
  // The raw node (marks the key as known), or nullptr.
  const toml::node* node(std::string_view key);

  std::optional<std::string> string(std::string_view key, Need need = Need::kOptional);
  // One of `choices`.
  std::optional<std::string> choice(std::string_view key, const std::vector<std::string>& choices,
                                    Need need = Need::kOptional);
  std::optional<double> number(std::string_view key, Need need = Need::kOptional, Range range = {});
  std::optional<std::int64_t> integer(std::string_view key, Need need = Need::kOptional,
                                      std::int64_t min = std::numeric_limits<std::int64_t>::min(),
                                      std::int64_t max = std::numeric_limits<std::int64_t>::max());
  std::optional<bool> boolean(std::string_view key, Need need = Need::kOptional);
  // A quantity string with a unit of `dim` (bare numbers only for kRatio), converted to SI.
  std::optional<double> quantity(std::string_view key, Dimension dim, Need need = Need::kOptional,
                                 Range range = {});
  // A current that may also be written as a C-rate; c_rate_to_a converts C to amperes.
  std::optional<double> current(std::string_view key, double c_rate_to_a,
                                Need need = Need::kOptional, Range range = {});
  // A time rounded to integer nanoseconds.
  std::optional<std::int64_t> duration_ns(
      std::string_view key, Need need = Need::kOptional, std::int64_t min_ns = 0,
      std::int64_t max_ns = std::numeric_limits<std::int64_t>::max());

  std::optional<TableReader> table(std::string_view key, Need need = Need::kOptional);
  std::vector<TableReader> tables(std::string_view key, Need need = Need::kOptional);

  std::optional<std::vector<double>> numbers(std::string_view key, Need need = Need::kOptional);
  // Rows of numbers; every row must have `cols` entries when cols > 0.
  std::optional<std::vector<std::vector<double>>> matrix(std::string_view key,
                                                         Need need = Need::kOptional);
  std::optional<std::vector<std::string>> strings(std::string_view key,
                                                  Need need = Need::kOptional);

  void error(std::string_view key, const std::string& message) const;
  void error_at(const toml::node& node, const std::string& message) const;
  void error_here(const std::string& message) const;

  // Reports keys that no getter asked for.
  void finish();

 private:
  const toml::node* fetch(std::string_view key, Need need);
  bool check_range(std::string_view key, double v, Range range, const char* unit,
                   const std::string& written, bool absolute_temperature = false) const;

  const toml::table* table_;
  std::string prefix_;
  const std::string* file_;
  Diagnostics* diags_;
  std::set<std::string, std::less<>> used_;
};

// Resolves a path written in a config file: relative to the file's directory, then to the data
// directories (data_dirs.hpp); an absolute path as it is.
std::filesystem::path resolve_path(const std::filesystem::path& referencing_dir,
                                   const std::string& written);

// Why a file that resolve_path found (or did not) cannot be read, to follow "<what> '<written>' "
// in a message at the key that named it: "not found (looked in DIR, /usr/share/packsim)" naming
// every directory searched, "is a directory; expected a file", ...; "" when it can be read.
std::string referenced_file_problem(const std::filesystem::path& resolved,
                                    const std::filesystem::path& referencing_dir,
                                    const std::string& written = {});

// The directories a relative path is looked for in, for a message: "DIR, /usr/share/packsim, ...".
std::string searched_text(const std::filesystem::path& referencing_dir);

}  // namespace packsim::config
