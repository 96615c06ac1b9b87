#include "packsim/config/validation.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>

#include "packsim/config/loaders.hpp"
#include "packsim/config/toml_reader.hpp"
#include "packsim/model/cell.hpp"
#include "packsim/util/input_file.hpp"

namespace packsim::config {

std::optional<std::vector<std::vector<double>>> read_csv_columns(
    const std::filesystem::path& path, const std::vector<std::string>& columns,
    Diagnostics& diags) {
  const std::string name = path.string();
  std::string text, problem;
  if (!read_input_file(path, text, problem)) {
    diags.error({name, 0, 0}, problem);
    return std::nullopt;
  }
  std::istringstream in(text);
  std::string line;
  int line_no = 0;
  std::vector<int> index(columns.size(), -1);
  bool header = false;
  std::vector<std::vector<double>> out(columns.size());
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> cells;
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, ',')) {
      cell.erase(0, cell.find_first_not_of(' '));
      cell.erase(cell.find_last_not_of(' ') + 1);
      cells.push_back(cell);
    }
    if (!header) {
      header = true;
      for (std::size_t k = 0; k < columns.size(); ++k) {
        for (std::size_t c = 0; c < cells.size(); ++c) {
          if (cells[c] == columns[k]) index[k] = static_cast<int>(c);
        }
        if (index[k] < 0) {
          diags.error({name, line_no, 1}, "no column '" + columns[k] + "' (columns: " + line + ")");
          return std::nullopt;
        }
      }
      continue;
    }
    for (std::size_t k = 0; k < columns.size(); ++k) {
      const auto c = static_cast<std::size_t>(index[k]);
      double v = 0.0;
      if (c >= cells.size()) {
        diags.error({name, line_no, 1}, "row has " + std::to_string(cells.size()) + " columns");
        return std::nullopt;
      }
      const char* b = cells[c].data();
      const auto [ptr, ec] = std::from_chars(b, b + cells[c].size(), v);
      if (ec != std::errc() || ptr != b + cells[c].size()) {
        diags.error({name, line_no, 1},
                    "expected a number in column '" + columns[k] + "', got \"" + cells[c] + "\"");
        return std::nullopt;
      }
      out[k].push_back(v);
    }
  }
  if (!header) {
    diags.error({name, line_no, 1}, "no header row");
    return std::nullopt;
  }
  return out;
}

std::vector<ValidationCase> load_validation_manifest(const std::filesystem::path& path,
                                                     Diagnostics& diags) {
  std::vector<ValidationCase> cases;
  const auto file = TomlFile::load(path, diags);
  if (!file) return cases;
  TableReader root(file->root(), "", file->name(), diags);
  root.integer("schema");
  for (auto& t : root.tables("case")) {
    ValidationCase c;
    c.id = t.string("id", Need::kRequired).value_or("");
    c.note = t.string("note").value_or("");
    c.model = t.string("model", Need::kRequired).value_or("");
    c.profile = t.string("profile", Need::kRequired).value_or("");
    t.string("time_column");
    c.current_column = t.string("current_column", Need::kRequired).value_or("");
    // A sign, or a unit factor (mA to A) at most.
    c.current_sign = t.number("current_sign", Need::kOptional, between(-1e3, 1e3)).value_or(1.0);
    c.voltage_column = t.string("voltage_column", Need::kRequired).value_or("");
    c.dt_s = t.number("dt_s", Need::kRequired, above(0.0, 3600.0)).value_or(1.0);
    c.initial_soc = t.number("initial_soc", Need::kOptional, between(-0.5, 1.5)).value_or(1.0);
    c.initial_h = t.number("initial_h", Need::kOptional, between(-1, 1)).value_or(0.0);
    c.initial_s = t.number("initial_s", Need::kOptional, between(-1, 1)).value_or(0.0);
    if (auto tt = t.table("temperature", Need::kRequired)) {
      const auto mode =
          tt->choice("mode", {"measured", "thermal"}, Need::kRequired).value_or("measured");
      c.thermal = mode == "thermal";
      c.temperature_column = tt->string("column").value_or("");
      c.ambient_column = tt->string("ambient_column").value_or("");
      c.ambient_degc = tt->number("ambient_degc", Need::kOptional, between(-100.0, 200.0));
      c.ambient_from_first_row_of = tt->string("ambient_from_first_row_of").value_or("");
      c.initial_degc = tt->number("initial_degc", Need::kOptional, between(-100.0, 1000.0));
      c.initial_from_first_row_of = tt->string("initial_from_first_row_of").value_or("");
      c.cell_temp_column = tt->string("cell_temp_column").value_or("");
      if (!c.thermal && c.temperature_column.empty())
        tt->error_here("measured mode needs 'column'");
      tt->finish();
    }
    if (auto s = t.table("score")) {
      c.first_row = static_cast<int>(s->integer("first_row", Need::kOptional, 0).value_or(0));
      c.mask_column = s->string("mask_column").value_or("");
      s->finish();
    }
    t.node("python");  // the Python reference's figures, for comparison by readers
    if (auto b = t.table("bound")) {
      c.bound_rms_mv = b->number("rms_mv", Need::kOptional, above(0.0, 1e4));
      c.bound_p999_mv = b->number("p999_mv", Need::kOptional, above(0.0, 1e4));
      c.bound_rise_rms_k = b->number("rise_rms_k", Need::kOptional, above(0.0, 1e3));
      b->finish();
    }
    t.finish();
    cases.push_back(std::move(c));
  }
  root.finish();
  return cases;
}

std::optional<ValidationResult> run_validation_case(const ValidationCase& c,
                                                    const std::filesystem::path& root,
                                                    Diagnostics& diags) {
  const auto cell = load_cell_type(root / c.model, diags);
  if (!cell) return std::nullopt;
  std::vector<std::string> cols = {c.current_column, c.voltage_column};
  auto add = [&](const std::string& name) -> int {
    if (name.empty()) return -1;
    for (std::size_t k = 0; k < cols.size(); ++k) {
      if (cols[k] == name) return static_cast<int>(k);
    }
    cols.push_back(name);
    return static_cast<int>(cols.size() - 1);
  };
  const int col_temp = add(c.temperature_column);
  const int col_amb = add(c.ambient_column);
  const int col_amb_first = add(c.ambient_from_first_row_of);
  const int col_init_first = add(c.initial_from_first_row_of);
  const int col_cell_t = add(c.cell_temp_column);
  const int col_mask = add(c.mask_column);
  auto data = read_csv_columns(root / c.profile, cols, diags);
  if (!data) return std::nullopt;
  const auto& d = *data;
  const std::size_t n = d[0].size();
  auto col = [&](int k, std::size_t row) { return d[static_cast<std::size_t>(k)][row]; };

  const model::CellTables t = model::compile_cell(*cell, c.dt_s);
  const double inv_q = 1.0 / cell->capacity_as;
  model::CellState st;
  st.z = c.initial_soc;
  st.h = c.initial_h;
  st.s = c.initial_s;
  constexpr double kC = model::kZeroCelsiusK;
  double temp_k = kC + 25.0;
  double ambient_k = kC + 25.0;
  if (c.thermal) {
    if (c.ambient_degc) ambient_k = kC + *c.ambient_degc;
    if (col_amb_first >= 0) ambient_k = kC + col(col_amb_first, 0);
    temp_k = c.initial_degc ? kC + *c.initial_degc
                            : (col_init_first >= 0 ? kC + col(col_init_first, 0) : ambient_k);
  }
  const double heat_cap = cell->mass_kg * cell->specific_heat;
  const double ha = cell->h_conv * cell->surface_area_m2;

  ValidationResult r;
  r.id = c.id;
  std::vector<double> abs_err;
  double sum2 = 0.0, sum = 0.0, rise_sum2 = 0.0;
  const double t0_cell = col_cell_t >= 0 ? col(col_cell_t, 0) : 0.0;
  const double t0_model = temp_k - kC;
  for (std::size_t row = 0; row < n; ++row) {
    const double i = c.current_sign * col(0, row);
    if (!c.thermal) temp_k = kC + col(col_temp, row);
    if (c.thermal && col_amb >= 0) ambient_k = kC + col(col_amb, row);
    const model::CellLookup p = model::lookup_cell(t, st.z, temp_k);
    r.table_clamps += static_cast<std::uint64_t>(model::clamped_lookups(p));
    const model::CellStepResult res = model::advance_cell(t, p, st, inv_q, i, temp_k);
    if (c.thermal) {
      const double cdt = heat_cap / c.dt_s;
      temp_k = (cdt * temp_k + res.heat.total() + ha * ambient_k) / (cdt + ha);
    }
    if (c.thermal && col_cell_t >= 0) {
      const double rise_meas = col(col_cell_t, row) - t0_cell;
      const double rise_model = (temp_k - kC) - t0_model;
      const double e = rise_model - rise_meas;
      r.rise_error_maxabs_k = std::max(r.rise_error_maxabs_k, std::fabs(e));
      rise_sum2 += e * e;
      r.rise_peak_measured_k = std::max(r.rise_peak_measured_k, rise_meas);
      r.rise_peak_model_k = std::max(r.rise_peak_model_k, rise_model);
      r.has_rise = true;
    }
    if (static_cast<int>(row) < c.first_row) continue;
    if (col_mask >= 0 && col(col_mask, row) == 0.0) continue;
    const double e = (res.v - col(1, row)) * 1e3;
    sum += e;
    sum2 += e * e;
    abs_err.push_back(std::fabs(e));
  }
  r.rows_scored = abs_err.size();
  if (r.rows_scored > 0) {
    const double nn = static_cast<double>(r.rows_scored);
    r.rms_mv = std::sqrt(sum2 / nn);
    r.mean_mv = sum / nn;
    std::sort(abs_err.begin(), abs_err.end());
    // numpy.percentile's default: linear between order statistics.
    const double pos = 0.999 * (nn - 1.0);
    const auto lo = static_cast<std::size_t>(pos);
    const std::size_t hi = std::min(lo + 1, abs_err.size() - 1);
    r.p999_mv = abs_err[lo] + (pos - static_cast<double>(lo)) * (abs_err[hi] - abs_err[lo]);
  }
  if (r.has_rise) r.rise_error_rms_k = std::sqrt(rise_sum2 / static_cast<double>(n));
  return r;
}

}  // namespace packsim::config
