// Protocol profiles: loading the shipped ones against a pack layout, and a round trip
// simulator -> frames -> BMS view and BMS commands -> frames -> simulator commands.
#include <catch2/catch.hpp>
#include <cmath>
#include <map>

#include "packsim/can/protocol.hpp"
#include "packsim/config/loaders.hpp"
#include "support/synthetic_cell.hpp"

using namespace packsim;

namespace {
config::ProfileLayout layout_96s(std::int64_t tick_ns = 1'000'000) {
  config::ProfileLayout l;
  l.n_channels = 96;
  l.cells_per_module = 8;
  l.n_modules = 12;
  l.sensors_per_module = 4;
  l.n_sensors = 48;
  l.tick_ns = tick_ns;
  return l;
}
std::shared_ptr<const can::Profile> load(const std::string& name, const config::ProfileLayout& l) {
  Diagnostics diags;
  const auto path = config::resolve_profile(name, PACKSIM_SOURCE_DIR);
  auto p = config::load_profile(path, l, diags);
  INFO(diags.format());
  REQUIRE(p);
  return p;
}

// Collects frames as a bus would.
struct Capture : can::FrameSink {
  std::vector<can::CanFrame> frames;
  bool send(std::size_t, const can::CanFrame& f) override {
    frames.push_back(f);
    return true;
  }
};
}  // namespace

TEST_CASE("The packsim profile resolves per module, mux row and bus", "[profile]") {
  const auto p = load("packsim", layout_96s());
  CHECK(p->name == "packsim");
  CHECK(p->buses == std::vector<std::string>{"afe"});
  // 12 modules x (3 voltage rows + 2 temperature rows + 1 status) + 4 IVT messages + the gas
  // sensor and the insulation monitor: rows beyond a module's 8 cells and 4 sensors carry nothing
  // of this pack and are not sent.
  CHECK(p->frames.size() == 12 * (3 + 2 + 1) + 4 + 2);
  // Module 5's voltage rows go out on 0x605 with cells 40..47; the last row's third slot is beyond
  // the module and carries index -1 (sent as 0).
  std::map<std::uint64_t, std::vector<int>> cells_by_row;
  for (const auto& f : p->frames) {
    if (f.id != 0x605) continue;
    std::uint64_t mux = 0;
    for (const auto& s : f.slots) {
      if (s.source == can::Source::kMux) mux = static_cast<std::uint64_t>(s.constant);
    }
    for (const auto& s : f.slots) {
      if (s.source == can::Source::kCellVoltage) cells_by_row[mux].push_back(s.index);
    }
  }
  CHECK(cells_by_row[0] == std::vector<int>{40, 41, 42});
  CHECK(cells_by_row[2] == std::vector<int>{46, 47, -1});
  CHECK(cells_by_row.count(3) == 0);
  REQUIRE(p->rx.size() == 7);  // commands, balancing, four BMS reports and per-cell SOC
  CHECK(p->rx[1].instances == 12);
  CHECK(p->rx[6].instances == 12);  // BMS_CellSoc: one message per module, multiplexed
  CHECK(p->observes_cell_soc);
  CHECK(p->rx[1].bindings[0].index_per_instance == 8);
  CHECK(p->commands_contactors);
  CHECK(p->commands_balancing);
}

TEST_CASE("Frames go out at their period and phase, counters and CRCs fresh each time",
          "[profile]") {
  const auto p = load("packsim", layout_96s());
  can::SimProtocol sim(p, 96, 48, 12);
  model::AfeData afe;
  afe.v_meas.assign(96, 3.7);
  afe.open_wire.assign(96, 0);
  afe.ov_flag.assign(96, 0);
  afe.uv_flag.assign(96, 0);
  afe.t_meas_k.assign(48, 300.0);
  afe.die_temp_k.assign(12, 305.0);
  model::ShuntData shunt;
  Capture cap;
  std::map<std::uint32_t, int> count;
  for (std::int64_t t = 1'000'000; t <= 1'000'000'000; t += 1'000'000) {
    cap.frames.clear();
    sim.transmit(t, afe, shunt, cap);
    for (const auto& f : cap.frames) ++count[f.id];
  }
  // In one second: each module's voltage id 10 x 3 rows, temperatures 5 x 2 rows, status 10;
  // current 100, U1/U2 50 each, shunt temperature 10.
  CHECK(count[0x600] == 30);
  CHECK(count[0x60B] == 30);
  CHECK(count[0x620] == 10);
  CHECK(count[0x640] == 10);
  CHECK(count[0x521] == 100);
  CHECK(count[0x522] == 50);
  CHECK(count[0x525] == 10);
  CHECK(count[0x660] == 10);  // gas sensor, 100 ms
  CHECK(count[0x037] == 1);   // iso165C Info, 1 s
  CHECK(sim.frames_per_second() == Approx(12 * (30 + 10 + 10) + 100 + 50 + 50 + 10 + 10 + 1));
}

TEST_CASE("Simulator and BMS sides understand each other", "[profile]") {
  const auto p = load("packsim", layout_96s());
  can::SimProtocol sim(p, 96, 48, 12);
  can::BmsProtocol bms(p, 96, 48, 12, 8, 4);
  model::AfeData afe;
  afe.v_meas.resize(96);
  for (int c = 0; c < 96; ++c) afe.v_meas[static_cast<std::size_t>(c)] = 3.0 + 0.0123 * c;
  afe.open_wire.assign(96, 0);
  afe.open_wire[17] = 1;
  afe.ov_flag.assign(96, 0);
  afe.uv_flag.assign(96, 0);
  afe.t_meas_k.resize(48);
  for (int s = 0; s < 48; ++s) afe.t_meas_k[static_cast<std::size_t>(s)] = 290.0 + 0.5 * s;
  afe.die_temp_k.assign(12, 305.0);
  model::ShuntData shunt;
  shunt.current_a = -12.345;
  shunt.pack_v = 352.5;
  shunt.link_v = 351.25;
  Capture cap;
  // One second of 1 ms ticks: every message goes out at least once (modules are staggered by 1 ms).
  // Once every frame has been seen, the open wire on cell 17 must hold at every tick, whichever
  // frame (voltages or status) came last.
  int validity_wrong = 0;
  for (std::int64_t t = 1'000'000; t <= 1'000'000'000; t += 1'000'000) {
    cap.frames.clear();
    sim.transmit(t, afe, shunt, cap);
    for (const auto& f : cap.frames) bms.receive(f, t);
    if (t < 300'000'000) continue;
    for (int c = 0; c < 96; ++c) {
      validity_wrong += bms.view().cell_valid[static_cast<std::size_t>(c)] != (c == 17 ? 0 : 1);
    }
  }
  CHECK(validity_wrong == 0);
  const can::BmsView& v = bms.view();
  CHECK(bms.stats().rx_frames == sim.stats().tx_frames);
  CHECK(bms.stats().rx_rejected() == 0);
  CHECK(bms.stats().e2e_lost == 0);
  for (int c = 0; c < 96; ++c) {
    INFO("cell " << c);
    CHECK(v.cell_v[static_cast<std::size_t>(c)] == Approx(3.0 + 0.0123 * c).margin(0.5e-4));
    CHECK(v.cell_valid[static_cast<std::size_t>(c)] == (c == 17 ? 0 : 1));
  }
  for (int s = 0; s < 48; ++s)
    CHECK(v.temp_k[static_cast<std::size_t>(s)] == Approx(290.0 + 0.5 * s).margin(0.006));
  CHECK(v.current_a == Approx(-12.345).margin(1e-3));
  CHECK(v.pack_v == Approx(352.5).margin(1e-3));
  CHECK(v.link_v == Approx(351.25).margin(1e-3));
  CHECK(v.module_voltage_rx_ns[11] == 911'000'000);  // module 11's phase is 11 ms

  // And back: the BMS closes main- and precharge and balances cells 9 and 95.
  std::vector<std::uint8_t> balance(96, 0);
  balance[9] = balance[95] = 1;
  can::BmsCommands cmd;
  cmd.contactors = {false, true, true};
  cmd.balance = balance.data();
  cap.frames.clear();
  bms.transmit(0, cmd, cap);
  // With status, current and power limits, min/max, and per module three BMS_CellSoc mux rows
  // (8 cells, 3 per row); without estimates they carry "not available".
  CHECK(cap.frames.size() == 1 + 12 + 4 + 12 * 3);
  for (const auto& f : cap.frames) sim.receive(0, f, 5'000'000);
  const can::SimCommands& c = sim.commands();
  REQUIRE(c.observed.cell_soc.size() == 96);
  for (double soc : c.observed.cell_soc) CHECK(std::isnan(soc));
  CHECK(c.contactors_commanded);
  CHECK_FALSE(c.contactors.main_pos);
  CHECK(c.contactors.main_neg);
  CHECK(c.contactors.precharge);
  for (int ch = 0; ch < 96; ++ch)
    CHECK(c.balance[static_cast<std::size_t>(ch)] == (ch == 9 || ch == 95 ? 1 : 0));
}

TEST_CASE("Corrupt, stale and unknown frames are rejected and counted", "[profile]") {
  const auto p = load("packsim", layout_96s());
  can::SimProtocol sim(p, 96, 48, 12);
  can::BmsProtocol bms(p, 96, 48, 12, 8, 4);
  std::vector<std::uint8_t> balance(96, 0);
  can::BmsCommands cmd;
  cmd.contactors = {true, true, false};
  cmd.balance = balance.data();
  Capture cap;
  bms.transmit(0, cmd, cap);
  const can::CanFrame good = cap.frames[0];
  REQUIRE(good.id == 0x680);
  can::CanFrame bad = good;
  bad.data[1] ^= 0x04;  // flip a command bit: the CRC no longer matches
  sim.receive(0, bad, 1);
  CHECK(sim.stats().e2e_bad_crc == 1);
  CHECK_FALSE(sim.commands().contactors_commanded);
  sim.receive(0, good, 2);
  CHECK(sim.commands().contactors.main_pos);
  sim.receive(0, good, 3);  // the same frame again: stale counter
  CHECK(sim.stats().e2e_repeated == 1);
  can::CanFrame garbage;
  garbage.id = 0x7FF;
  garbage.len = 3;
  sim.receive(0, garbage, 4);
  CHECK(sim.stats().rx_unknown == 1);
  can::CanFrame short_frame = good;
  short_frame.len = 4;
  sim.receive(0, short_frame, 5);
  CHECK(sim.stats().rx_malformed == 1);
  // Silence: after the 200 ms timeout the contactors fall back to open.
  sim.supervise(150'000'000);
  CHECK(sim.commands().contactors.main_pos);
  sim.supervise(250'000'000);
  CHECK_FALSE(sim.commands().contactors.main_pos);
  CHECK(sim.stats().rx_timeouts >= 1);
}

TEST_CASE("The CAN FD profile carries a whole module per frame", "[profile]") {
  const auto p = load("packsim_fd", layout_96s());
  std::size_t fd_frames = 0;
  for (const auto& f : p->frames) {
    if (p->tx[f.message].codec->fd()) ++fd_frames;
  }
  CHECK(fd_frames == 12);
  can::SimProtocol sim(p, 96, 48, 12);
  can::BmsProtocol bms(p, 96, 48, 12, 8, 4);
  model::AfeData afe;
  afe.v_meas.assign(96, 3.3);
  afe.v_meas[50] = 4.1;
  afe.open_wire.assign(96, 0);
  afe.open_wire[5] = 1;  // status and voltage in the same frame: the status must win
  afe.ov_flag.assign(96, 0);
  afe.uv_flag.assign(96, 0);
  afe.t_meas_k.assign(48, 310.0);
  afe.die_temp_k.assign(12, 305.0);
  model::ShuntData shunt;
  Capture cap;
  for (std::int64_t t = 0; t < 100'000'000; t += 1'000'000) sim.transmit(t, afe, shunt, cap);
  for (const auto& f : cap.frames) bms.receive(f, 0);
  CHECK(bms.view().cell_v[50] == Approx(4.1).margin(1e-4));
  CHECK(bms.view().temp_k[47] == Approx(310.0).margin(0.006));
  CHECK(bms.stats().rx_rejected() == 0);
  CHECK(bms.view().cell_valid[5] == 0);
  CHECK(bms.view().cell_valid[4] == 1);
  CHECK(bms.view().cell_valid[6] == 1);
}
