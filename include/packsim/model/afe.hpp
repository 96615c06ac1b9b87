#pragma once
// What a BMS sees: the cell-monitoring front end (AFE) measures the pack, it does not read the
// model's state. Each series group is one voltage channel (parallel cells share its sense wires),
// with ADC range and resolution, per-channel gain and offset errors (drawn once from the seed), and
// noise (drawn per tick). Temperature sensors (NTCs) sit on chosen cells, or on a weighted set of
// cells, and follow them through a first-order lag. Balancing switches put a bleed resistor across
// a channel; its current flows through the pack network and its heat goes to the board (a
// configurable share to the cell). Pure functions over plain data, like the pack step.

#include <cstdint>
#include <vector>

#include "packsim/model/pack.hpp"
#include "packsim/util/diagnostic.hpp"

namespace packsim::model {

struct NtcPlacement {
  std::vector<int> cells;       // cells the sensor touches
  std::vector<double> weights;  // same length, sum 1
};

struct AfeSpec {
  int cells_per_module = 0;  // voltage channels per AFE module; 0: the pack's groups_per_module
  double v_lsb = 100e-6;     // ADC resolution
  double v_min = 0.0;        // ADC range
  double v_max = 5.0;
  double v_noise_sigma = 0.0;   // per sample, V rms
  double v_gain_sigma = 0.0;    // relative, per channel
  double v_offset_sigma = 0.0;  // V, per channel
  double ov_threshold = 1e9;    // hardware comparator flags (on the true voltage)
  double uv_threshold = -1e9;
  double balance_ohm = 33.0;
  double balance_heat_to_cell = 0.0;  // share of the bleed heat that warms the cell
  // temperature sensors
  int sensors_per_module = 0;  // placed evenly in each module when `ntc` is empty
  std::vector<NtcPlacement> ntc;
  double ntc_tau_s = 10.0;
  double t_lsb = 0.1;
  double t_noise_sigma = 0.0;
  double t_offset_sigma = 0.0;
  double die_temp_rise_k = 5.0;  // AFE die above its module's mean cell temperature
  // The rails an NTC fault drives the reading to: the ends of the AFE's temperature conversion
  // range. With the NTC on the low side of a pull-up divider an open NTC pulls the input to the
  // reference (the coldest reading) and a shorted one to ground (the hottest). Default -40..125
  // degC, the rated range of common 10 kOhm cell NTCs (docs/faults.md).
  double t_rail_low_k = 233.15;
  double t_rail_high_k = 398.15;
  // Vent-gas sensor in the pack enclosure (docs/faults.md): the released gas mixes into the free
  // volume (ideal gas at the ambient temperature, 1 atm), leaves with the enclosure's air exchange,
  // and the sensor follows the concentration through a first-order lag.
  double gas_free_volume_m3 = 0.1;
  double gas_molar_mass_g_per_mol = 28.0;
  double gas_air_changes_per_h = 0.0;  // a sealed enclosure keeps its gas
  double gas_tau_s = 5.0;
  double gas_lsb_ppm = 1.0;
  double gas_max_ppm = 1e6;  // the sensor saturates
  // Insulation monitor (a Bender iso165C-like IMD): the pack's insulation resistance to chassis,
  // reported within its measuring range, refreshed every `imd_period_s` (its measuring cycle).
  double imd_max_ohm = 10e6;  // readings above this report this value (iso165C: 10 MOhm)
  double imd_period_s = 1.0;
  // Its alarm thresholds (the iso165C's error and warning flags): foxBMS 2 v1.11.0's defaults
  // (imd.h), which its driver writes into the device at start-up.
  double imd_error_ohm = 500e3;
  double imd_warning_ohm = 750e3;
};

// Where a pack file set the AFE layout (module size, sensors, channels), so that a protocol profile
// too small for the pack can name the pack's key to change. Empty keys for packs built in code.
struct AfeLayoutKeys {
  KeyRef cells_per_module;  // afe.cells_per_module, else pack.groups_per_module, else pack.series
  KeyRef sensors;           // afe.temperature.sensors_per_module or the first placed sensor
  KeyRef series;            // pack.series: the number of channels
};

struct AfeModel {
  int n_channels = 0;  // = ns
  int n_modules = 0;
  int cells_per_module = 0;  // channels per module
  int n_sensors = 0;
  AfeSpec spec;
  std::vector<double> gain;           // [n_channels] 1 + error
  std::vector<double> offset;         // [n_channels]
  std::vector<NtcPlacement> sensors;  // [n_sensors]
  std::vector<int> sensor_module;     // [n_sensors]
  std::vector<double> t_offset;       // [n_sensors]
  double ntc_alpha = 1.0;             // 1 - exp(-dt/tau)
  std::uint64_t seed = 0;
};

AfeModel build_afe_model(const AfeSpec& spec, const PackModel& pack);

// The layout build_afe_model gives a pack of `series` groups in modules of `groups_per_module`
// (0: one module), for code that has only the specs (the scenario loader): voltage channels per
// AFE module, and temperature sensors.
int afe_cells_per_module(const AfeSpec& spec, int series, int groups_per_module);
int afe_sensor_count(const AfeSpec& spec, int series, int groups_per_module);

// The pack's current sensor (a shunt like Isabellenhuette's IVT-S): current with offset, gain error
// and noise, the battery-side and DC-link voltages, its own temperature, and the charge and energy
// it integrates from its own readings.
struct ShuntSpec {
  double i_lsb = 1e-3;         // A
  double i_offset_a = 0.0;     // fixed offset
  double i_gain_error = 0.0;   // relative, fixed
  double i_noise_sigma = 0.0;  // A rms per sample
  double v_lsb = 1e-3;         // V
  double v_noise_sigma = 0.0;
};

struct ShuntData {
  double current_a = 0.0;  // discharge positive
  double pack_v = 0.0;
  double link_v = 0.0;
  double temp_k = 298.15;
  double power_w = 0.0;
  double charge_as = 0.0;
  double energy_wh = 0.0;
  std::uint8_t error_bits = 0;  // injected faults
  double fault_offset_a = 0.0;  // injected current offset (on top of the spec's)
  bool stuck = false;           // the current reading holds stuck_a
  double stuck_a = 0.0;
};

void shunt_measure(const ShuntSpec& spec, const PackModel& pack, const PackData& data,
                   ShuntData& out);

struct AfeData {
  // measurements of the last tick
  std::vector<double> v_meas;         // [n_channels]
  std::vector<double> t_meas_k;       // [n_sensors]
  std::vector<double> die_temp_k;     // [n_modules]
  std::vector<std::uint8_t> ov_flag;  // [n_channels]
  std::vector<std::uint8_t> uv_flag;
  // injected faults and test overrides (scenario events)
  std::vector<std::uint8_t> open_wire;   // [n_channels] the channel reads ~0 V and is flagged
  std::vector<double> v_fault_offset;    // [n_channels] added to the measurement
  std::vector<double> t_fault_offset_k;  // [n_sensors] (a ramp of it is an NTC drift)
  // Issue 10 measurement faults; defaults mean none.
  std::vector<double> v_fault_gain;         // [n_channels] multiplies the reading, 1 = none
  std::vector<std::uint8_t> v_stuck;        // [n_channels] the reading holds v_stuck_value
  std::vector<double> v_stuck_value;        // [n_channels] V
  std::vector<double> v_noise_burst_sigma;  // [n_channels] extra noise, V rms
  std::vector<std::uint8_t> v_dropout;      // [n_channels] the channel reports invalid
  std::vector<std::uint8_t> ntc_open;       // [n_sensors] reads the open-circuit rail, flagged
  std::vector<std::uint8_t> ntc_short;      // [n_sensors] reads the short-circuit rail, flagged
  // validity as the AFE reports it: 0 for an open wire or a dropout (voltage), an open or shorted
  // NTC (temperature)
  std::vector<std::uint8_t> v_valid;  // [n_channels]
  std::vector<std::uint8_t> t_valid;  // [n_sensors]
  // pack-level sensors read with the AFE each tick
  double gas_ppm = 0.0;              // vent-gas sensor reading (ppm by volume, quantised)
  double insulation_meas_ohm = 0.0;  // insulation monitor reading, ohm
  std::uint8_t imd_failure = 0;      // reading below imd_error_ohm
  std::uint8_t imd_warning = 0;      // reading below imd_warning_ohm
  // state
  std::vector<double> ntc_k;        // [n_sensors] sensor temperature (lagged)
  double gas_true_ppm = 0.0;        // concentration in the enclosure
  double gas_sensor_ppm = 0.0;      // sensor (lagged)
  std::uint64_t imd_next_tick = 0;  // the IMD's next measuring cycle
  // balancing switches, set by the BMS
  std::vector<std::uint8_t> balance;  // [n_channels]
  std::uint64_t samples = 0;
};

AfeData make_afe_data(const AfeModel& afe, const PackModel& pack, const PackData& data);

// Before the pack step: the balancing switches become bleed conductances on the pack's cells.
void apply_balancing(const AfeModel& afe, const PackModel& pack, const AfeData& afe_data,
                     PackData& data);

// After the pack step: measure. `tick` keys the noise draws.
void afe_measure(const AfeModel& afe, const PackModel& pack, const PackData& data, AfeData& out);

}  // namespace packsim::model
