#include "packsim/config/toml_reader.hpp"

#include <toml++/toml.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "packsim/util/input_file.hpp"
#include "packsim/util/suggest.hpp"

namespace packsim::config {

namespace {
SourceLocation location_of(const std::string& file, const toml::source_region& region) {
  return {file, static_cast<int>(region.begin.line), static_cast<int>(region.begin.column)};
}

std::string type_name(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a number";
    case toml::node_type::boolean:
      return "a boolean";
    default:
      return "a date/time";
  }
}

}  // namespace

struct TomlFile::Impl {
  toml::table table;
};

TomlFile::~TomlFile() = default;

std::shared_ptr<TomlFile> TomlFile::parse(std::string_view text, const std::string& name,
                                          Diagnostics& diags) {
  std::shared_ptr<TomlFile> f(new TomlFile());
  f->name_ = name;
  f->impl_ = std::make_unique<Impl>();
  try {
    f->impl_->table = toml::parse(text, name);
  } catch (const toml::parse_error& e) {
    diags.error(location_of(name, e.source()), "TOML syntax: " + std::string(e.description()));
    return nullptr;
  }
  return f;
}

std::shared_ptr<TomlFile> TomlFile::load(const std::filesystem::path& path, Diagnostics& diags) {
  std::string text, problem;
  if (!read_input_file(path, text, problem)) {
    diags.error({path.string(), 0, 0}, problem);
    return nullptr;
  }
  return parse(text, path.string(), diags);
}

const toml::table& TomlFile::root() const { return impl_->table; }

std::filesystem::path TomlFile::directory() const {
  return std::filesystem::path(name_).parent_path();
}

TableReader::TableReader(const toml::table& table, std::string prefix, const std::string& file,
                         Diagnostics& diags)
    : table_(&table), prefix_(std::move(prefix)), file_(&file), diags_(&diags) {}

std::string TableReader::key_path(std::string_view key) const {
  return prefix_.empty() ? std::string(key) : prefix_ + "." + std::string(key);
}

SourceLocation TableReader::where() const { return location_of(*file_, table_->source()); }

SourceLocation TableReader::where(std::string_view key) const {
  const auto it = table_->find(key);
  if (it == table_->end()) return where();
  return location_of(*file_, it->first.source());
}

bool TableReader::has(std::string_view key) const { return table_->contains(key); }

void TableReader::error(std::string_view key, const std::string& message) const {
  const auto it = table_->find(key);
  if (it != table_->end()) {
    diags_->error(location_of(*file_, it->second.source()), key_path(key) + ": " + message);
  } else {
    diags_->error(where(), key_path(key) + ": " + message);
  }
}

SourceLocation TableReader::where_of(const toml::node& node) const {
  return location_of(*file_, node.source());
}

void TableReader::error_at(const toml::node& node, const std::string& message) const {
  diags_->error(where_of(node), message);
}

void TableReader::error_here(const std::string& message) const {
  diags_->error(where(), (prefix_.empty() ? std::string() : prefix_ + ": ") + message);
}

const toml::node* TableReader::fetch(std::string_view key, Need need) {
  used_.emplace(key);
  const toml::node* n = table_->get(key);
  if (!n && need == Need::kRequired) {
    diags_->error(where(), "missing required key '" + key_path(key) + "'");
  }
  return n;
}

const toml::node* TableReader::node(std::string_view key) { return fetch(key, Need::kOptional); }

bool TableReader::check_range(std::string_view key, double v, Range range, const char* unit,
                              const std::string& written, bool absolute_temperature) const {
  const bool below = range.min_exclusive ? !(v > range.min) : !(v >= range.min);
  const bool above = !(v <= range.max);
  if (!below && !above) return true;
  // Values and limits in the SI unit packsim holds them in, with the text as written when it had
  // another unit ("-300 degC" is 26.85 K below zero, which is what the limit is about);
  // temperature limits in degC too, the unit files are written in.
  const std::string u = *unit ? std::string(" ") + unit : std::string();
  auto limit = [&](double x) {
    std::string s = format_number(x) + u;
    if (absolute_temperature) s += " (" + format_number(x - plausible::kZeroCelsius) + " degC)";
    return s;
  };
  std::string expect;
  if (std::isinf(range.max)) {
    expect = std::string(range.min_exclusive ? "> " : ">= ") + limit(range.min);
  } else if (std::isinf(range.min)) {
    expect = "<= " + limit(range.max);
  } else {
    expect = "between " + limit(range.min) + (range.min_exclusive ? " (exclusive)" : "") + " and " +
             limit(range.max);
  }
  std::string value = format_number(v) + u;
  if (!written.empty() && written != value) value = "\"" + written + "\" (" + value + ")";
  error(key, "value " + value + " out of range; expected " + expect);
  return false;
}

std::optional<std::string> TableReader::string(std::string_view key, Need need) {
  const toml::node* n = fetch(key, need);
  if (!n) return std::nullopt;
  if (const auto* s = n->as_string()) {
    // A NUL would cut a path short without a word (the rest silently ignored); a newline or any
    // other control character has no place in a name, label or path either.
    for (const char ch : s->get()) {
      const auto c = static_cast<unsigned char>(ch);
      if ((c < 0x20 && c != '\t') || c == 0x7f) {
        error(key, "contains a control character; expected printable text");
        return std::nullopt;
      }
    }
    return s->get();
  }
  error(key, "expected a string, got " + type_name(*n));
  return std::nullopt;
}

std::optional<std::string> TableReader::choice(std::string_view key,
                                               const std::vector<std::string>& choices, Need need) {
  auto s = string(key, need);
  if (!s) return std::nullopt;
  for (const auto& c : choices) {
    if (c == *s) return s;
  }
  std::string list;
  for (const auto& c : choices) list += (list.empty() ? "" : ", ") + ("\"" + c + "\"");
  error(key, "\"" + *s + "\" is not one of " + list + did_you_mean(*s, choices));
  return std::nullopt;
}

std::optional<double> TableReader::number(std::string_view key, Need need, Range range) {
  const toml::node* n = fetch(key, need);
  if (!n) return std::nullopt;
  double v = 0.0;
  if (const auto* f = n->as_floating_point()) {
    v = f->get();
  } else if (const auto* i = n->as_integer()) {
    v = static_cast<double>(i->get());
  } else {
    error(key, "expected a number, got " + type_name(*n));
    return std::nullopt;
  }
  if (!std::isfinite(v)) {
    error(key, "expected a finite number");
    return std::nullopt;
  }
  if (!check_range(key, v, range, "", {})) return std::nullopt;
  return v;
}

std::optional<std::int64_t> TableReader::integer(std::string_view key, Need need, std::int64_t min,
                                                 std::int64_t max) {
  const toml::node* n = fetch(key, need);
  if (!n) return std::nullopt;
  const auto* i = n->as_integer();
  if (!i) {
    error(key, "expected an integer, got " + type_name(*n));
    return std::nullopt;
  }
  const std::int64_t v = i->get();
  if (v < min || v > max) {
    error(key, "value " + std::to_string(v) + " out of range; expected " +
                   (max == std::numeric_limits<std::int64_t>::max()
                        ? ">= " + std::to_string(min)
                        : "between " + std::to_string(min) + " and " + std::to_string(max)));
    return std::nullopt;
  }
  return v;
}

std::optional<bool> TableReader::boolean(std::string_view key, Need need) {
  const toml::node* n = fetch(key, need);
  if (!n) return std::nullopt;
  if (const auto* b = n->as_boolean()) return b->get();
  error(key, "expected true or false, got " + type_name(*n));
  return std::nullopt;
}

std::optional<double> TableReader::quantity(std::string_view key, Dimension dim, Need need,
                                            Range range) {
  const toml::node* n = fetch(key, need);
  if (!n) return std::nullopt;
  if (n->is_number()) {
    if (dim == Dimension::kRatio) return number(key, need, range);
    error(key, "bare number has no unit; expected " + with_article(dimension_name(dim)) +
                   " as a string like \"1.5 " +
                   dimension_units(dim).substr(0, dimension_units(dim).find(',')) +
                   "\" (units: " + dimension_units(dim) + ")");
    return std::nullopt;
  }
  const auto* s = n->as_string();
  if (!s) {
    error(key,
          "expected " + with_article(dimension_name(dim)) + " with a unit, got " + type_name(*n));
    return std::nullopt;
  }
  const QuantityResult q = parse_quantity(s->get(), dim);
  if (!q.value) {
    error(key, q.error);
    return std::nullopt;
  }
  if (dim == Dimension::kRatio && s->get().find('%') != std::string::npos) {
    // A percentage is checked and reported in percent.
    const Range pct{range.min * 100.0, range.max * 100.0, range.min_exclusive};
    if (!check_range(key, *q.value * 100.0, pct, "%", {})) return std::nullopt;
    return q.value;
  }
  if (!check_range(key, *q.value, range, si_unit(dim), s->get(), dim == Dimension::kTemperature))
    return std::nullopt;
  return q.value;
}

std::optional<double> TableReader::current(std::string_view key, double c_rate_to_a, Need need,
                                           Range range) {
  const toml::node* n = fetch(key, need);
  if (!n) return std::nullopt;
  const auto* s = n->as_string();
  if (!s) {
    error(key, "expected a current with a unit (A, mA, or C for multiples of the capacity), got " +
                   type_name(*n));
    return std::nullopt;
  }
  QuantityResult q = parse_quantity(s->get(), Dimension::kCurrent, true);
  if (!q.value) {
    error(key, q.error);
    return std::nullopt;
  }
  double v = q.is_c_rate ? *q.value * c_rate_to_a : *q.value;
  if (!check_range(key, v, range, "A", s->get())) return std::nullopt;
  return v;
}

std::optional<std::int64_t> TableReader::duration_ns(std::string_view key, Need need,
                                                     std::int64_t min_ns, std::int64_t max_ns) {
  const auto s = quantity(key, Dimension::kTime, need);
  if (!s) return std::nullopt;
  const double ns = std::round(*s * 1e9);
  if (ns < static_cast<double>(min_ns) || ns > static_cast<double>(max_ns)) {
    auto fmt = [](std::int64_t v) { return format_number(static_cast<double>(v) * 1e-9) + " s"; };
    error(key, "time out of range; expected between " + fmt(min_ns) + " and " + fmt(max_ns));
    return std::nullopt;
  }
  return static_cast<std::int64_t>(ns);
}

std::optional<TableReader> TableReader::table(std::string_view key, Need need) {
  const toml::node* n = fetch(key, need);
  if (!n) return std::nullopt;
  if (const auto* t = n->as_table()) return TableReader(*t, key_path(key), *file_, *diags_);
  error(key, "expected a table, got " + type_name(*n));
  return std::nullopt;
}

std::vector<TableReader> TableReader::tables(std::string_view key, Need need) {
  std::vector<TableReader> out;
  const toml::node* n = fetch(key, need);
  if (!n) return out;
  const auto* arr = n->as_array();
  if (!arr) {
    error(key, "expected an array of tables ([[" + key_path(key) + "]]), got " + type_name(*n));
    return out;
  }
  std::size_t index = 0;
  for (const auto& item : *arr) {
    if (const auto* t = item.as_table()) {
      out.emplace_back(*t, key_path(key) + "[" + std::to_string(index) + "]", *file_, *diags_);
    } else {
      error_at(item, key_path(key) + ": expected a table, got " + type_name(item));
    }
    ++index;
  }
  return out;
}

std::optional<std::vector<double>> TableReader::numbers(std::string_view key, Need need) {
  const toml::node* n = fetch(key, need);
  if (!n) return std::nullopt;
  const auto* arr = n->as_array();
  if (!arr) {
    error(key, "expected an array of numbers, got " + type_name(*n));
    return std::nullopt;
  }
  std::vector<double> out;
  bool ok = true;
  for (const auto& item : *arr) {
    if (const auto* f = item.as_floating_point()) {
      out.push_back(f->get());
    } else if (const auto* i = item.as_integer()) {
      out.push_back(static_cast<double>(i->get()));
    } else {
      error_at(item, key_path(key) + ": expected a number, got " + type_name(item));
      ok = false;
      continue;
    }
    if (!std::isfinite(out.back())) {
      error_at(item, key_path(key) + ": expected a finite number");
      ok = false;
    }
  }
  if (!ok) return std::nullopt;
  return out;
}

std::optional<std::vector<std::vector<double>>> TableReader::matrix(std::string_view key,
                                                                    Need need) {
  const toml::node* n = fetch(key, need);
  if (!n) return std::nullopt;
  const auto* arr = n->as_array();
  if (!arr) {
    error(key, "expected an array of rows (arrays of numbers), got " + type_name(*n));
    return std::nullopt;
  }
  std::vector<std::vector<double>> out;
  bool ok = true;
  for (const auto& row_node : *arr) {
    const auto* row = row_node.as_array();
    if (!row) {
      error_at(row_node,
               key_path(key) + ": expected a row (array of numbers), got " + type_name(row_node));
      ok = false;
      continue;
    }
    std::vector<double> values;
    for (const auto& item : *row) {
      if (const auto* f = item.as_floating_point()) {
        if (!std::isfinite(f->get())) {
          error_at(item, key_path(key) + ": expected a finite number");
          ok = false;
        }
        values.push_back(f->get());
      } else if (const auto* i = item.as_integer()) {
        values.push_back(static_cast<double>(i->get()));
      } else {
        error_at(item, key_path(key) + ": expected a number, got " + type_name(item));
        ok = false;
      }
    }
    out.push_back(std::move(values));
  }
  if (!ok) return std::nullopt;
  return out;
}

std::optional<std::vector<std::string>> TableReader::strings(std::string_view key, Need need) {
  const toml::node* n = fetch(key, need);
  if (!n) return std::nullopt;
  std::vector<std::string> out;
  if (const auto* s = n->as_string()) {
    out.push_back(s->get());
    return out;
  }
  const auto* arr = n->as_array();
  if (!arr) {
    error(key, "expected a string or an array of strings, got " + type_name(*n));
    return std::nullopt;
  }
  bool ok = true;
  for (const auto& item : *arr) {
    if (const auto* s = item.as_string()) {
      out.push_back(s->get());
    } else {
      error_at(item, key_path(key) + ": expected a string, got " + type_name(item));
      ok = false;
    }
  }
  if (!ok) return std::nullopt;
  return out;
}

void TableReader::finish() {
  const std::vector<std::string> known_keys(used_.begin(), used_.end());
  for (const auto& [k, v] : *table_) {
    if (used_.find(k.str()) != used_.end()) continue;
    std::string known;
    for (const auto& u : used_) known += (known.empty() ? "" : ", ") + u;
    diags_->error(location_of(*file_, k.source()),
                  "unknown key '" + key_path(k.str()) + "'" + did_you_mean(k.str(), known_keys) +
                      (known.empty() ? std::string() : "; expected one of: " + known));
  }
}

std::filesystem::path resolve_path(const std::filesystem::path& referencing_dir,
                                   const std::string& written) {
  std::filesystem::path p(written);
  if (p.is_absolute()) return p;
  const auto local = referencing_dir / p;
  if (input_exists(local)) return local.lexically_normal();
  for (const auto& dir : data_dirs()) {
    const auto candidate = dir / p;
    if (input_exists(candidate)) return candidate.lexically_normal();
  }
  return local.lexically_normal();
}

std::string searched_text(const std::filesystem::path& referencing_dir) {
  const std::string dirs = data_dirs_text();
  return (referencing_dir.empty() ? std::string(".") : referencing_dir.string()) +
         (dirs.empty() ? "; no data directory: PACKSIM_DATA_DIR is not set" : ", " + dirs);
}

std::string referenced_file_problem(const std::filesystem::path& resolved,
                                    const std::filesystem::path& referencing_dir,
                                    const std::string& written) {
  if (!input_exists(resolved)) {
    // An absolute path is looked for nowhere else.
    if (std::filesystem::path(written).is_absolute()) return "not found";
    return "not found (looked in " + searched_text(referencing_dir) + ")";
  }
  return input_file_problem(resolved);
}

}  // namespace packsim::config
