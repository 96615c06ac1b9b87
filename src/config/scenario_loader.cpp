// scenarios/*.toml -> sim::Scenario (with the pack and cell it names), and CSV load profiles.
#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>

#include "packsim/config/loaders.hpp"
#include "packsim/config/toml_reader.hpp"
#include "packsim/sim/condition.hpp"
#include "packsim/util/input_file.hpp"
#include "packsim/util/suggest.hpp"

namespace packsim::config {
namespace {

// A condition's error at the offending token: the string's own column plus the token's inside it
// (a basic string starts one column after its quote; escapes would shift it, which conditions do
// not need).
void condition_error(const TableReader& t, std::string_view key, const std::string& text,
                     const sim::ConditionError& err) {
  SourceLocation at = t.where(key);
  const toml::node* n = t.table_ref().get(key);
  if (n && n->is_string()) at = t.where_of(*n);
  if (n && n->is_array()) {
    for (const auto& item : *n->as_array()) {
      if (const auto* str = item.as_string(); str && str->get() == text) {
        at = t.where_of(item);
        break;
      }
    }
  }
  if (at.column > 0) at.column += err.column;  // the opening quote is at `column`
  t.diagnostics().error(at, t.key_path(key) + ": condition \"" + text + "\": " + err.message);
}

constexpr Range kPackPower{-plausible::kPackPowerW, plausible::kPackPowerW, false};

std::optional<model::ContactorState> parse_contactors(TableReader& t, std::string_view key) {
  const auto s = t.choice(key, {"open", "closed", "precharge"});
  if (!s) return std::nullopt;
  if (*s == "open") return model::ContactorState{false, false, false};
  if (*s == "closed") return model::ContactorState{true, true, false};
  return model::ContactorState{false, true, true};
}

// [[fault]] tables (docs/faults.md). What each kind addresses and the key of its magnitude.
struct PackShape {
  int ns = 1, np = 1, n_cells = 1, n_modules = 1, n_sensors = 1, afe_modules = 1;
};

struct MagnitudeKey {
  const char* key = nullptr;  // nullptr: the kind has no magnitude
  Dimension dim = Dimension::kRatio;
  Range range;
  bool required = true;
};

struct FaultKindInfo {
  const char* name = nullptr;
  sim::FaultKind kind = sim::FaultKind::kInternalShort;
  enum Address {
    kNone,
    kCell,
    kGroupSegment,
    kLink,
    kContactor,
    kModuleOrAll,
    kChannel,
    kSensor,
    kMessage,
    kBabble,
    kSilence,
    kErrorFrames
  } address = kNone;
  MagnitudeKey magnitude;
};

const FaultKindInfo* fault_kinds(std::size_t& n) {
  using K = sim::FaultKind;
  using A = FaultKindInfo;
  const double cell_v = plausible::kCellVoltageV;
  // Shorts from a hard nail (1 mOhm) to a barely-there leak (1 GOhm); insulation from a dead
  // short to chassis up to a healthy pack's tens of MOhm and beyond.
  static const FaultKindInfo kinds[] = {
      {"internal_short",
       K::kInternalShort,
       A::kCell,
       {"resistance", Dimension::kResistance, between(1e-6, 1e9)}},
      {"heater", K::kHeater, A::kCell, {"power", Dimension::kPower, between(0.0, 1e5)}},
      {"open_cell", K::kOpenCell, A::kCell, {}},
      {"cell_fade", K::kCellFade, A::kCell, {}},
      {"loose_busbar",
       K::kLooseBusbar,
       A::kGroupSegment,
       {"resistance", Dimension::kResistance, plausible::conductor()}},
      {"loose_link",
       K::kLooseLink,
       A::kLink,
       {"resistance", Dimension::kResistance, plausible::conductor()}},
      {"contactor_welded", K::kContactorWelded, A::kContactor, {}},
      {"contactor_stuck_open", K::kContactorStuckOpen, A::kContactor, {}},
      {"precharge_open", K::kPrechargeOpen, A::kNone, {}},
      {"insulation",
       K::kInsulation,
       A::kCell,
       {"resistance", Dimension::kResistance, between(1e-3, 1e12)}},
      {"cooling_loss",
       K::kCoolingLoss,
       A::kModuleOrAll,
       {"scale", Dimension::kRatio, between(0.0, 1.0)}},
      {"ambient",
       K::kAmbient,
       A::kNone,
       {"temperature", Dimension::kTemperature, plausible::ambient_temperature()}},
      {"afe_offset",
       K::kAfeOffset,
       A::kChannel,
       {"offset", Dimension::kVoltage, between(-cell_v, cell_v)}},
      {"afe_gain", K::kAfeGain, A::kChannel, {"gain", Dimension::kRatio, between(0.0, 10.0)}},
      {"afe_stuck",
       K::kAfeStuck,
       A::kChannel,
       {"value", Dimension::kVoltage, between(-cell_v, cell_v), false}},
      {"afe_noise", K::kAfeNoise, A::kChannel, {"sigma", Dimension::kVoltage, between(0.0, 1.0)}},
      {"afe_dropout", K::kAfeDropout, A::kChannel, {}},
      {"open_wire", K::kOpenWire, A::kChannel, {}},
      {"ntc_offset",
       K::kNtcOffset,
       A::kSensor,
       {"offset", Dimension::kTemperatureDifference, between(-200.0, 200.0)}},
      {"ntc_drift",
       K::kNtcDrift,
       A::kSensor,
       {"offset", Dimension::kTemperatureDifference, between(-200.0, 200.0), false}},
      {"ntc_open", K::kNtcOpen, A::kSensor, {}},
      {"ntc_short", K::kNtcShort, A::kSensor, {}},
      {"current_offset",
       K::kCurrentOffset,
       A::kNone,
       {"offset", Dimension::kCurrent, plausible::pack_current()}},
      {"current_stuck",
       K::kCurrentStuck,
       A::kNone,
       {"value", Dimension::kCurrent, plausible::pack_current(), false}},
      {"current_error", K::kCurrentError, A::kNone, {}},
      {"can_drop", K::kCanDrop, A::kMessage, {}},
      {"can_corrupt_crc", K::kCanCorruptCrc, A::kMessage, {}},
      {"can_repeat_counter", K::kCanRepeatCounter, A::kMessage, {}},
      {"can_short_frame", K::kCanShortFrame, A::kMessage, {}},
      {"can_delay", K::kCanDelay, A::kMessage, {"delay", Dimension::kTime, between(1e-6, 10.0)}},
      {"can_babble", K::kCanBabble, A::kBabble, {}},
      {"can_silence", K::kCanSilence, A::kSilence, {}},
      {"can_error_frames", K::kCanErrorFrames, A::kErrorFrames, {}},
  };
  static_assert(std::size(kinds) == sim::kFaultKindCount, "one row per fault kind");
  n = std::size(kinds);
  return kinds;
}

// One value of a magnitude, as written in a step or a ramp's `to`.
std::optional<double> magnitude_value(const TableReader& t, const toml::node& n,
                                      const MagnitudeKey& m, const char* what) {
  const auto* s = n.as_string();
  if (!s) {
    t.error_at(n, std::string(what) + ": expected a quantity string such as \"10 mohm\"");
    return std::nullopt;
  }
  const QuantityResult q = parse_quantity(s->get(), m.dim);
  if (!q.value) {
    t.error_at(n, std::string(what) + ": " + q.error);
    return std::nullopt;
  }
  if (!(*q.value >= m.range.min && *q.value <= m.range.max)) {
    t.error_at(n, std::string(what) + ": " + format_number(*q.value) + " " + si_unit(m.dim) +
                      " out of range; expected between " + format_number(m.range.min) + " and " +
                      format_number(m.range.max) + " " + si_unit(m.dim));
    return std::nullopt;
  }
  return q.value;
}

// `when` / `until` as a condition, errors at the token inside the string.
std::optional<sim::Condition> condition_key(TableReader& t, std::string_view key,
                                            const sim::ConditionContext& ctx) {
  const auto text = t.string(key);
  if (!text) return std::nullopt;
  sim::ConditionError err;
  auto c = sim::parse_condition(*text, ctx, err);
  if (!c) condition_error(t, key, *text, err);
  return c;
}

// What a scenario's condition needs of the BMS side: bms_state, the bms_* observables; the first
// place each is used, for the checks against the profile.
void note_condition(sim::Scenario& sc, const sim::Condition& c, const SourceLocation& where) {
  if (c.uses_bms_state && !sc.uses_bms_state) {
    sc.uses_bms_state = true;
    sc.bms_state_where = where;
  }
  for (unsigned o = 0; o < can::kObservableCount; ++o) {
    const std::uint32_t bit = 1u << o;
    if ((c.bms_observables & bit) == 0 || (sc.bms_observables & bit) != 0) continue;
    sc.bms_observables |= bit;
    sc.bms_observable_where.emplace_back(static_cast<int>(o), where);
  }
  if (c.uses_bms_cell_soc && !sc.bms_cell_soc_where) sc.bms_cell_soc_where = where;
}

void read_faults(TableReader& root, const PackShape& p, const sim::ConditionContext& ctx,
                 sim::Scenario& sc) {
  std::size_t n_kinds = 0;
  const FaultKindInfo* kinds = fault_kinds(n_kinds);
  std::vector<std::string> kind_names;
  for (std::size_t k = 0; k < n_kinds; ++k) kind_names.emplace_back(kinds[k].name);
  for (auto& t : root.tables("fault")) {
    sim::Fault f;
    f.where = t.where();
    const auto kind = t.choice("type", kind_names, Need::kRequired);
    f.label = t.string("label").value_or("");
    if (const auto name = t.string("name")) {
      // fault_active[name] reads it: a word of the condition language.
      const bool word = !name->empty() && !std::isdigit(static_cast<unsigned char>((*name)[0])) &&
                        std::all_of(name->begin(), name->end(), [](char c) {
                          return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
                        });
      if (!word) {
        t.error("name", "fault name \"" + *name +
                            "\": expected letters, digits and '_', not starting with a digit");
      }
      for (const auto& other : sc.faults) {
        if (other.name == *name) t.error("name", "another [[fault]] is named \"" + *name + "\"");
      }
      f.name = *name;
    }
    // Trigger and stop.
    f.at_ns = t.duration_ns("at", Need::kOptional);
    f.when = condition_key(t, "when", ctx);
    if (t.has("at") && t.has("when")) t.error("when", "give either 'at' or 'when', not both");
    // can_delay's own `delay` is the frames' delay; its trigger cannot be delayed.
    if (auto d = kind == std::optional<std::string>("can_delay") ? std::nullopt
                                                                 : t.duration_ns("delay")) {
      if (!t.has("when")) t.error("delay", "a delay follows a 'when' condition; none given");
      f.delay_ns = *d;
    }
    if (!t.has("at") && !t.has("when")) f.at_ns = 0;  // from the start
    f.duration_ns = t.duration_ns("duration", Need::kOptional, 1);
    f.until = condition_key(t, "until", ctx);
    if (t.has("duration") && t.has("until"))
      t.error("until", "give either 'duration' or 'until', not both");
    for (const auto& [c, key] : {std::pair{&f.when, "when"}, std::pair{&f.until, "until"}}) {
      if (*c) note_condition(sc, **c, t.where_of(*t.table_ref().get(key)));
    }
    if (!kind) {
      for (auto&& [k, v] : t.table_ref()) t.node(k.str());
      t.finish();
      continue;
    }
    const FaultKindInfo* info = nullptr;
    for (std::size_t k = 0; k < n_kinds; ++k) {
      if (*kind == kinds[k].name) info = &kinds[k];
    }
    f.kind = info->kind;
    // Addressing.
    auto index = [&t](const char* key, int count, const char* what, Need need = Need::kRequired) {
      if (count <= 0) {
        if (t.has(key)) t.error(key, std::string("the pack has no ") + what);
        return -1;
      }
      return static_cast<int>(t.integer(key, need, 0, count - 1).value_or(-1));
    };
    switch (info->address) {
      case FaultKindInfo::kNone:
        f.target_text = f.kind == sim::FaultKind::kPrechargeOpen ? "precharge"
                        : f.kind == sim::FaultKind::kAmbient     ? "pack"
                                                                 : "current sensor";
        break;
      case FaultKindInfo::kCell:
        if (t.has("group") || t.has("position")) {
          const int g = index("group", p.ns, "groups");
          const int pos = index("position", p.np, "positions");
          if (t.has("cell")) t.error("cell", "give either 'cell' or 'group' and 'position'");
          f.target = g < 0 || pos < 0 ? -1 : g * p.np + pos;
        } else {
          f.target = index("cell", p.n_cells, "cells");
        }
        f.target_text = "cell " + std::to_string(f.target);
        break;
      case FaultKindInfo::kGroupSegment: {
        const int g = index("group", p.ns, "groups");
        if (p.np < 2 && t.has("segment")) {
          t.error("segment", "a group of one cell has no busbar segments");
          t.node("segment");
        }
        const int seg = p.np < 2 ? -1 : index("segment", p.np - 1, "segments");
        f.target = g < 0 || seg < 0 ? -1 : g * (p.np - 1) + seg;
        f.target2 = seg;
        f.target_text = "group " + std::to_string(g) + " segment " + std::to_string(seg);
        if (p.np < 2 && !t.has("segment")) t.error_here("a group of one cell has no busbar");
        break;
      }
      case FaultKindInfo::kLink:
        // 0: negative lead, k: between groups k-1 and k, ns: positive lead.
        f.target = index("link", p.ns + 1, "links");
        f.target_text = "link " + std::to_string(f.target);
        break;
      case FaultKindInfo::kContactor: {
        const auto c = t.choice("contactor", {"main_pos", "main_neg", "precharge"}, Need::kRequired)
                           .value_or("main_pos");
        f.target = c == "main_pos" ? 0 : c == "main_neg" ? 1 : 2;
        f.target_text = "contactor " + c;
        break;
      }
      case FaultKindInfo::kModuleOrAll:
        f.target = index("module", p.n_modules, "modules", Need::kOptional);
        f.target_text = f.target < 0 ? "pack" : "module " + std::to_string(f.target);
        break;
      case FaultKindInfo::kChannel:
        f.target = index("channel", p.ns, "channels");
        f.target_text = "channel " + std::to_string(f.target);
        break;
      case FaultKindInfo::kSensor:
        f.target = index("sensor", p.n_sensors, "temperature sensors");
        f.target_text = "sensor " + std::to_string(f.target);
        break;
      case FaultKindInfo::kMessage:
        f.message = t.string("message", Need::kRequired).value_or("");
        f.target2 = static_cast<int>(t.integer("module", Need::kOptional, 0, 100000).value_or(-1));
        f.target_text =
            "message " + f.message + (f.target2 >= 0 ? " module " + std::to_string(f.target2) : "");
        break;
      case FaultKindInfo::kBabble: {
        f.bus = t.string("bus").value_or("");
        const auto id = t.integer("id", Need::kRequired, 0, 0x1FFFFFFF).value_or(0);
        f.can_id = static_cast<std::uint32_t>(id);
        f.extended = t.boolean("extended").value_or(id > 0x7FF);
        if (!f.extended && id > 0x7FF) t.error("id", "above 0x7FF: a standard id has 11 bits");
        f.dlc = static_cast<int>(t.integer("dlc", Need::kOptional, 0, 64).value_or(8));
        f.rate_hz = t.quantity("rate", Dimension::kFrequency, Need::kRequired, between(0.1, 1e5))
                        .value_or(1.0);
        char hex[16];
        std::snprintf(hex, sizeof hex, "0x%X", static_cast<unsigned>(f.can_id));
        f.target_text = std::string("id ") + hex + (f.bus.empty() ? "" : " bus " + f.bus);
        break;
      }
      case FaultKindInfo::kErrorFrames: {
        // What a faulty controller on the bus reports, by SocketCAN's error classes
        // (linux/can/error.h): the frames go out with CAN_ERR_FLAG (docs/faults.md).
        static const std::vector<std::string> classes = {
            "tx_timeout", "lost_arbitration", "controller", "protocol", "transceiver",
            "no_ack",     "bus_off",          "bus_error",  "restarted"};
        f.bus = t.string("bus").value_or("");
        const std::string cls = t.choice("class", classes).value_or("bus_error");
        std::uint32_t bit = 1;
        for (const auto& c : classes) {
          if (c == cls) break;
          bit <<= 1;
        }
        f.error_class = bit;
        f.rate_hz = t.quantity("rate", Dimension::kFrequency, Need::kRequired, between(0.1, 1e5))
                        .value_or(1.0);
        f.target_text = "error " + cls + (f.bus.empty() ? "" : " bus " + f.bus);
        break;
      }
      case FaultKindInfo::kSilence:
        f.bus = t.string("bus").value_or("");
        f.target = index("module", p.afe_modules, "AFE modules", Need::kOptional);
        if (!f.bus.empty() && f.target >= 0)
          t.error("module", "give either 'bus' or 'module' (one AFE's messages), not both");
        f.target_text = f.target >= 0   ? "module " + std::to_string(f.target)
                        : f.bus.empty() ? std::string("all buses")
                                        : "bus " + f.bus;
        break;
    }
    // Magnitude: constant, ramp or steps.
    const MagnitudeKey& m = info->magnitude;
    if (f.kind == sim::FaultKind::kCellFade) {
      const auto cap =
          t.quantity("capacity_scale", Dimension::kRatio, Need::kOptional, above(0.0, 10.0));
      const auto r0 = t.quantity("r0_scale", Dimension::kRatio, Need::kOptional, above(0.0, 100.0));
      if (!t.has("capacity_scale") && !t.has("r0_scale"))
        t.error_here("cell_fade needs 'capacity_scale', 'r0_scale' or both");
      f.value = cap.value_or(1.0);
      f.value2 = r0.value_or(1.0);
      f.has_value = true;
    } else if (f.kind == sim::FaultKind::kCurrentError) {
      f.value = static_cast<double>(t.integer("bits", Need::kRequired, 1, 255).value_or(1));
      f.has_value = true;
    } else if (m.key) {
      const bool steps = t.has("steps");
      const bool need = m.required && !steps && f.kind != sim::FaultKind::kNtcDrift;
      const auto v = t.quantity(m.key, m.dim, need ? Need::kRequired : Need::kOptional, m.range);
      f.has_value = v.has_value();
      f.value = v.value_or(0.0);
      if (f.kind == sim::FaultKind::kNtcDrift && !t.has("ramp"))
        t.error_here("ntc_drift needs a 'ramp' = { to = \"20 K\", over = \"600 s\" }");
    }
    if (auto r = t.table("ramp")) {
      if (!m.key || f.kind == sim::FaultKind::kAfeStuck ||
          f.kind == sim::FaultKind::kCurrentStuck) {
        t.error("ramp", std::string(*kind) + " has no magnitude to ramp");
        for (auto&& [k, v] : r->table_ref()) r->node(k.str());
      } else {
        if (const toml::node* to = r->node("to")) {
          f.ramp_to = magnitude_value(*r, *to, m, "ramp.to");
        } else {
          r->error_here("a ramp needs 'to' (the magnitude it ends at)");
        }
        f.ramp_over_ns = r->duration_ns("over", Need::kRequired, 1).value_or(1);
        if (!t.has(m.key) && f.kind != sim::FaultKind::kNtcDrift)
          t.error("ramp", std::string("a ramp starts from '") + m.key + "'; none given");
      }
      r->finish();
    }
    if (const toml::node* s = t.node("steps")) {
      const auto* arr = s->as_array();
      if (!m.key || f.kind == sim::FaultKind::kAfeStuck ||
          f.kind == sim::FaultKind::kCurrentStuck) {
        t.error("steps", std::string(*kind) + " has no magnitude to step");
      } else if (t.has("ramp")) {
        t.error("steps", "give either 'ramp' or 'steps', not both");
      } else if (!arr || arr->empty()) {
        t.error("steps", "expected an array of [time, value] pairs");
      } else {
        for (const auto& item : *arr) {
          const auto* pair = item.as_array();
          if (!pair || pair->size() != 2 || !(*pair)[0].as_string()) {
            t.error_at(item, "steps: expected [\"time\", \"value\"], e.g. [\"60 s\", \"10 ohm\"]");
            continue;
          }
          const QuantityResult q = parse_quantity((*pair)[0].as_string()->get(), Dimension::kTime);
          const auto v = magnitude_value(t, (*pair)[1], m, "steps");
          if (!q.value || *q.value < 0.0 || *q.value > 1e10) {
            t.error_at((*pair)[0], "steps: expected a time from the onset, >= 0 s");
            continue;
          }
          const auto at = static_cast<std::int64_t>(std::llround(*q.value * 1e9));
          if (!f.step_ns.empty() && at <= f.step_ns.back()) {
            t.error_at((*pair)[0], "steps: times must increase");
            continue;
          }
          if (v) {
            f.step_ns.push_back(at);
            f.step_value.push_back(*v);
          }
        }
        if (!t.has(m.key) && !f.step_ns.empty() && f.step_ns.front() != 0) {
          t.error("steps", std::string("without '") + m.key +
                               "' the first step must be at \"0 s\" (the magnitude at the onset)");
        }
      }
    }
    t.finish();
    sc.faults.push_back(std::move(f));
  }
}

// `at_end = "metric < value"`: a metric the run computes, an operator, a threshold in the metric's
// unit. False with the error's column inside the text.
bool parse_metric_check(const std::string& s, const std::vector<sim::MetricInfo>& metrics,
                        sim::Expectation& e, sim::ConditionError& err) {
  std::size_t pos = 0;
  auto skip = [&] {
    while (pos < s.size() && (s[pos] == ' ' || s[pos] == '\t')) ++pos;
  };
  auto fail = [&](std::size_t at, std::string message) {
    err.column = static_cast<int>(at) + 1;
    err.message = std::move(message);
    return false;
  };
  skip();
  const std::size_t name_at = pos;
  while (pos < s.size() && (std::isalnum(static_cast<unsigned char>(s[pos])) || s[pos] == '_'))
    ++pos;
  e.metric = s.substr(name_at, pos - name_at);
  std::vector<std::string> names;
  names.reserve(metrics.size());
  for (const auto& m : metrics) names.push_back(m.name);
  const auto it = std::find_if(metrics.begin(), metrics.end(),
                               [&](const sim::MetricInfo& m) { return m.name == e.metric; });
  if (it == metrics.end()) {
    if (e.metric.empty()) return fail(name_at, "expected a metric's name, e.g. \"x < 0.02\"");
    if (names.empty())
      return fail(name_at, "unknown metric '" + e.metric + "'; this run computes none");
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
    return fail(name_at, "unknown metric '" + e.metric + "'" + did_you_mean(e.metric, names) +
                             "; expected one of " + list);
  }
  skip();
  const std::size_t op_at = pos;
  static const std::pair<const char*, sim::CondOp> ops[] = {
      {"<=", sim::CondOp::kLe}, {">=", sim::CondOp::kGe}, {"==", sim::CondOp::kEq},
      {"!=", sim::CondOp::kNe}, {"<", sim::CondOp::kLt},  {">", sim::CondOp::kGt}};
  bool op = false;
  for (const auto& [text, o] : ops) {
    const std::size_t n = std::char_traits<char>::length(text);
    if (!op && s.compare(pos, n, text) == 0) {
      e.metric_op = o;
      pos += n;
      op = true;
    }
  }
  if (!op)
    return fail(op_at, "expected an operator (<, <=, >, >=, == or !=) after '" + e.metric + "'");
  skip();
  const std::size_t value_at = pos;
  std::string value = s.substr(pos);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.pop_back();
  const QuantityResult q = parse_quantity(value, it->dim);
  if (!q.value) return fail(value_at, q.error);
  e.metric_threshold = *q.value;
  return true;
}

// One [[expect]] table (docs/expectations.md): a unique name, one form key, its conditions.
void read_expectation(TableReader& t, const sim::ConditionContext& ctx,
                      const std::vector<sim::MetricInfo>& metrics, sim::Scenario& sc) {
  using F = sim::ExpectForm;
  static const std::pair<const char*, F> forms[] = {
      {"always", F::kAlways}, {"never", F::kNever},   {"eventually", F::kEventually},
      {"after", F::kAfter},   {"before", F::kBefore}, {"while", F::kWhile},
      {"at_end", F::kAtEnd}};
  constexpr const char* kFormList = "always, never, eventually, after, before, while or at_end";
  sim::Expectation e;
  e.where = t.where();
  e.name = t.string("name", Need::kRequired).value_or("");
  for (const auto& other : sc.expectations) {
    if (!e.name.empty() && other.name == e.name) {
      t.error("name", "another expectation is named \"" + e.name + "\" (" + other.where.file + ":" +
                          std::to_string(other.where.line) + "); names must be unique");
    }
  }
  const char* form = nullptr;
  for (const auto& [key, f] : forms) {
    if (!t.has(key)) continue;
    if (form) {
      t.error(key, std::string("give one form per expectation: '") + form + "' is given already");
      t.node(key);
      continue;
    }
    form = key;
    e.form = f;
  }
  if (!form) {
    t.error_here(std::string("an expectation needs one of ") + kFormList);
    for (auto&& [k, v] : t.table_ref()) t.node(k.str());
    t.finish();
    return;
  }
  auto cond = [&](const char* key, sim::Condition& out) {
    auto c = condition_key(t, key, ctx);
    if (!c) return;
    if (c->uses_bms_state && !sc.uses_bms_state) {
      sc.uses_bms_state = true;
      sc.bms_state_where = t.where_of(*t.table_ref().get(key));
    }
    out = std::move(*c);
  };
  const bool two = e.form == F::kAfter || e.form == F::kBefore || e.form == F::kWhile;
  if (e.form == F::kAtEnd) {
    if (const auto text = t.string("at_end")) {
      e.at_end_text = *text;
      sim::ConditionError err;
      if (!parse_metric_check(*text, metrics, e, err)) condition_error(t, "at_end", *text, err);
    }
  } else {
    cond(form, two ? e.trigger : e.expect);
  }
  if (two) {
    if (t.has("expect")) {
      cond("expect", e.expect);
    } else {
      t.error_here(std::string("'") + form + "' needs 'expect': the condition that must " +
                   (e.form == F::kAfter    ? "follow it"
                    : e.form == F::kBefore ? "come true first"
                                           : "hold meanwhile"));
    }
  } else if (t.has("expect")) {
    t.error("expect",
            std::string("'") + form +
                "' holds the condition itself; 'expect' goes with after, before and while");
    t.node("expect");
  }
  if (e.form == F::kEventually || e.form == F::kAfter) {
    e.within_ns = t.duration_ns("within", Need::kOptional, 0);
  } else if (t.has("within")) {
    t.error("within", std::string("'within' goes with eventually and after, not '") + form + "'");
    t.node("within");
  }
  if (e.form == F::kAfter) {
    e.every_edge = t.choice("edges", {"each", "first"}).value_or("each") == "each";
  } else if (t.has("edges")) {
    t.error("edges", "'edges' goes with after");
    t.node("edges");
  }
  t.finish();
  sc.expectations.push_back(std::move(e));
}

// [[expect]] tables of the scenario, then those of the files [scenario] expectations names
// (relative to the scenario; they hold [[expect]] tables only).
void read_expectations(TableReader& root, const std::filesystem::path& dir,
                       const std::vector<std::pair<std::string, SourceLocation>>& files,
                       const sim::ConditionContext& ctx,
                       const std::vector<sim::MetricInfo>& metrics, sim::Scenario& sc) {
  Diagnostics& diags = root.diagnostics();
  for (auto& t : root.tables("expect")) read_expectation(t, ctx, metrics, sc);
  for (const auto& [written, where] : files) {
    const auto resolved = resolve_path(dir, written);
    if (const auto problem = referenced_file_problem(resolved, dir, written); !problem.empty()) {
      diags.error(where, "scenario.expectations: file '" + written + "' " + problem);
      continue;
    }
    const auto inc = TomlFile::load(resolved, diags);
    if (!inc) continue;
    TableReader r(inc->root(), "", inc->name(), diags);
    for (auto& t : r.tables("expect")) read_expectation(t, ctx, metrics, sc);
    for (auto&& [k, v] : inc->root()) {
      if (k.str() == "expect") continue;
      r.error(k.str(), "an expectations file holds [[expect]] tables only; '" +
                           std::string(k.str()) + "' belongs in the scenario");
      r.node(k.str());
    }
    r.finish();
  }
}

// A CAN fault names a TX message of the profile: resolve it once the profile is loaded and check
// the fault makes sense for that message (the module exists, a CRC to corrupt, a counter to
// repeat). `what_message`, `what_module` and `what` begin the messages of each check. Returns the
// message's index, or nothing when the profile sends no such message.
std::optional<std::size_t> resolve_tx_fault(const can::Profile& p, const std::string& message,
                                            int instance, can::TxFault fault,
                                            const SourceLocation& where,
                                            const std::string& what_message,
                                            const std::string& what_module, const std::string& what,
                                            Diagnostics& diags) {
  std::size_t k = 0;
  while (k < p.tx.size() && p.tx[k].name != message) ++k;
  if (k == p.tx.size()) {
    std::string names;
    std::vector<std::string> candidates;
    for (const auto& tx : p.tx) {
      names += (names.empty() ? "" : ", ") + tx.name;
      candidates.push_back(tx.name);
    }
    diags.error(where, what_message + ": profile '" + p.name + "' sends no '" + message + "'" +
                           did_you_mean(message, candidates) + "; expected one of: " + names);
    return std::nullopt;
  }
  int instances = 0;
  bool has_counter = false;
  for (const auto& fr : p.frames) {
    if (fr.message != k) continue;
    instances = std::max(instances, fr.instance + 1);
    for (const auto& sl : fr.slots) has_counter = has_counter || sl.source == can::Source::kCounter;
  }
  if (instance >= instances) {
    diags.error(where, what_module + ": " + message + " has " + std::to_string(instances) +
                           " instance(s); expected a module below that");
  }
  if (fault == can::TxFault::kCorruptCrc && !p.tx[k].e2e)
    diags.error(where, what + ": " + message + " carries no CRC to corrupt");
  if (fault == can::TxFault::kRepeatCounter && !p.tx[k].e2e && !has_counter)
    diags.error(where, what + ": " + message + " carries no counter to repeat");
  return k;
}

// [[event]] can_fault tables.
void resolve_can_faults(sim::Scenario& sc, Diagnostics& diags) {
  for (auto& e : sc.events) {
    if (!e.can_fault) continue;
    sim::CanFaultEvent& f = *e.can_fault;
    if (!sc.profile) {
      if (sc.bms.mode == sim::BmsMode::kNone)
        diags.error(f.where, "can_fault needs frames on a bus: [bms] mode is \"none\"");
      continue;
    }
    if (const auto k =
            resolve_tx_fault(*sc.profile, f.message, f.instance, f.fault, f.where,
                             "can_fault.message", "can_fault.module", "can_fault", diags))
      f.tx_message = *k;
  }
}

// [[fault]] tables on the wire: messages and buses of the profile, once it is loaded.
void resolve_fault_targets(sim::Scenario& sc, Diagnostics& diags) {
  for (auto& f : sc.faults) {
    const bool message = f.kind >= sim::FaultKind::kCanDrop && f.kind <= sim::FaultKind::kCanDelay;
    const bool wire = message || f.kind == sim::FaultKind::kCanBabble ||
                      f.kind == sim::FaultKind::kCanSilence ||
                      f.kind == sim::FaultKind::kCanErrorFrames;
    if (!wire) continue;
    const std::string what = std::string("fault ") + sim::fault_kind_name(f.kind);
    if (!sc.profile) {
      if (sc.bms.mode == sim::BmsMode::kNone)
        diags.error(f.where, what + " needs frames on a bus: [bms] mode is \"none\"");
      continue;
    }
    const can::Profile& p = *sc.profile;
    if (!f.bus.empty()) {
      const auto it = std::find(p.buses.begin(), p.buses.end(), f.bus);
      if (it == p.buses.end()) {
        std::string names;
        for (const auto& b : p.buses) names += (names.empty() ? "" : ", ") + b;
        diags.error(f.where, what + ": profile '" + p.name + "' has no bus '" + f.bus + "'" +
                                 did_you_mean(f.bus, p.buses) + "; expected one of: " + names);
        continue;
      }
      f.bus_index = static_cast<int>(it - p.buses.begin());
    } else if (f.kind == sim::FaultKind::kCanBabble || f.kind == sim::FaultKind::kCanErrorFrames) {
      f.bus_index = 0;  // the profile's first bus
    }
    if (!message) continue;
    const can::TxFault fault = f.kind == sim::FaultKind::kCanCorruptCrc ? can::TxFault::kCorruptCrc
                               : f.kind == sim::FaultKind::kCanRepeatCounter
                                   ? can::TxFault::kRepeatCounter
                                   : can::TxFault::kNone;
    if (const auto k =
            resolve_tx_fault(p, f.message, f.target2, fault, f.where, what, what, what, diags))
      f.target = static_cast<int>(*k);
  }
  // An external BMS's state comes from the profile's bms_state binding; the reference BMS's from
  // the BMS itself.
  if (sc.uses_bms_state && sc.bms.mode != sim::BmsMode::kReference &&
      !(sc.profile && sc.profile->observes(can::Observable::kState))) {
    diags.error(sc.bms_state_where,
                sc.bms.mode == sim::BmsMode::kNone
                    ? std::string("a condition uses bms_state, but [bms] mode is \"none\"")
                    : "a condition uses bms_state, but profile '" + sc.bms.profile +
                          "' decodes no state from the BMS's frames (bind a signal with observe "
                          "= \"bms_state\"); use the reference BMS or conditions on the pack");
  }
  for (const auto& [o, where] : sc.bms_observable_where) {
    const auto obs = static_cast<can::Observable>(o);
    const std::string name = can::observable_name(obs);
    if (sc.bms.mode == sim::BmsMode::kNone) {
      diags.error(where, "a condition uses " + name + ", but [bms] mode is \"none\"");
    } else if (sc.profile && !sc.profile->observes(obs)) {
      diags.error(where, "a condition uses " + name + ", but profile '" + sc.profile->name +
                             "' binds no signal to it (a received signal with observe = \"" + name +
                             "\", docs/protocol.md)");
    }
  }
  if (sc.bms_cell_soc_where) {
    if (sc.bms.mode == sim::BmsMode::kNone) {
      diags.error(*sc.bms_cell_soc_where,
                  "a condition uses bms_cell_soc, but [bms] mode is \"none\"");
    } else if (sc.profile && !sc.profile->observes_cell_soc) {
      diags.error(*sc.bms_cell_soc_where, "a condition uses bms_cell_soc, but profile '" +
                                              sc.profile->name +
                                              "' binds no signal to it (a received signal bound to "
                                              "\"bms_cell_soc[CHANNEL]\", docs/protocol.md)");
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
  return load_scenario(path, diags, sim::run_metrics());
}

std::optional<sim::Scenario> load_scenario(const std::filesystem::path& path, Diagnostics& diags,
                                           const std::vector<sim::MetricInfo>& metrics) {
  const std::size_t errors_before = diags.size();
  const auto file = TomlFile::load(path, diags);
  if (!file) return std::nullopt;
  TableReader root(file->root(), "", file->name(), diags);
  sim::Scenario sc;
  sc.file = file->name();
  std::optional<LoadedPack> pack;
  // The faults' names before any condition is read: fault_active[name] may come first.
  std::vector<std::string> fault_names;
  if (const auto* faults = file->root().get_as<toml::array>("fault")) {
    for (const auto& item : *faults) {
      const auto* table = item.as_table();
      const auto* name = table ? table->get_as<std::string>("name") : nullptr;
      fault_names.push_back(name ? name->get() : "");
    }
  }
  std::vector<std::pair<std::string, SourceLocation>> expectation_files;

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
    if (const auto files = t->strings("expectations")) {
      for (const auto& f : *files) expectation_files.emplace_back(f, t->where("expectations"));
    }
    t->finish();
  }
  const double capacity_ah =
      pack ? pack->cell.capacity_as / 3600.0 * pack->spec.parallel : 1.0;  // 1 C in amperes
  const int ns = pack ? pack->spec.series : 1;  // series groups = AFE channels
  // Pack-scaled limits without a pack (its errors are reported) take the largest pack allowed,
  // so that they add no error of their own.
  const int limit_series = pack ? ns : 10000;

  std::vector<SourceLocation> contactor_keys;  // places that set contactors by hand
  sim::ConditionContext cond_ctx;
  cond_ctx.n_cells = pack ? pack->spec.series * pack->spec.parallel : 1000000;
  cond_ctx.series = limit_series;
  cond_ctx.c_rate_to_a = capacity_ah;
  cond_ctx.fault_names = &fault_names;
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
        sim::ConditionError err;
        if (auto c = sim::parse_condition(text, cond_ctx, err)) {
          note_condition(sc, *c, t.where("until"));
          seg.until.push_back(std::move(*c));
        } else {
          condition_error(t, "until", text, err);
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
  {
    PackShape shape;
    if (pack) {
      const model::PackSpec& ps = pack->spec;
      shape.ns = ps.series;
      shape.np = ps.parallel;
      shape.n_cells = ps.series * ps.parallel;
      const int gpm = ps.groups_per_module > 0 ? ps.groups_per_module : ps.series;
      shape.n_modules = (ps.series + gpm - 1) / gpm;
      shape.n_sensors = model::afe_sensor_count(pack->afe, ps.series, ps.groups_per_module);
      const int cpm = model::afe_cells_per_module(pack->afe, ps.series, ps.groups_per_module);
      shape.afe_modules = cpm > 0 ? (ps.series + cpm - 1) / cpm : 1;
    } else {
      // Without a pack (its errors are reported) any index passes, adding no error of its own.
      shape = {10000, 10000, 100000000, 10000, 100000, 10000};
    }
    read_faults(root, shape, cond_ctx, sc);
  }
  read_expectations(root, file->directory(), expectation_files, cond_ctx, metrics, sc);

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
    if (const auto m = t->choice("host_mode", {"normal", "charge"}))
      b.host_mode = *m == "charge" ? can::HostMode::kCharge : can::HostMode::kNormal;
    constexpr std::int64_t kMinute = 60'000'000'000;
    b.host_standby_ns =
        t->duration_ns("host_standby", Need::kOptional, 0, kMinute).value_or(b.host_standby_ns);
    b.host_reset_ns =
        t->duration_ns("host_reset", Need::kOptional, 1, kMinute).value_or(b.host_reset_ns);
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
    b.startup_grace_ns = delay("startup_grace", 1'000'000);
    if (const auto n = t->integer("corrupt_frames", Need::kOptional, 0, 1000))
      b.corrupt_limit = static_cast<int>(*n);
    b.corrupt_window_ns = delay("corrupt_window", 1'000'000);
    b.hw_flag_delay_ns = delay("hardware_flag_delay");
    b.vent_gas_delay_ns = delay("vent_gas_delay");
    b.insulation_delay_ns = delay("insulation_delay");
    b.vent_gas_ppm = t->number("vent_gas_alarm_ppm", Need::kOptional, between(0.0, 1e6));
    b.insulation_min_ohm =
        t->quantity("insulation_min", Dimension::kResistance, Need::kOptional, between(0.0, 1e12));
    b.self_discharge_v = t->quantity("self_discharge_alarm", Dimension::kVoltage, Need::kOptional,
                                     between(0.0, 1.0));
    b.self_discharge_settle_ns = delay("self_discharge_settle");
    b.self_discharge_filter_ns = delay("self_discharge_filter", 1'000'000);
    b.self_discharge_delay_ns = delay("self_discharge_delay");
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
  resolve_fault_targets(sc, diags);
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
