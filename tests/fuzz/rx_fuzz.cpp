// Received frames into a shipped profile's receive paths: the simulator's (SimProtocol::receive,
// the BMS's commands: contactors, balancing) and the reference BMS node's (BmsProtocol::receive,
// the AFE and current-sensor frames, then RefBms's cycle and its own commands, which go back to
// the simulator). Every frame of the input goes to both, as both ends of a bus see all traffic.
// PACKSIM_FUZZ_SCENARIO names the shipped scenario whose pack, profile and BMS settings are used.
// Each frame must be counted exactly once (accepted, unknown, error frame or one kind of
// rejection), and the balancing commands stay 0/1 per channel.
#include <memory>
#include <vector>

#include "fuzz_support.hpp"
#include "packsim/bms/node.hpp"
#include "packsim/can/protocol.hpp"
#include "packsim/config/loaders.hpp"
#include "packsim/hil/can_bus.hpp"
#include "packsim/model/afe.hpp"
#include "packsim/model/pack.hpp"
#include "packsim/sim/session.hpp"
#include "rx_input.hpp"

using namespace packsim;

namespace {

struct Setup {
  sim::Scenario scenario;
  model::AfeModel afe;
  bms::BmsConfig bms;
  bms::NodeLayout layout;
};
std::unique_ptr<Setup> g_setup;

std::uint64_t counted(const can::ProtocolStats& s) {
  return s.rx_frames + s.rx_unknown + s.rx_error_frames + s.rx_malformed + s.e2e_bad_crc +
         s.e2e_repeated + s.e2e_lost;
}

// The node's end of the bus: hands it the frames queued by the harness; what it sends goes to
// the simulator's receive path.
class FuzzBus final : public hil::CanBus {
 public:
  explicit FuzzBus(can::SimProtocol& sim) : sim_(sim) {}
  const std::string& name() const override { return name_; }
  bool fd_capable() const override { return true; }
  std::size_t receive(hil::RxFrame* out, std::size_t max) override {
    const std::size_t n = std::min(max, pending.size());
    for (std::size_t k = 0; k < n; ++k) out[k].frame = pending[k];
    pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(n));
    delivered += n;
    return n;
  }
  hil::TxResult send(const can::CanFrame& frame) override {
    fuzz::check(can::is_valid_frame(frame), "the reference BMS sent an invalid frame");
    sim_.receive(0, frame, now);
    ++sent;
    return hil::TxResult::kOk;
  }
  hil::BusState state() const override { return hil::BusState::kUnknown; }
  const hil::BusStats& stats() const override { return stats_; }

  std::vector<can::CanFrame> pending;
  std::uint64_t delivered = 0;
  std::uint64_t sent = 0;
  std::int64_t now = 0;

 private:
  can::SimProtocol& sim_;
  std::string name_ = "fuzz0";
  hil::BusStats stats_;
};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  Diagnostics diags;
  auto sc = config::load_scenario(fuzz::source_dir() / PACKSIM_FUZZ_SCENARIO, diags);
  if (!sc || !sc->profile) fuzz::finding("harness: the scenario does not load", diags.format());
  auto s = std::make_unique<Setup>();
  s->scenario = std::move(*sc);
  const sim::Scenario& c = s->scenario;
  const model::PackModel pack =
      model::build_pack_model(c.pack, c.cell, c.tick_ns, {c.initial_soc, c.initial_temp_k, c.seed});
  s->afe = model::build_afe_model(c.afe, pack);
  const sim::SetupResult r = sim::reference_bms_config(c, s->afe, s->bms, s->layout);
  if (!r.ok) fuzz::finding("harness: no reference BMS configuration", r.message);
  g_setup = std::move(s);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const Setup& s = *g_setup;
  const sim::Scenario& c = s.scenario;
  // Fresh state for every input: what one input did must not change how the next one runs.
  can::SimProtocol sim(c.profile, s.afe.n_channels, s.afe.n_sensors, s.afe.n_modules);
  bms::RefBmsNode node(c.profile, s.bms, s.layout, c.bms.period_ns);
  FuzzBus bus(sim);
  std::uint64_t to_sim = 0;
  std::size_t pos = 0;
  fuzz::RxRecord rec;
  while (fuzz::next_rx_record(data, size, pos, rec)) {
    bus.now += rec.delta_ns;
    sim.receive(0, rec.frame, bus.now);
    ++to_sim;
    bus.pending.push_back(rec.frame);
    sim.supervise(bus.now);
    node.poll(bus.now, bus);
  }
  fuzz::check(counted(sim.stats()) == to_sim + bus.sent,
              "the simulator counted " + std::to_string(counted(sim.stats())) + " of " +
                  std::to_string(to_sim + bus.sent) + " frames");
  fuzz::check(counted(node.protocol().stats()) == bus.delivered,
              "the BMS side counted " + std::to_string(counted(node.protocol().stats())) + " of " +
                  std::to_string(bus.delivered) + " frames");
  for (const std::uint8_t b : sim.commands().balance) {
    fuzz::check(b <= 1, "a balancing command other than 0/1");
  }
  return 0;
}
