// The pack step allocates nothing with every electrical and cooling fault active at once, the
// magnitudes changing every tick (a ramping short, a loose segment and link, open cells, a whole
// open group part of the time, welded and stuck contactors, an insulation fault, cooling loss).
#include <catch2/catch.hpp>
#include <cmath>

#include "alloc_counter.hpp"
#include "packsim/model/pack.hpp"
#include "support/synthetic_cell.hpp"

using namespace packsim::model;

TEST_CASE("Pack step with every electrical fault active allocates nothing", "[pack][faults]") {
  PackSpec spec;
  spec.name = "noalloc";
  spec.series = 6;
  spec.parallel = 3;
  spec.groups_per_module = 2;
  spec.busbar_segment_ohm = 0.0003;
  spec.group_link_ohm = 0.0002;
  spec.link.dc_link_f = 1e-3;
  spec.thermal.cell_to_cell_w_per_k = 0.5;
  const PackModel m =
      build_pack_model(spec, packsim::test::make_cell({}), 1'000'000, {0.7, 298.15, 1});
  PackData d = make_data(m);
  d.input.load.mode = LoadMode::kCurrent;
  d.input.load.current_a = 15.0;
  d.input.contactor_welded.main_pos = true;
  d.input.contactor_stuck_open.precharge = true;
  d.input.iso_fault_cell = 7;
  d.input.iso_fault_s = 1e-4;
  d.module_cooling_scale[1] = 0.2;
  d.capacity_fault_scale[4] = 0.6;
  d.r0_fault_scale[5] = 3.0;
  d.open[10] = 1;
  packsim::test::start_counting_allocations();
  for (int k = 0; k < 5000; ++k) {
    d.leak_s[2] = 1.0 / (100.0 * std::pow(1e-4, k / 5000.0));
    d.busbar_extra_ohm[3] = 1e-3 * (k % 7);
    d.group_link_extra_ohm[2] = 1e-3 * (k % 5);
    d.open[12] = d.open[13] = d.open[14] = (k / 500) % 2 == 1 ? 1 : 0;  // group 4 opens and closes
    d.input.contactors = (k / 300) % 2 ? ContactorState{true, true, false} : ContactorState{};
    d.input.precharge_open = (k / 700) % 2 == 1;
    step(m, d);
    ModelEvent e;
    while (d.events.pop(e)) {
    }
  }
  const auto allocations = packsim::test::stop_counting_allocations();
  CHECK(allocations == 0);
  for (double v : d.v) CHECK(std::isfinite(v));
  CHECK(std::isfinite(d.energy.battery_out_j));
}
