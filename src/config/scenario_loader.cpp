// scenarios/*.toml -> sim::Scenario (with the pack and cell it names), and CSV load profiles.
#include <toml++/toml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>

#include "packsim/config/loaders.hpp"
#include "packsim/config/toml_reader.hpp"
#include "packsim/util/input_file.hpp"
#include "packsim/util/suggest.hpp"

namespace packsim::config {
namespace {

struct WatchInfo {
  const char* name;
  sim::Watch watch;
  Dimension dim;
};
constexpr WatchInfo kWatches[] = {
    {"cell_v_min", sim::Watch::kCellVMin, Dimension::kVoltage},
    {"cell_v_max", sim::Watch::kCellVMax, Dimension::kVoltage},
    {"pack_v", sim::Watch::kPackV, Dimension::kVoltage},
    {"current", sim::Watch::kCurrent, Dimension::kCurrent},
    {"abs_current", sim::Watch::kAbsCurrent, Dimension::kCurrent},
    {"soc", sim::Watch::kSocMean, Dimension::kRatio},
    {"soc_min", sim::Watch::kSocMin, Dimension::kRatio},
    {"soc_max", sim::Watch::kSocMax, Dimension::kRatio},
    {"temp_max", sim::Watch::kTempMax, Dimension::kTemperature},
    {"temp_min", sim::Watch::kTempMin, Dimension::kTemperature},
};

// "cell_v_min < 2.5 V"
std::optional<sim::StopCondition> parse_condition(const std::string& text, double c_rate_to_a,
                                                  int series, std::string& error) {
  // "name < value" with or without spaces around the operator.
  const std::size_t at = text.find_first_of("<>");
  auto trim = [](const std::string& x) {
    const auto b = x.find_first_not_of(" \t");
    const auto e = x.find_last_not_of(" \t");
    return b == std::string::npos ? std::string() : x.substr(b, e - b + 1);
  };
  const std::string name = trim(text.substr(0, at));
  const std::string op = at == std::string::npos ? std::string() : text.substr(at, 1);
  const std::string rest = at == std::string::npos ? std::string() : text.substr(at + 1);
  const WatchInfo* w = nullptr;
  for (const auto& candidate : kWatches) {
    if (name == candidate.name) w = &candidate;
  }
  if (!w) {
    std::string list;
    std::vector<std::string> names;
    for (const auto& c : kWatches) {
      list += (list.empty() ? "" : ", ") + std::string(c.name);
      names.emplace_back(c.name);
    }
    error = "condition \"" + text + "\": unknown quantity '" + name + "'" +
            did_you_mean(name, names) + "; expected one of " + list;
    return std::nullopt;
  }
  if (op != "<" && op != ">") {
    error = "condition \"" + text + "\": expected '<' or '>' after '" + name + "'";
    return std::nullopt;
  }
  QuantityResult q = parse_quantity(rest, w->dim, w->dim == Dimension::kCurrent);
  if (!q.value) {
    error = "condition \"" + text + "\": " + q.error;
    return std::nullopt;
  }
  const double value = q.is_c_rate ? *q.value * c_rate_to_a : *q.value;
  if (w->dim != Dimension::kRatio) {
    // What the watched quantity can plausibly be: a cell's voltage (any sign: a reversed cell),
    // a pack's, a pack's current, a cell's temperature.
    const double cell_v = plausible::kCellVoltageV;
    const Range r =
        w->dim == Dimension::kVoltage
            ? (w->watch == sim::Watch::kPackV ? between(-cell_v * series, cell_v * series)
                                              : between(-cell_v, cell_v))
        : w->dim == Dimension::kCurrent ? plausible::pack_current()
                                        : plausible::cell_temperature();
    if (!(value >= r.min && value <= r.max)) {
      const bool kelvin = w->dim == Dimension::kTemperature;
      const char* unit = si_unit(w->dim);
      auto limit = [&](double x) {
        return format_number(x) + " " + unit +
               (kelvin ? " (" + format_number(x - plausible::kZeroCelsius) + " degC)" : "");
      };
      error = "condition \"" + text + "\": threshold " + format_number(value) + " " + unit +
              " out of range; expected between " + limit(r.min) + " and " + limit(r.max);
      return std::nullopt;
    }
  }
  if (w->dim == Dimension::kRatio && (*q.value < 0.0 || *q.value > 1.0)) {
    error = "condition \"" + text + "\": " + format_number(*q.value * 100.0) +
            " % is not a state of charge; expected 0 % to 100 % (a bare number is a fraction: "
            "write \"10 %\" or 0.1)";
    return std::nullopt;
  }
  sim::StopCondition c;
  c.watch = w->watch;
  c.below = op == "<";
  c.threshold = value;
  c.text = text;
  return c;
}

constexpr Range kPackPower{-plausible::kPackPowerW, plausible::kPackPowerW, false};

std::optional<model::ContactorState> parse_contactors(TableReader& t, std::string_view key) {
  const auto s = t.choice(key, {"open", "closed", "precharge"});
  if (!s) return std::nullopt;
  if (*s == "open") return model::ContactorState{false, false, false};
  if (*s == "closed") return model::ContactorState{true, true, false};
  return model::ContactorState{false, true, true};
}

// CAN fault events name a TX message of the profile: resolve them once it is loaded, and check
// the fault makes sense for that message.
void resolve_can_faults(sim::Scenario& sc, Diagnostics& diags) {
  for (auto& e : sc.events) {
    if (!e.can_fault) continue;
    sim::CanFaultEvent& f = *e.can_fault;
    if (!sc.profile) {
      if (sc.bms.mode == sim::BmsMode::kNone)
        diags.error(f.where, "can_fault needs frames on a bus: [bms] mode is \"none\"");
      continue;
    }
    const can::Profile& p = *sc.profile;
    std::size_t k = 0;
    while (k < p.tx.size() && p.tx[k].name != f.message) ++k;
    if (k == p.tx.size()) {
      std::string names;
      std::vector<std::string> candidates;
      for (const auto& tx : p.tx) {
        names += (names.empty() ? "" : ", ") + tx.name;
        candidates.push_back(tx.name);
      }
      diags.error(f.where, "can_fault.message: profile '" + p.name + "' sends no '" + f.message +
                               "'" + did_you_mean(f.message, candidates) +
                               "; expected one of: " + names);
      continue;
    }
    f.tx_message = k;
    int instances = 0;
    bool has_counter = false;
    for (const auto& fr : p.frames) {
      if (fr.message != k) continue;
      instances = std::max(instances, fr.instance + 1);
      for (const auto& s : fr.slots) has_counter = has_counter || s.source == can::Source::kCounter;
    }
    if (f.instance >= instances) {
      diags.error(f.where, "can_fault.module: " + f.message + " has " + std::to_string(instances) +
                               " instance(s); expected a module below that");
    }
    if (f.fault == can::TxFault::kCorruptCrc && !p.tx[k].e2e) {
      diags.error(f.where, "can_fault: " + f.message + " carries no CRC to corrupt");
    }
    if (f.fault == can::TxFault::kRepeatCounter && !p.tx[k].e2e && !has_counter) {
      diags.error(f.where, "can_fault: " + f.message + " carries no counter to repeat");
    }
  }
}

// [record] can_log, can_log_max, can_log_keep.
void read_can_log_keys(TableReader& t, sim::RecordSpec& record) {
  if (const auto mode = t.choice("can_log", {"all", "rx", "tx", "off"})) {
    record.can_log = *mode == "rx"    ? sim::CanLogMode::kRx
                     : *mode == "tx"  ? sim::CanLogMode::kTx
                     : *mode == "off" ? sim::CanLogMode::kOff
                                      : sim::CanLogMode::kAll;
  }
  if (const toml::node* n = t.node("can_log_max")) {
    // A size with its unit, or a whole number of bytes.
    ByteSizeResult size;
    if (const auto* i = n->as_integer()) {
      if (i->get() >= 0) size.value = static_cast<std::uint64_t>(i->get());
    } else if (const auto* text = n->as_string()) {
      size = parse_byte_size(text->get());
    }
    if (!size.value) {
      t.error("can_log_max",
              size.error.empty() ? "expected a size such as \"100 MB\"" : size.error);
    } else if (*size.value < sim::kMinCanLogMaxBytes) {
      t.error("can_log_max", std::to_string(*size.value) +
                                 " bytes is too small; expected at least " +
                                 std::to_string(sim::kMinCanLogMaxBytes) + " bytes");
    } else if (record.can_log == sim::CanLogMode::kOff) {
      t.error("can_log_max", "does nothing with can_log = \"off\"");
    } else {
      record.can_log_max_bytes = *size.value;
    }
  }
  if (const auto keep = t.integer("can_log_keep", Need::kOptional, 1, sim::kMaxCanLogKeep)) {
    if (!t.has("can_log_max")) {
      t.error("can_log_keep", "does nothing without can_log_max (can.log is not rotated)");
    } else {
      record.can_log_keep = static_cast<int>(*keep);
    }
  }
}

}  // namespace

std::optional<sim::Profile> load_profile_csv(const std::filesystem::path& path,
                                             const std::string& time_column,
                                             const std::string& value_column, double scale,
                                             Diagnostics& diags, Range value_range,
                                             const char* unit) {
  const std::string name = path.string();
  std::string text, problem;
  if (!read_input_file(path, text, problem)) {
    diags.error({name, 0, 0}, problem + " (a load profile)");
    return std::nullopt;
  }
  std::istringstream in(text);
  const std::size_t errors_before = diags.size();
  std::string line;
  int line_no = 0;
  // '#' lines (attribution, notes) may precede the header.
  bool have_header = false;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line[0] == '#') continue;
    have_header = true;
    break;
  }
  if (!have_header) {
    diags.error({name, 1, 1}, "empty file; expected a header row naming the columns");
    return std::nullopt;
  }
  const int header_line = line_no;
  std::vector<std::string> header;
  {
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, ',')) {
      cell.erase(0, cell.find_first_not_of(" \t\r"));
      cell.erase(cell.find_last_not_of(" \t\r") + 1);
      header.push_back(cell);
    }
  }
  auto column = [&](const std::string& want) -> int {
    for (std::size_t i = 0; i < header.size(); ++i) {
      if (header[i] == want) return static_cast<int>(i);
    }
    diags.error({name, header_line, 1},
                "no column '" + want + "' in the header (columns: " + line + ")");
    return -1;
  };
  const int tcol = column(time_column), vcol = column(value_column);
  if (tcol < 0 || vcol < 0) return std::nullopt;

  sim::Profile p;
  p.source = name;
  double t0 = 0.0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos || line[0] == '#') continue;
    std::size_t start = 0;
    int col = 0;
    double t = 0.0, v = 0.0;
    bool have_t = false, have_v = false;
    std::size_t v_start = 0;
    while (start <= line.size()) {
      std::size_t end = line.find(',', start);
      if (end == std::string::npos) end = line.size();
      if (col == tcol || col == vcol) {
        const char* b = line.data() + start;
        const char* e = line.data() + end;
        while (b < e && (*b == ' ' || *b == '\t')) ++b;
        while (e > b && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r')) --e;
        double x = 0.0;
        const auto [ptr, ec] = std::from_chars(b, e, x);
        if (ec != std::errc() || ptr != e || !std::isfinite(x)) {
          diags.error({name, line_no, static_cast<int>(start) + 1},
                      "expected a number in column '" + header[static_cast<std::size_t>(col)] +
                          "', got \"" + std::string(b, e) + "\"");
        } else if (col == tcol) {
          t = x;
          have_t = true;
        } else {
          v = x;
          v_start = start;
          have_v = true;
        }
      }
      ++col;
      start = end + 1;
    }
    if (!have_t || !have_v) {
      if (diags.size() == errors_before) {
        diags.error({name, line_no, 1}, "row has " + std::to_string(col) + " columns; expected " +
                                            std::to_string(header.size()));
      }
      if (diags.size() - errors_before > 20) break;
      continue;
    }
    if (p.t_ns.empty()) t0 = t;
    // Times are kept in integer nanoseconds, and a profile's length times its repeat count must
    // stay countable: at most 1e7 s (115 days) after the first row.
    if (!(std::fabs(t - t0) <= 1e7)) {
      diags.error({name, line_no, 1}, "time " + std::to_string(t) +
                                          " is too far from the first row's; expected at most "
                                          "1e7 s after it");
      continue;
    }
    const auto t_ns = static_cast<std::int64_t>(std::llround((t - t0) * 1e9));
    if (!p.t_ns.empty() && t_ns <= p.t_ns.back()) {
      diags.error({name, line_no, 1}, "time " + std::to_string(t) +
                                          " does not increase; times must be strictly increasing");
      continue;
    }
    const double value = v * scale;
    // A finite value can still overflow when scaled (a C-rate times the capacity in A), and the
    // default range is unbounded.
    if (!std::isfinite(value)) {
      diags.error({name, line_no, static_cast<int>(v_start) + 1},
                  "value " + format_number(v) + " in column '" + value_column + "' times " +
                      format_number(scale) + " is not a finite number; expected a smaller value");
      if (diags.size() - errors_before > 20) break;
      continue;
    }
    if (!(value >= value_range.min && value <= value_range.max)) {
      diags.error({name, line_no, static_cast<int>(v_start) + 1},
                  "value " + format_number(v) +
                      (scale != 1.0 ? " (x " + format_number(scale) + " = " + format_number(value) +
                                          " " + unit + ")"
                                    : std::string(" ") + unit) +
                      " out of range; expected between " + format_number(value_range.min) + " " +
                      unit + " and " + format_number(value_range.max) + " " + unit);
      if (diags.size() - errors_before > 20) break;
      continue;
    }
    p.t_ns.push_back(t_ns);
    p.value.push_back(value);
  }
  if (diags.size() != errors_before) return std::nullopt;
  if (p.t_ns.size() < 2) {
    diags.error({name, line_no, 1}, "a profile needs at least two rows");
    return std::nullopt;
  }
  return p;
}

std::vector<std::string> add_cell_columns(std::string_view list, bool allow_none,
                                          sim::CellColumns& out) {
  std::vector<std::string> unknown;
  std::size_t b = 0;
  while (b <= list.size()) {
    const std::size_t e = std::min(list.find(',', b), list.size());
    std::string_view c = list.substr(b, e - b);
    while (!c.empty() && c.front() == ' ') c.remove_prefix(1);
    while (!c.empty() && c.back() == ' ') c.remove_suffix(1);
    if (c == "v") {
      out.voltage = true;
    } else if (c == "t") {
      out.temperature = true;
    } else if (c == "soc") {
      out.soc = true;
    } else if (c == "i") {
      out.current = true;
    } else if (c == "all") {
      out = {true, true, true, true};
    } else if (!(allow_none && c == "none")) {
      unknown.emplace_back(c);
    }
    b = e + 1;
  }
  return unknown;
}

std::optional<sim::Scenario> load_scenario(const std::filesystem::path& path, Diagnostics& diags) {
  const std::size_t errors_before = diags.size();
  const auto file = TomlFile::load(path, diags);
  if (!file) return std::nullopt;
  TableReader root(file->root(), "", file->name(), diags);
  sim::Scenario sc;
  sc.file = file->name();
  std::optional<LoadedPack> pack;

  if (auto t = root.table("scenario", Need::kRequired)) {
    sc.name = t->string("name", Need::kRequired).value_or("");
    if (const auto pack_path = t->string("pack", Need::kRequired)) {
      const auto resolved = resolve_path(file->directory(), *pack_path);
      if (const auto problem = referenced_file_problem(resolved, file->directory(), *pack_path);
          !problem.empty()) {
        t->error("pack", "pack file '" + *pack_path + "' " + problem);
      } else {
        pack = load_pack(resolved, diags);
      }
    }
    sc.duration_ns =
        t->duration_ns("duration", Need::kRequired, 1, std::int64_t{1} << 62).value_or(0);
    sc.tick_ns = t->duration_ns("tick", Need::kOptional, sim::kMinTickNs, sim::kMaxTickNs)
                     .value_or(1'000'000);
    sc.seed = static_cast<std::uint64_t>(t->integer("seed", Need::kOptional, 0).value_or(0));
    sc.stop_when_load_done = t->boolean("stop_when_load_done").value_or(false);
    t->finish();
  }
  const double capacity_ah =
      pack ? pack->cell.capacity_as / 3600.0 * pack->spec.parallel : 1.0;  // 1 C in amperes
  const int ns = pack ? pack->spec.series : 1;  // series groups = AFE channels
  // Pack-scaled limits without a pack (its errors are reported) take the largest pack allowed,
  // so that they add no error of their own.
  const int limit_series = pack ? ns : 10000;

  std::vector<SourceLocation> contactor_keys;  // places that set contactors by hand
  if (auto t = root.table("initial")) {
    sc.initial_soc = t->quantity("soc", Dimension::kRatio, Need::kOptional, between(0.0, 1.0))
                         .value_or(sc.initial_soc);
    sc.initial_temp_k = t->quantity("temperature", Dimension::kTemperature, Need::kOptional,
                                    plausible::cell_temperature())
                            .value_or(sc.initial_temp_k);
    if (auto k = parse_contactors(*t, "contactors")) {
      sc.initial_contactors = *k;
      if (k->main_pos || k->main_neg || k->precharge)
        contactor_keys.push_back(t->where("contactors"));
    }
    t->finish();
  }
  sc.ambient_k = sc.initial_temp_k;
  if (auto t = root.table("ambient")) {
    sc.ambient_k = t->quantity("temperature", Dimension::kTemperature, Need::kOptional,
                               plausible::ambient_temperature())
                       .value_or(sc.ambient_k);
    t->finish();
  }

  for (auto& t : root.tables("load")) {
    sim::LoadSegment seg;
    const auto kind = t.choice(
        "kind", {"rest", "current", "power", "resistance", "cccv", "profile"}, Need::kRequired);
    seg.label = t.string("label").value_or(kind.value_or(""));
    seg.duration_ns = t.duration_ns("duration", Need::kOptional, 1);
    if (const auto until = t.strings("until")) {
      for (const auto& text : *until) {
        std::string err;
        if (auto c = parse_condition(text, capacity_ah, limit_series, err)) {
          seg.until.push_back(*c);
        } else {
          t.error("until", err);
        }
      }
    }
    if (!kind) {
      // Without a (valid) kind its other keys cannot be judged: only the kind is reported.
      for (auto&& [k, v] : t.table_ref()) t.node(k.str());
      t.finish();
      continue;
    }
    if (*kind == "rest") {
      seg.kind = sim::SegmentKind::kRest;
    } else if (*kind == "current") {
      seg.kind = sim::SegmentKind::kCurrent;
      seg.value = t.current("current", capacity_ah, Need::kRequired, plausible::pack_current())
                      .value_or(0.0);
    } else if (*kind == "power") {
      seg.kind = sim::SegmentKind::kPower;
      seg.value = t.quantity("power", Dimension::kPower, Need::kRequired, kPackPower).value_or(0.0);
    } else if (*kind == "resistance") {
      seg.kind = sim::SegmentKind::kResistance;
      seg.value =
          t.quantity("resistance", Dimension::kResistance, Need::kRequired, plausible::resistor())
              .value_or(1.0);
    } else if (*kind == "cccv") {
      seg.kind = sim::SegmentKind::kCcCv;
      seg.value =
          t.current("current", capacity_ah, Need::kRequired, plausible::pack_current_magnitude())
              .value_or(0.0);
      const auto pack_v = t.quantity("voltage", Dimension::kVoltage, Need::kOptional,
                                     above(0.0, plausible::kCellVoltageV * limit_series));
      const auto cell_v = t.quantity("cell_voltage", Dimension::kVoltage, Need::kOptional,
                                     plausible::cell_voltage());
      if (pack_v && cell_v)
        t.error("cell_voltage", "give either 'voltage' (pack) or 'cell_voltage', not both");
      if (!pack_v && !cell_v && !t.has("voltage") && !t.has("cell_voltage")) {
        t.error_here(
            "a CC-CV charge needs 'voltage' (at the pack) or 'cell_voltage' (times the series "
            "count)");
      }
      seg.cv_voltage_v = pack_v ? *pack_v : cell_v.value_or(0.0) * ns;
      seg.cell_limit_v = t.quantity("cell_voltage_limit", Dimension::kVoltage, Need::kOptional,
                                    plausible::cell_voltage());
      seg.series = ns;
    } else if (*kind == "profile") {
      seg.kind = sim::SegmentKind::kProfile;
      const auto csv = t.string("file", Need::kRequired);
      const auto tcol = t.string("time_column").value_or("time_s");
      // c_rate: values in multiples of the pack's capacity, so one profile serves any pack size.
      const auto quantity =
          t.choice("quantity", {"current", "power", "c_rate"}).value_or("current");
      const auto vcol = t.string("value_column")
                            .value_or(quantity == "power"    ? "power_w"
                                      : quantity == "c_rate" ? "c_rate"
                                                             : "current_a");
      // Any sign (a charge profile from a discharge one), within a thousand times the file's.
      const double scale = t.number("scale", Need::kOptional, between(-1e3, 1e3)).value_or(1.0) *
                           (quantity == "c_rate" ? capacity_ah : 1.0);
      const auto interp = t.choice("interpolate", {"step", "linear"}).value_or("step");
      const int repeat =
          static_cast<int>(t.integer("repeat", Need::kOptional, 1, 1000000).value_or(1));
      if (csv) {
        const auto resolved = resolve_path(file->directory(), *csv);
        if (const auto problem = referenced_file_problem(resolved, file->directory(), *csv);
            !problem.empty()) {
          t.error("file", "profile '" + *csv + "' " + problem);
        } else if (auto p = load_profile_csv(
                       resolved, tcol, vcol, scale, diags,
                       quantity == "power" ? kPackPower : plausible::pack_current(),
                       quantity == "power" ? "W" : "A")) {
          p->linear = interp == "linear";
          p->power = quantity == "power";
          p->repeat = repeat;
          seg.profile = std::make_shared<const sim::Profile>(std::move(*p));
        }
      }
    }
    t.finish();
    sc.load.push_back(std::move(seg));
  }

  const int n_cells = pack ? pack->spec.series * pack->spec.parallel : 1;
  for (auto& t : root.tables("event")) {
    sim::Event e;
    e.at_ns = t.duration_ns("at", Need::kRequired).value_or(0);
    e.contactors = parse_contactors(t, "contactors");
    if (e.contactors) contactor_keys.push_back(t.where("contactors"));
    e.ambient_k = t.quantity("ambient", Dimension::kTemperature, Need::kOptional,
                             plausible::ambient_temperature());
    e.label = t.string("label").value_or("");
    if (auto a = t.table("afe_offset")) {
      sim::AfeFault f;
      f.channel = static_cast<int>(a->integer("channel", Need::kRequired, 0, ns - 1).value_or(0));
      f.offset_v = a->quantity("offset", Dimension::kVoltage, Need::kRequired,
                               between(-plausible::kCellVoltageV, plausible::kCellVoltageV))
                       .value_or(0.0);
      a->finish();
      e.afe = f;
    }
    if (const auto ow = t.integer("open_wire", Need::kOptional, 0, ns - 1)) {
      sim::AfeFault f = e.afe.value_or(sim::AfeFault{static_cast<int>(*ow), {}, {}});
      if (e.afe && e.afe->channel != *ow)
        t.error("open_wire", "one channel per event: afe_offset names another");
      f.open_wire = true;
      e.afe = f;
    }
    if (auto z = t.table("soc")) {
      sim::SocOverride o;
      o.cell = static_cast<int>(z->integer("cell", Need::kRequired, 0, n_cells - 1).value_or(0));
      o.soc =
          z->quantity("soc", Dimension::kRatio, Need::kRequired, between(-0.5, 1.5)).value_or(0.5);
      z->finish();
      e.soc = o;
    }
    e.bms_drive = t.boolean("bms_drive");
    e.fault_reset = t.boolean("fault_reset");
    if (auto c = t.table("can_fault")) {
      sim::CanFaultEvent f;
      f.where = c->where("message");
      f.message = c->string("message", Need::kRequired).value_or("");
      f.instance = static_cast<int>(c->integer("module", Need::kOptional, 0, 100000).value_or(-1));
      const auto mode =
          c->choice("mode", {"drop", "corrupt_crc", "repeat_counter", "short_frame", "none"},
                    Need::kRequired)
              .value_or("none");
      f.fault = mode == "drop"             ? can::TxFault::kDrop
                : mode == "corrupt_crc"    ? can::TxFault::kCorruptCrc
                : mode == "repeat_counter" ? can::TxFault::kRepeatCounter
                : mode == "short_frame"    ? can::TxFault::kShortFrame
                                           : can::TxFault::kNone;
      f.duration_ns = c->duration_ns("duration", Need::kOptional, 1).value_or(0);
      c->finish();
      e.can_fault = f;
    }
    if (const auto bits = t.integer("sensor_error", Need::kOptional, 0, 255))
      e.sensor_error = static_cast<int>(*bits);
    if (auto n = t.table("ntc_offset")) {
      sim::NtcFault f;
      const int sensors =
          pack ? model::afe_sensor_count(pack->afe, pack->spec.series, pack->spec.groups_per_module)
               : 0;
      f.sensor = static_cast<int>(
          n->integer("sensor", Need::kRequired, 0, std::max(0, sensors - 1)).value_or(0));
      // A loose or broken NTC reads off by tens of kelvins; an open one reads its range's end.
      f.offset_k = n->quantity("offset", Dimension::kTemperatureDifference, Need::kRequired,
                               between(-200.0, 200.0))
                       .value_or(0.0);
      n->finish();
      e.ntc = f;
    }
    // Every action is read from its own key, so an event without any of the keys does nothing
    // (one whose action is malformed has been reported at that key).
    constexpr const char* kActions[] = {"contactors",   "ambient",   "afe_offset",  "open_wire",
                                        "soc",          "bms_drive", "fault_reset", "can_fault",
                                        "sensor_error", "ntc_offset"};
    if (std::none_of(std::begin(kActions), std::end(kActions),
                     [&t](const char* k) { return t.has(k); })) {
      std::string list;
      for (std::size_t k = 0; k < std::size(kActions); ++k) {
        list += k == 0 ? "" : (k + 1 == std::size(kActions) ? " or " : ", ");
        list += kActions[k];
      }
      t.error_here("an event needs something to do: " + list);
    }
    t.finish();
    sc.events.push_back(e);
  }
  std::stable_sort(sc.events.begin(), sc.events.end(),
                   [](const sim::Event& a, const sim::Event& b) { return a.at_ns < b.at_ns; });

  SourceLocation afe_timeout_where;
  sc.bms_where = root.has("bms") ? root.where("bms") : SourceLocation{sc.file, 0, 0};
  if (auto t = root.table("bms")) {
    sim::BmsSettings& b = sc.bms;
    const auto mode = t->choice("mode", {"reference", "external", "none"}).value_or("reference");
    b.mode = mode == "none"       ? sim::BmsMode::kNone
             : mode == "external" ? sim::BmsMode::kExternal
                                  : sim::BmsMode::kReference;
    b.profile = t->string("profile").value_or(b.profile);
    b.period_ns =
        t->duration_ns("period", Need::kOptional, 100'000, 1'000'000'000).value_or(b.period_ns);
    b.drive = t->boolean("drive").value_or(true);
    b.cell_ov_v =
        t->quantity("cell_ov", Dimension::kVoltage, Need::kOptional, plausible::cell_voltage());
    b.cell_uv_v =
        t->quantity("cell_uv", Dimension::kVoltage, Need::kOptional, plausible::cell_voltage());
    // Thresholds on cell temperatures: a cell's range, not an ambient's.
    b.ot_k = t->quantity("over_temperature", Dimension::kTemperature, Need::kOptional,
                         plausible::cell_temperature());
    b.ut_k = t->quantity("under_temperature", Dimension::kTemperature, Need::kOptional,
                         plausible::cell_temperature());
    b.oc_discharge_a = t->current("discharge_current_limit", capacity_ah, Need::kOptional,
                                  plausible::pack_current_magnitude());
    b.oc_charge_a = t->current("charge_current_limit", capacity_ah, Need::kOptional,
                               plausible::pack_current_magnitude());
    // How long a condition must last before the BMS acts, and its supervision times.
    constexpr std::int64_t kHour = 3'600'000'000'000;
    auto delay = [&t](const char* key, std::int64_t min_ns = 0) {
      return t->duration_ns(key, Need::kOptional, min_ns, kHour);
    };
    b.ov_delay_ns = delay("cell_ov_delay");
    b.uv_delay_ns = delay("cell_uv_delay");
    b.ot_delay_ns = delay("over_temperature_delay");
    b.ut_delay_ns = delay("under_temperature_delay");
    b.oc_discharge_delay_ns = delay("discharge_current_delay");
    b.oc_charge_delay_ns = delay("charge_current_delay");
    b.invalid_delay_ns = delay("invalid_measurement_delay");
    b.afe_timeout_ns = delay("afe_timeout", 1'000'000);
    b.current_timeout_ns = delay("current_timeout", 1'000'000);
    if (const auto n = t->integer("corrupt_frames", Need::kOptional, 0, 1000))
      b.corrupt_limit = static_cast<int>(*n);
    b.corrupt_window_ns = delay("corrupt_window", 1'000'000);
    b.hw_flag_delay_ns = delay("hardware_flag_delay");
    b.vent_gas_delay_ns = delay("vent_gas_delay");
    b.insulation_delay_ns = delay("insulation_delay");
    b.vent_gas_ppm = t->number("vent_gas_alarm_ppm", Need::kOptional, between(0.0, 1e6));
    b.insulation_min_ohm =
        t->quantity("insulation_min", Dimension::kResistance, Need::kOptional, between(0.0, 1e12));
    b.precharge_min_ns = delay("precharge_min");
    b.precharge_max_ns = delay("precharge_max", 1'000'000);
    if (b.precharge_min_ns && b.precharge_max_ns && *b.precharge_min_ns > *b.precharge_max_ns)
      t->error("precharge_min", "longer than precharge_max");
    if (b.afe_timeout_ns) afe_timeout_where = t->where("afe_timeout");
    if (b.mode == sim::BmsMode::kReference && b.period_ns % sc.tick_ns != 0) {
      t->error("period",
               "the reference BMS runs on ticks: its period must be a multiple of the tick");
    }
    t->finish();
  }
  if (sc.bms.mode != sim::BmsMode::kNone) {
    // With a BMS on the bus the contactors are its business; a scenario asks through bms_drive.
    for (const auto& where : contactor_keys) {
      diags.error(where,
                  "contactors are commanded by the BMS here; use 'bms_drive' (or [bms] mode = "
                  "\"none\" to drive them from the scenario)");
    }
    sc.initial_contactors = {};
  }
  if (sc.bms.mode != sim::BmsMode::kNone && pack) {
    const auto profile_path = resolve_profile(sc.bms.profile, file->directory());
    if (!input_exists(profile_path)) {
      diags.error(root.where("bms"),
                  "bms.profile: " + profile_not_found(sc.bms.profile, file->directory()));
    } else if (const auto problem = input_file_problem(profile_path); !problem.empty()) {
      diags.error(root.where("bms"), "bms.profile: " + profile_path.string() + " " + problem);
    } else {
      sc.bms.profile_file = profile_path.string();
      sc.profile = load_profile(
          profile_path, profile_layout(pack->spec, pack->afe, sc.tick_ns, pack->afe_keys), diags);
      sc.profile_tick_ns = sc.tick_ns;
    }
  }
  resolve_can_faults(sc, diags);
  if (sc.profile && sc.bms.afe_timeout_ns) {
    // The same rule the session applies, here so that `packsim check` reports it.
    const std::int64_t slowest = sc.profile->slowest_afe_period_ns();
    if (*sc.bms.afe_timeout_ns <= slowest) {
      diags.error(afe_timeout_where,
                  "bms.afe_timeout: not longer than the profile's slowest AFE message period (" +
                      format_number(static_cast<double>(slowest) / 1e6) +
                      " ms); it would trip every cycle");
    }
  }

  if (auto t = root.table("record")) {
    sc.record.every_ns = t->duration_ns("every", Need::kOptional, 0).value_or(0);
    if (const auto listed = t->strings("cells")) {
      // An array, or one string that may be a comma list like on the command line ("v,t").
      for (const auto& item : *listed) {
        for (const auto& bad : add_cell_columns(item, false, sc.record.cells)) {
          t->error("cells", "unknown per-cell column set \"" + bad + "\"" +
                                did_you_mean(bad, {"v", "t", "soc", "i", "all"}) +
                                "; expected v, t, soc, i or all");
        }
      }
    }
    read_can_log_keys(*t, sc.record);
    t->finish();
  }
  root.finish();
  if (diags.size() != errors_before || !pack) return std::nullopt;
  sc.pack = std::move(pack->spec);
  sc.cell = std::move(pack->cell);
  sc.afe = pack->afe;
  sc.shunt = pack->shunt;
  sc.afe_keys = pack->afe_keys;
  sc.pack_file = pack->file;
  sc.cell_file = pack->cell_file;
  return sc;
}

FileKind detect_kind(const std::filesystem::path& path, Diagnostics& diags) {
  const auto file = TomlFile::load(path, diags);
  if (!file) return FileKind::kUnknown;
  const auto& root = file->root();
  if (root.contains("scenario")) return FileKind::kScenario;
  if (root.contains("pack")) return FileKind::kPack;
  if (root.contains("cell")) return FileKind::kCell;
  if (root.contains("profile")) return FileKind::kProfile;
  diags.error(
      {file->name(), 1, 1},
      "cannot tell what this file is: expected a [scenario], [pack], [cell] or [profile] table");
  return FileKind::kUnknown;
}

}  // namespace packsim::config
