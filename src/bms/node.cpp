#include "packsim/bms/node.hpp"

#include <algorithm>
#include <limits>

namespace packsim::bms {

class RefBmsNode::BusSink final : public can::FrameSink {
 public:
  BusSink(hil::CanBus* const* buses, std::size_t n) : buses_(buses), n_(n) {}
  bool send(std::size_t bus, const can::CanFrame& frame) override {
    // With a single transport every logical bus goes there.
    hil::CanBus* b = buses_[bus < n_ ? bus : 0];
    return b->send(frame) == hil::TxResult::kOk;
  }

 private:
  hil::CanBus* const* buses_;
  std::size_t n_;
};

RefBmsNode::RefBmsNode(std::shared_ptr<const can::Profile> profile, const BmsConfig& config,
                       const NodeLayout& l, std::int64_t period_ns)
    : bms_(config),
      protocol_(std::move(profile), l.n_channels, l.n_sensors, l.n_modules, l.cells_per_module,
                l.sensors_per_module),
      out_(config),
      period_ns_(period_ns),
      voltage_rx_ns_(static_cast<std::size_t>(l.n_modules), kNoFrame),
      temp_rx_ns_(static_cast<std::size_t>(l.n_modules), kNoFrame),
      rx_(256) {}

void fill_observations(const BmsOutputs& o, can::BmsCommands& cmd) {
  using can::Observable;
  auto set = [&](Observable k, double v) { cmd.observed[static_cast<std::size_t>(k)] = v; };
  const double nan = std::numeric_limits<double>::quiet_NaN();
  set(Observable::kState, static_cast<double>(o.state));
  set(Observable::kFault, o.faults != Fault::kNone ? 1.0 : 0.0);
  set(Observable::kFaultCode, fault_code(o.first_fault));
  set(Observable::kMainPos, o.contactors.main_pos ? 1.0 : 0.0);
  set(Observable::kMainNeg, o.contactors.main_neg ? 1.0 : 0.0);
  set(Observable::kPrecharge, o.contactors.precharge ? 1.0 : 0.0);
  set(Observable::kSoc, o.soc_valid ? o.soc : nan);
  set(Observable::kSoh, o.soh);
  set(Observable::kChargeCurrentLimit, o.charge_current_limit_a);
  set(Observable::kDischargeCurrentLimit, o.discharge_current_limit_a);
  set(Observable::kChargePowerLimit, o.charge_power_limit_w);
  set(Observable::kDischargePowerLimit, o.discharge_power_limit_w);
  const bool balancing =
      std::any_of(o.balance.begin(), o.balance.end(), [](std::uint8_t b) { return b != 0; });
  set(Observable::kBalancing, balancing ? 1.0 : 0.0);
  set(Observable::kCellVMin, o.cell_v_min_index >= 0 ? o.cell_v_min_v : nan);
  set(Observable::kCellVMax, o.cell_v_max_index >= 0 ? o.cell_v_max_v : nan);
  set(Observable::kTempMin, o.temp_min_index >= 0 ? o.temp_min_k : nan);
  set(Observable::kTempMax, o.temp_max_index >= 0 ? o.temp_max_k : nan);
  cmd.cell_soc = o.cell_soc.data();
}

bool RefBmsNode::poll(std::int64_t now_ns, hil::CanBus* const* buses, std::size_t n_buses) {
  for (std::size_t b = 0; b < n_buses; ++b) {
    // A transport shared by several logical buses is drained once.
    if (std::find(buses, buses + b, buses[b]) != buses + b) continue;
    for (;;) {
      const std::size_t n = buses[b]->receive(rx_.data(), rx_.size());
      for (std::size_t k = 0; k < n; ++k) protocol_.receive(rx_[k].frame, now_ns);
      if (n < rx_.size()) break;
    }
  }
  if (now_ns < next_cycle_ns_) return false;
  next_cycle_ns_ = now_ns + period_ns_;
  ++cycles_;
  const can::BmsView& v = protocol_.view();
  // The decoder marks "never" as -1; the BMS logic as kNoFrame.
  for (std::size_t m = 0; m < voltage_rx_ns_.size(); ++m) {
    voltage_rx_ns_[m] = v.module_voltage_rx_ns[m] < 0 ? kNoFrame : v.module_voltage_rx_ns[m];
    temp_rx_ns_[m] = v.module_temp_rx_ns[m] < 0 ? kNoFrame : v.module_temp_rx_ns[m];
  }
  BmsInputs in;
  in.now_ns = now_ns;
  in.cell_v = Span<const double>(v.cell_v.data(), v.cell_v.size());
  in.cell_v_valid = Span<const std::uint8_t>(v.cell_valid.data(), v.cell_valid.size());
  in.temp_k = Span<const double>(v.temp_k.data(), v.temp_k.size());
  in.temp_valid = Span<const std::uint8_t>(v.temp_valid.data(), v.temp_valid.size());
  in.cell_hw_ov = Span<const std::uint8_t>(v.cell_hw_ov.data(), v.cell_hw_ov.size());
  in.cell_hw_uv = Span<const std::uint8_t>(v.cell_hw_uv.data(), v.cell_hw_uv.size());
  in.current_a = v.current_a;
  in.current_valid = v.current_valid;
  in.vent_gas_ppm = v.gas_ppm;
  in.vent_gas_valid = v.gas_valid;
  in.insulation_ohm = v.insulation_ohm;
  in.insulation_valid = v.insulation_valid;
  in.pack_v = v.pack_v;
  in.pack_v_valid = v.voltages_valid;
  in.link_v = v.link_v;
  in.link_v_valid = v.voltages_valid;
  in.voltage_frame_ns = Span<const std::int64_t>(voltage_rx_ns_.data(), voltage_rx_ns_.size());
  in.temp_frame_ns = Span<const std::int64_t>(temp_rx_ns_.data(), temp_rx_ns_.size());
  in.current_frame_ns = v.current_rx_ns < 0 ? kNoFrame : v.current_rx_ns;
  const can::ProtocolStats& st = protocol_.stats();
  in.rejected_crc = static_cast<std::uint32_t>(st.e2e_bad_crc + st.rx_malformed);
  in.rejected_counter = static_cast<std::uint32_t>(st.e2e_repeated + st.e2e_lost);
  in.drive_request = drive_request;
  in.fault_reset = fault_reset;
  bms_.update(in, out_);
  can::BmsCommands cmd;
  cmd.contactors = out_.contactors;
  cmd.balance = out_.balance.data();
  cmd.state = static_cast<std::uint8_t>(out_.state);
  fill_observations(out_, cmd);
  BusSink sink(buses, n_buses);
  protocol_.transmit(now_ns, cmd, sink);
  return true;
}

}  // namespace packsim::bms
