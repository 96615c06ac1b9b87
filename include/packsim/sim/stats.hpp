#pragma once
// Extremes over every tick of a run (not only the recorded ones), with the time they occurred.

#include <cstdint>
#include <limits>

#include "packsim/model/pack.hpp"

namespace packsim::sim {

struct Extreme {
  double value = 0.0;
  std::int64_t time_ns = -1;  // -1: never set
};

struct RunStats {
  Extreme cell_v_min{std::numeric_limits<double>::infinity()};
  Extreme cell_v_max{-std::numeric_limits<double>::infinity()};
  Extreme temp_max_k{-std::numeric_limits<double>::infinity()};
  Extreme temp_min_k{std::numeric_limits<double>::infinity()};
  Extreme current_max_a{-std::numeric_limits<double>::infinity()};
  Extreme current_min_a{std::numeric_limits<double>::infinity()};
  Extreme pack_v_min{std::numeric_limits<double>::infinity()};
  Extreme pack_v_max{-std::numeric_limits<double>::infinity()};
  Extreme soc_min{std::numeric_limits<double>::infinity()};
  Extreme soc_max{-std::numeric_limits<double>::infinity()};
  double heat_max_w = 0.0;

  void update(const model::PackData& d) {
    const std::int64_t t = d.time_ns;
    low(cell_v_min, d.v_min, t);
    high(cell_v_max, d.v_max, t);
    high(temp_max_k, d.t_max_k, t);
    low(temp_min_k, d.t_min_k, t);
    high(current_max_a, d.pack_current_a, t);
    low(current_min_a, d.pack_current_a, t);
    low(pack_v_min, d.pack_voltage_v, t);
    high(pack_v_max, d.pack_voltage_v, t);
    low(soc_min, d.soc_min, t);
    high(soc_max, d.soc_max, t);
    if (d.heat_total_w > heat_max_w) heat_max_w = d.heat_total_w;
  }

 private:
  static void low(Extreme& e, double v, std::int64_t t) {
    if (v < e.value) e = {v, t};
  }
  static void high(Extreme& e, double v, std::int64_t t) {
    if (v > e.value) e = {v, t};
  }
};

}  // namespace packsim::sim
