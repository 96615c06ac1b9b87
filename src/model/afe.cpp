#include "packsim/model/afe.hpp"

#include <algorithm>
#include <cmath>

#include "packsim/model/rng.hpp"

namespace packsim::model {
namespace {

// Per-channel and per-sensor constants use counter 0 of their stream; per-tick noise uses the tick
// number + 1, so the two never share a draw.
constexpr std::uint32_t kTempEntityBase = 1u << 20;
// Noise bursts draw from their own entities, so a burst does not change the regular noise.
constexpr std::uint32_t kBurstEntityBase = 1u << 28;

constexpr double kGasConstant = 8.314462618;  // J/(mol K)
constexpr double kAtmospherePa = 101325.0;

double quantise(double v, double lsb, double lo, double hi) {
  const double q = lsb > 0.0 ? std::round(v / lsb) * lsb : v;
  return std::clamp(q, lo, hi);
}

// The vent gas in the enclosure: released moles, as ppm by volume of the free air (ideal gas at the
// ambient temperature, 1 atm), diluted by the air exchange; the sensor lags it. Exact exponential
// updates (stable at any tick): the gas is held constant over the tick.
void measure_gas(const AfeSpec& s, double dt_s, const PackData& data, AfeData& out) {
  const double t_k = data.input.ambient_k;
  const double ppm_per_g =
      s.gas_free_volume_m3 > 0.0 && s.gas_molar_mass_g_per_mol > 0.0
          ? 1e6 * kGasConstant * t_k /
                (s.gas_molar_mass_g_per_mol * kAtmospherePa * s.gas_free_volume_m3)
          : 0.0;
  const double source_ppm_s = data.vent_gas_g_per_s * ppm_per_g;
  const double k_exchange = s.gas_air_changes_per_h / 3600.0;
  if (k_exchange > 0.0) {
    const double decay = std::exp(-k_exchange * dt_s);
    const double steady = source_ppm_s / k_exchange;
    out.gas_true_ppm = steady + (out.gas_true_ppm - steady) * decay;
  } else {
    out.gas_true_ppm += source_ppm_s * dt_s;
  }
  out.gas_true_ppm = std::min(out.gas_true_ppm, 1e6);  // it cannot be more than all of the air
  const double alpha = s.gas_tau_s > 0.0 ? 1.0 - std::exp(-dt_s / s.gas_tau_s) : 1.0;
  out.gas_sensor_ppm += alpha * (out.gas_true_ppm - out.gas_sensor_ppm);
  out.gas_ppm = quantise(out.gas_sensor_ppm, s.gas_lsb_ppm, 0.0, s.gas_max_ppm);
}

}  // namespace

int afe_cells_per_module(const AfeSpec& spec, int series, int groups_per_module) {
  if (spec.cells_per_module > 0) return spec.cells_per_module;
  return groups_per_module > 0 ? groups_per_module : series;
}

int afe_sensor_count(const AfeSpec& spec, int series, int groups_per_module) {
  if (!spec.ntc.empty()) return static_cast<int>(spec.ntc.size());
  const int per = afe_cells_per_module(spec, series, groups_per_module);
  return spec.sensors_per_module * ((series + per - 1) / per);
}

AfeModel build_afe_model(const AfeSpec& spec, const PackModel& pack) {
  AfeModel a;
  a.spec = spec;
  a.seed = pack.seed;
  a.n_channels = pack.ns;
  a.cells_per_module = afe_cells_per_module(spec, pack.ns, pack.groups_per_module);
  a.n_modules = (pack.ns + a.cells_per_module - 1) / a.cells_per_module;
  const auto n = static_cast<std::size_t>(a.n_channels);
  a.gain.resize(n);
  a.offset.resize(n);
  for (std::size_t ch = 0; ch < n; ++ch) {
    const auto e = static_cast<std::uint32_t>(ch);
    a.gain[ch] =
        1.0 + spec.v_gain_sigma * standard_normal(pack.seed, RngStream::kSensorNoise, e, 0);
    a.offset[ch] = spec.v_offset_sigma *
                   standard_normal(pack.seed, RngStream::kSensorNoise, e | (1u << 30), 0);
  }
  if (!spec.ntc.empty()) {
    a.sensors = spec.ntc;
  } else if (spec.sensors_per_module > 0) {
    // Evenly spread over the module's cells, in the middle of each share.
    const int np = pack.np;
    for (int m = 0; m < a.n_modules; ++m) {
      const int first_group = m * a.cells_per_module;
      const int groups = std::min(a.cells_per_module, pack.ns - first_group);
      const int cells = groups * np;
      for (int k = 0; k < spec.sensors_per_module; ++k) {
        const int local = static_cast<int>((k + 0.5) * cells / spec.sensors_per_module);
        a.sensors.push_back({{first_group * np + std::min(local, cells - 1)}, {1.0}});
      }
    }
  }
  a.n_sensors = static_cast<int>(a.sensors.size());
  for (std::size_t s = 0; s < a.sensors.size(); ++s) {
    const int cell = a.sensors[s].cells.front();
    a.sensor_module.push_back((cell / pack.np) / a.cells_per_module);
    a.t_offset.push_back(spec.t_offset_sigma *
                         standard_normal(pack.seed, RngStream::kSensorNoise,
                                         kTempEntityBase + static_cast<std::uint32_t>(s), 0));
  }
  a.ntc_alpha = 1.0 - std::exp(-pack.dt_s / spec.ntc_tau_s);
  return a;
}

AfeData make_afe_data(const AfeModel& a, const PackModel& pack, const PackData& data) {
  AfeData d;
  const auto n = static_cast<std::size_t>(a.n_channels);
  const auto ns = static_cast<std::size_t>(a.n_sensors);
  d.v_meas.assign(n, 0.0);
  d.t_meas_k.assign(ns, 0.0);
  d.die_temp_k.assign(static_cast<std::size_t>(a.n_modules), 0.0);
  d.ov_flag.assign(n, 0);
  d.uv_flag.assign(n, 0);
  d.open_wire.assign(n, 0);
  d.v_fault_offset.assign(n, 0.0);
  d.t_fault_offset_k.assign(ns, 0.0);
  d.v_fault_gain.assign(n, 1.0);
  d.v_stuck.assign(n, 0);
  d.v_stuck_value.assign(n, 0.0);
  d.v_noise_burst_sigma.assign(n, 0.0);
  d.v_dropout.assign(n, 0);
  d.ntc_open.assign(ns, 0);
  d.ntc_short.assign(ns, 0);
  d.v_valid.assign(n, 1);
  d.t_valid.assign(ns, 1);
  d.insulation_meas_ohm = a.spec.imd_max_ohm;  // until its first measuring cycle
  d.ntc_k.assign(ns, 0.0);
  d.balance.assign(n, 0);
  // Sensors start in equilibrium with their cells.
  for (std::size_t s = 0; s < ns; ++s) {
    double t = 0.0;
    for (std::size_t k = 0; k < a.sensors[s].cells.size(); ++k) {
      t += a.sensors[s].weights[k] * data.temp_k[static_cast<std::size_t>(a.sensors[s].cells[k])];
    }
    d.ntc_k[s] = t;
  }
  (void)pack;
  return d;
}

void apply_balancing(const AfeModel& a, const PackModel& pack, const AfeData& afe, PackData& data) {
  const double g = a.spec.balance_ohm > 0.0 ? 1.0 / a.spec.balance_ohm : 0.0;
  const auto np = static_cast<std::size_t>(pack.np);
  data.bleed_heat_to_cell = a.spec.balance_heat_to_cell;
  for (std::size_t ch = 0; ch < static_cast<std::size_t>(a.n_channels); ++ch) {
    // The bleed resistor sits across the channel's sense wires, at the group's first cell.
    data.bleed_s[ch * np] = afe.balance[ch] ? g : 0.0;
  }
}

void afe_measure(const AfeModel& a, const PackModel& pack, const PackData& data, AfeData& out) {
  const AfeSpec& s = a.spec;
  const std::uint64_t counter = data.tick + 1;
  for (std::size_t ch = 0; ch < static_cast<std::size_t>(a.n_channels); ++ch) {
    const double v_true = data.v_group[ch];
    double v = v_true * a.gain[ch] * out.v_fault_gain[ch] + a.offset[ch] + out.v_fault_offset[ch];
    if (s.v_noise_sigma > 0.0) {
      v += s.v_noise_sigma * standard_normal(a.seed, RngStream::kSensorNoise,
                                             static_cast<std::uint32_t>(ch), counter);
    }
    if (out.v_noise_burst_sigma[ch] > 0.0) {
      v += out.v_noise_burst_sigma[ch] *
           standard_normal(a.seed, RngStream::kSensorNoise,
                           kBurstEntityBase + static_cast<std::uint32_t>(ch), counter);
    }
    if (out.open_wire[ch]) v = 0.0;  // the channel's input floats to the neighbour's potential
    if (out.v_stuck[ch]) v = out.v_stuck_value[ch];  // a frozen result register
    out.v_meas[ch] = quantise(v, s.v_lsb, s.v_min, s.v_max);
    out.v_valid[ch] = out.open_wire[ch] || out.v_dropout[ch] ? 0 : 1;
    // The comparators sit on the cell itself, not on the ADC path: measurement faults leave them.
    out.ov_flag[ch] = v_true > s.ov_threshold ? 1 : 0;
    out.uv_flag[ch] = v_true < s.uv_threshold ? 1 : 0;
  }
  for (std::size_t k = 0; k < static_cast<std::size_t>(a.n_sensors); ++k) {
    const NtcPlacement& p = a.sensors[k];
    double t_cells = 0.0;
    for (std::size_t j = 0; j < p.cells.size(); ++j) {
      t_cells += p.weights[j] * data.temp_k[static_cast<std::size_t>(p.cells[j])];
    }
    out.ntc_k[k] += a.ntc_alpha * (t_cells - out.ntc_k[k]);
    double t = out.ntc_k[k] + a.t_offset[k] + out.t_fault_offset_k[k];
    if (s.t_noise_sigma > 0.0) {
      t += s.t_noise_sigma * standard_normal(a.seed, RngStream::kSensorNoise,
                                             kTempEntityBase + static_cast<std::uint32_t>(k),
                                             counter);
    }
    // An open NTC reads the cold rail, a shorted one the hot rail (the short wins: it also
    // shorts the divider's input), and the AFE flags the sensor.
    if (out.ntc_open[k]) t = s.t_rail_low_k;
    if (out.ntc_short[k]) t = s.t_rail_high_k;
    out.t_meas_k[k] = s.t_lsb > 0.0 ? std::round(t / s.t_lsb) * s.t_lsb : t;
    out.t_valid[k] = out.ntc_open[k] || out.ntc_short[k] ? 0 : 1;
  }
  const auto np = static_cast<std::size_t>(pack.np);
  for (std::size_t m = 0; m < static_cast<std::size_t>(a.n_modules); ++m) {
    const std::size_t first = m * static_cast<std::size_t>(a.cells_per_module) * np;
    const std::size_t last = std::min(static_cast<std::size_t>(pack.n_cells),
                                      first + static_cast<std::size_t>(a.cells_per_module) * np);
    double sum = 0.0;
    for (std::size_t c = first; c < last; ++c) sum += data.temp_k[c];
    out.die_temp_k[m] = sum / static_cast<double>(last - first) + s.die_temp_rise_k;
  }
  measure_gas(s, pack.dt_s, data, out);
  // The insulation monitor refreshes its result once per measuring cycle. 0 in the pack data means
  // nothing computed it (no insulation model in this pack): the monitor then sees a healthy pack.
  if (data.tick >= out.imd_next_tick) {
    const double r = data.insulation_ohm > 0.0 ? data.insulation_ohm : s.imd_max_ohm;
    out.insulation_meas_ohm = std::min(r, s.imd_max_ohm);
    out.imd_failure = out.insulation_meas_ohm < s.imd_error_ohm ? 1 : 0;
    out.imd_warning = out.insulation_meas_ohm < s.imd_warning_ohm ? 1 : 0;
    const double cycle_ticks = std::max(1.0, std::round(s.imd_period_s / pack.dt_s));
    out.imd_next_tick = data.tick + static_cast<std::uint64_t>(cycle_ticks);
  }
  ++out.samples;
}

void shunt_measure(const ShuntSpec& spec, const PackModel& pack, const PackData& d,
                   ShuntData& out) {
  constexpr std::uint32_t kShuntEntity = 1u << 29;
  const std::uint64_t counter = d.tick + 1;
  double i = d.pack_current_a * (1.0 + spec.i_gain_error) + spec.i_offset_a;
  if (spec.i_noise_sigma > 0.0) {
    i += spec.i_noise_sigma *
         standard_normal(pack.seed, RngStream::kSensorNoise, kShuntEntity, counter);
  }
  double v1 = d.pack_voltage_v, v2 = d.link_voltage_v;
  if (spec.v_noise_sigma > 0.0) {
    v1 += spec.v_noise_sigma *
          standard_normal(pack.seed, RngStream::kSensorNoise, kShuntEntity + 1, counter);
    v2 += spec.v_noise_sigma *
          standard_normal(pack.seed, RngStream::kSensorNoise, kShuntEntity + 2, counter);
  }
  auto q = [](double v, double lsb) { return lsb > 0.0 ? std::round(v / lsb) * lsb : v; };
  i += out.fault_offset_a;
  out.current_a = out.stuck ? out.stuck_a : q(i, spec.i_lsb);
  out.pack_v = q(v1, spec.v_lsb);
  out.link_v = q(v2, spec.v_lsb);
  out.temp_k = d.input.ambient_k;
  out.power_w = out.pack_v * out.current_a;
  out.charge_as += out.current_a * pack.dt_s;
  out.energy_wh += out.power_w * pack.dt_s / 3600.0;
}

}  // namespace packsim::model
