// Protocol profiles (profiles/<name>/profile.toml and the DBC it names) through load_profile, for
// the layout `packsim check` uses. A profile it returns sends and receives frame ids that fit
// their format; then both sides run on it: the simulator's frames (all quantities set) go to the
// BMS side, the BMS side sends its commands with every channel balancing, and every received
// message gets frames with all bits set and all clear, so the index strides and mux rows
// resolved at load time meet the runtime's arithmetic with the largest values a frame carries.
#include <algorithm>
#include <set>

#include "loader_support.hpp"
#include "packsim/can/protocol.hpp"
#include "packsim/config/loaders.hpp"

using namespace packsim;

namespace {

// packsim check's layout for a profile on its own: 96 channels in modules of 12, two sensors
// per module, 1 ms ticks.
const config::ProfileLayout kLayout{96, 16, 8, 12, 2, 1'000'000, {}};

struct Capture final : can::FrameSink {
  std::vector<can::CanFrame> frames;
  bool send(std::size_t /*bus*/, const can::CanFrame& f) override {
    frames.push_back(f);
    return true;
  }
};

void check_id(std::uint32_t id, bool extended, const std::string& what) {
  fuzz::check(id <= (extended ? can::kExtendedIdMask : can::kStandardIdMask),
              what + " has an id beyond its format", std::to_string(id));
}

void exercise(const std::shared_ptr<const can::Profile>& p) {
  for (const auto& f : p->frames) check_id(f.id, p->tx[f.message].codec->extended(), "a TX frame");
  for (const auto& m : p->rx) {
    for (int i = 0; i < m.instances; ++i) {
      check_id(m.id + static_cast<std::uint32_t>(i) * m.id_step, m.codec->extended(),
               "an RX message instance");
    }
  }
  const config::ProfileLayout& l = kLayout;
  can::SimProtocol sim(p, l.n_channels, l.n_sensors, l.n_modules);
  can::BmsProtocol bms(p, l.n_channels, l.n_sensors, l.n_modules, l.cells_per_module,
                       l.sensors_per_module);
  model::AfeData afe;
  const auto nc = static_cast<std::size_t>(l.n_channels);
  const auto ns = static_cast<std::size_t>(l.n_sensors);
  afe.v_meas.assign(nc, 3.7);
  afe.ov_flag.assign(nc, 1);
  afe.uv_flag.assign(nc, 0);
  afe.open_wire.assign(nc, 0);
  afe.v_fault_offset.assign(nc, 0.0);
  afe.balance.assign(nc, 0);
  afe.t_meas_k.assign(ns, 298.15);
  afe.t_fault_offset_k.assign(ns, 0.0);
  afe.ntc_k.assign(ns, 298.15);
  afe.die_temp_k.assign(static_cast<std::size_t>(l.n_modules), 303.15);
  model::ShuntData shunt;
  shunt.current_a = 100.0;
  shunt.pack_v = 355.0;
  // Every frame is due at its phase: a few distinct phases cover them without a tick loop.
  std::set<std::int64_t> times;
  for (const auto& f : p->frames) times.insert(f.phase_ns);
  Capture sent;
  for (auto it = times.begin(); it != times.end() && std::distance(times.begin(), it) < 32; ++it) {
    sent.frames.clear();
    sim.transmit(*it, afe, shunt, sent);
    for (const auto& f : sent.frames) {
      fuzz::check(can::is_valid_frame(f), "the simulator sent an invalid frame");
      bms.receive(f, *it);
    }
  }
  std::vector<std::uint8_t> balance(nc, 1);
  can::BmsCommands cmd;
  cmd.contactors = {true, true, false};
  cmd.balance = balance.data();
  cmd.state = 3;
  Capture commands;
  bms.transmit(0, cmd, commands);
  for (const auto& f : commands.frames) {
    fuzz::check(can::is_valid_frame(f), "the BMS side sent an invalid frame");
    sim.receive(0, f, 1'000'000);
  }
  for (const auto& m : p->rx) {
    for (int i = 0; i < m.instances; ++i) {
      for (const std::uint8_t fill : {std::uint8_t{0xFF}, std::uint8_t{0x00}}) {
        can::CanFrame f;
        m.codec->prepare_frame(f);
        f.id = m.id + static_cast<std::uint32_t>(i) * m.id_step;
        std::fill(f.data.begin(), f.data.begin() + f.len, fill);
        sim.receive(m.bus_index, f, 2'000'000);
      }
    }
  }
  sim.supervise(10'000'000'000);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  // The fuzzed profile's directory also holds every shipped profile's DBC ("packsim.dbc",
  // "foxbms2.dbc"); "../packsim/packsim.dbc" (packsim_fd's) is in the mirror already.
  fuzz::Workspace::get().link_files("profiles/packsim", ".dbc", "profiles/fuzz");
  fuzz::Workspace::get().link_files("profiles/foxbms2", ".dbc", "profiles/fuzz");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path =
      fuzz::Workspace::get().write("profiles/fuzz", "profile.toml", fuzz::as_text(data, size));
  Diagnostics diags;
  const auto profile = config::load_profile(path, kLayout, diags);
  fuzz::check_loaded(profile != nullptr, diags, "load_profile");
  if (profile) exercise(profile);
  return 0;
}
