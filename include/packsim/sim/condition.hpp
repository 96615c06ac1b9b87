#pragma once
// The condition language shared by load `until`, fault `when` / `until` and (next) expectations:
//   cell_t[37] > 80 degC and (soc_min < 20 % or not bms_state == normal)
// parse_condition() compiles the text once into a flat postfix program; evaluate() runs it over a
// ConditionView without allocating, locking or recursing. Parsing is bounded (nesting depth and
// program length), so no input can exhaust the stack.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace packsim::model {
struct PackData;
struct AfeData;
}  // namespace packsim::model
namespace packsim::can {
struct BmsObservations;
}

namespace packsim::sim {

// What a condition can watch. Per-cell quantities take an index.
enum class CondQuantity : std::uint8_t {
  kCellV,         // cell_v[i], V
  kCellT,         // cell_t[i], K
  kCellSoc,       // cell_soc[i]
  kCellI,         // cell_i[i], A (discharge positive)
  kVMin,          // v_min (alias cell_v_min)
  kVMax,          // v_max (alias cell_v_max)
  kPackV,         // pack_v, at the battery terminals
  kLinkV,         // link_v, the DC link after the contactors
  kCurrent,       // current, pack, discharge positive
  kAbsCurrent,    // abs_current
  kSocMin,        // soc_min
  kSocMean,       // soc_mean (alias soc)
  kSocMax,        // soc_max
  kTMax,          // t_max (alias temp_max)
  kTMin,          // t_min (alias temp_min)
  kVentedCells,   // vented_cells, a count
  kRunawayCells,  // runaway_cells, a count
  // Expectations (issue 11): the contactors as they are (1 closed), and the scripted faults.
  kContactorMainPos,    // contactor_main_pos, a flag
  kContactorMainNeg,    // contactor_main_neg, a flag
  kContactorPrecharge,  // contactor_precharge, a flag
  kFaultActive,         // fault_active[name]: 1 while the [[fault]] of that name is active
  kSinceFault,          // since_fault[name], s since its onset (NaN before)
  kTime,                // time, s since the run's start
  kBmsState,            // bms_state == <name>; the value is the state's number
  // What the BMS reports (can::Observable, through the profile's observe bindings); NaN until
  // its first frame.
  kBmsFault,                  // bms_fault, 0/1
  kBmsFaultCode,              // bms_fault_code, the BMS's raw code
  kBmsMainPos,                // bms_main_pos, 0/1
  kBmsMainNeg,                // bms_main_neg
  kBmsPrecharge,              // bms_precharge
  kBmsSoc,                    // bms_soc, fraction
  kBmsSoh,                    // bms_soh
  kBmsChargeCurrentLimit,     // bms_charge_current_limit, A
  kBmsDischargeCurrentLimit,  // bms_discharge_current_limit, A
  kBmsChargePowerLimit,       // bms_charge_power_limit, W
  kBmsDischargePowerLimit,    // bms_discharge_power_limit, W
  kBmsBalancing,              // bms_balancing, 0/1
  kBmsVMin,                   // bms_v_min, V
  kBmsVMax,                   // bms_v_max
  kBmsTMin,                   // bms_t_min, K
  kBmsTMax,                   // bms_t_max
  kBmsCellSoc,                // bms_cell_soc[channel], fraction: the BMS's per-cell estimate
  // What the BMS was sent: min/max of the AFE's valid measured cell voltages and temperatures.
  kSentVMin,  // sent_v_min, V
  kSentVMax,  // sent_v_max
  kSentTMin,  // sent_t_min, K
  kSentTMax,  // sent_t_max
};

enum class CondOp : std::uint8_t { kLt, kLe, kGt, kGe, kEq, kNe };

// The reference BMS's state names, in bms::BmsState order (ref_bms.hpp).
inline constexpr std::array<const char*, 7> kBmsStateNames = {
    "init", "standby", "precharge", "closing", "normal", "opening", "fault"};

// Limits of a compiled condition: generous for people, small enough to keep it on the stack.
inline constexpr int kConditionMaxNodes = 64;
inline constexpr int kConditionMaxDepth = 16;  // parentheses and `not`s nested

struct CondNode {
  enum class Kind : std::uint8_t { kCompare, kAnd, kOr, kNot };
  Kind kind = Kind::kCompare;
  CondQuantity quantity = CondQuantity::kVMin;
  CondOp op = CondOp::kLt;
  int index = 0;           // per-cell quantities
  double threshold = 0.0;  // SI
};

// A compiled condition: nodes in postfix order. Plain data, copyable, no heap beyond `text`.
struct Condition {
  std::array<CondNode, kConditionMaxNodes> nodes{};
  int n_nodes = 0;
  bool uses_bms_state = false;
  std::uint32_t bms_observables = 0;  // the bms_* quantities it reads, bit = can::Observable
  bool uses_bms_cell_soc = false;     // reads bms_cell_soc[...] (not an Observable: per channel)
  std::string text;                   // as written, for reports
};

// What the parser checks against: the pack's size and how to turn a C-rate into amperes.
struct ConditionContext {
  int n_cells = 1;
  int series = 1;            // pack voltage thresholds scale with it
  double c_rate_to_a = 1.0;  // 1 C in amperes
  // The [[fault]] tables' names in file order ("" for one without), for fault_active[name].
  const std::vector<std::string>* fault_names = nullptr;
};

struct ConditionError {
  int column = 1;  // 1-based, inside the condition's text
  std::string message;
};

// Compiles `text`; on failure returns nothing and says why and where.
std::optional<Condition> parse_condition(std::string_view text, const ConditionContext& ctx,
                                         ConditionError& error);

// A scripted fault's onset and end (ScenarioDriver::fault_log), for fault_active and the summary.
struct FaultLog {
  std::int64_t onset_ns = -1;  // -1: never started
  std::int64_t end_ns = -1;    // -1: still active at the run's end (or never started)
};

// What the BMS was sent this tick: min/max over the AFE's valid measured cell voltages and
// temperatures (NaN when none is valid). The session computes it once per tick (sent_values()).
struct SentValues {
  double v_min = 0.0, v_max = 0.0;      // V
  double t_min_k = 0.0, t_max_k = 0.0;  // K
};

// Min/max over `afe`'s valid measured values (v_valid / t_valid, empty = all valid; an open wire
// or a dropout never counts); NaN where none is valid. Allocation-free.
SentValues sent_values(const model::AfeData& afe);

// What a condition watches: the pack's true state, the time, the BMS's state (-1: none known),
// the scripted faults' log, what the BMS reports (bms_*: NaN without `bms` or before the first
// frame) and what it was sent (sent_*: NaN without `sent`). A NaN value makes its comparison
// false, whatever the operator.
struct ConditionView {
  const model::PackData* pack = nullptr;
  std::int64_t time_ns = 0;
  int bms_state = -1;
  // The scripted faults' log, in Scenario::faults order (fault_active, since_fault).
  const FaultLog* faults = nullptr;
  int n_faults = 0;
  const can::BmsObservations* bms = nullptr;
  const SentValues* sent = nullptr;
};

double condition_value(CondQuantity q, int index, const ConditionView& view);
// `v OP t`, as a comparison of the language evaluates it (and expectations' at_end).
bool compare_value(double v, CondOp op, double t);
// "v_max = 4.2012 V", "cell_t[3] = 81.25 degC", "fault_active[short] = 1": a quantity read, as
// expectation messages show it. `fault_names` as in ConditionContext (may be null).
std::string describe_value(CondQuantity q, int index, double value,
                           const std::vector<std::string>* fault_names);
// Allocation-free. An empty condition is false.
bool evaluate(const Condition& c, const ConditionView& view);

// The can::Observable a quantity reads (as a number), or -1 for the truth and sent quantities.
int condition_observable(CondQuantity q);

// Names the parser accepts (canonical and aliases), for messages and docs.
std::string condition_quantity_list();

}  // namespace packsim::sim
