#pragma once
// A test rig for the reference BMS: caller-owned input arrays, a BMS and its outputs. By default
// every frame arrives fresh at each update; tests silence sources or overwrite values.

#include <cstdint>
#include <memory>
#include <vector>

#include "packsim/bms/ref_bms.hpp"

namespace packsim::bms::test {

constexpr std::int64_t ms(std::int64_t x) { return x * 1'000'000; }
constexpr std::int64_t sec(std::int64_t x) { return x * 1'000'000'000; }

// 9 cells in modules of 4 (the last module has one cell), sensors on modules 0, 0, 1: module 2
// has no temperature sensor. A 10 Ah cell, 3.0..4.2 V: 1 C = 10 A, OC 50 A / 20 A.
inline BmsConfig small_config() {
  return default_bms_config(9, 4, {0, 0, 1}, 3.0, 4.2, 10.0 * 3600.0);
}

struct Rig {
  explicit Rig(const BmsConfig& c)
      : cfg(c),
        cell_v(static_cast<std::size_t>(c.n_cells), 3.7),
        cell_ok(static_cast<std::size_t>(c.n_cells), 1),
        temp_k(static_cast<std::size_t>(c.n_sensors), 298.15),
        temp_ok(static_cast<std::size_t>(c.n_sensors), 1),
        voltage_frame(static_cast<std::size_t>(c.n_modules), kNoFrame),
        temp_frame(static_cast<std::size_t>(c.n_modules), kNoFrame),
        voltage_silent(static_cast<std::size_t>(c.n_modules), 0),
        temp_silent(static_cast<std::size_t>(c.n_modules), 0),
        bms(c),
        out(c) {
    // The spans point into this object's vectors: a Rig stays where it was built.
    in.cell_v = cell_v;
    in.cell_v_valid = cell_ok;
    in.temp_k = temp_k;
    in.temp_valid = temp_ok;
    in.voltage_frame_ns = voltage_frame;
    in.temp_frame_ns = temp_frame;
    in.current_a = 0.0;
    in.current_valid = true;
    in.pack_v = 3.7 * c.n_cells;
    in.pack_v_valid = true;
    in.link_v = 0.0;
    in.link_v_valid = true;
    // Issue 10 sensors, healthy: no comparator flag, no gas, a well-insulated pack.
    hw_ov.assign(static_cast<std::size_t>(c.n_cells), 0);
    hw_uv.assign(static_cast<std::size_t>(c.n_cells), 0);
    in.cell_hw_ov = hw_ov;
    in.cell_hw_uv = hw_uv;
    in.vent_gas_ppm = 0.0;
    in.vent_gas_valid = true;
    in.insulation_ohm = 10e6;
    in.insulation_valid = true;
  }

  Rig(const Rig&) = delete;
  Rig& operator=(const Rig&) = delete;

  // One update at `now`: fresh frames for every source that is not silenced.
  const BmsOutputs& step(std::int64_t now) {
    in.now_ns = now;
    for (std::size_t m = 0; m < voltage_frame.size(); ++m) {
      if (voltage_silent[m] == 0) voltage_frame[m] = now;
      if (temp_silent[m] == 0) temp_frame[m] = now;
    }
    if (!current_silent) in.current_frame_ns = now;
    bms.update(in, out);
    return out;
  }

  // Updates every `period` from `from` while t <= to; returns the time after the last update.
  template <typename F>
  std::int64_t run(std::int64_t from, std::int64_t to, std::int64_t period, F&& each) {
    std::int64_t t = from;
    for (; t <= to; t += period) {
      each(t);
      step(t);
    }
    return t;
  }
  std::int64_t run(std::int64_t from, std::int64_t to, std::int64_t period) {
    return run(from, to, period, [](std::int64_t) {});
  }

  // From the first update to kNormal with a link that follows the pack at once. Returns the
  // time of the next update (period grid from 0).
  std::int64_t connect(std::int64_t period) {
    in.link_v = in.pack_v;
    in.drive_request = true;
    std::int64_t t = 0;
    while (out.state != BmsState::kNormal && t < sec(10)) {
      step(t);
      t += period;
    }
    return t;
  }

  BmsConfig cfg;
  std::vector<double> cell_v;
  std::vector<std::uint8_t> cell_ok;
  std::vector<double> temp_k;
  std::vector<std::uint8_t> temp_ok;
  std::vector<std::int64_t> voltage_frame;
  std::vector<std::int64_t> temp_frame;
  std::vector<std::uint8_t> voltage_silent;
  std::vector<std::uint8_t> temp_silent;
  bool current_silent = false;
  std::vector<std::uint8_t> hw_ov;
  std::vector<std::uint8_t> hw_uv;
  BmsInputs in;
  RefBms bms;
  BmsOutputs out;
};

inline bool all_open(const BmsOutputs& o) {
  return !o.contactors.main_pos && !o.contactors.main_neg && !o.contactors.precharge;
}
inline bool normal_closed(const BmsOutputs& o) {
  return o.contactors.main_pos && o.contactors.main_neg && !o.contactors.precharge;
}

}  // namespace packsim::bms::test
