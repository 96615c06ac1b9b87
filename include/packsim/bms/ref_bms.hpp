#pragma once
// packsim's reference BMS: the decision logic of a stand-in battery-management system (contactor
// sequence, protection faults, SOC estimate, passive balancing) as a pure, allocation-free,
// deterministic function of what it measured. It never reads a clock or the simulator's true
// state; the CAN layer decodes AFE and current-sensor frames into BmsInputs and encodes BmsOutputs
// into commands. docs/refbms.md is the contract (state machine, limits, exact trip times).
//
// Units are SI: V, A (positive on discharge), K, A*s; times are integer nanoseconds of the
// monotonic clock the caller passes in `BmsInputs::now_ns`.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "packsim/model/network.hpp"

namespace packsim::model {
struct CellType;
}  // namespace packsim::model

namespace packsim::bms {

// A frame time meaning "no valid frame received yet".
inline constexpr std::int64_t kNoFrame = std::numeric_limits<std::int64_t>::min();

// A view of a caller-owned array. Elements past `size` read as invalid / never received, so a
// short array degrades into a measurement fault instead of undefined behaviour.
template <typename T>
struct Span {
  T* data = nullptr;
  std::size_t size = 0;

  constexpr Span() = default;
  constexpr Span(T* d, std::size_t n) : data(d), size(n) {}
  // From any contiguous container with data() and size() (std::vector, std::array), implicitly.
  template <typename C, typename = decltype(std::declval<C&>().data() + std::declval<C&>().size())>
  Span(C& c) : data(c.data()), size(c.size()) {}  // NOLINT(google-explicit-constructor)
  constexpr T& operator[](std::size_t i) const { return data[i]; }
};

// --- Configuration ---------------------------------------------------------------------------

struct BmsConfig {
  // Topology. Voltage channel c (a series group) belongs to module c / cells_per_module; the last
  // module may be partial.
  int n_cells = 0;
  int n_modules = 0;
  int cells_per_module = 0;
  int n_sensors = 0;
  std::vector<int> sensor_module;  // [n_sensors] module whose temperature frame carries the sensor

  // SOC estimate.
  double capacity_as = 0.0;     // of one series group, A*s
  std::vector<double> ocv_soc;  // breakpoints, strictly increasing in [0, 1]; empty: uniform 0..1
  std::vector<double> ocv_v;    // OCV at the breakpoints, strictly increasing, V
  double rest_current_a = 0.0;  // |I| below this counts as rest
  std::int64_t rest_ns = 0;     // rest this long before the OCV correction runs
  double ocv_gain_per_s = 0.0;  // at rest, SOC moves this fraction of its OCV error per second

  // Protection: a condition must hold continuously for its delay (see docs/refbms.md).
  double cell_ov_v = 0.0;  // over-voltage when a cell is above
  std::int64_t ov_delay_ns = 0;
  double cell_uv_v = 0.0;  // under-voltage when a cell is below
  std::int64_t uv_delay_ns = 0;
  double ot_k = 0.0;  // over-temperature when a sensor is above
  std::int64_t ot_delay_ns = 0;
  double ut_k = 0.0;  // under-temperature when a sensor is below
  std::int64_t ut_delay_ns = 0;
  double oc_discharge_a = 0.0;  // over-current when I > this
  std::int64_t oc_discharge_delay_ns = 0;
  double oc_charge_a = 0.0;  // magnitude: over-current when I < -this
  std::int64_t oc_charge_delay_ns = 0;
  std::int64_t invalid_delay_ns = 0;  // a valid flag false this long
  // Issue 10 detections (docs/refbms.md); a threshold of 0 switches its check off.
  std::int64_t hw_flag_delay_ns = 0;     // an AFE hardware OV/UV comparator flag this long
  double vent_gas_ppm = 0.0;             // vent gas above this ...
  std::int64_t vent_gas_delay_ns = 0;    // ... this long
  double insulation_min_ohm = 0.0;       // insulation below this ...
  std::int64_t insulation_delay_ns = 0;  // ... this long
  // Self-discharge (an internal short): at rest, after `self_discharge_settle_ns` of rest, a cell
  // whose voltage sinks this far relative to the mean of the cells (filtered with time constant
  // `self_discharge_filter_ns`) ...
  double self_discharge_v = 0.0;
  std::int64_t self_discharge_settle_ns = 0;
  std::int64_t self_discharge_filter_ns = 0;
  std::int64_t self_discharge_delay_ns = 0;  // ... for this long

  // Communication.
  std::int64_t afe_timeout_ns = 0;      // per module, voltage and temperature frames separately
  std::int64_t current_timeout_ns = 0;  // current-sensor frames
  // A source that never delivered counts as lost `timeout` after the bus's first frame (the
  // simulator came up), not after the BMS's start: a BMS started before the simulator waits. With
  // no frame at all, every source is lost once this grace has passed since the first update.
  std::int64_t startup_grace_ns = 0;
  int corrupt_limit = 0;               // more than this many rejected frames ...
  std::int64_t corrupt_window_ns = 0;  // ... within this window is a fault

  // Contactors.
  double precharge_ratio = 0.0;  // link >= ratio * pack ends precharge
  std::int64_t precharge_min_ns = 0;
  std::int64_t precharge_max_ns = 0;
  std::int64_t precharge_overlap_ns = 0;  // main+ and precharge both closed
  std::int64_t open_delay_ns = 0;         // main- opens this long after main+

  // Passive balancing.
  double balance_on_v = 0.0;           // start bleeding a cell this far above the lowest cell
  double balance_off_v = 0.0;          // stop when it is no more than this above (hysteresis)
  double balance_min_cell_v = 0.0;     // never bleed a cell below this
  double balance_max_current_a = 0.0;  // balance only while |I| is below this
  bool balance_only_standby = false;
};

// Limits from the cell's voltage window and capacity, the documented default delays, a linear
// placeholder OCV from v_min to v_max (replace it with the cell's table) and sensors placed by
// `sensor_module`. n_modules = ceil(n_cells / cells_per_module).
BmsConfig default_bms_config(int n_cells, int cells_per_module, std::vector<int> sensor_module,
                             double cell_v_min, double cell_v_max, double capacity_as);

// Replaces the OCV table with the cell model's OCV at `temp_k`, sampled at its SOC grid points;
// points that do not rise above the previous one (plateaus) are dropped so the inverse is unique.
void set_ocv_from_cell(BmsConfig& config, const model::CellType& cell, double temp_k);

// Every problem of a config, one human-readable line each; empty when the config is usable.
std::vector<std::string> validate_bms_config(const BmsConfig& config);

// --- Inputs and outputs ----------------------------------------------------------------------

// What the BMS measured this cycle. The arrays belong to the caller and must outlive update().
struct BmsInputs {
  std::int64_t now_ns = 0;  // monotonic, non-decreasing

  Span<const double> cell_v;              // [n_cells]
  Span<const std::uint8_t> cell_v_valid;  // [n_cells] nonzero: valid
  Span<const double> temp_k;              // [n_sensors]
  Span<const std::uint8_t> temp_valid;    // [n_sensors]
  Span<const std::uint8_t> cell_hw_ov;    // [n_cells] AFE hardware comparator flags; empty: none
  Span<const std::uint8_t> cell_hw_uv;    // [n_cells]
  double current_a = 0.0;                 // discharge positive
  bool current_valid = false;
  double vent_gas_ppm = 0.0;  // the enclosure's vent-gas sensor
  bool vent_gas_valid = false;
  double insulation_ohm = 0.0;  // the insulation monitor's reading
  bool insulation_valid = false;
  double pack_v = 0.0;  // battery side of the contactors
  bool pack_v_valid = false;
  double link_v = 0.0;  // DC bus, after the contactors
  bool link_v_valid = false;

  // Times of the last valid (E2E-accepted) frames; kNoFrame before the first one.
  Span<const std::int64_t> voltage_frame_ns;  // [n_modules]
  Span<const std::int64_t> temp_frame_ns;     // [n_modules]
  std::int64_t current_frame_ns = kNoFrame;

  // Cumulative counts of frames rejected by E2E checks (modulo 2^32).
  std::uint32_t rejected_crc = 0;
  std::uint32_t rejected_counter = 0;  // stale or lost alive counter

  bool drive_request = false;  // the vehicle wants the pack connected
  bool fault_reset = false;    // acts on its rising edge
};

enum class BmsState : std::uint8_t {
  kInit,       // waiting for the first frame of every source; contactors open
  kStandby,    // open, ready
  kPrecharge,  // main- and precharge closed
  kClosing,    // main+ closed too (overlap)
  kNormal,     // main+ and main- closed
  kOpening,    // main+ open, main- still closed
  kFault,      // everything open until a fault reset
};

// Latched fault flags, a bitmask.
enum class Fault : std::uint32_t {
  kNone = 0,
  kOverVoltage = 1u << 0,
  kUnderVoltage = 1u << 1,
  kOverTemp = 1u << 2,
  kUnderTemp = 1u << 3,
  kOverCurrentDischarge = 1u << 4,
  kOverCurrentCharge = 1u << 5,
  kAfeDataLost = 1u << 6,
  kAfeDataCorrupt = 1u << 7,
  kCurrentSensorLost = 1u << 8,
  kPrechargeFailed = 1u << 9,
  kMeasurementInvalid = 1u << 10,
  kHardwareFlag = 1u << 11,   // the AFE's own OV/UV comparator reports a cell
  kVentGas = 1u << 12,        // the vent-gas sensor reads above its alarm level
  kInsulation = 1u << 13,     // the insulation monitor reads below its minimum
  kSelfDischarge = 1u << 14,  // a cell sinks against the others at rest (an internal short)
};

constexpr Fault operator|(Fault a, Fault b) {
  return static_cast<Fault>(static_cast<std::uint32_t>(a) | static_cast<std::uint32_t>(b));
}
constexpr Fault operator&(Fault a, Fault b) {
  return static_cast<Fault>(static_cast<std::uint32_t>(a) & static_cast<std::uint32_t>(b));
}
constexpr Fault operator~(Fault a) { return static_cast<Fault>(~static_cast<std::uint32_t>(a)); }
inline Fault& operator|=(Fault& a, Fault b) { return a = a | b; }
inline Fault& operator&=(Fault& a, Fault b) { return a = a & b; }
constexpr bool has_fault(Fault set, Fault f) { return (set & f) != Fault::kNone; }

// The fault code the BMS reports for a single fault: its bit number + 1 (kOverVoltage 1, ...,
// kInsulation 14); 0 for none.
int fault_code(Fault single_fault);

// Derating windows of the current limits: the last kLimitDerateShare of the cell-voltage window
// before a voltage limit, and the last kLimitDerateK kelvin before a temperature limit.
inline constexpr double kLimitDerateShare = 0.05;
inline constexpr double kLimitDerateK = 10.0;

const char* to_string(BmsState state);
const char* to_string(Fault single_fault);  // "" for a combination

struct BmsOutputs {
  BmsOutputs() = default;
  explicit BmsOutputs(const BmsConfig& config)
      : balance(static_cast<std::size_t>(config.n_cells > 0 ? config.n_cells : 0), 0),
        cell_soc(balance.size(), std::numeric_limits<double>::quiet_NaN()) {}

  model::ContactorState contactors;   // closed = true
  std::vector<std::uint8_t> balance;  // [n_cells] 1: bleed switch on; size it with the config
  BmsState state = BmsState::kInit;

  Fault faults = Fault::kNone;            // latched
  Fault first_fault = Fault::kNone;       // the first since the last complete reset
  int first_fault_cell = -1;              // voltage channel, when the first fault is about one
  int first_fault_sensor = -1;            // temperature sensor, likewise
  int first_fault_module = -1;            // module, for AFE data lost
  std::int64_t first_fault_onset_ns = 0;  // the condition appeared (last frame, for timeouts)
  std::int64_t first_fault_ns = 0;        // it tripped: the update that opened the contactors

  double soc = 0.0;  // pack estimate, 0..1
  bool soc_valid = false;
  // Per channel (docs/refbms.md "SOC"): each cell's own OCV start and rest correction, counted
  // with the string current; NaN until the cell's first valid reading. Written up to its size.
  std::vector<double> cell_soc;  // [n_cells]
  double soh = 1.0;  // no state-of-health estimator: the nominal capacity is taken as it is

  // What the BMS allows now (docs/refbms.md "Limits"): the over-current limits derated to 0 near
  // the voltage and temperature limits, 0 in a fault; powers = current limit x the sum of the
  // valid cell voltages.
  double charge_current_limit_a = 0.0;  // magnitude
  double discharge_current_limit_a = 0.0;
  double charge_power_limit_w = 0.0;
  double discharge_power_limit_w = 0.0;

  // What the BMS sees among the valid measurements; index -1 (and value 0) when none is valid.
  double cell_v_min_v = 0.0;
  double cell_v_max_v = 0.0;
  int cell_v_min_index = -1;
  int cell_v_max_index = -1;
  double temp_min_k = 0.0;
  double temp_max_k = 0.0;
  int temp_min_index = -1;
  int temp_max_index = -1;
};

// --- The BMS ---------------------------------------------------------------------------------

// Per-condition debounce: `onset_ns` is the first update at which the condition was seen, and it
// stays set until an update shows the condition absent.
struct Debounce {
  std::int64_t onset_ns = 0;
  bool active = false;

  // Feeds one sample of the condition.
  void update(bool condition, std::int64_t now_ns) {
    if (!condition) {
      active = false;
    } else if (!active) {
      active = true;
      onset_ns = now_ns;
    }
  }
  // Whether the condition has held for `delay_ns` (an update with an invalid sample is skipped:
  // it neither confirms nor breaks the condition).
  bool held_for(std::int64_t now_ns, std::int64_t delay_ns) const {
    return active && now_ns - onset_ns >= delay_ns;
  }
};

class RefBms {
 public:
  // Throws std::invalid_argument listing validate_bms_config()'s problems. Sizes every buffer.
  explicit RefBms(const BmsConfig& config);

  // One cycle. Allocates nothing, reads no clock, deterministic. `out.balance` is written up to
  // its size (BmsOutputs(config) sizes it).
  void update(const BmsInputs& in, BmsOutputs& out);

  const BmsConfig& config() const { return cfg_; }
  BmsState state() const { return state_; }
  Fault faults() const { return faults_; }

  // OCV^-1 of the configured table, clamped to its SOC range.
  double soc_from_ocv(double v) const;

 private:
  struct Aggregates {
    double v_sum = 0.0;
    int v_count = 0;
    bool all_cells_valid = false;
    bool all_temps_valid = false;
  };

  Aggregates aggregate(const BmsInputs& in, BmsOutputs& out) const;
  void evaluate_faults(const BmsInputs& in);
  void record_rejections(const BmsInputs& in);
  bool corrupt_now(std::int64_t now_ns) const;
  std::int64_t last_frame(std::int64_t frame_ns, std::int64_t timeout_ns) const;
  bool afe_lost_now(const BmsInputs& in, int* module, std::int64_t* onset) const;
  bool current_lost_now(const BmsInputs& in) const;
  void process_reset(const BmsInputs& in);
  void latch(Fault f, std::int64_t now_ns, std::int64_t onset_ns, int cell, int sensor, int module);
  bool precharged(const BmsInputs& in) const;
  void step_state(const BmsInputs& in, const Aggregates& agg);
  void update_soc(const BmsInputs& in, const Aggregates& agg, std::int64_t dt_ns);
  void update_balancing(const BmsInputs& in, const Aggregates& agg, const BmsOutputs& out);
  void watch_self_discharge(const BmsInputs& in, std::int64_t dt_ns);
  void update_limits(const Aggregates& agg, BmsOutputs& out) const;
  bool cell_valid(const BmsInputs& in, std::size_t c) const;
  bool temp_valid(const BmsInputs& in, std::size_t s) const;

  BmsConfig cfg_;
  std::size_t n_cells_ = 0;
  std::size_t n_sensors_ = 0;
  std::size_t n_modules_ = 0;
  std::vector<std::uint8_t> module_has_sensor_;  // [n_modules]

  // Protection.
  std::vector<Debounce> ov_;            // [n_cells]
  std::vector<Debounce> uv_;            // [n_cells]
  std::vector<Debounce> cell_invalid_;  // [n_cells]
  std::vector<Debounce> ot_;            // [n_sensors]
  std::vector<Debounce> ut_;            // [n_sensors]
  std::vector<Debounce> temp_invalid_;  // [n_sensors]
  Debounce oc_discharge_;
  Debounce oc_charge_;
  Debounce current_invalid_;
  std::vector<Debounce> hw_flag_;  // [n_cells]
  Debounce vent_gas_;
  Debounce insulation_;
  std::vector<Debounce> self_discharge_;  // [n_cells]
  std::vector<double> sd_dev_v_;          // [n_cells] filtered deviation from the mean at rest
  std::vector<double> sd_base_v_;         // [n_cells] the deviation when the watch began
  std::int64_t sd_since_ns_ = -1;         // the filter's start in this rest; -1: not resting
  bool sd_based_ = false;
  std::vector<std::int64_t> rejections_ns_;  // ring of the last corrupt_limit + 1 rejections
  std::size_t rejection_head_ = 0;           // next slot to write
  std::size_t rejection_count_ = 0;          // filled slots
  std::uint32_t last_rejected_ = 0;

  Fault faults_ = Fault::kNone;
  Fault first_fault_ = Fault::kNone;
  int first_cell_ = -1;
  int first_sensor_ = -1;
  int first_module_ = -1;
  std::int64_t first_onset_ns_ = 0;
  std::int64_t first_ns_ = 0;

  // Sequence.
  BmsState state_ = BmsState::kInit;
  std::int64_t state_since_ns_ = 0;
  bool started_ = false;
  std::int64_t first_update_ns_ = 0;
  std::int64_t first_frame_ns_ = kNoFrame;  // the first frame of any source (start-up grace)
  std::int64_t last_now_ns_ = 0;
  bool init_done_ = false;
  bool drive_armed_ = true;  // false after a fault until drive_request has been seen low
  bool last_fault_reset_ = false;

  // SOC.
  bool soc_valid_ = false;
  double soc_ = 0.0;
  std::vector<double> cell_soc_;  // [n_cells] NaN: no valid reading yet
  double last_current_a_ = 0.0;
  bool have_current_ = false;
  Debounce rest_;

  // Balancing.
  std::vector<std::uint8_t> balance_;  // [n_cells]
};

}  // namespace packsim::bms
