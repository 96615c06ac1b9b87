#pragma once
// Held-out validation of the fitted cell models: replays each case of a manifest
// (data/measured/validation.toml) through the C++ cell model, tick by tick, and scores the terminal
// voltage against the measurement (RMS and 99.9th percentile of |error|; never the maximum, since
// single samples of current and voltage are out of step in these logs) and, for thermal cases, the
// temperature rise. The same code backs `packsim validate` and the tests that hold the README
// figures.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "packsim/util/diagnostic.hpp"

namespace packsim::config {

struct ValidationCase {
  std::string id;
  std::string note;
  std::string model;
  std::string profile;
  std::string current_column;
  double current_sign = 1.0;
  std::string voltage_column;
  double dt_s = 1.0;
  double initial_soc = 1.0;
  double initial_h = 0.0;
  double initial_s = 0.0;
  bool thermal = false;            // temperature from the lumped node, not measured
  std::string temperature_column;  // measured mode
  std::string ambient_column;      // thermal mode, or:
  std::optional<double> ambient_degc;
  std::string ambient_from_first_row_of;
  std::optional<double> initial_degc;
  std::string initial_from_first_row_of;
  std::string cell_temp_column;  // for the rise figures
  int first_row = 0;
  std::string mask_column;
  std::optional<double> bound_rms_mv;  // [case.bound]: what packsim promises (README)
  std::optional<double> bound_p999_mv;
  std::optional<double> bound_rise_rms_k;
};

struct ValidationResult {
  std::string id;
  double rms_mv = 0.0;
  double p999_mv = 0.0;
  double mean_mv = 0.0;
  std::size_t rows_scored = 0;
  bool has_rise = false;
  double rise_error_maxabs_k = 0.0;
  double rise_error_rms_k = 0.0;
  double rise_peak_measured_k = 0.0;
  double rise_peak_model_k = 0.0;
  std::uint64_t table_clamps = 0;
};

std::vector<ValidationCase> load_validation_manifest(const std::filesystem::path& path,
                                                     Diagnostics& diags);

// Paths in the case are relative to `root` (the repository root).
std::optional<ValidationResult> run_validation_case(const ValidationCase& c,
                                                    const std::filesystem::path& root,
                                                    Diagnostics& diags);

// Numeric CSV columns by name; '#' lines are comments, the first other line names the columns.
std::optional<std::vector<std::vector<double>>> read_csv_columns(
    const std::filesystem::path& path, const std::vector<std::string>& columns, Diagnostics& diags);

}  // namespace packsim::config
