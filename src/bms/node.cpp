#include "packsim/bms/node.hpp"

#include <algorithm>

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
  BusSink sink(buses, n_buses);
  protocol_.transmit(now_ns, cmd, sink);
  return true;
}

}  // namespace packsim::bms
