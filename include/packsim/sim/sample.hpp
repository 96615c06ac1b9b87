#pragma once
// One recorded instant, copied out of PackData so that formatting can happen elsewhere (on another
// thread in real-time runs). The per-cell block is sized once, at setup.

#include <array>
#include <cstdint>
#include <vector>

#include "packsim/can/profile.hpp"
#include "packsim/model/pack.hpp"
#include "packsim/sim/condition.hpp"
#include "packsim/sim/scenario.hpp"

namespace packsim::sim {

struct Sample {
  std::int64_t time_ns = 0;
  double current_a = 0.0;
  double pack_v = 0.0;
  double link_v = 0.0;
  double soc_mean = 0.0, soc_min = 0.0, soc_max = 0.0;
  double v_min = 0.0, v_max = 0.0, v_mean = 0.0;
  double t_min_k = 0.0, t_max_k = 0.0, t_mean_k = 0.0;
  double heat_w = 0.0;
  model::ContactorState contactors;
  std::int32_t segment = -1;
  // Fault ground truth (issue 10).
  std::int32_t vented_cells = 0;
  std::int32_t runaway_cells = 0;
  std::int32_t hottest_cell = 0;
  double vent_gas_g_per_s = 0.0;
  double insulation_ohm = 0.0;
  // What the BMS was sent (min/max of the AFE's valid measurements) and what it reports, per
  // can::Observable in SI (NaN: never received); the recorder writes the profile's bound ones.
  SentValues sent{};
  std::array<double, can::kObservableCount> bms{};
  // Per-cell columns, [quantity][cell] in the order v, t, soc, i for the quantities selected.
  std::vector<double> cells;
};

// Sizes sample.cells for the selected per-cell quantities.
void prepare_sample(const model::PackModel& model, const CellColumns& columns, Sample& sample);

// Copies the recorded quantities; no allocation once prepared.
void fill_sample(const model::PackModel& model, const model::PackData& data,
                 const CellColumns& columns, std::int32_t segment, Sample& sample);

}  // namespace packsim::sim
