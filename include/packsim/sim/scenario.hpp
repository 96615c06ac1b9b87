#pragma once
// A scenario as plain data: what to run (pack, initial state, tick, duration, seed), what the load
// does over time, timed events, and what to record. Filled by packsim_config from a TOML file; run
// by the Runner. Times are integer nanoseconds.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "packsim/can/protocol.hpp"
#include "packsim/model/afe.hpp"
#include "packsim/model/pack.hpp"
#include "packsim/sim/condition.hpp"
#include "packsim/sim/expect.hpp"
#include "packsim/util/diagnostic.hpp"

namespace packsim::can {
struct Profile;
}

namespace packsim::sim {

// A load segment's stop condition: the condition language (condition.hpp).
using StopCondition = Condition;

// A time series (current in A or power in W) replayed as the load.
struct Profile {
  std::vector<std::int64_t> t_ns;  // strictly increasing, starts at 0
  std::vector<double> value;
  bool linear = false;  // interpolate linearly; otherwise hold each value until the next time
  bool power = false;   // values are watts rather than amperes
  int repeat = 1;       // play this many times
  std::string source;   // file it came from
};

enum class SegmentKind { kRest, kCurrent, kPower, kResistance, kCcCv, kProfile };

struct LoadSegment {
  SegmentKind kind = SegmentKind::kRest;
  double value = 0.0;  // A (current, CC-CV charge current > 0), W (power), ohm (resistance)
  double cv_voltage_v = 0.0;
  // CC-CV: also hold the highest cell at or below this voltage, as a charger following the BMS's
  // charge-current request does (series cells drift apart; the pack setpoint alone lets the
  // highest one overshoot).
  std::optional<double> cell_limit_v;
  int series = 1;  // cells in series, for turning a cell-voltage excess into a pack setpoint
  std::optional<std::int64_t> duration_ns;  // ends after this long (or when `until` trips)
  std::vector<StopCondition> until;         // ends when any trips
  std::shared_ptr<const Profile> profile;
  std::string label;
};

// A measurement fault on one AFE channel (what the BMS sees, not the cell).
struct AfeFault {
  int channel = 0;
  std::optional<double> offset_v;  // added to the channel's reading
  std::optional<bool> open_wire;
};

// A fault on the frames of one of the profile's TX messages (see can::TxFault).
struct CanFaultEvent {
  std::string message;         // as written in the scenario
  SourceLocation where;        // of `message`, for errors found once the profile is loaded
  std::size_t tx_message = 0;  // index into the profile's TX messages, resolved by the loader
  int instance = -1;           // module instance of a per-module message; -1: all
  can::TxFault fault = can::TxFault::kNone;
  std::int64_t duration_ns = 0;  // 0: until the run ends or a later event clears it
};

// A temperature sensor reading off by an offset (a loose or damaged NTC), not the cell.
struct NtcFault {
  int sensor = 0;
  double offset_k = 0.0;
};

// Sets one cell's true state of charge (e.g. an overcharged cell).
struct SocOverride {
  int cell = 0;
  double soc = 0.0;
};

struct Event {
  std::int64_t at_ns = 0;
  std::optional<model::ContactorState> contactors;
  std::optional<double> ambient_k;
  std::optional<AfeFault> afe;
  std::optional<SocOverride> soc;
  std::optional<bool> bms_drive;    // the host's request to the BMS: connect the pack or not
  std::optional<bool> fault_reset;  // ask the BMS to clear latched faults
  std::optional<CanFaultEvent> can_fault;
  std::optional<int> sensor_error;  // error bits the current sensor reports (0 clears)
  std::optional<NtcFault> ntc;
  std::string label;
};

// Issue 10's scripted faults ([[fault]] tables, docs/faults.md).
enum class FaultKind : std::uint8_t {
  kInternalShort,
  kHeater,
  kOpenCell,
  kCellFade,
  kLooseBusbar,
  kLooseLink,
  kContactorWelded,
  kContactorStuckOpen,
  kPrechargeOpen,
  kInsulation,
  kCoolingLoss,
  kAmbient,
  kAfeOffset,
  kAfeGain,
  kAfeStuck,
  kAfeNoise,
  kAfeDropout,
  kOpenWire,
  kNtcOffset,
  kNtcDrift,
  kNtcOpen,
  kNtcShort,
  kCurrentOffset,
  kCurrentStuck,
  kCurrentError,
  kCanDrop,
  kCanCorruptCrc,
  kCanRepeatCounter,
  kCanShortFrame,
  kCanDelay,
  kCanBabble,
  kCanSilence,
  kCanErrorFrames,
};
inline constexpr int kFaultKindCount = static_cast<int>(FaultKind::kCanErrorFrames) + 1;
// The name a scenario writes ("internal_short").
inline const char* fault_kind_name(FaultKind kind) {
  static constexpr const char* kNames[kFaultKindCount] = {
      "internal_short",  "heater",     "open_cell",        "cell_fade",
      "loose_busbar",    "loose_link", "contactor_welded", "contactor_stuck_open",
      "precharge_open",  "insulation", "cooling_loss",     "ambient",
      "afe_offset",      "afe_gain",   "afe_stuck",        "afe_noise",
      "afe_dropout",     "open_wire",  "ntc_offset",       "ntc_drift",
      "ntc_open",        "ntc_short",  "current_offset",   "current_stuck",
      "current_error",   "can_drop",   "can_corrupt_crc",  "can_repeat_counter",
      "can_short_frame", "can_delay",  "can_babble",       "can_silence",
      "can_error_frames"};
  const auto k = static_cast<std::size_t>(kind);
  return k < static_cast<std::size_t>(kFaultKindCount) ? kNames[k] : "?";
}

struct Fault {
  FaultKind kind = FaultKind::kInternalShort;
  // Addressing, per kind: cell, channel, sensor, module, link, contactor (0 main+, 1 main-,
  // 2 precharge), TX message index; -1 where the kind addresses all (cooling_loss without a
  // module) or nothing. `target2`: a busbar's segment inside its group, a message's module.
  int target = -1;
  int target2 = -1;
  std::string target_text;  // "cell 37", "channel 3", "message CellVoltages": for the outputs
  // Start: at a time, or when a condition holds (then after `delay`).
  std::optional<std::int64_t> at_ns;
  std::optional<Condition> when;
  std::int64_t delay_ns = 0;
  // Stop: after a duration from the onset, or when a condition holds; neither: at the run's end.
  std::optional<std::int64_t> duration_ns;
  std::optional<Condition> until;
  // Magnitude (SI, in the kind's key: ohm, W, V, K, A, ratio, s): constant `value`, or a ramp
  // from it to `ramp_to` over `ramp_over_ns`, or steps (time from the onset, value).
  bool has_value = false;  // afe_stuck / current_stuck without one hold the reading at onset
  double value = 0.0;
  double value2 = 0.0;  // cell_fade: the R0 scale (value is the capacity scale)
  std::optional<double> ramp_to;
  std::int64_t ramp_over_ns = 0;
  std::vector<std::int64_t> step_ns;  // strictly increasing
  std::vector<double> step_value;
  // CAN: babbling frames and silenced buses.
  std::string message;   // as written; resolved against the profile into `target`
  SourceLocation where;  // of the table, for errors found once the profile is loaded
  std::string bus;       // can_babble / can_silence: a logical bus of the profile; empty: all
  int bus_index = -1;
  std::uint32_t can_id = 0;
  bool extended = false;
  int dlc = 8;
  double rate_hz = 0.0;
  std::uint32_t error_class = 0;  // can_error_frames: SocketCAN error class bits (CAN_ERR_*)
  std::string label;
  std::string name;  // for fault_active[name] and since_fault[name]; may be empty
};

enum class BmsMode {
  kNone,       // no BMS: the scenario drives the contactors, nothing goes on a bus
  kReference,  // packsim's reference BMS, in-process on the loopback bus (the embedded default)
  kExternal,   // a BMS outside packsim (a board on can0, a firmware on vcan0, packsim-refbms)
};

struct BmsSettings {
  BmsMode mode = BmsMode::kReference;
  std::string profile = "packsim";      // protocol profile, by name or path
  std::string profile_file;             // resolved path
  std::int64_t period_ns = 10'000'000;  // reference BMS cycle
  bool drive = true;                    // the host asks for the pack from the start
  // The host's requests as a profile sends them (sources host_mode, host_fault_reset): after each
  // drive request it asks for standby for host_standby, then for host_mode; a fault reset is held
  // for host_reset. foxBMS 2 leaves IDLE only on a standby request (docs/protocol.md).
  can::HostMode host_mode = can::HostMode::kNormal;
  std::int64_t host_standby_ns = 2'000'000'000;
  std::int64_t host_reset_ns = 500'000'000;
  // Reference-BMS limits; unset: from the cell model (v_min/v_max) and packsim's defaults.
  std::optional<double> cell_ov_v, cell_uv_v, ot_k, ut_k, oc_discharge_a, oc_charge_a;
  // Reference-BMS times; unset: packsim's defaults (docs/refbms.md).
  std::optional<std::int64_t> ov_delay_ns, uv_delay_ns, ot_delay_ns, ut_delay_ns;
  std::optional<std::int64_t> oc_discharge_delay_ns, oc_charge_delay_ns, invalid_delay_ns;
  std::optional<std::int64_t> afe_timeout_ns, current_timeout_ns, startup_grace_ns;
  std::optional<int> corrupt_limit;  // more than this many rejected frames within the window
  std::optional<std::int64_t> corrupt_window_ns, precharge_min_ns, precharge_max_ns;
  // Issue 10 detections (docs/refbms.md): hardware flags, vent gas, insulation.
  std::optional<std::int64_t> hw_flag_delay_ns, vent_gas_delay_ns, insulation_delay_ns;
  std::optional<double> vent_gas_ppm, insulation_min_ohm;
  // Self-discharge watch at rest (an internal short).
  std::optional<double> self_discharge_v;
  std::optional<std::int64_t> self_discharge_settle_ns, self_discharge_filter_ns,
      self_discharge_delay_ns;
};

// Which per-cell quantities get their own columns in signals.csv.
struct CellColumns {
  bool voltage = false;
  bool temperature = false;
  bool soc = false;
  bool current = false;
  bool any() const { return voltage || temperature || soc || current; }
};

// Which frames go into can.log: all, the ones the simulator received, the ones it sent, none.
enum class CanLogMode { kAll, kRx, kTx, kOff };
inline const char* can_log_mode_name(CanLogMode mode) {
  switch (mode) {
    case CanLogMode::kRx:
      return "rx";
    case CanLogMode::kTx:
      return "tx";
    case CanLogMode::kOff:
      return "off";
    case CanLogMode::kAll:
      break;
  }
  return "all";
}

inline constexpr int kDefaultCanLogKeep = 3;
inline constexpr int kMaxCanLogKeep = 1000;
// A rotated file holds dozens of lines at least.
inline constexpr std::uint64_t kMinCanLogMaxBytes = 4096;

struct RecordSpec {
  std::int64_t every_ns = 0;  // 0: not given; packsim run records every 1 s (at least a tick)
  CellColumns cells;
  CanLogMode can_log = CanLogMode::kAll;
  std::uint64_t can_log_max_bytes = 0;  // 0: one can.log without a limit
  int can_log_keep = kDefaultCanLogKeep;
};

// A scenario without a BMS starts with main+ and main- closed.
inline constexpr model::ContactorState kContactorsClosed{true, true, false};

struct Scenario {
  std::string name;
  std::string file;
  SourceLocation bms_where;  // the [bms] table (the file alone without one), for its messages
  std::string pack_file;
  std::string cell_file;
  model::PackSpec pack;
  model::CellType cell;
  model::AfeSpec afe;
  model::ShuntSpec shunt;
  model::AfeLayoutKeys afe_keys;  // where the pack file set the AFE layout, for profile messages
  BmsSettings bms;
  std::shared_ptr<const can::Profile> profile;  // resolved for tick_ns; empty when mode is kNone
  std::int64_t profile_tick_ns = 0;
  std::int64_t duration_ns = 0;
  std::int64_t tick_ns = 1'000'000;
  std::uint64_t seed = 0;
  double initial_soc = 0.5;
  double initial_temp_k = 298.15;
  model::ContactorState initial_contactors = kContactorsClosed;
  double ambient_k = 298.15;
  std::vector<LoadSegment> load;
  bool stop_when_load_done = false;
  std::vector<Event> events;              // sorted by time
  std::vector<Fault> faults;              // in file order
  std::vector<Expectation> expectations;  // [[expect]], then those of included files, in order
  bool uses_bms_state = false;            // some condition watches bms_state
  SourceLocation bms_state_where;         // the first such condition
  // The bms_* quantities conditions read (bit = can::Observable), and where each was first read:
  // the profile must bind them (checked once it is loaded).
  std::uint32_t bms_observables = 0;
  std::vector<std::pair<int, SourceLocation>> bms_observable_where;
  std::optional<SourceLocation> bms_cell_soc_where;  // the first condition on bms_cell_soc[...]
  RecordSpec record;
};

// Tick limits (the range: 100 us to 1 s).
inline constexpr std::int64_t kMinTickNs = 100'000;
inline constexpr std::int64_t kMaxTickNs = 1'000'000'000;

}  // namespace packsim::sim
