// The issue 10 measurement and CAN faults on the real-time path allocate nothing: every AFE and
// current-sensor fault active in afe_measure / shunt_measure, and a delay line filled to capacity
// and beyond, a babbler, error frames and a module silence in the protocol engine, with the BMS
// side decoding everything. Counts heap allocations (alloc_counter.cpp); built without sanitizers.
#include <catch2/catch.hpp>

#include "alloc_counter.hpp"
#include "packsim/can/protocol.hpp"
#include "packsim/config/loaders.hpp"
#include "packsim/model/afe.hpp"
#include "support/synthetic_cell.hpp"

using namespace packsim;

namespace {
struct Null : can::FrameSink {
  std::size_t n = 0;
  bool send(std::size_t, const can::CanFrame&) override {
    ++n;
    return true;
  }
};
}  // namespace

TEST_CASE("Measurement and CAN faults: no allocation per tick", "[noalloc][faults]") {
  config::ProfileLayout l;
  l.n_channels = 24;
  l.cells_per_module = 12;
  l.n_modules = 2;
  l.sensors_per_module = 6;
  l.n_sensors = 12;
  l.tick_ns = 1'000'000;
  Diagnostics diags;
  const auto p =
      config::load_profile(config::resolve_profile("packsim", PACKSIM_SOURCE_DIR), l, diags);
  REQUIRE(p);
  model::PackSpec s;
  s.series = 24;
  s.parallel = 1;
  s.groups_per_module = 12;
  test::SyntheticCellSpec cs;
  const model::PackModel m =
      model::build_pack_model(s, test::make_cell(cs), 1'000'000, {0.5, 298.15, 3});
  model::PackData d = model::make_data(m);
  model::AfeSpec as;
  as.sensors_per_module = 6;
  const model::AfeModel a = model::build_afe_model(as, m);
  model::AfeData afe = model::make_afe_data(a, m, d);
  model::ShuntData sh;
  afe.v_fault_gain[1] = 1.01;
  afe.v_stuck[2] = 1;
  afe.v_stuck_value[2] = 3.5;
  afe.v_noise_burst_sigma[3] = 0.01;
  afe.v_dropout[4] = 1;
  afe.ntc_open[1] = 1;
  afe.ntc_short[2] = 1;
  sh.fault_offset_a = 1.0;
  d.vent_gas_g_per_s = 0.5;
  d.insulation_ohm = 100e3;
  can::SimProtocol sim(p, 24, 12, 2);
  can::BmsProtocol bms(p, 24, 12, 2, 12, 6);
  struct Loop : can::FrameSink {
    can::BmsProtocol* bms;
    std::int64_t now = 0;
    std::size_t n = 0;
    bool send(std::size_t, const can::CanFrame& f) override {
      bms->receive(f, now);
      ++n;
      return true;
    }
  } loop;
  loop.bms = &bms;
  std::int64_t t = 0;
  for (; t < 100'000'000; t += 1'000'000) {  // warm up
    loop.now = t;
    model::afe_measure(a, m, d, afe);
    model::shunt_measure({}, m, d, sh);
    sim.transmit(t, afe, sh, loop);
    ++d.tick;
  }
  test::start_counting_allocations();
  // Voltage rows and current frames held 8 s: about 700 in flight, beyond the line's capacity.
  sim.set_delay(0, -1, 8'000'000'000, 10'000'000'000);
  sim.set_delay(3, -1, 8'000'000'000, 10'000'000'000);
  sim.set_delay(1, -1, 7'000'000, 10'000'000'000);  // temperatures 7 ms late
  sim.set_babble(0, 0x010, false, 8, 2000.0, 3'000'000'000);
  sim.set_error_frames(0, 0x80, 100.0, 3'000'000'000);
  sim.set_silence(-1, 1, 1'500'000'000);
  for (; t < 4'000'000'000; t += 1'000'000) {
    loop.now = t;
    model::afe_measure(a, m, d, afe);
    model::shunt_measure({}, m, d, sh);
    sim.transmit(t, afe, sh, loop);
    ++d.tick;
  }
  CHECK(test::stop_counting_allocations() == 0);
  CHECK(sim.stats().tx_delay_overflow > 0);
  CHECK(sim.stats().tx_babble > 0);
  CHECK(sim.stats().tx_silenced > 0);
  CHECK(bms.stats().rx_error_frames > 0);
  CHECK(bms.view().cell_valid[4] == 0);
  CHECK(bms.view().gas_ppm > 0.0);
  CHECK(bms.view().insulation_ohm == Approx(100e3));
}

TEST_CASE("The host's requests on the foxbms2 profile: no allocation per tick", "[noalloc][host]") {
  // foxBMS's default system: one module of 18 cells and 8 sensors.
  const config::ProfileLayout l{18, 8, 1, 18, 8, 1'000'000, {}};
  Diagnostics diags;
  const auto p =
      config::load_profile(config::resolve_profile("foxbms2", PACKSIM_SOURCE_DIR), l, diags);
  INFO(diags.format());
  REQUIRE(p);
  model::AfeData afe;
  afe.v_meas.assign(18, 3.7);
  afe.open_wire.assign(18, 0);
  afe.ov_flag.assign(18, 0);
  afe.uv_flag.assign(18, 0);
  afe.t_meas_k.assign(8, 298.15);
  afe.die_temp_k.assign(1, 298.15);
  const model::ShuntData sh;
  can::SimProtocol sim(p, 18, 8, 1);
  Null sink;
  for (std::int64_t t = 0; t < 100'000'000; t += 1'000'000) sim.transmit(t, afe, sh, sink);
  test::start_counting_allocations();
  for (std::int64_t t = 100'000'000; t < 2'100'000'000; t += 1'000'000) {
    // Every mode and the reset in turn, changing every tick.
    const auto k = static_cast<std::uint64_t>(t / 1'000'000);
    sim.set_host({static_cast<can::HostMode>(k % can::kHostModes), (k / 3) % 2 == 1});
    sim.transmit(t, afe, sh, sink);
  }
  CHECK(test::stop_counting_allocations() == 0);
  // 410 frames/s (0x270 5 rows and 0x280 2 rows at 10 Hz, 0x521 100, four at 50, four at 10) for
  // 2.1 s.
  CHECK(sim.stats().tx_frames == 861);
}
