// The condition language (condition.hpp). Compiled into packsim_config, beside the unit parser it
// uses; the evaluator needs only the model's data.
#include "packsim/sim/condition.hpp"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <limits>

#include "packsim/bms/ref_bms.hpp"
#include "packsim/can/protocol.hpp"
#include "packsim/config/quantity.hpp"
#include "packsim/config/toml_reader.hpp"
#include "packsim/model/afe.hpp"
#include "packsim/model/pack.hpp"
#include "packsim/util/suggest.hpp"

namespace packsim::sim {
namespace {

using config::Dimension;

static_assert(static_cast<int>(bms::BmsState::kFault) + 1 ==
                  static_cast<int>(kBmsStateNames.size()),
              "kBmsStateNames follows bms::BmsState");

// kFlag and kCount may stand alone in a condition: `contactor_main_pos` means `!= 0`.
enum class ValueKind : std::uint8_t { kQuantity, kCount, kState, kFlag, kCode };

struct QuantityInfo {
  const char* name;
  CondQuantity quantity;
  bool indexed;
  ValueKind kind;
  Dimension dim;
};

// Canonical names first; the `until` names of earlier versions stay as aliases.
constexpr QuantityInfo kQuantities[] = {
    {"cell_v", CondQuantity::kCellV, true, ValueKind::kQuantity, Dimension::kVoltage},
    {"cell_t", CondQuantity::kCellT, true, ValueKind::kQuantity, Dimension::kTemperature},
    {"cell_soc", CondQuantity::kCellSoc, true, ValueKind::kQuantity, Dimension::kRatio},
    {"cell_i", CondQuantity::kCellI, true, ValueKind::kQuantity, Dimension::kCurrent},
    {"v_min", CondQuantity::kVMin, false, ValueKind::kQuantity, Dimension::kVoltage},
    {"v_max", CondQuantity::kVMax, false, ValueKind::kQuantity, Dimension::kVoltage},
    {"pack_v", CondQuantity::kPackV, false, ValueKind::kQuantity, Dimension::kVoltage},
    {"link_v", CondQuantity::kLinkV, false, ValueKind::kQuantity, Dimension::kVoltage},
    {"current", CondQuantity::kCurrent, false, ValueKind::kQuantity, Dimension::kCurrent},
    {"abs_current", CondQuantity::kAbsCurrent, false, ValueKind::kQuantity, Dimension::kCurrent},
    {"soc_min", CondQuantity::kSocMin, false, ValueKind::kQuantity, Dimension::kRatio},
    {"soc_mean", CondQuantity::kSocMean, false, ValueKind::kQuantity, Dimension::kRatio},
    {"soc_max", CondQuantity::kSocMax, false, ValueKind::kQuantity, Dimension::kRatio},
    {"t_max", CondQuantity::kTMax, false, ValueKind::kQuantity, Dimension::kTemperature},
    {"t_min", CondQuantity::kTMin, false, ValueKind::kQuantity, Dimension::kTemperature},
    {"vented_cells", CondQuantity::kVentedCells, false, ValueKind::kCount, Dimension::kRatio},
    {"runaway_cells", CondQuantity::kRunawayCells, false, ValueKind::kCount, Dimension::kRatio},
    {"time", CondQuantity::kTime, false, ValueKind::kQuantity, Dimension::kTime},
    {"bms_state", CondQuantity::kBmsState, false, ValueKind::kState, Dimension::kRatio},
    // Expectations (issue 11): the contactors as they are, the scripted faults by name.
    {"contactor_main_pos", CondQuantity::kContactorMainPos, false, ValueKind::kFlag,
     Dimension::kRatio},
    {"contactor_main_neg", CondQuantity::kContactorMainNeg, false, ValueKind::kFlag,
     Dimension::kRatio},
    {"contactor_precharge", CondQuantity::kContactorPrecharge, false, ValueKind::kFlag,
     Dimension::kRatio},
    {"fault_active", CondQuantity::kFaultActive, true, ValueKind::kFlag, Dimension::kRatio},
    {"since_fault", CondQuantity::kSinceFault, true, ValueKind::kQuantity, Dimension::kTime},
    {"bms_fault", CondQuantity::kBmsFault, false, ValueKind::kFlag, Dimension::kRatio},
    {"bms_fault_code", CondQuantity::kBmsFaultCode, false, ValueKind::kCode, Dimension::kRatio},
    {"bms_main_pos", CondQuantity::kBmsMainPos, false, ValueKind::kFlag, Dimension::kRatio},
    {"bms_main_neg", CondQuantity::kBmsMainNeg, false, ValueKind::kFlag, Dimension::kRatio},
    {"bms_precharge", CondQuantity::kBmsPrecharge, false, ValueKind::kFlag, Dimension::kRatio},
    {"bms_soc", CondQuantity::kBmsSoc, false, ValueKind::kQuantity, Dimension::kRatio},
    {"bms_soh", CondQuantity::kBmsSoh, false, ValueKind::kQuantity, Dimension::kRatio},
    {"bms_charge_current_limit", CondQuantity::kBmsChargeCurrentLimit, false, ValueKind::kQuantity,
     Dimension::kCurrent},
    {"bms_discharge_current_limit", CondQuantity::kBmsDischargeCurrentLimit, false,
     ValueKind::kQuantity, Dimension::kCurrent},
    {"bms_charge_power_limit", CondQuantity::kBmsChargePowerLimit, false, ValueKind::kQuantity,
     Dimension::kPower},
    {"bms_discharge_power_limit", CondQuantity::kBmsDischargePowerLimit, false,
     ValueKind::kQuantity, Dimension::kPower},
    {"bms_balancing", CondQuantity::kBmsBalancing, false, ValueKind::kFlag, Dimension::kRatio},
    {"bms_v_min", CondQuantity::kBmsVMin, false, ValueKind::kQuantity, Dimension::kVoltage},
    {"bms_v_max", CondQuantity::kBmsVMax, false, ValueKind::kQuantity, Dimension::kVoltage},
    {"bms_t_min", CondQuantity::kBmsTMin, false, ValueKind::kQuantity, Dimension::kTemperature},
    {"bms_t_max", CondQuantity::kBmsTMax, false, ValueKind::kQuantity, Dimension::kTemperature},
    {"bms_cell_soc", CondQuantity::kBmsCellSoc, true, ValueKind::kQuantity, Dimension::kRatio},
    {"sent_v_min", CondQuantity::kSentVMin, false, ValueKind::kQuantity, Dimension::kVoltage},
    {"sent_v_max", CondQuantity::kSentVMax, false, ValueKind::kQuantity, Dimension::kVoltage},
    {"sent_t_min", CondQuantity::kSentTMin, false, ValueKind::kQuantity, Dimension::kTemperature},
    {"sent_t_max", CondQuantity::kSentTMax, false, ValueKind::kQuantity, Dimension::kTemperature},
    // aliases
    {"cell_v_min", CondQuantity::kVMin, false, ValueKind::kQuantity, Dimension::kVoltage},
    {"cell_v_max", CondQuantity::kVMax, false, ValueKind::kQuantity, Dimension::kVoltage},
    {"soc", CondQuantity::kSocMean, false, ValueKind::kQuantity, Dimension::kRatio},
    {"temp_max", CondQuantity::kTMax, false, ValueKind::kQuantity, Dimension::kTemperature},
    {"temp_min", CondQuantity::kTMin, false, ValueKind::kQuantity, Dimension::kTemperature},
};

bool ident_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool ident_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }
bool space(char c) { return c == ' ' || c == '\t'; }
// Indexed by a [[fault]]'s name rather than a cell number.
bool fault_indexed(CondQuantity q) {
  return q == CondQuantity::kFaultActive || q == CondQuantity::kSinceFault;
}
const QuantityInfo* quantity_info(CondQuantity q) {
  for (const auto& c : kQuantities) {
    if (c.quantity == q) return &c;
  }
  return nullptr;
}

class Parser {
 public:
  Parser(std::string_view text, const ConditionContext& ctx, Condition& out, ConditionError& err)
      : s_(text), ctx_(ctx), out_(out), err_(err) {}

  bool run() {
    skip();
    if (pos_ >= s_.size()) return fail(pos_, "empty condition; expected e.g. \"v_min < 3 V\"");
    if (!expr(0)) return false;
    skip();
    if (pos_ < s_.size()) {
      return fail(pos_, "unexpected '" + std::string(word_at(pos_)) +
                            "'; expected 'and', 'or' or the end of the condition");
    }
    return true;
  }

 private:
  bool fail(std::size_t at, std::string message) {
    if (!failed_) {
      err_.column = static_cast<int>(at) + 1;
      err_.message = std::move(message);
      failed_ = true;
    }
    return false;
  }
  void skip() {
    while (pos_ < s_.size() && space(s_[pos_])) ++pos_;
  }
  std::string_view word_at(std::size_t at) const {
    std::size_t e = at;
    if (e < s_.size() && ident_char(s_[e])) {
      while (e < s_.size() && ident_char(s_[e])) ++e;
    } else if (e < s_.size()) {
      ++e;
    }
    return s_.substr(at, e - at);
  }
  // The keyword `kw` at the current position, as a whole word.
  bool keyword(std::string_view kw) {
    skip();
    if (s_.compare(pos_, kw.size(), kw) != 0) return false;
    const std::size_t end = pos_ + kw.size();
    if (end < s_.size() && ident_char(s_[end])) return false;
    pos_ = end;
    return true;
  }
  bool emit(const CondNode& n, std::size_t at) {
    if (out_.n_nodes >= kConditionMaxNodes) {
      return fail(at, "condition too long; at most " + std::to_string(kConditionMaxNodes) +
                          " comparisons and operators");
    }
    out_.nodes[static_cast<std::size_t>(out_.n_nodes++)] = n;
    return true;
  }
  bool expr(int depth) {
    if (!conjunction(depth)) return false;
    for (;;) {
      const std::size_t at = (skip(), pos_);
      if (!keyword("or")) return true;
      if (!conjunction(depth)) return false;
      CondNode n;
      n.kind = CondNode::Kind::kOr;
      if (!emit(n, at)) return false;
    }
  }
  bool conjunction(int depth) {
    if (!unary(depth)) return false;
    for (;;) {
      const std::size_t at = (skip(), pos_);
      if (!keyword("and")) return true;
      if (!unary(depth)) return false;
      CondNode n;
      n.kind = CondNode::Kind::kAnd;
      if (!emit(n, at)) return false;
    }
  }
  bool unary(int depth) {
    skip();
    const std::size_t at = pos_;
    if (depth >= kConditionMaxDepth) {
      return fail(at, "nested too deeply; at most " + std::to_string(kConditionMaxDepth) +
                          " levels of parentheses and 'not'");
    }
    if (keyword("not")) {
      if (!unary(depth + 1)) return false;
      CondNode n;
      n.kind = CondNode::Kind::kNot;
      return emit(n, at);
    }
    if (pos_ < s_.size() && s_[pos_] == '(') {
      ++pos_;
      if (!expr(depth + 1)) return false;
      skip();
      if (pos_ >= s_.size() || s_[pos_] != ')') {
        return fail(pos_, "expected ')' to close the '(' at column " + std::to_string(at + 1));
      }
      ++pos_;
      return true;
    }
    return comparison();
  }

  bool comparison() {
    skip();
    const std::size_t name_at = pos_;
    if (pos_ >= s_.size()) return fail(pos_, "expected a quantity, got the end of the condition");
    if (!ident_start(s_[pos_])) {
      return fail(pos_, "expected a quantity such as v_min or cell_t[3], got '" +
                            std::string(word_at(pos_)) + "'");
    }
    while (pos_ < s_.size() && ident_char(s_[pos_])) ++pos_;
    const std::string name(s_.substr(name_at, pos_ - name_at));
    const QuantityInfo* q = nullptr;
    for (const auto& c : kQuantities) {
      if (name == c.name) q = &c;
    }
    if (!q) {
      std::vector<std::string> names;
      for (const auto& c : kQuantities) names.emplace_back(c.name);
      return fail(name_at, "unknown quantity '" + name + "'" + did_you_mean(name, names) +
                               "; expected one of " + condition_quantity_list());
    }
    CondNode n;
    n.quantity = q->quantity;
    skip();
    const bool bracket = pos_ < s_.size() && s_[pos_] == '[';
    if (q->indexed && !bracket) {
      return fail(pos_, "'" + name + "' is per cell: expected an index, e.g. " + name + "[0]");
    }
    if (!q->indexed && bracket) {
      return fail(pos_, "'" + name + "' takes no index");
    }
    if (bracket && fault_indexed(q->quantity)) {
      if (!fault_index(n)) return false;
    } else if (bracket) {
      ++pos_;
      skip();
      const std::size_t idx_at = pos_;
      std::int64_t v = 0;
      bool digits = false;
      while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) {
        if (v < 1'000'000'000) v = v * 10 + (s_[pos_] - '0');
        digits = true;
        ++pos_;
      }
      if (!digits) return fail(idx_at, "expected a cell index (a whole number) after '['");
      if (q->quantity == CondQuantity::kBmsCellSoc) {
        // The BMS sees a series group as one cell: its voltage channel.
        if (v >= ctx_.series) {
          return fail(idx_at, "channel " + std::to_string(v) + " out of range; the BMS measures " +
                                  std::to_string(ctx_.series) + " series groups (0 … " +
                                  std::to_string(ctx_.series - 1) + ")");
        }
        out_.uses_bms_cell_soc = true;
      } else if (v >= ctx_.n_cells) {
        return fail(idx_at, "cell " + std::to_string(v) + " out of range; the pack has " +
                                std::to_string(ctx_.n_cells) + " cells (0 … " +
                                std::to_string(ctx_.n_cells - 1) + ")");
      }
      n.index = static_cast<int>(v);
      skip();
      if (pos_ >= s_.size() || s_[pos_] != ']') return fail(pos_, "expected ']'");
      ++pos_;
    }
    skip();
    const std::size_t op_at = pos_;
    if ((q->kind == ValueKind::kFlag || q->kind == ValueKind::kCount) && !operator_here()) {
      // Alone, a flag or a count is true when not zero.
      n.op = CondOp::kNe;
      n.threshold = 0.0;
      return emit(n, name_at);
    }
    auto op2 = [&](const char* two) { return s_.compare(pos_, 2, two) == 0; };
    if (op2("<=")) {
      n.op = CondOp::kLe, pos_ += 2;
    } else if (op2(">=")) {
      n.op = CondOp::kGe, pos_ += 2;
    } else if (op2("==")) {
      n.op = CondOp::kEq, pos_ += 2;
    } else if (op2("!=")) {
      n.op = CondOp::kNe, pos_ += 2;
    } else if (pos_ < s_.size() && s_[pos_] == '<') {
      n.op = CondOp::kLt, ++pos_;
    } else if (pos_ < s_.size() && s_[pos_] == '>') {
      n.op = CondOp::kGt, ++pos_;
    } else {
      return fail(op_at, "expected an operator (<, <=, >, >=, == or !=) after '" + name + "'");
    }
    skip();
    const std::size_t value_at = pos_;
    if (q->kind == ValueKind::kState) {
      if (n.op != CondOp::kEq && n.op != CondOp::kNe)
        return fail(op_at, "bms_state compares with == or != only");
      while (pos_ < s_.size() && ident_char(s_[pos_])) ++pos_;
      const std::string state(s_.substr(value_at, pos_ - value_at));
      std::vector<std::string> names(kBmsStateNames.begin(), kBmsStateNames.end());
      std::string list;
      for (const auto& s : names) list += (list.empty() ? "" : ", ") + s;
      int found = -1;
      for (std::size_t k = 0; k < names.size(); ++k) {
        if (names[k] == state) found = static_cast<int>(k);
      }
      if (found < 0) {
        return fail(value_at, "unknown BMS state '" + state + "'" + did_you_mean(state, names) +
                                  "; expected one of " + list);
      }
      n.threshold = found;
      out_.uses_bms_state = true;
      return emit(n, name_at);
    }
    // A number, then a unit up to the next blank, ')' or the end (not a keyword).
    std::size_t e = pos_;
    if (e < s_.size() && (s_[e] == '-' || s_[e] == '+')) ++e;
    while (e < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[e])) || s_[e] == '.')) ++e;
    if (e < s_.size() && (s_[e] == 'e' || s_[e] == 'E')) {
      std::size_t x = e + 1;
      if (x < s_.size() && (s_[x] == '-' || s_[x] == '+')) ++x;
      if (x < s_.size() && std::isdigit(static_cast<unsigned char>(s_[x]))) {
        e = x;
        while (e < s_.size() && std::isdigit(static_cast<unsigned char>(s_[e]))) ++e;
      }
    }
    if (e == pos_) {
      return fail(value_at, "expected a number after the operator, got '" +
                                std::string(word_at(value_at)) + "'");
    }
    std::size_t end = e;
    std::size_t u = e;
    while (u < s_.size() && space(s_[u])) ++u;
    const std::string_view next = word_at(u);
    if (u < s_.size() && s_[u] != ')' && s_[u] != '(' && next != "and" && next != "or") {
      end = u;
      while (end < s_.size() && !space(s_[end]) && s_[end] != ')' && s_[end] != '(') ++end;
    }
    const std::string_view value_text = s_.substr(value_at, end - value_at);
    pos_ = end;
    if (const int o = condition_observable(q->quantity); o >= 0)
      out_.bms_observables |= 1u << static_cast<unsigned>(o);
    if (q->kind == ValueKind::kFlag || q->kind == ValueKind::kCode) {
      const config::QuantityResult r = config::parse_quantity(value_text, Dimension::kRatio);
      const bool whole =
          r.value && *r.value == std::floor(*r.value) && value_text.find('%') == value_text.npos;
      if (q->kind == ValueKind::kFlag && !(whole && (*r.value == 0.0 || *r.value == 1.0)))
        return fail(value_at, "'" + name + "' is a flag: expected 0 or 1, got '" +
                                  std::string(value_text) + "'");
      if (!whole)
        return fail(value_at, "'" + name +
                                  "' is the BMS's fault code: expected a whole number, "
                                  "got '" +
                                  std::string(value_text) + "'");
      n.threshold = *r.value;
      return emit(n, name_at);
    }
    if (q->kind == ValueKind::kCount) {
      const config::QuantityResult r = config::parse_quantity(value_text, Dimension::kRatio);
      if (!r.value || *r.value != std::floor(*r.value) || value_text.find('%') != value_text.npos)
        return fail(value_at, "'" + name + "' " +
                                  (q->kind == ValueKind::kFlag ? "is 0 or 1" : "counts cells") +
                                  ": expected a whole number, got '" + std::string(value_text) +
                                  "'");
      n.threshold = *r.value;
      return emit(n, name_at);
    }
    config::QuantityResult r =
        config::parse_quantity(value_text, q->dim, q->dim == Dimension::kCurrent);
    if (!r.value) return fail(value_at, r.error);
    double v = r.is_c_rate ? *r.value * ctx_.c_rate_to_a : *r.value;
    if (!range_ok(*q, v, value_at)) return false;
    n.threshold = v;
    return emit(n, name_at);
  }

  // At an operator (after a quantity); otherwise the quantity stands alone.
  bool operator_here() const {
    return pos_ < s_.size() &&
           (s_[pos_] == '<' || s_[pos_] == '>' || s_[pos_] == '=' || s_[pos_] == '!');
  }
  // `[name]` after fault_active / since_fault: a [[fault]]'s name.
  bool fault_index(CondNode& n) {
    ++pos_;
    skip();
    const std::size_t at = pos_;
    while (pos_ < s_.size() && ident_char(s_[pos_])) ++pos_;
    const std::string name(s_.substr(at, pos_ - at));
    std::vector<std::string> names;
    if (ctx_.fault_names) {
      for (const auto& f : *ctx_.fault_names) {
        if (!f.empty()) names.push_back(f);
      }
    }
    if (name.empty()) return fail(at, "expected a [[fault]]'s name after '['");
    int found = -1;
    if (ctx_.fault_names) {
      for (std::size_t k = 0; k < ctx_.fault_names->size(); ++k) {
        if ((*ctx_.fault_names)[k] == name) found = static_cast<int>(k);
      }
    }
    if (found < 0) {
      if (names.empty())
        return fail(at, "no [[fault]] is named '" + name + "'; no fault has a 'name'");
      std::string list;
      for (const auto& f : names) list += (list.empty() ? "" : ", ") + f;
      return fail(at, "no [[fault]] is named '" + name + "'" + did_you_mean(name, names) +
                          "; expected one of " + list);
    }
    n.index = found;
    skip();
    if (pos_ >= s_.size() || s_[pos_] != ']') return fail(pos_, "expected ']'");
    ++pos_;
    return true;
  }

  bool range_ok(const QuantityInfo& q, double v, std::size_t at) {
    using config::format_number;
    namespace plausible = config::plausible;
    if (q.dim == Dimension::kRatio) {
      if (v < 0.0 || v > 1.0) {
        return fail(at, format_number(v * 100.0) +
                            " % is not a state of charge; expected 0 % to 100 % (a bare number is "
                            "a fraction: write \"10 %\" or 0.1)");
      }
      return true;
    }
    if (q.dim == Dimension::kTime) {
      if (!(v >= 0.0 && v <= 1e10)) return fail(at, "a time from 0 s on, at most 1e10 s");
      return true;
    }
    if (q.dim == Dimension::kPower) {
      // A BMS's power limit: magnitudes, up to what the pack current range allows at full voltage.
      const double max_w = plausible::pack_current().max * plausible::kCellVoltageV * ctx_.series;
      if (!(v >= 0.0 && v <= max_w)) {
        return fail(at, "threshold " + format_number(v) + " W out of range; expected 0 W to " +
                            format_number(max_w) + " W");
      }
      return true;
    }
    const double cell_v = plausible::kCellVoltageV;
    const double series = ctx_.series;
    const config::Range r =
        q.dim == Dimension::kVoltage
            ? (q.quantity == CondQuantity::kPackV || q.quantity == CondQuantity::kLinkV
                   ? config::between(-cell_v * series, cell_v * series)
                   : config::between(-cell_v, cell_v))
        : q.dim == Dimension::kCurrent ? plausible::pack_current()
                                       : plausible::cell_temperature();
    if (!(v >= r.min && v <= r.max)) {
      const bool kelvin = q.dim == Dimension::kTemperature;
      const char* unit = config::si_unit(q.dim);
      auto limit = [&](double x) {
        return format_number(x) + " " + unit +
               (kelvin ? " (" + format_number(x - plausible::kZeroCelsius) + " degC)" : "");
      };
      return fail(at, "threshold " + format_number(v) + " " + unit +
                          " out of range; expected between " + limit(r.min) + " and " +
                          limit(r.max));
    }
    return true;
  }

  std::string_view s_;
  const ConditionContext& ctx_;
  Condition& out_;
  ConditionError& err_;
  std::size_t pos_ = 0;
  bool failed_ = false;
};

}  // namespace

bool compare_value(double v, CondOp op, double t) {
  if (std::isnan(v)) return false;  // never received: no comparison holds, not even !=
  switch (op) {
    case CondOp::kLt:
      return v < t;
    case CondOp::kLe:
      return v <= t;
    case CondOp::kGt:
      return v > t;
    case CondOp::kGe:
      return v >= t;
    case CondOp::kEq:
      return v == t;
    case CondOp::kNe:
      return v != t;
  }
  return false;
}

std::string condition_quantity_list() {
  std::string list;
  for (const auto& c : kQuantities) {
    list += (list.empty() ? "" : ", ") + std::string(c.name) +
            (!c.indexed                  ? ""
             : fault_indexed(c.quantity) ? "[name]"
                                         : "[i]");
  }
  return list;
}

std::optional<Condition> parse_condition(std::string_view text, const ConditionContext& ctx,
                                         ConditionError& error) {
  Condition c;
  c.text = std::string(text);
  Parser p(text, ctx, c, error);
  if (!p.run()) return std::nullopt;
  return c;
}

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

SentValues sent_values(const model::AfeData& afe) {
  auto flag = [](const std::vector<std::uint8_t>& v, std::size_t i, std::uint8_t empty) {
    return i < v.size() ? v[i] : empty;
  };
  SentValues s{kNan, kNan, kNan, kNan};
  for (std::size_t c = 0; c < afe.v_meas.size(); ++c) {
    if (!flag(afe.v_valid, c, 1) || flag(afe.open_wire, c, 0) || flag(afe.v_dropout, c, 0))
      continue;
    const double v = afe.v_meas[c];
    if (!(v >= s.v_min)) s.v_min = v;  // NaN-first: the first valid value replaces it
    if (!(v <= s.v_max)) s.v_max = v;
  }
  for (std::size_t k = 0; k < afe.t_meas_k.size(); ++k) {
    if (!flag(afe.t_valid, k, 1) || flag(afe.ntc_open, k, 0) || flag(afe.ntc_short, k, 0)) continue;
    const double t = afe.t_meas_k[k];
    if (!(t >= s.t_min_k)) s.t_min_k = t;
    if (!(t <= s.t_max_k)) s.t_max_k = t;
  }
  return s;
}

double condition_value(CondQuantity q, int index, const ConditionView& view) {
  const model::PackData& d = *view.pack;
  const auto i = static_cast<std::size_t>(index);
  switch (q) {
    case CondQuantity::kCellV:
      return d.v[i];
    case CondQuantity::kCellT:
      return d.temp_k[i];
    case CondQuantity::kCellSoc:
      return d.z[i];
    case CondQuantity::kCellI:
      return d.i[i];
    case CondQuantity::kVMin:
      return d.v_min;
    case CondQuantity::kVMax:
      return d.v_max;
    case CondQuantity::kPackV:
      return d.pack_voltage_v;
    case CondQuantity::kLinkV:
      return d.link_voltage_v;
    case CondQuantity::kCurrent:
      return d.pack_current_a;
    case CondQuantity::kAbsCurrent:
      return std::fabs(d.pack_current_a);
    case CondQuantity::kSocMin:
      return d.soc_min;
    case CondQuantity::kSocMean:
      return d.soc_mean;
    case CondQuantity::kSocMax:
      return d.soc_max;
    case CondQuantity::kTMax:
      return d.t_max_k;
    case CondQuantity::kTMin:
      return d.t_min_k;
    case CondQuantity::kVentedCells:
      return d.vented_cells;
    case CondQuantity::kRunawayCells:
      return d.runaway_cells;
    case CondQuantity::kContactorMainPos:
      return d.contactors.main_pos ? 1.0 : 0.0;
    case CondQuantity::kContactorMainNeg:
      return d.contactors.main_neg ? 1.0 : 0.0;
    case CondQuantity::kContactorPrecharge:
      return d.contactors.precharge ? 1.0 : 0.0;
    case CondQuantity::kFaultActive:
    case CondQuantity::kSinceFault: {
      if (index < 0 || index >= view.n_faults || !view.faults) {
        return q == CondQuantity::kFaultActive ? 0.0 : std::numeric_limits<double>::quiet_NaN();
      }
      const FaultLog& f = view.faults[i];
      const bool started = f.onset_ns >= 0 && f.onset_ns <= view.time_ns;
      if (q == CondQuantity::kSinceFault) {
        return started ? static_cast<double>(view.time_ns - f.onset_ns) / 1e9
                       : std::numeric_limits<double>::quiet_NaN();
      }
      return started && (f.end_ns < 0 || f.end_ns > view.time_ns) ? 1.0 : 0.0;
    }
    case CondQuantity::kTime:
      return static_cast<double>(view.time_ns) / 1e9;
    case CondQuantity::kBmsState:
      return view.bms_state;
    case CondQuantity::kSentVMin:
      return view.sent ? view.sent->v_min : kNan;
    case CondQuantity::kSentVMax:
      return view.sent ? view.sent->v_max : kNan;
    case CondQuantity::kSentTMin:
      return view.sent ? view.sent->t_min_k : kNan;
    case CondQuantity::kSentTMax:
      return view.sent ? view.sent->t_max_k : kNan;
    case CondQuantity::kBmsCellSoc:
      return view.bms && index >= 0 && static_cast<std::size_t>(index) < view.bms->cell_soc.size()
                 ? view.bms->cell_soc[static_cast<std::size_t>(index)]
                 : kNan;
    default:
      break;
  }
  const int o = condition_observable(q);
  if (o < 0 || !view.bms) return kNan;
  return view.bms->value[static_cast<std::size_t>(o)];
}

int condition_observable(CondQuantity q) {
  using can::Observable;
  Observable o = Observable::kCount;
  switch (q) {
    case CondQuantity::kBmsFault:
      o = Observable::kFault;
      break;
    case CondQuantity::kBmsFaultCode:
      o = Observable::kFaultCode;
      break;
    case CondQuantity::kBmsMainPos:
      o = Observable::kMainPos;
      break;
    case CondQuantity::kBmsMainNeg:
      o = Observable::kMainNeg;
      break;
    case CondQuantity::kBmsPrecharge:
      o = Observable::kPrecharge;
      break;
    case CondQuantity::kBmsSoc:
      o = Observable::kSoc;
      break;
    case CondQuantity::kBmsSoh:
      o = Observable::kSoh;
      break;
    case CondQuantity::kBmsChargeCurrentLimit:
      o = Observable::kChargeCurrentLimit;
      break;
    case CondQuantity::kBmsDischargeCurrentLimit:
      o = Observable::kDischargeCurrentLimit;
      break;
    case CondQuantity::kBmsChargePowerLimit:
      o = Observable::kChargePowerLimit;
      break;
    case CondQuantity::kBmsDischargePowerLimit:
      o = Observable::kDischargePowerLimit;
      break;
    case CondQuantity::kBmsBalancing:
      o = Observable::kBalancing;
      break;
    case CondQuantity::kBmsVMin:
      o = Observable::kCellVMin;
      break;
    case CondQuantity::kBmsVMax:
      o = Observable::kCellVMax;
      break;
    case CondQuantity::kBmsTMin:
      o = Observable::kTempMin;
      break;
    case CondQuantity::kBmsTMax:
      o = Observable::kTempMax;
      break;
    default:
      return -1;
  }
  return static_cast<int>(o);
}

std::string describe_value(CondQuantity q, int index, double value,
                           const std::vector<std::string>* fault_names) {
  const QuantityInfo* info = quantity_info(q);
  std::string name = info ? info->name : "?";
  if (info && info->indexed) {
    const auto k = static_cast<std::size_t>(index);
    name += "[" +
            (fault_indexed(q) && fault_names && k < fault_names->size() ? (*fault_names)[k]
                                                                        : std::to_string(index)) +
            "]";
  }
  char text[64];
  if (std::isnan(value)) {
    std::snprintf(text, sizeof text, "%s", q == CondQuantity::kSinceFault ? "not started" : "nan");
  } else if (!info) {
    std::snprintf(text, sizeof text, "%.6g", value);
  } else if (info->kind == ValueKind::kState) {
    const auto k = static_cast<std::size_t>(value);
    std::snprintf(text, sizeof text, "%s",
                  value >= 0 && k < kBmsStateNames.size() ? kBmsStateNames[k] : "unknown");
  } else if (info->kind == ValueKind::kCount || info->kind == ValueKind::kFlag) {
    std::snprintf(text, sizeof text, "%.0f", value);
  } else if (info->dim == Dimension::kTemperature) {
    std::snprintf(text, sizeof text, "%.5g degC", value - config::plausible::kZeroCelsius);
  } else if (info->dim == Dimension::kRatio) {
    std::snprintf(text, sizeof text, "%.5g %%", value * 100.0);
  } else if (info->dim == Dimension::kTime) {
    std::snprintf(text, sizeof text, "%.3f s", value);
  } else {
    std::snprintf(text, sizeof text, "%.5g %s", value, config::si_unit(info->dim));
  }
  return name + " = " + text;
}

bool evaluate(const Condition& c, const ConditionView& view) {
  if (c.n_nodes == 0) return false;
  // A postfix program: one stack slot per node at most.
  // The loader only builds well-formed programs; the bounds checks keep a malformed one (an
  // operator without operands) from reading outside the stack.
  bool stack[kConditionMaxNodes] = {};
  int top = 0;
  for (int k = 0; k < c.n_nodes; ++k) {
    const CondNode& n = c.nodes[static_cast<std::size_t>(k)];
    switch (n.kind) {
      case CondNode::Kind::kCompare:
        if (top >= kConditionMaxNodes) return false;
        stack[top++] = compare_value(condition_value(n.quantity, n.index, view), n.op, n.threshold);
        break;
      case CondNode::Kind::kAnd:
        if (top < 2) return false;
        --top;
        stack[top - 1] = stack[top - 1] && stack[top];
        break;
      case CondNode::Kind::kOr:
        if (top < 2) return false;
        --top;
        stack[top - 1] = stack[top - 1] || stack[top];
        break;
      case CondNode::Kind::kNot:
        if (top < 1) return false;
        stack[top - 1] = !stack[top - 1];
        break;
    }
  }
  return stack[0];
}

}  // namespace packsim::sim
