// profiles/<name>/profile.toml (+ DBC) -> can::Profile, resolved for one pack layout and tick.
#include <toml++/toml.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <set>

#include "packsim/can/profile.hpp"
#include "packsim/config/loaders.hpp"
#include "packsim/config/toml_reader.hpp"
#include "packsim/sim/condition.hpp"
#include "packsim/util/input_file.hpp"
#include "packsim/util/suggest.hpp"

namespace packsim::config {
namespace {

using Vars = std::map<std::string, long long>;

// An index is at most this far from 0: far beyond any pack (a million cells at most), and small
// enough that the runtime's index arithmetic (base + module * stride + mux * stride) never
// overflows 64 bits for a mux value it can check first.
constexpr long long kMaxIndex = 1'000'000'000;
// Deeper nesting than a person writes; the evaluator recurses once per level.
constexpr int kMaxExprDepth = 64;

// At most `n` bytes of an expression, for messages (a generated one can be kilobytes long).
std::string shown(const std::string& text, std::size_t n = 60) {
  return text.size() <= n ? text : text.substr(0, n) + "...";
}

// A tiny integer expression evaluator: + - * / ( ), integers, variables, cell() and sensor().
// Evaluated at load time only, in checked 64-bit arithmetic, nested at most kMaxExprDepth deep.
class Expr {
 public:
  Expr(std::string text, const Vars& vars) : s_(std::move(text)), vars_(vars) {}
  bool eval(long long& out, std::string& error) {
    pos_ = 0;
    depth_ = 0;
    error_.clear();
    out = sum();
    skip();
    if (error_.empty() && pos_ != s_.size()) error_ = "unexpected '" + shown(s_.substr(pos_)) + "'";
    error = error_;
    return error_.empty();
  }

 private:
  void skip() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  long long sum() {
    long long v = product();
    for (;;) {
      skip();
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) {
        const char op = s_[pos_++];
        const long long r = product();
        const bool overflow =
            op == '+' ? __builtin_add_overflow(v, r, &v) : __builtin_sub_overflow(v, r, &v);
        if (overflow) {
          fail("number out of range");
          return 0;
        }
      } else {
        return v;
      }
    }
  }
  long long product() {
    long long v = atom();
    for (;;) {
      skip();
      if (pos_ < s_.size() && (s_[pos_] == '*' || s_[pos_] == '/')) {
        const char op = s_[pos_++];
        const long long r = atom();
        if (op == '*') {
          if (__builtin_mul_overflow(v, r, &v)) {
            fail("number out of range");
            return 0;
          }
        } else if (r == 0) {
          fail("division by zero");
          return 0;
        } else if (r == -1 && v == std::numeric_limits<long long>::min()) {
          fail("number out of range");
          return 0;
        } else {
          v /= r;
        }
      } else {
        return v;
      }
    }
  }
  long long atom() {
    // Every level of nesting (parentheses, a sign, a call's arguments) passes through here.
    struct Level {
      int& depth;
      explicit Level(int& d) : depth(++d) {}
      ~Level() { --depth; }
      Level(const Level&) = delete;
      Level& operator=(const Level&) = delete;
    } level(depth_);
    if (depth_ > kMaxExprDepth) {
      fail("nested more than " + std::to_string(kMaxExprDepth) +
           " levels deep (parentheses, signs, calls); expected at most " +
           std::to_string(kMaxExprDepth));
      return 0;
    }
    skip();
    if (pos_ >= s_.size()) {
      fail("expression ends too early");
      return 0;
    }
    const char c = s_[pos_];
    if (c == '(') {
      ++pos_;
      const long long v = sum();
      skip();
      if (pos_ >= s_.size() || s_[pos_] != ')')
        fail("missing ')'");
      else
        ++pos_;
      return v;
    }
    if (c == '-') {
      ++pos_;
      const long long v = atom();
      if (v == std::numeric_limits<long long>::min()) {
        fail("number out of range");
        return 0;
      }
      return -v;
    }
    if (std::isdigit(static_cast<unsigned char>(c))) {
      long long v = 0;
      const bool hex = s_.compare(pos_, 2, "0x") == 0;
      if (hex) pos_ += 2;
      while (pos_ < s_.size() && std::isxdigit(static_cast<unsigned char>(s_[pos_])) &&
             (hex || std::isdigit(static_cast<unsigned char>(s_[pos_])))) {
        const char d = s_[pos_++];
        const int digit =
            std::isdigit(static_cast<unsigned char>(d)) ? d - '0' : (std::tolower(d) - 'a' + 10);
        if (__builtin_mul_overflow(v, hex ? 16 : 10, &v) || __builtin_add_overflow(v, digit, &v)) {
          fail("number out of range");
          return 0;
        }
      }
      return v;
    }
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      const std::size_t start = pos_;
      while (pos_ < s_.size() &&
             (std::isalnum(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '_'))
        ++pos_;
      const std::string name = s_.substr(start, pos_ - start);
      skip();
      if (pos_ < s_.size() && s_[pos_] == '(') return call(name);
      const auto it = vars_.find(name);
      if (it == vars_.end()) {
        std::string known;
        std::vector<std::string> names;
        for (const auto& [k, v] : vars_) {
          known += (known.empty() ? "" : ", ") + k;
          names.push_back(k);
        }
        fail("unknown variable '" + name + "'" + did_you_mean(name, names) + " (known: " + known +
             ")");
        return 0;
      }
      return it->second;
    }
    fail(std::string("unexpected '") + c + "'");
    return 0;
  }
  // cell(m, k) / sensor(m, k): the pack-wide index of the k-th cell or sensor of module m, or -1
  // (not present: sent as invalid) when the module has fewer.
  long long call(const std::string& name) {
    ++pos_;  // '('
    const long long m = sum();
    skip();
    if (pos_ >= s_.size() || s_[pos_] != ',') {
      fail(name + "() takes two arguments: (module, index)");
      return 0;
    }
    ++pos_;
    const long long k = sum();
    skip();
    if (pos_ >= s_.size() || s_[pos_] != ')') {
      fail("missing ')' after the arguments of " + name + "()");
      return 0;
    }
    ++pos_;
    const char* per = name == "cell"     ? "cells_per_module"
                      : name == "sensor" ? "sensors_per_module"
                                         : nullptr;
    const char* total = name == "cell" ? "n_cells" : "n_sensors";
    if (!per) {
      fail("unknown function '" + name + "'" + did_you_mean(name, {"cell", "sensor"}) +
           " (known: cell, sensor)");
      return 0;
    }
    const long long per_module = vars_.at(per);
    long long index = 0;
    if (__builtin_mul_overflow(m, per_module, &index) || __builtin_add_overflow(index, k, &index)) {
      fail(name + "(" + std::to_string(m) + ", " + std::to_string(k) + "): module * " + per +
           " + index is out of range");
      return 0;
    }
    return (k >= 0 && k < per_module && index < vars_.at(total)) ? index : -1;
  }
  void fail(const std::string& e) {
    if (error_.empty()) error_ = e;
    pos_ = s_.size();
  }
  std::string s_;
  const Vars& vars_;
  std::size_t pos_ = 0;
  int depth_ = 0;
  std::string error_;
};

// An index expression's value, which must lie within kMaxIndex of 0 (an int everywhere after).
bool eval_index(const std::string& expr, const Vars& vars, long long& out, std::string& error) {
  if (!Expr(expr, vars).eval(out, error)) return false;
  if (out < -kMaxIndex || out > kMaxIndex) {
    error = "value " + std::to_string(out) + " is out of range; expected -" +
            std::to_string(kMaxIndex) + ".." + std::to_string(kMaxIndex);
    return false;
  }
  return true;
}

// The names an index expression may use, for one module instance and mux row.
Vars layout_vars(const ProfileLayout& layout, long long module, long long mux) {
  return {{"module", module},
          {"mux", mux},
          {"cells_per_module", layout.cells_per_module},
          {"sensors_per_module", layout.sensors_per_module},
          {"n_modules", layout.n_modules},
          {"n_cells", layout.n_channels},
          {"n_sensors", layout.n_sensors}};
}

struct SourceInfo {
  const char* name;
  can::Source source;
  bool indexed;
};
constexpr SourceInfo kSources[] = {
    {"cell_voltage", can::Source::kCellVoltage, true},
    {"cell_voltage_valid", can::Source::kCellVoltageValid, true},
    {"cell_status", can::Source::kCellStatus, true},
    {"open_wire", can::Source::kOpenWire, true},
    {"ov_flag", can::Source::kOvFlag, true},
    {"uv_flag", can::Source::kUvFlag, true},
    {"temperature", can::Source::kTemperature, true},
    {"temperature_valid", can::Source::kTemperatureValid, true},
    {"die_temperature", can::Source::kDieTemperature, true},
    {"current", can::Source::kCurrent, false},
    {"pack_voltage", can::Source::kPackVoltage, false},
    {"link_voltage", can::Source::kLinkVoltage, false},
    {"shunt_temperature", can::Source::kShuntTemperature, false},
    {"power", can::Source::kPower, false},
    {"charge", can::Source::kCharge, false},
    {"energy", can::Source::kEnergy, false},
    {"module", can::Source::kModule, false},
    {"mux", can::Source::kMux, false},
    {"counter", can::Source::kCounter, false},
    {"sensor_error", can::Source::kSensorError, false},
    {"vent_gas", can::Source::kVentGas, false},
    {"insulation_resistance", can::Source::kInsulation, false},
    {"insulation_failure", can::Source::kInsulationFailure, false},
    {"insulation_warning", can::Source::kInsulationWarning, false},
    {"host_mode", can::Source::kHostMode, false},
    {"host_fault_reset", can::Source::kHostFaultReset, false},
};

struct CommandInfo {
  const char* name;
  can::Command command;
  bool indexed;
};
constexpr CommandInfo kCommands[] = {
    {"contactor_main_pos", can::Command::kContactorMainPos, false},
    {"contactor_main_neg", can::Command::kContactorMainNeg, false},
    {"contactor_precharge", can::Command::kContactorPrecharge, false},
    {"contactor_state", can::Command::kContactorState, false},
    {"balance_mask", can::Command::kBalanceMask, true},
    {"balance_channel", can::Command::kBalanceChannel, true},
    {"record", can::Command::kRecordOnly, false},
    {"observe", can::Command::kObserve, false},
    {"bms_cell_soc", can::Command::kCellSoc, true},
};

// How an observe binding's unit turns into SI: SI = value * factor + offset. `dim` groups the
// observables that share units.
enum class ObsDim : std::uint8_t { kNone, kRatio, kCurrent, kPower, kVoltage, kTemperature };
ObsDim observable_dim(can::Observable o) {
  using O = can::Observable;
  switch (o) {
    case O::kSoc:
    case O::kSoh:
      return ObsDim::kRatio;
    case O::kChargeCurrentLimit:
    case O::kDischargeCurrentLimit:
      return ObsDim::kCurrent;
    case O::kChargePowerLimit:
    case O::kDischargePowerLimit:
      return ObsDim::kPower;
    case O::kCellVMin:
    case O::kCellVMax:
      return ObsDim::kVoltage;
    case O::kTempMin:
    case O::kTempMax:
      return ObsDim::kTemperature;
    default:
      return ObsDim::kNone;
  }
}
struct ObsUnit {
  ObsDim dim;
  const char* name;
  double factor;
  double offset;
};
constexpr ObsUnit kObsUnits[] = {
    {ObsDim::kRatio, "", 1.0, 0.0},
    {ObsDim::kRatio, "%", 0.01, 0.0},
    {ObsDim::kCurrent, "A", 1.0, 0.0},
    {ObsDim::kCurrent, "mA", 1e-3, 0.0},
    {ObsDim::kCurrent, "kA", 1e3, 0.0},
    {ObsDim::kPower, "W", 1.0, 0.0},
    {ObsDim::kPower, "kW", 1e3, 0.0},
    {ObsDim::kPower, "MW", 1e6, 0.0},
    {ObsDim::kVoltage, "V", 1.0, 0.0},
    {ObsDim::kVoltage, "mV", 1e-3, 0.0},
    {ObsDim::kVoltage, "uV", 1e-6, 0.0},
    {ObsDim::kTemperature, "K", 1.0, 0.0},
    {ObsDim::kTemperature, "degC", 1.0, 273.15},
};
const ObsUnit* find_obs_unit(ObsDim dim, std::string name) {
  if (name ==
      "\xc2\xb0"
      "C")
    name = "degC";  // a DBC's "°C" in UTF-8
  for (const auto& u : kObsUnits) {
    if (u.dim == dim && name == u.name) return &u;
  }
  return nullptr;
}
std::string obs_unit_list(ObsDim dim) {
  std::string list;
  for (const auto& u : kObsUnits) {
    if (u.dim == dim) list += (list.empty() ? "\"" : ", \"") + std::string(u.name) + "\"";
  }
  return list;
}

// "name[expr]" -> name, expr (expr empty without brackets).
bool split_indexed(const std::string& text, std::string& name, std::string& expr) {
  const auto open = text.find('[');
  if (open == std::string::npos) {
    name = text;
    expr.clear();
  } else {
    if (text.back() != ']') return false;
    name = text.substr(0, open);
    expr = text.substr(open + 1, text.size() - open - 2);
  }
  name.erase(0, name.find_first_not_of(' '));
  name.erase(name.find_last_not_of(' ') + 1);
  return true;
}

// A signal key may be a pattern: "CellVoltage_{n}" matches CellVoltage_000 ... and binds n. The
// pattern is literal text and {name} (or {name:03d}, the format only for readers) placeholders,
// each matching one or more digits.
struct KeyPattern {
  std::vector<std::string> literals;  // literals.size() == vars.size() + 1
  std::vector<std::string> vars;
};

std::optional<KeyPattern> compile_key(const std::string& key) {
  KeyPattern p;
  std::string lit;
  for (std::size_t i = 0; i < key.size(); ++i) {
    if (key[i] != '{') {
      lit += key[i];
      continue;
    }
    const auto close = key.find('}', i);
    if (close == std::string::npos) return std::nullopt;
    std::string var = key.substr(i + 1, close - i - 1);
    var = var.substr(0, var.find(':'));
    if (var.empty() || (!p.vars.empty() && lit.empty()))
      return std::nullopt;  // adjacent: ambiguous
    p.literals.push_back(lit);
    p.vars.push_back(var);
    lit.clear();
    i = close;
  }
  p.literals.push_back(lit);
  return p;
}

// Matches a whole name; the numbers bound to the pattern's variables go to `values`.
bool match_key(const KeyPattern& p, const std::string& name, std::vector<long long>& values) {
  values.clear();
  std::size_t pos = 0;
  for (std::size_t k = 0; k < p.literals.size(); ++k) {
    const std::string& lit = p.literals[k];
    if (name.compare(pos, lit.size(), lit) != 0) return false;
    pos += lit.size();
    if (k == p.vars.size()) break;
    const std::size_t start = pos;
    while (pos < name.size() && std::isdigit(static_cast<unsigned char>(name[pos]))) ++pos;
    if (pos == start || pos - start > 12) return false;
    values.push_back(std::stoll(name.substr(start, pos - start)));
  }
  return pos == name.size();
}

std::optional<std::vector<std::uint64_t>> read_mux_values(TableReader& t) {
  const toml::node* n = t.node("mux_values");
  if (!n) return std::nullopt;
  std::vector<std::uint64_t> out;
  if (const auto* s = n->as_string()) {
    const std::string text = s->get();
    const auto dots = text.find("..");
    long long lo = 0, hi = 0;
    // Whole numbers and nothing else ("0..3 garbage" is not a range).
    auto whole = [](const std::string& part, long long& value) {
      const char* b = part.data();
      const char* e = b + part.size();
      const auto [ptr, ec] = std::from_chars(b, e, value);
      return ec == std::errc() && ptr == e && b != e;
    };
    if (!whole(text.substr(0, dots), lo) ||
        !whole(dots == std::string::npos ? text : text.substr(dots + 2), hi)) {
      t.error("mux_values", "expected a range like \"0..53\" or an array of integers");
      return std::nullopt;
    }
    if (lo < 0 || hi < lo || hi - lo > 4096) {
      t.error("mux_values", "range \"" + text + "\" is empty, negative or too long");
      return std::nullopt;
    }
    for (long long v = lo; v <= hi; ++v) out.push_back(static_cast<std::uint64_t>(v));
    return out;
  }
  if (const auto* arr = n->as_array()) {
    for (const auto& item : *arr) {
      const auto* i = item.as_integer();
      if (!i || i->get() < 0) {
        t.error_at(item, t.key_path("mux_values") + ": expected a non-negative integer");
        return std::nullopt;
      }
      out.push_back(static_cast<std::uint64_t>(i->get()));
    }
    return out;
  }
  t.error("mux_values", "expected a range like \"0..53\" or an array of integers");
  return std::nullopt;
}

// Where a per-cell, per-sensor or per-module quantity is first bound, for the coverage check.
struct BoundSite {
  SourceLocation where;
  std::string key_path;
};

// What an indexed source is indexed by: the pack's cells (voltage channels), its temperature
// sensors or its AFE modules; kNone for pack-level and frame-level sources.
enum class Item { kNone, kCell, kSensor, kModule };

// What the frames or masks of a profile leave out of a pack, read as a fault of the pack's:
// modules larger than the profile's (the same positions missing at the end of every module), or
// more items than it carries at all (the first `total` carried, none after them).
struct Shortfall {
  int per_module = -1;  // positions of each module carried; -1: not a gap at the modules' end
  int total = -1;       // items carried; -1: not a gap at the pack's end either
};

struct Context {
  const ProfileLayout& layout;
  can::Profile& profile;
  Diagnostics& diags;
  std::set<std::uint64_t> used_ids;  // (extended << 32 | id) of every generated frame id
  std::map<std::string, std::shared_ptr<const can::MessageCodec>> codecs;
  std::map<can::Source, BoundSite> bound;  // first binding of each indexed source
  std::map<Item, Shortfall> shortfalls;    // the narrowest gap of each kind, for the pack's key
  std::map<can::Observable, std::string> observed_by;  // "message.signal" of each observable
};

Item item_of(can::Source source) {
  switch (source) {
    case can::Source::kCellVoltage:
    case can::Source::kCellVoltageValid:
    case can::Source::kCellStatus:
    case can::Source::kOpenWire:
    case can::Source::kOvFlag:
    case can::Source::kUvFlag:
      return Item::kCell;
    case can::Source::kTemperature:
    case can::Source::kTemperatureValid:
      return Item::kSensor;
    case can::Source::kDieTemperature:
      return Item::kModule;
    default:
      return Item::kNone;
  }
}

// How many of the pack's items a source has; 0 = not indexed.
int items_of(can::Source source, const ProfileLayout& layout) {
  switch (item_of(source)) {
    case Item::kCell:
      return layout.n_channels;
    case Item::kSensor:
      return layout.n_sensors;
    case Item::kModule:
      return layout.n_modules;
    case Item::kNone:
      break;
  }
  return 0;
}

// "cell 16 (module 0, position 16)" and the like, for messages.
std::string describe_item(Item item, int index, const ProfileLayout& layout) {
  if (item == Item::kModule) return "module " + std::to_string(index);
  const bool sensor = item == Item::kSensor;
  const int per = sensor ? layout.sensors_per_module : layout.cells_per_module;
  return std::string(sensor ? "sensor " : "cell ") + std::to_string(index) + " (module " +
         std::to_string(index / per) + ", position " + std::to_string(index % per) + ")";
}

// What is missing from `seen`, for messages: {"16 of the pack's 18 cells (modules of 18 cells)",
// "cell 16 (module 0, position 16) and 1 more"}; empty when nothing is.
std::pair<std::string, std::string> uncovered(Item item, const std::vector<char>& seen,
                                              const ProfileLayout& layout) {
  const auto n = static_cast<int>(seen.size());
  int missing = 0, first = -1;
  for (int k = 0; k < n; ++k) {
    if (seen[static_cast<std::size_t>(k)]) continue;
    if (first < 0) first = k;
    ++missing;
  }
  if (missing == 0) return {};
  const bool sensors = item == Item::kSensor;
  std::string what = std::to_string(n - missing) + " of the pack's " + std::to_string(n) +
                     (item == Item::kModule ? " modules"
                      : sensors             ? " sensors"
                                            : " cells");
  if (item != Item::kModule) {
    what += " (modules of " +
            std::to_string(sensors ? layout.sensors_per_module : layout.cells_per_module) +
            (sensors ? " sensors)" : " cells)");
  }
  return {what, describe_item(item, first, layout) +
                    (missing > 1 ? " and " + std::to_string(missing - 1) + " more" : "")};
}

int per_module(Item item, const ProfileLayout& layout) {
  return item == Item::kCell     ? layout.cells_per_module
         : item == Item::kSensor ? layout.sensors_per_module
                                 : 0;
}

Shortfall shortfall_of(Item item, const std::vector<char>& seen, const ProfileLayout& layout) {
  Shortfall s;
  const auto n = static_cast<int>(seen.size());
  auto seen_at = [&seen](int k) { return seen[static_cast<std::size_t>(k)] != 0; };
  if (const int per = per_module(item, layout); per > 0) {
    int carried = per;
    for (int k = 0; k < n; ++k) {
      if (!seen_at(k)) carried = std::min(carried, k % per);
    }
    bool same_in_every_module = carried > 0;
    for (int k = 0; k < n && same_in_every_module; ++k) {
      same_in_every_module = seen_at(k) == (k % per < carried);
    }
    if (same_in_every_module) {
      s.per_module = carried;
      return s;
    }
  }
  int prefix = 0;
  while (prefix < n && seen_at(prefix)) ++prefix;
  bool none_after = true;
  for (int k = prefix; k < n; ++k) none_after = none_after && !seen_at(k);
  if (none_after) s.total = prefix;
  return s;
}

// The pack's key behind a shortfall, or nullptr when the layout has no keys (a layout built in
// code) or the gap is neither at the modules' end nor at the pack's.
const KeyRef* shortfall_key(const ProfileLayout& layout, Item item, const Shortfall& s) {
  const KeyRef* k = nullptr;
  if (s.per_module >= 0) {
    k = item == Item::kSensor ? &layout.keys.sensors : &layout.keys.cells_per_module;
  } else if (s.total >= 0) {
    k = item == Item::kSensor   ? &layout.keys.sensors
        : item == Item::kModule ? &layout.keys.cells_per_module
                                : &layout.keys.series;
  }
  return k && !k->empty() ? k : nullptr;
}

std::string where_text(const SourceLocation& w) {
  return w.file + ":" + std::to_string(w.line) + ":" + std::to_string(w.column);
}

// Records a coverage gap for the message at the pack's key, and returns what to add to the
// message at the profile's binding: the pack's key that the profile cannot carry.
std::string note_shortfall(Context& ctx, Item item, const std::vector<char>& seen) {
  const Shortfall s = shortfall_of(item, seen, ctx.layout);
  const KeyRef* key = shortfall_key(ctx.layout, item, s);
  if (!key) return {};
  auto [it, fresh] = ctx.shortfalls.try_emplace(item, s);
  if (!fresh) {
    // Several bindings fall short: the pack must fit the narrowest.
    if (s.per_module >= 0 && (it->second.per_module < 0 || s.per_module < it->second.per_module))
      it->second.per_module = s.per_module;
    if (s.total >= 0 && (it->second.total < 0 || s.total < it->second.total))
      it->second.total = s.total;
  }
  const char* noun = item == Item::kSensor   ? " sensors"
                     : item == Item::kModule ? " modules"
                                             : " cells";
  return "; the pack's " + key->key + " = " + key->value + " (" + where_text(key->where) + ") " +
         (s.per_module >= 0
              ? "makes modules of " + std::to_string(per_module(item, ctx.layout)) + noun +
                    ", more than this profile's " + std::to_string(s.per_module)
              : "is more than this profile carries (" + std::to_string(s.total) + noun + ")");
}

// One message at the pack's key per kind of item, naming the change that makes the pack fit.
void report_shortfalls(Context& ctx) {
  const ProfileLayout& l = ctx.layout;
  const std::string profile = "profile '" + ctx.profile.name + "' (" + ctx.profile.file + ")";
  for (const auto& [item, s] : ctx.shortfalls) {
    const KeyRef* key = shortfall_key(l, item, s);
    if (!key) continue;
    const char* noun = item == Item::kCell     ? "cells"
                       : item == Item::kSensor ? "sensors"
                                               : "modules";
    std::string text;
    if (s.per_module >= 0) {
      const int per = per_module(item, l);
      const std::string most = std::to_string(s.per_module);
      std::string fix;
      if (key->key == "afe.cells_per_module") {
        fix = "set cells_per_module to " + most + " or fewer";
      } else if (key->key == "pack.groups_per_module") {
        fix = "set [afe] cells_per_module (or groups_per_module) to " + most + " or fewer";
      } else if (key->key == "afe.temperature.sensors_per_module") {
        fix = "set sensors_per_module to " + most + " or fewer";
      } else if (item == Item::kSensor) {
        fix = "place at most " + most + " sensors in a module";
      } else {
        fix = "set [afe] cells_per_module to " + most + " or fewer";
      }
      text = std::to_string(per) + " " + noun + " per module exceed the " + most + " a module of " +
             profile + " carries; " + fix + ", or use a profile whose modules carry " +
             std::to_string(per);
    } else {
      const int n = item == Item::kCell     ? l.n_channels
                    : item == Item::kSensor ? l.n_sensors
                                            : l.n_modules;
      text = "the pack's " + std::to_string(n) + " " +
             (item == Item::kCell     ? "cells (series groups)"
              : item == Item::kModule ? "AFE modules"
                                      : noun) +
             " are more than " + profile + " carries (" + std::to_string(s.total) + "); use " +
             (item == Item::kModule ? "larger modules, at most " + std::to_string(s.total) + ","
                                    : "at most " + std::to_string(s.total) + " " +
                                          (item == Item::kCell ? "series groups" : noun)) +
             " or a profile that carries " + std::to_string(n);
    }
    ctx.diags.error(key->where, key->key + ": " + text);
  }
}

// Every cell, sensor or module must be in some frame of each indexed quantity the profile sends:
// a pack whose modules are larger than the frames were laid out for would otherwise leave cells
// unmeasured (the BMS sees them as never received) without a word.
void check_tx_coverage(Context& ctx) {
  for (const auto& [source, site] : ctx.bound) {
    std::vector<char> seen(static_cast<std::size_t>(items_of(source, ctx.layout)), 0);
    for (const auto& f : ctx.profile.frames) {
      for (const auto& slot : f.slots) {
        if (slot.source == source && slot.index >= 0 &&
            static_cast<std::size_t>(slot.index) < seen.size()) {
          seen[static_cast<std::size_t>(slot.index)] = 1;
        }
      }
    }
    const auto [what, missing] = uncovered(item_of(source), seen, ctx.layout);
    if (!what.empty()) {
      ctx.diags.error(site.where, site.key_path + ": the frames carry this for " + what + ": " +
                                      missing +
                                      " in no frame; expected signals or mux rows for every one" +
                                      note_shortfall(ctx, item_of(source), seen));
    }
  }
}

// Module m's frames carry the DBC id + m * id_step: the last module's id must still fit the
// message's format, or its frames could be neither sent nor received as what they are.
bool instance_ids_fit(TableReader& t, const can::Message& msg, int instances, std::uint32_t step) {
  const std::uint64_t last =
      std::uint64_t{msg.id} + std::uint64_t{step} * static_cast<std::uint64_t>(instances - 1);
  const std::uint32_t max = msg.extended ? can::kExtendedIdMask : can::kStandardIdMask;
  if (instances < 1 || last <= max) return true;
  char text[64];
  std::snprintf(text, sizeof text, "0x%llX", static_cast<unsigned long long>(last));
  char limit[16];
  std::snprintf(limit, sizeof limit, "0x%X", max);
  t.error(t.has("id_step") ? "id_step" : "per",
          msg.name + ": module " + std::to_string(instances - 1) + " would send id " + text +
              ", beyond the " + (msg.extended ? "29-bit extended" : "11-bit standard") +
              " range; expected ids up to " + limit + " (a smaller id_step, or fewer modules)");
  return false;
}

std::size_t bus_index(can::Profile& p, const std::string& bus) {
  for (std::size_t k = 0; k < p.buses.size(); ++k) {
    if (p.buses[k] == bus) return k;
  }
  p.buses.push_back(bus);
  return p.buses.size() - 1;
}

std::shared_ptr<const can::MessageCodec> codec_for(Context& ctx, TableReader& t,
                                                   const can::Message*& msg) {
  const auto name = t.string("message", Need::kRequired);
  if (!name) return nullptr;
  msg = ctx.profile.dbc.find_message(*name);
  if (!msg) {
    std::vector<std::string> names;
    for (const auto& m : ctx.profile.dbc.messages) names.push_back(m.name);
    t.error("message", "no message '" + *name + "'" + did_you_mean(*name, names) + " in " +
                           ctx.profile.dbc_file);
    return nullptr;
  }
  auto& slot = ctx.codecs[*name];
  if (!slot) {
    try {
      slot = std::make_shared<const can::MessageCodec>(*msg);
    } catch (const std::exception& e) {
      t.error("message", std::string("cannot encode '") + *name + "': " + e.what());
      return nullptr;
    }
  }
  return slot;
}

// A period must sit on the tick grid, or frames could not go out on exact ticks. Phases are
// rounded to the nearest tick (a profile written for 1 ms ticks still runs at 10 ms).
std::optional<std::int64_t> read_tick_time(TableReader& t, std::string_view key, Need need,
                                           std::int64_t tick_ns, std::int64_t fallback,
                                           bool positive_only) {
  // At most an hour: frame times are period, phase and steps multiplied by module and row counts in
  // integer nanoseconds, which must not overflow.
  constexpr std::int64_t kHourNs = 3'600'000'000'000;
  const auto v = t.duration_ns(key, need, positive_only ? 1 : 0, kHourNs);
  // Missing: the fallback, unless the key was required (its error is reported; no value to use).
  if (!v) {
    return t.has(key) || need == Need::kRequired ? std::nullopt
                                                 : std::optional<std::int64_t>(fallback);
  }
  if (!positive_only) return (*v + tick_ns / 2) / tick_ns * tick_ns;
  if (*v % tick_ns != 0) {
    t.error(key, "must be a multiple of the tick (" +
                     format_number(static_cast<double>(tick_ns) / 1e9) + " s)");
    return std::nullopt;
  }
  return v;
}

std::vector<std::string> signal_names(const can::MessageCodec& codec) {
  std::vector<std::string> names;
  for (std::size_t k = 0; k < codec.signal_count(); ++k) names.push_back(codec.signal_name(k));
  return names;
}

struct E2ERead {
  bool on = false;
  std::size_t counter = 0, crc = 0;
  can::E2EConfig config;
};

E2ERead read_e2e(TableReader& t, const can::MessageCodec& codec) {
  E2ERead r;
  auto e = t.table("e2e");
  if (!e) return r;
  const auto counter = e->string("counter", Need::kRequired);
  const auto crc = e->string("crc", Need::kRequired);
  const auto data_id = e->integer("data_id", Need::kOptional, 0, 0xFFFF);
  const auto max_delta = e->integer("max_delta", Need::kOptional, 1, 15);
  const auto mode = e->choice("data_id_bytes", {"low", "both"});
  e->finish();
  if (!counter || !crc) return r;
  r.counter = codec.find(*counter);
  r.crc = codec.find(*crc);
  if (r.counter == can::MessageCodec::npos) {
    e->error("counter", "no signal '" + *counter + "'" +
                            did_you_mean(*counter, signal_names(codec)) + " in " + codec.name());
  }
  if (r.crc == can::MessageCodec::npos) {
    e->error("crc", "no signal '" + *crc + "'" + did_you_mean(*crc, signal_names(codec)) + " in " +
                        codec.name());
  }
  if (r.counter == can::MessageCodec::npos || r.crc == can::MessageCodec::npos) return r;
  r.config.data_id = static_cast<std::uint16_t>(data_id.value_or(0));
  r.config.max_delta_counter = static_cast<std::uint8_t>(max_delta.value_or(1));
  r.config.data_id_mode =
      mode.value_or("both") == "low" ? can::DataIdMode::kLowByte : can::DataIdMode::kBothBytes;
  try {
    can::E2ELayout check(codec, r.counter, r.crc, r.config);
  } catch (const std::exception& ex) {
    e->error_here(std::string("E2E signals do not fit: ") + ex.what());
    return r;
  }
  r.on = true;
  return r;
}

void read_tx(Context& ctx, TableReader& t, int& counter_keys) {
  const can::Message* msg = nullptr;
  auto codec = codec_for(ctx, t, msg);
  const auto bus = t.string("bus").value_or("can");
  const auto per = t.choice("per", {"pack", "module"}).value_or("pack");
  const auto id_step = t.integer("id_step", Need::kOptional, 0, 0x1FFFFFFF);
  const std::int64_t tick = ctx.layout.tick_ns;
  const auto period = read_tick_time(t, "period", Need::kRequired, tick, 0, true);
  const auto phase = read_tick_time(t, "phase", Need::kOptional, tick, 0, false);
  const auto phase_step = read_tick_time(t, "phase_step", Need::kOptional, tick, 0, false);
  // Rows of a multiplexed message can be spread over the period too (a BMS that takes one row per
  // task cycle from a short queue, like foxBMS's debug-CAN AFE input).
  const auto mux_phase_step = read_tick_time(t, "mux_phase_step", Need::kOptional, tick, 0, false);
  const auto mux_name = t.string("mux");
  const auto mux_values = read_mux_values(t);
  auto signals = t.table("signals", Need::kRequired);
  if (!codec) {
    if (signals) {
      for (auto&& [k, v] : signals->table_ref()) signals->node(k.str());
    }
    t.finish();
    return;
  }
  const E2ERead e2e = read_e2e(t, *codec);
  t.finish();
  if (!signals) return;
  // Keep checking the bindings after a bad period or phase: every error of the file at once.
  const std::int64_t period_ns = period.value_or(tick);
  const std::int64_t phase_ns = phase.value_or(0);
  const std::int64_t phase_step_ns = phase_step.value_or(0);
  const std::int64_t mux_phase_step_ns = mux_phase_step.value_or(0);
  // Only against a period that was read: a bad one stands in as one tick, and every phase would
  // then look too long.
  if (period && phase_ns >= period_ns) t.error("phase", "must be shorter than the period");

  std::size_t mux_signal = can::MessageCodec::npos;
  if (mux_name) {
    mux_signal = codec->find(*mux_name);
    if (mux_signal == can::MessageCodec::npos || mux_signal != codec->multiplexor()) {
      t.error("mux", "'" + *mux_name + "' is not the multiplexor of " + msg->name);
      return;
    }
    if (!mux_values) {
      t.error("mux", "a multiplexed message needs 'mux_values' (e.g. \"0..5\")");
      return;
    }
    // A row the multiplexor cannot carry would alias onto a lower one on the wire.
    const double mux_max = codec->raw_max(mux_signal);
    for (const std::uint64_t v : *mux_values) {
      if (static_cast<double>(v) > mux_max) {
        t.error("mux_values", "row " + std::to_string(v) + " does not fit the multiplexor '" +
                                  *mux_name + "' (0.." + format_number(mux_max) + ")");
        return;
      }
    }
  } else if (codec->multiplexor() != can::MessageCodec::npos) {
    t.error("message", msg->name + " is multiplexed: give 'mux' and 'mux_values'");
    return;
  }

  can::TxMessage tx;
  tx.name = msg->name;
  tx.bus = bus;
  tx.bus_index = bus_index(ctx.profile, bus);
  tx.codec = codec;
  tx.period_ns = period_ns;
  tx.e2e = e2e.on;
  tx.counter_signal = e2e.counter;
  tx.crc_signal = e2e.crc;
  tx.e2e_config = e2e.config;
  tx.per_module = per == "module";
  const std::size_t tx_index = ctx.profile.tx.size();

  const int instances = per == "module" ? ctx.layout.n_modules : 1;
  const std::uint32_t step = static_cast<std::uint32_t>(id_step.value_or(per == "module" ? 1 : 0));
  if (!instance_ids_fit(t, *msg, instances, step)) return;
  std::vector<std::uint64_t> muxes = mux_values.value_or(std::vector<std::uint64_t>{0});

  // Parse each binding once: key pattern, source, index expression, scale/offset.
  struct Binding {
    std::string key;
    KeyPattern pattern;
    can::Source source = can::Source::kConstant;
    std::string expr;
    double scale = 1.0, offset = 0.0, constant = 0.0;
    bool raw = false;
    double min = -std::numeric_limits<double>::infinity();
    double max = std::numeric_limits<double>::infinity();
    std::array<double, can::kHostModes> host_map{0.0, 1.0, 2.0};
    const toml::node* map_node = nullptr;
    const toml::node* node = nullptr;
    bool matched = false;
    bool failed = false;  // its error is reported once, not once per instance and row
  };
  std::vector<Binding> bindings;
  for (auto&& [k, v] : signals->table_ref()) {
    Binding b;
    b.key = std::string(k.str());
    b.node = &v;
    signals->node(k.str());
    std::string text;
    if (const auto* i = v.as_integer()) {
      b.constant = static_cast<double>(i->get());
    } else if (const auto* f = v.as_floating_point()) {
      b.constant = f->get();
    } else if (const auto* s = v.as_string()) {
      text = s->get();
    } else if (const auto* tbl = v.as_table()) {
      TableReader sub(*tbl, signals->key_path(k.str()), t.file(), ctx.diags);
      text = sub.string("source", Need::kRequired).value_or("");
      // Unit conversions (1000 for mA, 273.15 for K): a million either way is plenty.
      b.scale = sub.number("scale", Need::kOptional, between(-1e6, 1e6)).value_or(1.0);
      b.offset = sub.number("offset", Need::kOptional, between(-1e6, 1e6)).value_or(0.0);
      b.raw = sub.boolean("raw").value_or(false);
      // A clamp of the physical value, e.g. min = 0 for a firmware that reads a signed signal as
      // unsigned (-1 degC would arrive as 255 degC).
      const auto lo = sub.number("min", Need::kOptional, between(-1e15, 1e15));
      const auto hi = sub.number("max", Need::kOptional, between(-1e15, 1e15));
      if (lo) b.min = *lo;
      if (hi) b.max = *hi;
      if (lo && hi && *lo > *hi) sub.error("min", "greater than max; expected min <= max");
      b.map_node = sub.node("map");
      if (b.map_node) {
        if (const auto* mt = b.map_node->as_table()) {
          // The host's modes, each with the value the BMS's protocol has for it.
          TableReader mr(*mt, sub.key_path("map"), t.file(), ctx.diags);
          for (std::size_t m = 0; m < can::kHostModes; ++m) {
            const char* mode = can::host_mode_name(static_cast<can::HostMode>(m));
            if (const auto x = mr.number(mode, Need::kRequired, between(-1e15, 1e15)))
              b.host_map[m] = *x;
          }
          mr.finish();
        } else {
          sub.error("map", "expected a table, e.g. map = { standby = 0, normal = 1, charge = 2 }");
        }
      }
      sub.finish();
    } else {
      t.error_at(v, signals->key_path(k.str()) +
                        ": expected a source (\"cell_voltage[...]\"), a number, or a table");
      continue;
    }
    if (!text.empty()) {
      std::string name;
      if (!split_indexed(text, name, b.expr)) {
        t.error_at(v, signals->key_path(k.str()) + ": malformed source \"" + text + "\"");
        continue;
      }
      const SourceInfo* info = nullptr;
      for (const auto& s : kSources) {
        if (name == s.name) info = &s;
      }
      if (!info) {
        std::string list;
        std::vector<std::string> names;
        for (const auto& s : kSources) {
          list += (list.empty() ? "" : ", ") + std::string(s.name);
          names.emplace_back(s.name);
        }
        t.error_at(v, signals->key_path(k.str()) + ": unknown source '" + name + "'" +
                          did_you_mean(name, names) + "; expected one of " + list);
        continue;
      }
      if (info->indexed == b.expr.empty()) {
        t.error_at(v, signals->key_path(k.str()) + ": source '" + name + "' " +
                          (info->indexed ? "needs an index, e.g. " + name +
                                               "[module * cells_per_module + mux]"
                                         : "takes no index"));
        continue;
      }
      b.source = info->source;
      if (b.source == can::Source::kHostMode && !b.map_node) {
        t.error_at(v, signals->key_path(k.str()) +
                          ": source 'host_mode' needs the value of each mode, e.g. { source = "
                          "\"host_mode\", map = { standby = 0, normal = 1, charge = 2 } }");
        continue;
      }
      if (b.source != can::Source::kHostMode && b.map_node) {
        t.error_at(*b.map_node, signals->key_path(k.str()) +
                                    ".map: only source 'host_mode' takes a map (here '" + name +
                                    "')");
        continue;
      }
    }
    if (const auto pattern = compile_key(b.key)) {
      b.pattern = *pattern;
    } else {
      t.error_at(v, signals->key_path(k.str()) +
                        ": cannot read this signal name pattern (literal text and {name} "
                        "placeholders, not adjacent)");
      continue;
    }
    bindings.push_back(std::move(b));
  }

  for (int inst = 0; inst < instances; ++inst) {
    const std::uint32_t id = msg->id + static_cast<std::uint32_t>(inst) * step;
    if (per == "module" || inst == 0) {
      const std::uint64_t key = (static_cast<std::uint64_t>(msg->extended) << 32) | id;
      if (!ctx.used_ids.insert(key).second) {
        t.error(
            "message", msg->name + ": frame id 0x" +
                           [&] {
                             char b[16];
                             std::snprintf(b, sizeof b, "%X", id);
                             return std::string(b);
                           }() +
                           " (instance " + std::to_string(inst) +
                           ") collides with another message of the profile");
        return;
      }
    }
    // Instances of a message with E2E keep separate counters (each is its own stream of frames).
    const int key = counter_keys++;
    for (std::size_t row = 0; row < muxes.size(); ++row) {
      const std::uint64_t mux = muxes[row];
      can::TxFrame f;
      f.message = tx_index;
      f.instance = inst;
      f.id = id;
      f.phase_ns =
          (phase_ns + inst * phase_step_ns + static_cast<std::int64_t>(row) * mux_phase_step_ns) %
          period_ns;
      f.counter_key = key;
      if (mux_signal != can::MessageCodec::npos) {
        can::TxSlot ms;
        ms.signal = mux_signal;
        ms.source = can::Source::kMux;
        ms.constant = static_cast<double>(mux);
        ms.raw = true;
        f.slots.push_back(ms);
      }
      for (auto& b : bindings) {
        if (b.failed) continue;
        std::vector<long long> bound;
        for (std::size_t sig = 0; sig < codec->signal_count(); ++sig) {
          const std::string& sname = codec->signal_name(sig);
          if (!match_key(b.pattern, sname, bound)) continue;
          b.matched = true;
          // A multiplexed signal only goes into the frames of its mux value. The codec's signals
          // are the message's, in order (a lookup by name here made loading quadratic).
          const can::Signal& s = msg->signals[sig];
          if (s.mux_role == can::MuxRole::kMultiplexed && s.mux_value != mux) continue;
          Vars vars = layout_vars(ctx.layout, inst, static_cast<long long>(mux));
          for (std::size_t v = 0; v < b.pattern.vars.size(); ++v)
            vars[b.pattern.vars[v]] = bound[v];
          can::TxSlot slot;
          slot.signal = sig;
          slot.source = b.source;
          slot.scale = b.scale;
          slot.offset = b.offset;
          slot.constant = b.constant;
          slot.raw = b.raw;
          slot.min = b.min;
          slot.max = b.max;
          slot.host_map = b.host_map;
          if (b.source == can::Source::kMux) slot.constant = static_cast<double>(mux);
          if (!b.expr.empty()) {
            long long idx = 0;
            std::string err;
            if (!eval_index(b.expr, vars, idx, err)) {
              t.error_at(*b.node,
                         signals->key_path(b.key) + ": index \"" + shown(b.expr) + "\": " + err);
              b.failed = true;
              break;
            }
            slot.index = static_cast<int>(idx);
          }
          if (e2e.on && (sig == e2e.counter || sig == e2e.crc)) {
            t.error_at(*b.node,
                       signals->key_path(b.key) + ": '" + sname +
                           "' is the E2E counter/CRC; it is written by the E2E protection");
            b.failed = true;
            break;
          }
          // A constant, or a host mode's value, is known now: one that the signal cannot carry is
          // an error, not a value silently clamped in every frame.
          auto fits = [&](double value) {
            std::array<std::uint8_t, 64> scratch{};
            const can::SignalLayout& sl = codec->layout(sig);
            return b.raw ? std::isfinite(value) && value == std::floor(value) &&
                               (sl.length >= 64 ||
                                (sl.is_signed ? value >= -std::ldexp(1.0, sl.length - 1) &&
                                                    value < std::ldexp(1.0, sl.length - 1)
                                              : value >= 0.0 && value < std::ldexp(1.0, sl.length)))
                         : std::isfinite(value) &&
                               codec->encode(sig, value, scratch.data()) == can::EncodeStatus::kOk;
          };
          if (b.source == can::Source::kConstant && !fits(b.constant * b.scale + b.offset)) {
            t.error_at(*b.node, signals->key_path(b.key) + ": constant " +
                                    format_number(b.constant * b.scale + b.offset) +
                                    " does not fit signal '" + sname +
                                    "'; expected a value it can carry");
            b.failed = true;
            break;
          }
          if (b.source == can::Source::kHostMode) {
            for (std::size_t m = 0; m < can::kHostModes && !b.failed; ++m) {
              const double value = std::clamp(b.host_map[m] * b.scale + b.offset, b.min, b.max);
              if (fits(value)) continue;
              const char* mode = can::host_mode_name(static_cast<can::HostMode>(m));
              const toml::node* at = b.map_node->as_table()->get(mode);
              t.error_at(at ? *at : *b.map_node,
                         signals->key_path(b.key) + ".map." + mode + ": " + format_number(value) +
                             " does not fit signal '" + sname + "'; expected a value it can carry");
              b.failed = true;
            }
            if (b.failed) break;
          }
          if (items_of(b.source, ctx.layout) > 0) {
            ctx.bound.try_emplace(b.source,
                                  BoundSite{signals->where_of(*b.node), signals->key_path(b.key)});
          }
          f.slots.push_back(slot);
        }
      }
      // A row that carries nothing of this pack (every indexed signal beyond its cells or sensors)
      // is not sent: it would only load the bus.
      bool indexed = false, present = false;
      for (const auto& slot : f.slots) {
        if (slot.source == can::Source::kConstant || slot.source == can::Source::kMux ||
            slot.source == can::Source::kModule || slot.source == can::Source::kCounter) {
          continue;
        }
        // A pack-level measurement (current, voltages, ...) is always present; an indexed one
        // when its index is one of the pack's.
        const int items = items_of(slot.source, ctx.layout);
        if (items == 0 || (slot.index >= 0 && slot.index < items)) present = true;
        indexed = true;
      }
      if (indexed && !present) continue;
      ctx.profile.frames.push_back(std::move(f));
    }
  }
  for (const auto& b : bindings) {
    if (!b.matched)
      t.error_at(*b.node, signals->key_path(b.key) + ": no signal of " + msg->name + " matches '" +
                              b.key + "'");
  }
  ctx.profile.tx.push_back(std::move(tx));
}

// `scale`/`offset`/`unit` of an observe binding in dimension `dim` (`name` for messages): SI =
// decoded * observe_scale + observe_offset; the DBC's unit unless `unit` says otherwise. Also
// whether the raw all-ones value means "not available".
template <class Fail>
void read_observe_scale(TableReader* sub, const std::string& name, const can::Message& msg,
                        const std::string& signal, ObsDim dim, const Fail& fail,
                        can::RxBinding& b) {
  const std::string site = msg.name + "." + signal;
  double scale = 1.0, offset = 0.0;
  if (sub) {
    // The transmit side's plausible range: a typo'd exponent is refused at its key.
    scale = sub->number("scale", Need::kOptional, between(-1e6, 1e6)).value_or(1.0);
    offset = sub->number("offset", Need::kOptional, between(-1e6, 1e6)).value_or(0.0);
    if (scale == 0.0) sub->error("scale", "0 would make every value the same; expected nonzero");
  }
  const can::Signal* dbc_signal = msg.find_signal(signal);
  const std::string dbc_unit = dbc_signal ? dbc_signal->unit : "";
  const std::optional<std::string> given = sub ? sub->string("unit") : std::nullopt;
  const std::string unit = given.value_or(dbc_unit);
  const ObsUnit* u = find_obs_unit(dim, unit);
  if (!u) {
    const std::string expected = "expected " + obs_unit_list(dim);
    if (given) {
      sub->error("unit", "unit \"" + unit + "\" is not one of " + name + "'s; " + expected);
    } else {
      fail(name + ": the DBC gives " + site + " the unit \"" + unit +
           "\", which packsim does not convert; say what the value is in with unit = ..., " +
           expected);
    }
  } else {
    b.observe_scale = scale * u->factor;
    b.observe_offset = offset * u->factor + u->offset;
  }
  if (dbc_signal && !dbc_signal->is_signed && dbc_signal->value_type == can::ValueType::kInteger &&
      dbc_signal->length >= 2 && dbc_signal->length < 64 &&
      dbc_signal->maximum > dbc_signal->minimum) {
    const double all_ones = std::ldexp(1.0, dbc_signal->length) - 1.0;
    b.observe_not_available =
        all_ones * dbc_signal->factor + dbc_signal->offset > dbc_signal->maximum;
  }
}

// The observe part of an RX binding: `observe` names the observable; `scale`/`offset`/`unit` turn
// the decoded value into SI; for bms_state, `states` maps raw values to state names.
void read_observe(Context& ctx, TableReader& t, TableReader* sub, const toml::node& where,
                  const std::string& path, const std::string& name, const can::Message& msg,
                  const std::string& signal, int instances, can::RxBinding& b) {
  const can::Observable o = can::observable_from_name(name);
  if (sub) {
    for (const char* key : {"scale", "offset", "unit", "states", "other_state"}) sub->node(key);
  }
  std::vector<std::string> names;
  std::string list;
  for (std::size_t i = 0; i < can::kObservableCount; ++i) {
    names.emplace_back(can::observable_name(static_cast<can::Observable>(i)));
    list += (list.empty() ? "" : ", ") + names.back();
  }
  auto fail = [&](const std::string& message) {
    if (sub && sub->has("observe")) {
      sub->error("observe", message);
    } else {
      t.error_at(where, path + ": " + message);
    }
  };
  if (o == can::Observable::kCount) {
    fail("unknown observable '" + name + "'" + did_you_mean(name, names) + "; expected one of " +
         list);
    return;
  }
  if (instances != 1) {
    fail(name +
         " is one value of the BMS: observe it in a message sent once (per = \"pack\"), "
         "not per module");
    return;
  }
  const std::string site = msg.name + "." + signal;
  if (const auto [it, fresh] = ctx.observed_by.emplace(o, site); !fresh) {
    fail(name + " is observed twice: by " + it->second + " and by " + site);
    return;
  }
  b.observe = o;
  const ObsDim dim = observable_dim(o);
  auto refuse = [&](const char* key, const std::string& why) {
    if (sub && sub->has(key)) sub->error(key, why);
    if (sub) sub->node(key);
  };
  if (dim == ObsDim::kNone) {
    for (const char* key : {"scale", "offset", "unit"}) {
      refuse(key, name +
                      (o == can::Observable::kState       ? " is a state name"
                       : o == can::Observable::kFaultCode ? " is the BMS's raw fault code"
                                                          : " is a flag (nonzero = 1)") +
                      ": '" + key + "' does not apply");
    }
  } else {
    read_observe_scale(sub, name, msg, signal, dim, fail, b);
  }
  if (o != can::Observable::kState) {
    refuse("states", "'states' maps bms_state's raw values; " + name + " is not the state");
    refuse("other_state", "'other_state' belongs to bms_state");
    return;
  }
  if (!sub) return;
  auto state_index = [](const std::string& s) -> int {
    for (std::size_t k = 0; k < sim::kBmsStateNames.size(); ++k) {
      if (s == sim::kBmsStateNames[k]) return static_cast<int>(k);
    }
    return -1;
  };
  std::string state_list;
  std::vector<std::string> state_names(sim::kBmsStateNames.begin(), sim::kBmsStateNames.end());
  for (const auto& n : state_names) state_list += (state_list.empty() ? "\"" : ", \"") + n + "\"";
  if (auto states = sub->table("states")) {
    for (auto&& [mk, mv] : states->table_ref()) {
      states->node(mk.str());
      long long value = 0;
      try {
        value = std::stoll(std::string(mk.str()), nullptr, 0);
      } catch (...) {
        t.error_at(mv, states->key_path(mk.str()) +
                           ": the key must be the signal's raw value (an integer)");
        continue;
      }
      const auto* sv = mv.as_string();
      const int st = sv ? state_index(sv->get()) : -1;
      if (st < 0) {
        const std::string got = sv ? "\"" + sv->get() + "\"" : "a non-string";
        t.error_at(mv, states->key_path(mk.str()) + ": " + got + " is not a BMS state" +
                           (sv ? did_you_mean(sv->get(), state_names) : "") + "; expected one of " +
                           state_list);
        continue;
      }
      b.observe_states.emplace_back(value, static_cast<std::uint8_t>(st));
    }
    states->finish();
  }
  if (const auto other = sub->string("other_state")) {
    const int st = state_index(*other);
    if (st < 0) {
      sub->error("other_state", "\"" + *other + "\" is not a BMS state" +
                                    did_you_mean(*other, state_names) + "; expected one of " +
                                    state_list);
    } else {
      b.observe_state_default = static_cast<std::uint8_t>(st);
    }
  }
}

void read_rx(Context& ctx, TableReader& t) {
  const can::Message* msg = nullptr;
  auto codec = codec_for(ctx, t, msg);
  const auto bus = t.string("bus").value_or("can");
  const auto per = t.choice("per", {"pack", "module"}).value_or("pack");
  const auto id_step = t.integer("id_step", Need::kOptional, 0, 0x1FFFFFFF);
  // At most an hour, as TX periods: a command that comes once a day is not supervised.
  constexpr std::int64_t kHourNs = 3'600'000'000'000;
  const auto period = t.duration_ns("period", Need::kOptional, 1, kHourNs);
  const auto timeout = t.duration_ns("timeout", Need::kOptional, 1, kHourNs);
  const auto on_timeout = t.choice("on_timeout", {"open", "hold"}).value_or("open");
  auto signals = t.table("signals", Need::kRequired);
  if (!codec) {
    if (signals) {
      for (auto&& [k, v] : signals->table_ref()) signals->node(k.str());
    }
    t.finish();
    return;
  }
  const E2ERead e2e = read_e2e(t, *codec);
  t.finish();
  if (!signals) return;

  can::RxMessage rx;
  rx.name = msg->name;
  rx.bus = bus;
  rx.bus_index = bus_index(ctx.profile, bus);
  rx.codec = codec;
  rx.id = msg->id;
  rx.instances = per == "module" ? ctx.layout.n_modules : 1;
  rx.id_step = static_cast<std::uint32_t>(id_step.value_or(per == "module" ? 1 : 0));
  if (!instance_ids_fit(t, *msg, rx.instances, rx.id_step)) return;
  rx.e2e = e2e.on;
  rx.counter_signal = e2e.counter;
  rx.crc_signal = e2e.crc;
  rx.e2e_config = e2e.config;
  rx.period_ns = period.value_or(
      msg->cycle_time_ms > 0 ? std::int64_t{msg->cycle_time_ms} * 1'000'000 : 100'000'000);
  rx.timeout_ns = timeout.value_or(0);
  rx.open_on_timeout = on_timeout == "open";
  for (int inst = 0; inst < rx.instances; ++inst) {
    const std::uint64_t key = (static_cast<std::uint64_t>(msg->extended) << 32) |
                              (rx.id + static_cast<std::uint32_t>(inst) * rx.id_step);
    if (!ctx.used_ids.insert(key).second) {
      t.error("message", msg->name + ": frame id of instance " + std::to_string(inst) +
                             " collides with another message of the profile");
      return;
    }
  }
  for (auto&& [k, v] : signals->table_ref()) {
    signals->node(k.str());
    const std::string key(k.str());
    const std::size_t sig = codec->find(key);
    if (sig == can::MessageCodec::npos) {
      t.error_at(v, signals->key_path(key) + ": no signal '" + key + "'" +
                        did_you_mean(key, signal_names(*codec)) + " in " + msg->name);
      continue;
    }
    can::RxBinding b;
    b.signal = sig;
    std::string text;
    std::string observe;  // the observable's name, from the shorthand or `observe = ...`
    std::optional<TableReader> sub;
    if (const auto* s = v.as_string()) {
      text = s->get();
      // "bms_soc" alone: observe the signal as that, with the DBC's unit.
      if (can::observable_from_name(text) != can::Observable::kCount) {
        observe = text;
        text = "observe";
      }
    } else if (const auto* tbl = v.as_table()) {
      sub.emplace(*tbl, signals->key_path(key), t.file(), ctx.diags);
      const bool observes = sub->has("observe");
      text = sub->string("command", observes ? Need::kOptional : Need::kRequired)
                 .value_or(observes ? "observe" : "");
    } else {
      t.error_at(v, signals->key_path(key) + ": expected a command name or a table");
      continue;
    }
    std::string name, expr;
    if (!split_indexed(text, name, expr)) {
      t.error_at(v, signals->key_path(key) + ": malformed command \"" + text + "\"");
      if (sub) sub->finish();
      continue;
    }
    const CommandInfo* info = nullptr;
    for (const auto& c : kCommands) {
      if (name == c.name) info = &c;
    }
    if (!info) {
      std::string list;
      std::vector<std::string> names;
      for (const auto& c : kCommands) {
        list += (list.empty() ? "" : ", ") + std::string(c.name);
        names.emplace_back(c.name);
      }
      t.error_at(v, signals->key_path(key) + ": unknown command '" + name + "'" +
                        did_you_mean(name, names) + "; expected one of " + list);
      if (sub) sub->finish();
      continue;
    }
    b.command = info->command;
    if (info->indexed) {
      if (expr.empty()) {
        t.error_at(v, signals->key_path(key) + ": '" + name +
                          "' needs the first channel as an index, e.g. " + name +
                          "[module * cells_per_module]");
        if (sub) sub->finish();
        continue;
      }
      // Affine in module and mux: evaluate at (0,0), (1,0), (0,1) and check at (2,3).
      const toml::node& where = v;  // a lambda may not capture a structured binding before C++20
      auto eval = [&](long long module, long long mux, long long& out) {
        const Vars vars = layout_vars(ctx.layout, module, mux);
        std::string err;
        if (!eval_index(expr, vars, out, err)) {
          t.error_at(where, signals->key_path(key) + ": index \"" + shown(expr) + "\": " + err);
          return false;
        }
        return true;
      };
      long long base = 0, m1 = 0, x1 = 0, check = 0;
      if (!eval(0, 0, base) || !eval(1, 0, m1) || !eval(0, 1, x1) || !eval(2, 3, check)) {
        if (sub) sub->finish();
        continue;
      }
      // Each value is within kMaxIndex, so these differences and sums cannot overflow.
      const long long per_module = m1 - base, per_mux = x1 - base;
      if (per_module < -kMaxIndex || per_module > kMaxIndex || per_mux < -kMaxIndex ||
          per_mux > kMaxIndex) {
        t.error_at(v, signals->key_path(key) + ": index \"" + shown(expr) + "\" changes by " +
                          std::to_string(per_module) + " per module and " +
                          std::to_string(per_mux) + " per mux row; expected at most " +
                          std::to_string(kMaxIndex) + " either way");
        if (sub) sub->finish();
        continue;
      }
      b.index = static_cast<int>(base);
      b.index_per_instance = static_cast<int>(per_module);
      b.index_per_mux = static_cast<int>(per_mux);
      if (check != base + 2 * per_module + 3 * per_mux) {
        t.error_at(v, signals->key_path(key) + ": index \"" + shown(expr) +
                          "\" must be linear in module and mux");
      } else if (b.command == can::Command::kBalanceMask && b.index_per_mux == 0) {
        // Without a mux every channel's switch must be in some instance's mask; a mask narrower
        // than the modules leaves cells that can never be balanced.
        const int width = static_cast<int>(codec->layout(sig).length);
        std::vector<char> seen(static_cast<std::size_t>(ctx.layout.n_channels), 0);
        for (int inst = 0; inst < rx.instances; ++inst) {
          for (int bit = 0; bit < width; ++bit) {
            const long long ch = base + static_cast<long long>(inst) * b.index_per_instance + bit;
            if (ch >= 0 && ch < ctx.layout.n_channels) seen[static_cast<std::size_t>(ch)] = 1;
          }
        }
        const auto [what, missing] = uncovered(Item::kCell, seen, ctx.layout);
        if (!what.empty()) {
          t.error_at(v, signals->key_path(key) + ": the masks reach " + what + ": " + missing +
                            " can never be balanced; expected a mask as wide as a module" +
                            note_shortfall(ctx, Item::kCell, seen));
        }
      }
    }
    if (b.command == can::Command::kContactorState) {
      if (!sub) {
        t.error_at(v, signals->key_path(key) +
                          ": contactor_state needs a table: { command = \"contactor_state\", map = "
                          "{ 7 = \"closed\" } }");
        continue;
      }
      auto state_of = [](const std::string& s) -> int {
        if (s == "open") return 0;
        if (s == "precharge") return 2 | 4;
        if (s == "closed") return 1 | 2;
        if (s == "closed+precharge") return 1 | 2 | 4;
        return -1;
      };
      if (auto map = sub->table("map", Need::kRequired)) {
        for (auto&& [mk, mv] : map->table_ref()) {
          map->node(mk.str());
          long long value = 0;
          try {
            value = std::stoll(std::string(mk.str()), nullptr, 0);
          } catch (...) {
            t.error_at(
                mv, map->key_path(mk.str()) + ": the key must be the signal's value (an integer)");
            continue;
          }
          const auto* s = mv.as_string();
          const int st = s ? state_of(s->get()) : -1;
          if (st < 0) {
            t.error_at(
                mv, map->key_path(mk.str()) +
                        ": expected \"open\", \"precharge\", \"closed\" or \"closed+precharge\"");
            continue;
          }
          b.state_map.emplace_back(value, static_cast<std::uint8_t>(st));
        }
        map->finish();
      }
      const int def = state_of(sub->string("default").value_or("open"));
      if (def < 0)
        sub->error("default",
                   "expected \"open\", \"precharge\", \"closed\" or \"closed+precharge\"");
      b.state_default = static_cast<std::uint8_t>(std::max(def, 0));
    }
    if (b.command == can::Command::kCellSoc) {
      // Indexed by channel, so it is not one of the scalar observables: its own storage and
      // scores, the same unit rules as bms_soc.
      // A copy of the binding's node: a lambda may not capture a structured binding (C++17).
      const auto& value_node = v;
      const std::string where = signals->key_path(key);
      auto fail = [&](const std::string& m) { t.error_at(value_node, where + ": " + m); };
      if (sub) {
        for (const char* k2 : {"observe", "states", "other_state"}) {
          if (sub->has(k2))
            sub->error(k2, std::string("'") + k2 + "' does not apply to bms_cell_soc[...]");
          sub->node(k2);
        }
      }
      read_observe_scale(sub ? &*sub : nullptr, "bms_cell_soc", *msg, key, ObsDim::kRatio, fail, b);
      if (sub) sub->finish();
      ctx.profile.observes_cell_soc = true;
      // One DBC serves modules of any size: in a per-module message, a slot past the module's
      // cells (CellSoc13 of a 12-cell module) names no cell of that module, so it is dropped
      // rather than read as the next module's cell twice.
      const int cpm = ctx.layout.cells_per_module;
      if (per == "module" && b.index_per_mux == 0 && b.index_per_instance == cpm &&
          (b.index < 0 || b.index >= cpm))
        continue;
      rx.bindings.push_back(std::move(b));
      continue;
    }
    if (sub) {
      if (const auto o = sub->string("observe")) observe = *o;
    }
    if (b.command == can::Command::kObserve && observe.empty()) {
      t.error_at(v, signals->key_path(key) +
                        ": \"observe\" needs the observable: { observe = \"bms_soc\" } or just "
                        "\"bms_soc\"");
    } else if (!observe.empty()) {
      read_observe(ctx, t, sub ? &*sub : nullptr, v, signals->key_path(key), observe, *msg, key,
                   rx.instances, b);
    } else if (sub) {
      for (const char* k2 : {"scale", "offset", "unit", "states", "other_state"}) {
        if (sub->has(k2))
          sub->error(k2, std::string("'") + k2 +
                             "' applies to an observe binding; add observe = "
                             "\"bms_...\"");
        sub->node(k2);
      }
    }
    if (sub) sub->finish();
    if (b.command != can::Command::kRecordOnly && b.command != can::Command::kObserve &&
        b.command != can::Command::kBalanceMask && b.command != can::Command::kBalanceChannel) {
      ctx.profile.commands_contactors = true;
    }
    if (b.command == can::Command::kBalanceMask || b.command == can::Command::kBalanceChannel) {
      ctx.profile.commands_balancing = true;
    }
    if (b.observe != can::Observable::kCount)
      ctx.profile.observed_mask |= 1u << static_cast<unsigned>(b.observe);
    rx.bindings.push_back(std::move(b));
  }
  ctx.profile.rx.push_back(std::move(rx));
}

}  // namespace

ProfileLayout profile_layout(const model::PackSpec& pack, const model::AfeSpec& afe,
                             std::int64_t tick_ns, const model::AfeLayoutKeys& keys) {
  ProfileLayout l;
  l.keys = keys;
  l.n_channels = pack.series;
  l.cells_per_module = model::afe_cells_per_module(afe, pack.series, pack.groups_per_module);
  l.n_modules = (pack.series + l.cells_per_module - 1) / l.cells_per_module;
  l.n_sensors = model::afe_sensor_count(afe, pack.series, pack.groups_per_module);
  l.sensors_per_module =
      afe.ntc.empty() ? afe.sensors_per_module : (l.n_sensors + l.n_modules - 1) / l.n_modules;
  l.tick_ns = tick_ns;
  return l;
}

bool resolve_scenario_profile(sim::Scenario& sc, Diagnostics& diags) {
  if (sc.bms.mode == sim::BmsMode::kNone) {
    sc.profile.reset();
    return true;
  }
  if (sc.profile && sc.profile_tick_ns == sc.tick_ns) return true;
  const auto path = resolve_profile(sc.bms.profile, std::filesystem::path(sc.file).parent_path());
  if (!input_exists(path)) {
    diags.error({sc.file, 0, 0},
                profile_not_found(sc.bms.profile, std::filesystem::path(sc.file).parent_path()));
    return false;
  }
  sc.bms.profile_file = path.string();
  sc.profile = load_profile(path, profile_layout(sc.pack, sc.afe, sc.tick_ns, sc.afe_keys), diags);
  sc.profile_tick_ns = sc.tick_ns;
  return sc.profile != nullptr;
}

namespace {
bool is_profile_path(const std::string& name_or_path) {
  return name_or_path.find('/') != std::string::npos ||
         (name_or_path.size() > 5 && name_or_path.substr(name_or_path.size() - 5) == ".toml");
}
}  // namespace

std::filesystem::path resolve_profile(const std::string& name_or_path,
                                      const std::filesystem::path& referencing_dir) {
  if (is_profile_path(name_or_path)) return resolve_path(referencing_dir, name_or_path);
  return resolve_path(referencing_dir, "profiles/" + name_or_path + "/profile.toml");
}

std::string profile_not_found(const std::string& name_or_path,
                              const std::filesystem::path& referencing_dir) {
  if (std::filesystem::path(name_or_path).is_absolute())
    return "profile '" + name_or_path + "' not found";
  const std::string written =
      is_profile_path(name_or_path) ? name_or_path : "profiles/" + name_or_path + "/profile.toml";
  return "profile '" + name_or_path + "' not found (looked for " + written + " in " +
         searched_text(referencing_dir) + ")";
}

std::shared_ptr<const can::Profile> load_profile(const std::filesystem::path& path,
                                                 const ProfileLayout& layout, Diagnostics& diags) {
  const std::size_t errors_before = diags.size();
  const auto file = TomlFile::load(path, diags);
  if (!file) return nullptr;
  auto profile = std::make_shared<can::Profile>();
  profile->file = file->name();
  TableReader root(file->root(), "", file->name(), diags);
  bool dbc_ok = false;
  if (auto t = root.table("profile", Need::kRequired)) {
    profile->name = t->string("name", Need::kRequired).value_or("");
    t->string("description");
    if (const auto dbc = t->string("dbc", Need::kRequired)) {
      const auto dbc_path = resolve_path(file->directory(), *dbc);
      profile->dbc_file = dbc_path.string();
      if (const auto problem = referenced_file_problem(dbc_path, file->directory(), *dbc);
          !problem.empty()) {
        t->error("dbc", "DBC file '" + *dbc + "' " + problem);
      } else {
        auto parsed = can::load_dbc_file(dbc_path.string());
        diags.append(parsed.diagnostics);
        dbc_ok = parsed.diagnostics.empty();
        if (dbc_ok) profile->dbc = std::move(parsed.database);
      }
    }
    t->finish();
  }
  // Without its DBC nothing below can be checked; any other [profile] problem still lets the
  // bindings be checked, so the whole file's errors come at once.
  if (!dbc_ok) {
    root.node("tx");  // known keys, unchecked without their DBC: not "unknown key" errors
    root.node("rx");
    root.finish();
    return nullptr;
  }
  Context ctx{layout, *profile, diags, {}, {}, {}, {}, {}};
  int counter_keys = 0;
  for (auto& t : root.tables("tx")) read_tx(ctx, t, counter_keys);
  // Only over frames that were all built: a binding that failed would show as a gap too.
  if (diags.size() == errors_before) check_tx_coverage(ctx);
  for (auto& t : root.tables("rx")) read_rx(ctx, t);
  report_shortfalls(ctx);
  root.finish();
  if (diags.size() != errors_before) return nullptr;
  return profile;
}

}  // namespace packsim::config
