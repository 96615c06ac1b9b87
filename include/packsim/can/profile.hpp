#pragma once
// A protocol profile: a DBC plus a binding table that says which simulated quantity each
// transmitted signal carries (period, phase, per module or once, multiplexed rows) and which
// received signals drive which simulator input. A user adapts packsim to a BMS board's protocol by
// writing a profile, not code. This header is the compiled, plain-data form; packsim_config reads
// profiles from TOML (profiles/<name>/profile.toml) and resolves every binding against the DBC and
// the pack, so nothing is looked up by name while running.

#include <array>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "packsim/can/codec.hpp"
#include "packsim/can/dbc.hpp"
#include "packsim/can/e2e.hpp"

namespace packsim::can {

// What a transmitted signal carries. Indexed sources take a cell (series channel), sensor or
// module.
enum class Source : std::uint8_t {
  kConstant,
  kCellVoltage,       // V, measured by the AFE
  kCellVoltageValid,  // 1 valid, 0 invalid (open wire, dropout, index beyond the pack)
  kCellStatus,        // 0 ok, 1 over-voltage, 2 under-voltage, 3 open wire
  kOpenWire,          // 1 = open wire detected
  kOvFlag,            // hardware over-voltage comparator
  kUvFlag,
  kTemperature,        // degC, measured by an NTC
  kTemperatureValid,   // 1 valid, 0 invalid (NTC open or short, index beyond the pack)
  kDieTemperature,     // degC, AFE die of a module
  kCurrent,            // A, discharge positive, measured by the current sensor
  kPackVoltage,        // V, battery side of the contactors
  kLinkVoltage,        // V, DC link side
  kShuntTemperature,   // degC
  kPower,              // W, pack voltage x current
  kCharge,             // A s, integrated by the sensor since start
  kEnergy,             // Wh, integrated by the sensor since start
  kModule,             // the instance's module index
  kMux,                // the frame's multiplexor value
  kCounter,            // a 4-bit counter per message instance, incremented per frame
  kSensorError,        // current-sensor error bits (0 unless a fault sets them)
  kVentGas,            // ppm by volume, the enclosure's vent-gas sensor
  kInsulation,         // ohm, the insulation monitor's last result
  kInsulationFailure,  // 1: below the monitor's error threshold
  kInsulationWarning,  // 1: below its warning threshold
  kHostMode,           // what the simulated host (VCU) asks the BMS for, through TxSlot::host_map
  kHostFaultReset,     // 1 while the host asks the BMS to clear latched faults
};

// The host's (VCU's) request to the BMS, as a vehicle sends it: stay disconnected, connect for
// driving (discharge), or connect for charging. The order indexes TxSlot::host_map.
enum class HostMode : std::uint8_t { kStandby, kNormal, kCharge };
inline constexpr std::size_t kHostModes = 3;
inline const char* host_mode_name(HostMode m) {
  return m == HostMode::kCharge ? "charge" : m == HostMode::kNormal ? "normal" : "standby";
}

// What a received signal drives.
enum class Command : std::uint8_t {
  kContactorMainPos,  // value != 0 closes it
  kContactorMainNeg,
  kContactorPrecharge,
  kContactorState,  // a value map: the BMS reports a state, some values mean closed/precharge
  kBalanceMask,     // bit k = channel (index + k); index usually from the module or the mux
  kBalanceChannel,  // value != 0 balances channel `index`
  kRecordOnly,      // decoded and counted (e.g. the BMS's own state), drives nothing
  kObserve,         // decoded into an Observable (RxBinding::observe), drives nothing
  // The BMS's SOC estimate of channel `index` (a series group, as the BMS sees a cell), a fraction
  // through observe_scale/offset: BmsObservations::cell_soc, scored per cell. Drives nothing.
  kCellSoc,
};

// What a BMS reports about itself, in SI: the BMS's side in the outputs (signals.csv `bms_*`,
// summary.json `bms`, the condition language). Any RX binding may also observe its signal, so a
// state that drives the contactors is the observed state as well.
enum class Observable : std::uint8_t {
  kState,      // index into sim::kBmsStateNames (init .. fault)
  kFault,      // 1: the BMS reports a fault (any nonzero raw value)
  kFaultCode,  // the BMS's own first-fault code, raw
  kMainPos,    // 1: the BMS commands or reports main+ closed
  kMainNeg,
  kPrecharge,
  kSoc,                    // fraction 0..1
  kSoh,                    // fraction
  kChargeCurrentLimit,     // A, magnitude
  kDischargeCurrentLimit,  // A
  kChargePowerLimit,       // W, magnitude
  kDischargePowerLimit,    // W
  kBalancing,              // 1: some cell is being balanced
  kCellVMin,               // V, as the BMS reports it
  kCellVMax,               // V
  kTempMin,                // K
  kTempMax,                // K
  kCount,
};
inline constexpr std::size_t kObservableCount = static_cast<std::size_t>(Observable::kCount);

// The observables' names as bindings, columns and conditions spell them ("bms_soc", ...).
const char* observable_name(Observable o);
// kCount when `name` is none of them.
Observable observable_from_name(std::string_view name);
// True for the 0/1 observables (a nonzero raw value reads as 1).
bool observable_is_flag(Observable o);

// One signal of one transmitted frame, fully resolved.
struct TxSlot {
  std::size_t signal = 0;  // index in the MessageCodec
  Source source = Source::kConstant;
  int index = -1;      // channel/sensor/module; -1 when unindexed
  double scale = 1.0;  // physical = source * scale + offset
  double offset = 0.0;
  double constant = 0.0;  // kConstant
  bool raw = false;       // write the value as a raw integer, not through factor/offset
  // The physical value is clamped to [min, max] before it is encoded (a firmware that reads a
  // signal with another signedness than its DBC says, e.g. foxBMS v1.10.0's temperatures).
  double min = -std::numeric_limits<double>::infinity();
  double max = std::numeric_limits<double>::infinity();
  std::array<double, kHostModes> host_map{0.0, 1.0, 2.0};  // kHostMode: the value of each mode
};

// The E2E configuration of one instance of a per-module message: its data id is offset as its CAN
// id is (data_id + instance * id_step), so a frame cannot pass as another module's.
inline E2EConfig instance_e2e(E2EConfig config, std::uint32_t id_offset) {
  config.data_id = static_cast<std::uint16_t>(config.data_id + id_offset);
  return config;
}

// One frame to send each period: a message instance and, for multiplexed messages, a mux value.
struct TxFrame {
  std::size_t message = 0;  // index into Profile::tx
  int instance = 0;         // module index for per-module messages
  std::uint32_t id = 0;     // the DBC id plus instance * id_step
  std::int64_t phase_ns = 0;
  std::vector<TxSlot> slots;
  int counter_key = 0;  // which counter (kCounter and E2E) this frame advances
};

struct TxMessage {
  std::string name;
  std::string bus;            // logical bus ("afe", "sensor", ...)
  std::size_t bus_index = 0;  // position of `bus` in Profile::buses
  std::shared_ptr<const MessageCodec> codec;
  std::int64_t period_ns = 0;
  bool e2e = false;
  std::size_t counter_signal = 0;
  std::size_t crc_signal = 0;
  E2EConfig e2e_config;
  bool per_module = false;  // one instance per AFE module (TxFrame::instance is the module)
};

// One received signal's effect.
struct RxBinding {
  std::size_t signal = 0;
  Command command = Command::kRecordOnly;
  int index = 0;               // channel base for balance masks; may be offset by the mux
  int index_per_mux = 0;       // index += mux value * index_per_mux
  int index_per_instance = 0;  // index += instance * index_per_instance
  std::vector<std::pair<std::int64_t, std::uint8_t>> state_map;  // kContactorState: value -> state
  std::uint8_t state_default = 0;  // bit 0 main+, bit 1 main-, bit 2 precharge
  // What the signal is observed as (kCount: nothing). Any command may also observe its signal.
  Observable observe = Observable::kCount;
  double observe_scale = 1.0;  // SI = decoded physical value * observe_scale + observe_offset
  double observe_offset = 0.0;
  // The signal's raw all-ones means "not available" (an unsigned signal whose all-ones value is
  // beyond the DBC's maximum, as J1939 reserves it): decoded as unknown (NaN), and what the BMS
  // side sends for an observable it does not know yet (a SOC before its first estimate).
  bool observe_not_available = false;
  // kState: raw value -> index into sim::kBmsStateNames; a raw value not listed reads as
  // observe_state_default. Empty: the raw value is that index itself (packsim's own numbering).
  std::vector<std::pair<std::int64_t, std::uint8_t>> observe_states;
  std::uint8_t observe_state_default = 0;  // "init"
};

struct RxMessage {
  std::string name;
  std::string bus;
  std::size_t bus_index = 0;
  std::shared_ptr<const MessageCodec> codec;
  std::uint32_t id = 0;  // of instance 0
  int instances = 1;     // per-module messages: ids id .. id + (instances - 1) * id_step
  std::uint32_t id_step = 0;
  bool e2e = false;
  std::size_t counter_signal = 0;
  std::size_t crc_signal = 0;
  E2EConfig e2e_config;
  std::int64_t period_ns = 0;   // how often the BMS sends it (used by the reference BMS)
  std::int64_t timeout_ns = 0;  // 0: no timeout supervision
  bool open_on_timeout = true;  // contactor commands fall back to open when the BMS goes quiet
  std::vector<RxBinding> bindings;
};

struct Profile {
  std::string name;
  std::string file;  // the binding table it came from
  std::string dbc_file;
  Database dbc;
  std::vector<std::string> buses;  // logical bus names, in order of first use
  std::vector<TxMessage> tx;
  std::vector<TxFrame> frames;  // sorted by message, instance, mux
  std::vector<RxMessage> rx;
  bool commands_contactors = false;  // some RX binding drives the contactors
  bool commands_balancing = false;
  // Which observables some RX binding decodes (bit = Observable), for the outputs' columns.
  std::uint32_t observed_mask = 0;
  bool observes(Observable o) const { return (observed_mask >> static_cast<unsigned>(o)) & 1u; }
  bool observes_cell_soc = false;  // some RX binding is bms_cell_soc[...]

  // The longest period of the messages that carry cell voltages or temperatures (0: none): an AFE
  // data timeout must be longer, or a healthy bus would trip it.
  std::int64_t slowest_afe_period_ns() const;
};

}  // namespace packsim::can
