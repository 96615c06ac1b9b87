// The pack step allocates nothing, takes no lock and logs nothing while cells vent, run away, short
// and open, with a heater on: the runaway module's arrays, active list and event queue are sized
// once by make_data.
#include <catch2/catch.hpp>
#include <string>

#include "alloc_counter.hpp"
#include "lock_log_counter.hpp"
#include "packsim/config/loaders.hpp"
#include "packsim/model/pack.hpp"

using namespace packsim;

TEST_CASE("No allocation, lock or log call in the pack step through a runaway and its propagation",
          "[noalloc][runaway]") {
  Diagnostics diags;
  auto pack =
      config::load_pack(std::string(PACKSIM_SOURCE_DIR) + "/configs/kulr_3s1p_module.toml", diags);
  REQUIRE(pack);
  const model::PackModel m =
      model::build_pack_model(pack->spec, pack->cell, 100'000'000, {1.0, 298.15, 1});
  model::PackData d = model::make_data(m);
  d.heater_w[0] = 120.0;
  d.temp_k[1] = 100.0 + model::kZeroCelsiusK;  // active from the first thermal step
  test::prepare_log_capture();
  test::start_counting_allocations();
  test::start_counting_locks();
  test::start_capturing_logs();
  for (int k = 0; k < 9000 && d.runaway_cells < 3; ++k) {
    if (d.runaway_time_ns[0] >= 0) d.heater_w[0] = 0.0;
    model::step(m, d);
  }
  const test::LogCapture logs = test::stop_capturing_logs();
  const std::uint64_t locks = test::stop_counting_locks();
  const std::uint64_t allocations = test::stop_counting_allocations();
  INFO("runaway at " << d.runaway_time_ns[0] << " " << d.runaway_time_ns[1] << " "
                     << d.runaway_time_ns[2] << ", T " << d.temp_k[0] << " " << d.temp_k[1]);
  CHECK(d.runaway_cells == 3);
  CHECK(d.events.size() >= 6);  // vents and runaways at least
  CHECK(allocations == 0);
  CHECK(locks == 0);
  INFO("logged: " << logs.output);
  CHECK(logs.empty());
}
