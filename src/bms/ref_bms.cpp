#include "packsim/bms/ref_bms.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>

#include "packsim/model/cell.hpp"

namespace packsim::bms {

namespace {

constexpr std::int64_t kMs = 1'000'000;
constexpr std::int64_t kS = 1'000'000'000;
// Bounds the rejection ring the constructor allocates.
constexpr int kMaxCorruptLimit = 100'000;

double seconds(std::int64_t ns) { return static_cast<double>(ns) * 1e-9; }

bool finite(double x) { return std::isfinite(x); }

// Running minimum and maximum with the channel each was seen on (index -1: nothing seen yet).
void note_extremes(double x, int index, double& min, int& min_index, double& max, int& max_index) {
  if (min_index < 0 || x < min) {
    min = x;
    min_index = index;
  }
  if (max_index < 0 || x > max) {
    max = x;
    max_index = index;
  }
}

}  // namespace

// --- Configuration -----------------------------------------------------------------------------

BmsConfig default_bms_config(int n_cells, int cells_per_module, std::vector<int> sensor_module,
                             double cell_v_min, double cell_v_max, double capacity_as) {
  BmsConfig c;
  c.n_cells = n_cells;
  c.cells_per_module = cells_per_module;
  c.n_modules = cells_per_module > 0 ? (n_cells + cells_per_module - 1) / cells_per_module : 0;
  c.n_sensors = static_cast<int>(sensor_module.size());
  c.sensor_module = std::move(sensor_module);

  const double one_c_a = capacity_as / 3600.0;
  c.capacity_as = capacity_as;
  c.ocv_soc = {0.0, 1.0};
  c.ocv_v = {cell_v_min, cell_v_max};
  c.rest_current_a = 0.01 * one_c_a;
  c.rest_ns = 300 * kS;
  c.ocv_gain_per_s = 0.01;

  c.cell_ov_v = cell_v_max;
  c.ov_delay_ns = 500 * kMs;
  c.cell_uv_v = cell_v_min;
  c.uv_delay_ns = 500 * kMs;
  c.ot_k = 273.15 + 60.0;
  c.ot_delay_ns = 1 * kS;
  c.ut_k = 273.15 - 20.0;
  c.ut_delay_ns = 1 * kS;
  c.oc_discharge_a = 5.0 * one_c_a;
  c.oc_discharge_delay_ns = 100 * kMs;
  c.oc_charge_a = 2.0 * one_c_a;
  c.oc_charge_delay_ns = 100 * kMs;
  c.invalid_delay_ns = 500 * kMs;
  // The AFE's comparators are the secondary path (their thresholds sit beyond the cell window):
  // slower than the software limits, so that a cell seen over by both is named by its limit.
  c.hw_flag_delay_ns = 1 * kS;
  // One vented 18650 releases litres of gas: thousands of ppm in a pack's free air within
  // seconds, while a healthy pack reads 0. 500 ppm is far below a vent and far above noise.
  c.vent_gas_ppm = 500.0;
  c.vent_gas_delay_ns = 1 * kS;
  // foxBMS 2's IMD error threshold (imd.h, 500 kOhm); two measuring cycles of a 1 s monitor.
  c.insulation_min_ohm = 500e3;
  c.insulation_delay_ns = 2 * kS;
  // An internal short drains its cell: at rest the cell sinks against its neighbours while
  // the others hold. 10 mV is ten times a good AFE's noise after a 5 s filter and above what
  // relaxation spread leaves after 60 s of rest (the slowest RC pairs of the shipped cells are
  // <= 83 s; a 5 % spread of a 30 mV polarisation is 1.5 mV at the start of rest).
  c.self_discharge_v = 0.010;
  c.self_discharge_settle_ns = 60 * kS;
  c.self_discharge_filter_ns = 5 * kS;
  c.self_discharge_delay_ns = 1 * kS;

  c.afe_timeout_ns = 500 * kMs;
  c.current_timeout_ns = 500 * kMs;
  c.startup_grace_ns = 10 * kS;
  c.corrupt_limit = 5;
  c.corrupt_window_ns = 1 * kS;

  c.precharge_ratio = 0.95;
  c.precharge_min_ns = 100 * kMs;
  c.precharge_max_ns = 5 * kS;
  c.precharge_overlap_ns = 50 * kMs;
  c.open_delay_ns = 50 * kMs;

  c.balance_on_v = 0.010;
  c.balance_off_v = 0.005;
  c.balance_min_cell_v = cell_v_min + 0.5 * (cell_v_max - cell_v_min);
  c.balance_max_current_a = 0.05 * one_c_a;
  c.balance_only_standby = false;
  return c;
}

void set_ocv_from_cell(BmsConfig& config, const model::CellType& cell, double temp_k) {
  config.ocv_soc.clear();
  config.ocv_v.clear();
  const model::UniformAxis& x = cell.ocv.x();
  if (cell.ocv.empty()) return;
  for (int i = 0; i < x.count; ++i) {
    const double z = x.at(i);
    const double v = cell.ocv.value(cell.ocv.locate(z, temp_k), model::kOcv);
    // Plateaus would make the inverse ambiguous: keep the strictly increasing points.
    if (!config.ocv_v.empty() && !(v > config.ocv_v.back())) continue;
    config.ocv_soc.push_back(z);
    config.ocv_v.push_back(v);
  }
}

std::vector<std::string> validate_bms_config(const BmsConfig& c) {
  std::vector<std::string> p;
  auto need = [&p](bool ok, const std::string& what) {
    if (!ok) p.push_back(what);
  };
  auto non_negative = [&need](std::int64_t ns, const char* name) {
    need(ns >= 0, std::string(name) + " must be >= 0 (got " + std::to_string(ns) + " ns)");
  };
  auto positive = [&need](std::int64_t ns, const char* name) {
    need(ns > 0, std::string(name) + " must be > 0 (got " + std::to_string(ns) + " ns)");
  };

  // Topology.
  need(c.n_cells >= 1, "n_cells must be >= 1 (got " + std::to_string(c.n_cells) + ")");
  need(c.cells_per_module >= 1,
       "cells_per_module must be >= 1 (got " + std::to_string(c.cells_per_module) + ")");
  if (c.n_cells >= 1 && c.cells_per_module >= 1) {
    const int expected = (c.n_cells + c.cells_per_module - 1) / c.cells_per_module;
    need(c.n_modules == expected,
         "n_modules must be ceil(n_cells / cells_per_module) = " + std::to_string(expected) +
             " (got " + std::to_string(c.n_modules) + ")");
  }
  need(c.n_sensors >= 0, "n_sensors must be >= 0 (got " + std::to_string(c.n_sensors) + ")");
  need(static_cast<long>(c.sensor_module.size()) == static_cast<long>(c.n_sensors),
       "sensor_module must have n_sensors = " + std::to_string(c.n_sensors) + " entries (got " +
           std::to_string(c.sensor_module.size()) + ")");
  for (std::size_t s = 0; s < c.sensor_module.size(); ++s) {
    const int m = c.sensor_module[s];
    need(m >= 0 && m < c.n_modules, "sensor_module[" + std::to_string(s) +
                                        "] = " + std::to_string(m) + " is not a module (0.." +
                                        std::to_string(c.n_modules - 1) + ")");
  }

  // SOC.
  need(finite(c.capacity_as) && c.capacity_as > 0.0, "capacity_as must be > 0");
  need(c.ocv_v.size() >= 2,
       "ocv_v needs at least 2 points (got " + std::to_string(c.ocv_v.size()) + ")");
  need(c.ocv_soc.empty() || c.ocv_soc.size() == c.ocv_v.size(),
       "ocv_soc must be empty (uniform 0..1) or have as many points as ocv_v (" +
           std::to_string(c.ocv_v.size()) + "), got " + std::to_string(c.ocv_soc.size()));
  for (std::size_t i = 0; i < c.ocv_v.size(); ++i) {
    need(finite(c.ocv_v[i]), "ocv_v[" + std::to_string(i) + "] is not finite");
    if (i > 0 && finite(c.ocv_v[i]) && finite(c.ocv_v[i - 1])) {
      need(c.ocv_v[i] > c.ocv_v[i - 1],
           "ocv_v must be strictly increasing (ocv_v[" + std::to_string(i) +
               "] = " + std::to_string(c.ocv_v[i]) + " <= ocv_v[" + std::to_string(i - 1) +
               "] = " + std::to_string(c.ocv_v[i - 1]) + ")");
    }
  }
  for (std::size_t i = 0; i < c.ocv_soc.size(); ++i) {
    need(c.ocv_soc[i] >= 0.0 && c.ocv_soc[i] <= 1.0,
         "ocv_soc[" + std::to_string(i) + "] must be in [0, 1]");
    if (i > 0) {
      need(c.ocv_soc[i] > c.ocv_soc[i - 1],
           "ocv_soc must be strictly increasing (at index " + std::to_string(i) + ")");
    }
  }
  need(c.rest_current_a >= 0.0 && finite(c.rest_current_a), "rest_current_a must be >= 0");
  non_negative(c.rest_ns, "rest_ns");
  need(c.ocv_gain_per_s >= 0.0 && finite(c.ocv_gain_per_s), "ocv_gain_per_s must be >= 0");

  // Protection.
  need(finite(c.cell_ov_v) && finite(c.cell_uv_v) && c.cell_uv_v < c.cell_ov_v,
       "cell_uv_v must be below cell_ov_v");
  need(finite(c.ot_k) && finite(c.ut_k) && c.ut_k < c.ot_k, "ut_k must be below ot_k");
  need(finite(c.oc_discharge_a) && c.oc_discharge_a > 0.0, "oc_discharge_a must be > 0");
  need(finite(c.oc_charge_a) && c.oc_charge_a > 0.0,
       "oc_charge_a must be > 0 (a magnitude: charge over-current is I < -oc_charge_a)");
  non_negative(c.ov_delay_ns, "ov_delay_ns");
  non_negative(c.uv_delay_ns, "uv_delay_ns");
  non_negative(c.ot_delay_ns, "ot_delay_ns");
  non_negative(c.ut_delay_ns, "ut_delay_ns");
  non_negative(c.oc_discharge_delay_ns, "oc_discharge_delay_ns");
  non_negative(c.oc_charge_delay_ns, "oc_charge_delay_ns");
  non_negative(c.invalid_delay_ns, "invalid_delay_ns");
  non_negative(c.hw_flag_delay_ns, "hw_flag_delay_ns");
  non_negative(c.vent_gas_delay_ns, "vent_gas_delay_ns");
  non_negative(c.insulation_delay_ns, "insulation_delay_ns");
  need(c.self_discharge_v >= 0.0 && finite(c.self_discharge_v), "self_discharge_v must be >= 0");
  non_negative(c.self_discharge_settle_ns, "self_discharge_settle_ns");
  positive(c.self_discharge_filter_ns, "self_discharge_filter_ns");
  non_negative(c.self_discharge_delay_ns, "self_discharge_delay_ns");

  // Communication.
  positive(c.afe_timeout_ns, "afe_timeout_ns");
  positive(c.current_timeout_ns, "current_timeout_ns");
  positive(c.startup_grace_ns, "startup_grace_ns");
  need(c.corrupt_limit >= 0 && c.corrupt_limit <= kMaxCorruptLimit,
       "corrupt_limit must be in [0, " + std::to_string(kMaxCorruptLimit) + "] (got " +
           std::to_string(c.corrupt_limit) + ")");
  positive(c.corrupt_window_ns, "corrupt_window_ns");

  // Contactors.
  need(c.precharge_ratio > 0.0 && c.precharge_ratio <= 1.0, "precharge_ratio must be in (0, 1]");
  non_negative(c.precharge_min_ns, "precharge_min_ns");
  positive(c.precharge_max_ns, "precharge_max_ns");
  need(c.precharge_min_ns <= c.precharge_max_ns,
       "precharge_min_ns must not exceed precharge_max_ns");
  non_negative(c.precharge_overlap_ns, "precharge_overlap_ns");
  non_negative(c.open_delay_ns, "open_delay_ns");

  // Balancing.
  need(finite(c.balance_on_v) && c.balance_on_v >= 0.0, "balance_on_v must be >= 0");
  need(finite(c.balance_off_v) && c.balance_off_v >= 0.0 && c.balance_off_v <= c.balance_on_v,
       "balance_off_v must be in [0, balance_on_v]");
  need(finite(c.balance_min_cell_v), "balance_min_cell_v must be finite");
  need(finite(c.balance_max_current_a) && c.balance_max_current_a >= 0.0,
       "balance_max_current_a must be >= 0");
  return p;
}

const char* to_string(BmsState state) {
  switch (state) {
    case BmsState::kInit:
      return "init";
    case BmsState::kStandby:
      return "standby";
    case BmsState::kPrecharge:
      return "precharge";
    case BmsState::kClosing:
      return "closing";
    case BmsState::kNormal:
      return "normal";
    case BmsState::kOpening:
      return "opening";
    case BmsState::kFault:
      return "fault";
  }
  return "?";
}

const char* to_string(Fault f) {
  switch (f) {
    case Fault::kNone:
      return "none";
    case Fault::kOverVoltage:
      return "over-voltage";
    case Fault::kUnderVoltage:
      return "under-voltage";
    case Fault::kOverTemp:
      return "over-temperature";
    case Fault::kUnderTemp:
      return "under-temperature";
    case Fault::kOverCurrentDischarge:
      return "over-current discharge";
    case Fault::kOverCurrentCharge:
      return "over-current charge";
    case Fault::kAfeDataLost:
      return "AFE data lost";
    case Fault::kAfeDataCorrupt:
      return "AFE data corrupt";
    case Fault::kCurrentSensorLost:
      return "current sensor lost";
    case Fault::kPrechargeFailed:
      return "precharge failed";
    case Fault::kMeasurementInvalid:
      return "measurement invalid";
    case Fault::kHardwareFlag:
      return "AFE hardware flag";
    case Fault::kVentGas:
      return "vent gas";
    case Fault::kInsulation:
      return "insulation fault";
    case Fault::kSelfDischarge:
      return "self-discharge";
  }
  return "";
}

// --- RefBms --------------------------------------------------------------------------------------

namespace {

std::string join_problems(const std::vector<std::string>& problems) {
  std::string s = "invalid BMS config:";
  for (const auto& x : problems) s += "\n  " + x;
  return s;
}

const BmsConfig& checked(const BmsConfig& c) {
  const auto problems = validate_bms_config(c);
  if (!problems.empty()) throw std::invalid_argument(join_problems(problems));
  return c;
}

}  // namespace

RefBms::RefBms(const BmsConfig& config)
    : cfg_(checked(config)),
      n_cells_(static_cast<std::size_t>(config.n_cells)),
      n_sensors_(static_cast<std::size_t>(config.n_sensors)),
      n_modules_(static_cast<std::size_t>(config.n_modules)),
      module_has_sensor_(n_modules_, 0),
      ov_(n_cells_),
      uv_(n_cells_),
      cell_invalid_(n_cells_),
      ot_(n_sensors_),
      ut_(n_sensors_),
      temp_invalid_(n_sensors_),
      hw_flag_(n_cells_),
      self_discharge_(n_cells_),
      sd_dev_v_(n_cells_, 0.0),
      sd_base_v_(n_cells_, 0.0),
      rejections_ns_(static_cast<std::size_t>(config.corrupt_limit) + 1, 0),
      cell_soc_(n_cells_, std::numeric_limits<double>::quiet_NaN()),
      balance_(n_cells_, 0) {
  if (cfg_.ocv_soc.empty()) {
    // Uniform breakpoints over [0, 1], materialised once so the lookup has one code path.
    const std::size_t n = cfg_.ocv_v.size();
    cfg_.ocv_soc.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
      cfg_.ocv_soc[i] = static_cast<double>(i) / static_cast<double>(n - 1);
    }
  }
  for (int m : cfg_.sensor_module) module_has_sensor_[static_cast<std::size_t>(m)] = 1;
}

double RefBms::soc_from_ocv(double v) const {
  const std::vector<double>& vs = cfg_.ocv_v;
  const std::vector<double>& zs = cfg_.ocv_soc;
  if (!(v > vs.front())) return zs.front();  // also NaN
  if (v >= vs.back()) return zs.back();
  // First breakpoint above v; v lies in [vs[k-1], vs[k]).
  const auto it = std::upper_bound(vs.begin(), vs.end(), v);
  const auto k = static_cast<std::size_t>(it - vs.begin());
  const double f = (v - vs[k - 1]) / (vs[k] - vs[k - 1]);
  return zs[k - 1] + f * (zs[k] - zs[k - 1]);
}

bool RefBms::cell_valid(const BmsInputs& in, std::size_t c) const {
  return c < in.cell_v.size && c < in.cell_v_valid.size && in.cell_v_valid[c] != 0 &&
         std::isfinite(in.cell_v[c]);
}

bool RefBms::temp_valid(const BmsInputs& in, std::size_t s) const {
  return s < in.temp_k.size && s < in.temp_valid.size && in.temp_valid[s] != 0 &&
         std::isfinite(in.temp_k[s]);
}

RefBms::Aggregates RefBms::aggregate(const BmsInputs& in, BmsOutputs& out) const {
  Aggregates a;
  out.cell_v_min_v = out.cell_v_max_v = 0.0;
  out.cell_v_min_index = out.cell_v_max_index = -1;
  a.all_cells_valid = true;
  for (std::size_t c = 0; c < n_cells_; ++c) {
    if (!cell_valid(in, c)) {
      a.all_cells_valid = false;
      continue;
    }
    const double v = in.cell_v[c];
    note_extremes(v, static_cast<int>(c), out.cell_v_min_v, out.cell_v_min_index, out.cell_v_max_v,
                  out.cell_v_max_index);
    a.v_sum += v;
    ++a.v_count;
  }
  out.temp_min_k = out.temp_max_k = 0.0;
  out.temp_min_index = out.temp_max_index = -1;
  a.all_temps_valid = true;
  for (std::size_t s = 0; s < n_sensors_; ++s) {
    if (!temp_valid(in, s)) {
      a.all_temps_valid = false;
      continue;
    }
    note_extremes(in.temp_k[s], static_cast<int>(s), out.temp_min_k, out.temp_min_index,
                  out.temp_max_k, out.temp_max_index);
  }
  return a;
}

std::int64_t RefBms::last_frame(std::int64_t frame_ns, std::int64_t timeout_ns) const {
  if (frame_ns != kNoFrame) return frame_ns;
  // Never delivered: as old as the bus's first frame, so that a BMS started before the simulator
  // does not latch a lost source for good; on a silent bus the start-up grace runs out instead.
  if (first_frame_ns_ != kNoFrame) return first_frame_ns_;
  return first_update_ns_ + cfg_.startup_grace_ns - timeout_ns;
}

bool RefBms::afe_lost_now(const BmsInputs& in, int* module, std::int64_t* onset) const {
  bool lost = false;
  std::int64_t oldest = 0;
  for (std::size_t m = 0; m < n_modules_; ++m) {
    const std::int64_t tv = last_frame(
        m < in.voltage_frame_ns.size ? in.voltage_frame_ns[m] : kNoFrame, cfg_.afe_timeout_ns);
    std::int64_t t = tv;
    if (module_has_sensor_[m] != 0) {
      const std::int64_t tt = last_frame(m < in.temp_frame_ns.size ? in.temp_frame_ns[m] : kNoFrame,
                                         cfg_.afe_timeout_ns);
      t = std::min(tv, tt);
    }
    if (in.now_ns - t >= cfg_.afe_timeout_ns && (!lost || t < oldest)) {
      // The module silent the longest is the cause.
      lost = true;
      oldest = t;
      if (module != nullptr) *module = static_cast<int>(m);
    }
  }
  if (onset != nullptr) *onset = oldest;
  return lost;
}

bool RefBms::current_lost_now(const BmsInputs& in) const {
  return in.now_ns - last_frame(in.current_frame_ns, cfg_.current_timeout_ns) >=
         cfg_.current_timeout_ns;
}

void RefBms::record_rejections(const BmsInputs& in) {
  const std::uint32_t total = in.rejected_crc + in.rejected_counter;  // modulo 2^32 by design
  std::uint32_t delta = total - last_rejected_;
  last_rejected_ = total;
  // Only the newest corrupt_limit + 1 matter; the rejections of one cycle share its time stamp.
  const std::size_t cap = rejections_ns_.size();
  if (delta > cap) delta = static_cast<std::uint32_t>(cap);
  for (std::uint32_t k = 0; k < delta; ++k) {
    rejections_ns_[rejection_head_] = in.now_ns;
    rejection_head_ = (rejection_head_ + 1) % cap;
    if (rejection_count_ < cap) ++rejection_count_;
  }
}

bool RefBms::corrupt_now(std::int64_t now_ns) const {
  // More than corrupt_limit rejections in (now - window, now]: the oldest of the newest
  // corrupt_limit + 1 is inside the window. The ring's head is that oldest entry once full.
  if (rejection_count_ < rejections_ns_.size()) return false;
  return now_ns - rejections_ns_[rejection_head_] < cfg_.corrupt_window_ns;
}

void RefBms::evaluate_faults(const BmsInputs& in) {
  const std::int64_t now = in.now_ns;
  for (std::size_t c = 0; c < n_cells_; ++c) {
    if (cell_valid(in, c)) {
      const double v = in.cell_v[c];
      ov_[c].update(v > cfg_.cell_ov_v, now);
      uv_[c].update(v < cfg_.cell_uv_v, now);
      cell_invalid_[c].update(false, now);
    } else {
      cell_invalid_[c].update(true, now);
    }
  }
  for (std::size_t s = 0; s < n_sensors_; ++s) {
    if (temp_valid(in, s)) {
      const double t = in.temp_k[s];
      ot_[s].update(t > cfg_.ot_k, now);
      ut_[s].update(t < cfg_.ut_k, now);
      temp_invalid_[s].update(false, now);
    } else {
      temp_invalid_[s].update(true, now);
    }
  }
  for (std::size_t c = 0; c < n_cells_; ++c) {
    const bool ov = c < in.cell_hw_ov.size && in.cell_hw_ov[c] != 0;
    const bool uv = c < in.cell_hw_uv.size && in.cell_hw_uv[c] != 0;
    hw_flag_[c].update(ov || uv, now);
  }
  // A sensor the profile does not carry never reports: its check stays quiet.
  if (in.vent_gas_valid && std::isfinite(in.vent_gas_ppm)) {
    vent_gas_.update(cfg_.vent_gas_ppm > 0.0 && in.vent_gas_ppm > cfg_.vent_gas_ppm, now);
  }
  if (in.insulation_valid && std::isfinite(in.insulation_ohm)) {
    insulation_.update(cfg_.insulation_min_ohm > 0.0 && in.insulation_ohm < cfg_.insulation_min_ohm,
                       now);
  }
  if (in.current_valid && std::isfinite(in.current_a)) {
    oc_discharge_.update(in.current_a > cfg_.oc_discharge_a, now);
    oc_charge_.update(in.current_a < -cfg_.oc_charge_a, now);
    current_invalid_.update(false, now);
  } else {
    current_invalid_.update(true, now);
  }
}

void RefBms::watch_self_discharge(const BmsInputs& in, std::int64_t dt_ns) {
  const std::int64_t now = in.now_ns;
  // Rest as the SOC logic saw it at the previous update (the watch lags one cycle), with every
  // cell valid: a mean over a partial set would move as cells drop in and out.
  bool resting = cfg_.self_discharge_v > 0.0 &&
                 rest_.held_for(now, cfg_.self_discharge_settle_ns) && in.cell_v.size >= n_cells_;
  double sum = 0.0;
  for (std::size_t c = 0; c < n_cells_ && resting; ++c) {
    resting = cell_valid(in, c);
    if (resting) sum += in.cell_v[c];
  }
  if (!resting || n_cells_ < 2) {
    sd_since_ns_ = -1;
    sd_based_ = false;
    for (Debounce& d : self_discharge_) d.update(false, now);
    return;
  }
  const double mean = sum / static_cast<double>(n_cells_);
  const double tau_s = seconds(cfg_.self_discharge_filter_ns);
  // The first sample seeds the filter; the baseline waits three time constants, until the seed's
  // noise has decayed to 5 %.
  const double a =
      sd_since_ns_ < 0 ? 1.0 : std::min(1.0, seconds(dt_ns) / (tau_s + seconds(dt_ns)));
  if (sd_since_ns_ < 0) sd_since_ns_ = now;
  for (std::size_t c = 0; c < n_cells_; ++c) {
    sd_dev_v_[c] += a * ((in.cell_v[c] - mean) - sd_dev_v_[c]);
  }
  if (!sd_based_) {
    if (now - sd_since_ns_ < 3 * cfg_.self_discharge_filter_ns) return;
    sd_base_v_ = sd_dev_v_;  // same size: no allocation
    sd_based_ = true;
  }
  for (std::size_t c = 0; c < n_cells_; ++c) {
    // A cell being bled sinks by design: its baseline follows it.
    if (balance_[c] != 0) sd_base_v_[c] = sd_dev_v_[c];
    self_discharge_[c].update(sd_base_v_[c] - sd_dev_v_[c] > cfg_.self_discharge_v, now);
  }
}

namespace {

// The element whose debounce expired first (earliest onset, then lowest index); -1 if none.
int first_tripped(const std::vector<Debounce>& d, std::int64_t now_ns, std::int64_t delay_ns,
                  std::int64_t* onset) {
  int found = -1;
  for (std::size_t i = 0; i < d.size(); ++i) {
    if (d[i].held_for(now_ns, delay_ns) && (found < 0 || d[i].onset_ns < *onset)) {
      found = static_cast<int>(i);
      *onset = d[i].onset_ns;
    }
  }
  return found;
}

bool any_active(const std::vector<Debounce>& d) {
  return std::any_of(d.begin(), d.end(), [](const Debounce& x) { return x.active; });
}

}  // namespace

void RefBms::latch(Fault f, std::int64_t now_ns, std::int64_t onset_ns, int cell, int sensor,
                   int module) {
  if (has_fault(faults_, f)) return;
  if (faults_ == Fault::kNone) {
    first_fault_ = f;
    first_cell_ = cell;
    first_sensor_ = sensor;
    first_module_ = module;
    first_onset_ns_ = onset_ns;
    first_ns_ = now_ns;
  }
  faults_ |= f;
}

void RefBms::process_reset(const BmsInputs& in) {
  const bool edge = in.fault_reset && !last_fault_reset_;
  if (!edge || faults_ == Fault::kNone) return;
  // A flag clears only when its condition is gone now; an active debounce means the condition was
  // last seen present (or has not been seen absent since).
  Fault present = Fault::kNone;
  if (any_active(ov_)) present |= Fault::kOverVoltage;
  if (any_active(uv_)) present |= Fault::kUnderVoltage;
  if (any_active(ot_)) present |= Fault::kOverTemp;
  if (any_active(ut_)) present |= Fault::kUnderTemp;
  if (oc_discharge_.active) present |= Fault::kOverCurrentDischarge;
  if (oc_charge_.active) present |= Fault::kOverCurrentCharge;
  if (afe_lost_now(in, nullptr, nullptr)) present |= Fault::kAfeDataLost;
  if (corrupt_now(in.now_ns)) present |= Fault::kAfeDataCorrupt;
  if (current_lost_now(in)) present |= Fault::kCurrentSensorLost;
  if (any_active(cell_invalid_) || any_active(temp_invalid_) || current_invalid_.active) {
    present |= Fault::kMeasurementInvalid;
  }
  if (any_active(hw_flag_)) present |= Fault::kHardwareFlag;
  if (vent_gas_.active) present |= Fault::kVentGas;
  if (insulation_.active) present |= Fault::kInsulation;
  if (any_active(self_discharge_)) present |= Fault::kSelfDischarge;
  faults_ &= present;
  if (faults_ == Fault::kNone) {
    first_fault_ = Fault::kNone;
    first_cell_ = first_sensor_ = first_module_ = -1;
    first_onset_ns_ = first_ns_ = 0;
    state_ = init_done_ ? BmsState::kStandby : BmsState::kInit;
    state_since_ns_ = in.now_ns;
  }
}

bool RefBms::precharged(const BmsInputs& in) const {
  // Both voltages must be valid and the pack's positive: 0 >= 0.95 * 0 proves nothing.
  return in.pack_v_valid && in.link_v_valid && in.pack_v > 0.0 &&
         in.link_v >= cfg_.precharge_ratio * in.pack_v;
}

void RefBms::step_state(const BmsInputs& in, const Aggregates& agg) {
  const std::int64_t now = in.now_ns;
  const std::int64_t elapsed = now - state_since_ns_;
  auto go = [this, now](BmsState s) {
    state_ = s;
    state_since_ns_ = now;
  };
  if (!in.drive_request) drive_armed_ = true;

  if (state_ == BmsState::kPrecharge && faults_ == Fault::kNone && in.drive_request) {
    if (!(precharged(in) && elapsed >= cfg_.precharge_min_ns) && elapsed >= cfg_.precharge_max_ns) {
      latch(Fault::kPrechargeFailed, now, state_since_ns_, -1, -1, -1);
    }
  }
  if (faults_ != Fault::kNone) {
    if (state_ != BmsState::kFault) {
      go(BmsState::kFault);
      drive_armed_ = false;  // no reconnection before the host drops and renews its request
    }
    return;
  }

  switch (state_) {
    case BmsState::kInit:
      if (init_done_) go(BmsState::kStandby);
      break;
    case BmsState::kStandby: {
      const bool healthy = agg.all_cells_valid && agg.all_temps_valid && in.current_valid &&
                           in.pack_v_valid && in.link_v_valid;
      if (in.drive_request && drive_armed_ && healthy) go(BmsState::kPrecharge);
      break;
    }
    case BmsState::kPrecharge: {
      if (!in.drive_request) {
        go(BmsState::kOpening);
        break;
      }
      if (precharged(in) && elapsed >= cfg_.precharge_min_ns) go(BmsState::kClosing);
      break;
    }
    case BmsState::kClosing:
      if (!in.drive_request) {
        go(BmsState::kOpening);
      } else if (elapsed >= cfg_.precharge_overlap_ns) {
        go(BmsState::kNormal);
      }
      break;
    case BmsState::kNormal:
      if (!in.drive_request) go(BmsState::kOpening);
      break;
    case BmsState::kOpening:
      if (elapsed >= cfg_.open_delay_ns) go(BmsState::kStandby);
      break;
    case BmsState::kFault:
      // Left only through process_reset().
      break;
  }
}

void RefBms::update_soc(const BmsInputs& in, const Aggregates& agg, std::int64_t dt_ns) {
  const bool current_ok = in.current_valid && std::isfinite(in.current_a);
  if (current_ok) {
    rest_.update(std::fabs(in.current_a) < cfg_.rest_current_a, in.now_ns);
  } else {
    rest_.update(false, in.now_ns);  // rest must be seen, not assumed
  }
  // The current measured now is taken as the current since the previous update (packsim's ticks
  // hold the current over the tick). A missing sample repeats the last valid one until the
  // sensor times out; after that nothing flows (the contactors are open by then).
  double i = 0.0;
  if (current_ok) {
    i = in.current_a;
  } else if (have_current_ && !current_lost_now(in)) {
    i = last_current_a_;
  }
  const double dt_s = seconds(dt_ns);
  const bool resting = rest_.held_for(in.now_ns, cfg_.rest_ns);
  const double k = std::min(1.0, cfg_.ocv_gain_per_s * dt_s);

  if (!soc_valid_) {
    if (agg.v_count > 0) {
      soc_ = soc_from_ocv(agg.v_sum / agg.v_count);
      soc_valid_ = true;
    }
  } else {
    soc_ -= i * dt_s / cfg_.capacity_as;
    if (resting && agg.v_count > 0) soc_ += k * (soc_from_ocv(agg.v_sum / agg.v_count) - soc_);
    soc_ = std::clamp(soc_, 0.0, 1.0);
  }
  // Each channel alike, from its own voltage: the string current flows through every series
  // group, so only the start and the rest correction differ between cells.
  for (std::size_t c = 0; c < n_cells_; ++c) {
    double& z = cell_soc_[c];
    const bool valid = cell_valid(in, c);
    if (std::isnan(z)) {
      if (valid) z = soc_from_ocv(in.cell_v[c]);
      continue;
    }
    z -= i * dt_s / cfg_.capacity_as;
    if (resting && valid) z += k * (soc_from_ocv(in.cell_v[c]) - z);
    z = std::clamp(z, 0.0, 1.0);
  }
  if (current_ok) {
    last_current_a_ = in.current_a;
    have_current_ = true;
  }
}

void RefBms::update_balancing(const BmsInputs& in, const Aggregates& agg, const BmsOutputs& out) {
  const bool allowed = init_done_ && faults_ == Fault::kNone && state_ != BmsState::kFault &&
                       agg.all_cells_valid && agg.v_count > 0 && in.current_valid &&
                       std::fabs(in.current_a) < cfg_.balance_max_current_a &&
                       (!cfg_.balance_only_standby || state_ == BmsState::kStandby);
  if (!allowed) {
    std::fill(balance_.begin(), balance_.end(), std::uint8_t{0});
    return;
  }
  const double v_low = out.cell_v_min_v;
  for (std::size_t c = 0; c < n_cells_; ++c) {
    const double v = in.cell_v[c];
    const double above = v - v_low;
    const bool on = balance_[c] != 0 ? above > cfg_.balance_off_v : above > cfg_.balance_on_v;
    balance_[c] = on && v >= cfg_.balance_min_cell_v ? 1 : 0;
  }
}

int fault_code(Fault f) {
  const auto bits = static_cast<std::uint32_t>(f);
  if (bits == 0) return 0;
  int bit = 0;
  while (((bits >> bit) & 1u) == 0) ++bit;
  return bit + 1;
}

void RefBms::update_limits(const Aggregates& agg, BmsOutputs& out) const {
  auto ramp = [](double x) { return std::clamp(x, 0.0, 1.0); };
  const bool cells = out.cell_v_min_index >= 0 && out.cell_v_max_index >= 0;
  const bool temps = out.temp_min_index >= 0 && out.temp_max_index >= 0;
  double charge = 0.0, discharge = 0.0;
  if (cells && temps && faults_ == Fault::kNone && state_ != BmsState::kFault) {
    const double dv = kLimitDerateShare * (cfg_.cell_ov_v - cfg_.cell_uv_v);
    const double hot = ramp((cfg_.ot_k - out.temp_max_k) / kLimitDerateK);
    discharge = cfg_.oc_discharge_a * ramp((out.cell_v_min_v - cfg_.cell_uv_v) / dv) * hot;
    charge = cfg_.oc_charge_a * ramp((cfg_.cell_ov_v - out.cell_v_max_v) / dv) * hot *
             ramp((out.temp_min_k - cfg_.ut_k) / kLimitDerateK);
  }
  out.charge_current_limit_a = charge;
  out.discharge_current_limit_a = discharge;
  out.charge_power_limit_w = charge * agg.v_sum;
  out.discharge_power_limit_w = discharge * agg.v_sum;
  out.soh = 1.0;
}

void RefBms::update(const BmsInputs& in, BmsOutputs& out) {
  const std::int64_t now = in.now_ns;
  if (!started_) {
    started_ = true;
    first_update_ns_ = now;
    last_now_ns_ = now;
    state_since_ns_ = now;
    last_rejected_ = in.rejected_crc + in.rejected_counter;  // older rejections are not ours
  }
  const std::int64_t dt_ns = now > last_now_ns_ ? now - last_now_ns_ : 0;
  if (first_frame_ns_ == kNoFrame) {
    // The earliest frame of any source: the moment the simulator was first heard.
    auto take = [this](std::int64_t t) {
      if (t != kNoFrame && (first_frame_ns_ == kNoFrame || t < first_frame_ns_))
        first_frame_ns_ = t;
    };
    take(in.current_frame_ns);
    for (std::size_t m = 0; m < in.voltage_frame_ns.size; ++m) take(in.voltage_frame_ns[m]);
    for (std::size_t m = 0; m < in.temp_frame_ns.size; ++m) take(in.temp_frame_ns[m]);
  }

  const Aggregates agg = aggregate(in, out);
  if (!init_done_) {
    bool all = in.current_frame_ns != kNoFrame;
    for (std::size_t m = 0; m < n_modules_ && all; ++m) {
      all = m < in.voltage_frame_ns.size && in.voltage_frame_ns[m] != kNoFrame;
      if (all && module_has_sensor_[m] != 0) {
        all = m < in.temp_frame_ns.size && in.temp_frame_ns[m] != kNoFrame;
      }
    }
    init_done_ = all;
  }
  record_rejections(in);
  // Data faults only once every source has delivered; timeouts from the first update.
  if (init_done_) {
    evaluate_faults(in);
    watch_self_discharge(in, dt_ns);
  }
  process_reset(in);

  // Latch, in the order of the Fault bits (which decides the first fault within one update).
  if (init_done_) {
    std::int64_t onset = 0;
    int i = first_tripped(ov_, now, cfg_.ov_delay_ns, &onset);
    if (i >= 0) latch(Fault::kOverVoltage, now, onset, i, -1, -1);
    i = first_tripped(uv_, now, cfg_.uv_delay_ns, &onset);
    if (i >= 0) latch(Fault::kUnderVoltage, now, onset, i, -1, -1);
    i = first_tripped(ot_, now, cfg_.ot_delay_ns, &onset);
    if (i >= 0) latch(Fault::kOverTemp, now, onset, -1, i, -1);
    i = first_tripped(ut_, now, cfg_.ut_delay_ns, &onset);
    if (i >= 0) latch(Fault::kUnderTemp, now, onset, -1, i, -1);
    if (oc_discharge_.held_for(now, cfg_.oc_discharge_delay_ns)) {
      latch(Fault::kOverCurrentDischarge, now, oc_discharge_.onset_ns, -1, -1, -1);
    }
    if (oc_charge_.held_for(now, cfg_.oc_charge_delay_ns)) {
      latch(Fault::kOverCurrentCharge, now, oc_charge_.onset_ns, -1, -1, -1);
    }
  }
  {
    int module = -1;
    std::int64_t onset = 0;
    if (afe_lost_now(in, &module, &onset)) latch(Fault::kAfeDataLost, now, onset, -1, -1, module);
  }
  if (init_done_ && corrupt_now(now)) {
    latch(Fault::kAfeDataCorrupt, now, now, -1, -1, -1);
  }
  if (current_lost_now(in)) {
    latch(Fault::kCurrentSensorLost, now, last_frame(in.current_frame_ns, cfg_.current_timeout_ns),
          -1, -1, -1);
  }
  if (init_done_) {
    std::int64_t onset = 0;
    int cell = first_tripped(cell_invalid_, now, cfg_.invalid_delay_ns, &onset);
    std::int64_t onset_t = 0;
    const int sensor = first_tripped(temp_invalid_, now, cfg_.invalid_delay_ns, &onset_t);
    if (cell >= 0 && sensor >= 0 && onset_t < onset) cell = -1;
    if (cell >= 0) {
      latch(Fault::kMeasurementInvalid, now, onset, cell, -1, -1);
    } else if (sensor >= 0) {
      latch(Fault::kMeasurementInvalid, now, onset_t, -1, sensor, -1);
    } else if (current_invalid_.held_for(now, cfg_.invalid_delay_ns)) {
      latch(Fault::kMeasurementInvalid, now, current_invalid_.onset_ns, -1, -1, -1);
    }
    const int flagged = first_tripped(hw_flag_, now, cfg_.hw_flag_delay_ns, &onset);
    if (flagged >= 0) latch(Fault::kHardwareFlag, now, onset, flagged, -1, -1);
    if (vent_gas_.held_for(now, cfg_.vent_gas_delay_ns)) {
      latch(Fault::kVentGas, now, vent_gas_.onset_ns, -1, -1, -1);
    }
    if (insulation_.held_for(now, cfg_.insulation_delay_ns)) {
      latch(Fault::kInsulation, now, insulation_.onset_ns, -1, -1, -1);
    }
    const int sinking = first_tripped(self_discharge_, now, cfg_.self_discharge_delay_ns, &onset);
    if (sinking >= 0) latch(Fault::kSelfDischarge, now, onset, sinking, -1, -1);
  }

  step_state(in, agg);
  update_soc(in, agg, dt_ns);
  update_balancing(in, agg, out);

  switch (state_) {
    case BmsState::kPrecharge:
      out.contactors = {false, true, true};
      break;
    case BmsState::kClosing:
      out.contactors = {true, true, true};
      break;
    case BmsState::kNormal:
      out.contactors = {true, true, false};
      break;
    case BmsState::kOpening:
      out.contactors = {false, true, false};
      break;
    case BmsState::kInit:
    case BmsState::kStandby:
    case BmsState::kFault:
      out.contactors = {false, false, false};
      break;
  }
  const std::size_t nb = std::min(out.balance.size(), balance_.size());
  std::copy_n(balance_.begin(), nb, out.balance.begin());
  out.state = state_;
  out.faults = faults_;
  out.first_fault = first_fault_;
  out.first_fault_cell = first_cell_;
  out.first_fault_sensor = first_sensor_;
  out.first_fault_module = first_module_;
  out.first_fault_onset_ns = first_onset_ns_;
  out.first_fault_ns = first_ns_;
  out.soc = soc_;
  out.soc_valid = soc_valid_;
  std::copy_n(cell_soc_.begin(), std::min(out.cell_soc.size(), cell_soc_.size()),
              out.cell_soc.begin());
  update_limits(agg, out);

  last_now_ns_ = now;
  last_fault_reset_ = in.fault_reset;
}

}  // namespace packsim::bms
