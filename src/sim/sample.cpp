#include "packsim/sim/sample.hpp"

namespace packsim::sim {

namespace {
int selected(const CellColumns& c) {
  return (c.voltage ? 1 : 0) + (c.temperature ? 1 : 0) + (c.soc ? 1 : 0) + (c.current ? 1 : 0);
}
}  // namespace

void prepare_sample(const model::PackModel& model, const CellColumns& columns, Sample& sample) {
  sample.cells.assign(
      static_cast<std::size_t>(selected(columns)) * static_cast<std::size_t>(model.n_cells), 0.0);
}

void fill_sample(const model::PackModel& model, const model::PackData& d,
                 const CellColumns& columns, std::int32_t segment, Sample& s) {
  s.time_ns = d.time_ns;
  s.current_a = d.pack_current_a;
  s.pack_v = d.pack_voltage_v;
  s.link_v = d.link_voltage_v;
  s.soc_mean = d.soc_mean;
  s.soc_min = d.soc_min;
  s.soc_max = d.soc_max;
  s.v_min = d.v_min;
  s.v_max = d.v_max;
  s.v_mean = d.v_mean;
  s.t_min_k = d.t_min_k;
  s.t_max_k = d.t_max_k;
  s.t_mean_k = d.t_mean_k;
  s.heat_w = d.heat_total_w;
  s.contactors = d.contactors;
  s.segment = segment;
  s.vented_cells = d.vented_cells;
  s.runaway_cells = d.runaway_cells;
  s.vent_gas_g_per_s = d.vent_gas_g_per_s;
  s.insulation_ohm = d.insulation_ohm;
  // The first of the hottest cells, so equal temperatures give the same index every run.
  std::size_t hottest = 0;
  for (std::size_t c = 1; c < d.temp_k.size(); ++c) {
    if (d.temp_k[c] > d.temp_k[hottest]) hottest = c;
  }
  s.hottest_cell = static_cast<std::int32_t>(hottest);
  const auto n = static_cast<std::size_t>(model.n_cells);
  double* out = s.cells.data();
  auto copy = [&](const std::vector<double>& src) {
    for (std::size_t c = 0; c < n; ++c) out[c] = src[c];
    out += n;
  };
  if (columns.voltage) copy(d.v);
  if (columns.temperature) copy(d.temp_k);
  if (columns.soc) copy(d.z);
  if (columns.current) copy(d.i);
}

}  // namespace packsim::sim
