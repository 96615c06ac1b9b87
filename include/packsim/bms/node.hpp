#pragma once
// The reference BMS as a CAN node: decodes the simulator's frames with the profile's BMS side, runs
// RefBms every cycle, and sends its commands. The same node runs in-process on the loopback bus
// (the embedded default) and as the separate packsim-refbms program on a SocketCAN interface.

#include <cstdint>
#include <memory>
#include <vector>

#include "packsim/bms/ref_bms.hpp"
#include "packsim/can/protocol.hpp"
#include "packsim/hil/can_bus.hpp"

namespace packsim::bms {

struct NodeLayout {
  int n_channels = 0;
  int n_sensors = 0;
  int n_modules = 0;
  int cells_per_module = 0;
  int sensors_per_module = 0;
};

// What the reference BMS reports about itself (can::BmsCommands::observed) from its outputs:
// every Observable, NaN where it has no valid value (SOC before its estimate, min/max without a
// valid measurement).
void fill_observations(const BmsOutputs& outputs, can::BmsCommands& cmd);

class RefBmsNode {
 public:
  RefBmsNode(std::shared_ptr<const can::Profile> profile, const BmsConfig& config,
             const NodeLayout& layout, std::int64_t period_ns);

  // Drains the buses into the decoder; every `period_ns` runs the BMS logic and sends commands.
  // `buses[b]` is the node's end of the profile's logical bus b (n_buses of them; several may be
  // the same transport). Returns true when a BMS cycle ran.
  bool poll(std::int64_t now_ns, hil::CanBus* const* buses, std::size_t n_buses);
  bool poll(std::int64_t now_ns, hil::CanBus& bus) {  // every logical bus on one transport
    hil::CanBus* one = &bus;
    return poll(now_ns, &one, 1);
  }

  bool drive_request = true;
  bool fault_reset = false;

  const BmsOutputs& outputs() const { return out_; }
  const can::BmsProtocol& protocol() const { return protocol_; }
  std::uint64_t cycles() const { return cycles_; }

 private:
  class BusSink;
  RefBms bms_;
  can::BmsProtocol protocol_;
  BmsOutputs out_;
  std::int64_t period_ns_;
  std::int64_t next_cycle_ns_ = 0;
  std::uint64_t cycles_ = 0;
  std::vector<std::int64_t> voltage_rx_ns_;
  std::vector<std::int64_t> temp_rx_ns_;
  std::vector<hil::RxFrame> rx_;
};

}  // namespace packsim::bms
