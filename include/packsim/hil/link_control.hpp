#pragma once
// Link control of real CAN interfaces through libsocketcan (netlink): bitrate, restart-ms,
// start/stop, state and error counters; txqueuelen through an ioctl. Setup helpers that return {ok,
// message} instead of aborting. Never called on the tick thread: a netlink round trip can block.

#include <cstdint>
#include <optional>
#include <string>

namespace packsim::hil {

struct LinkResult {
  bool ok = true;
  std::string message;
};

struct LinkConfig {
  std::string interface;
  std::optional<std::uint32_t> bitrate;       // bit/s; the interface is stopped and restarted
  std::optional<std::uint32_t> sample_point;  // per mille, e.g. 875; with bitrate
  std::optional<std::uint32_t> restart_ms;    // automatic bus-off recovery
  std::optional<int> txqueuelen;              // frames; the kernel default of 10 drops bursts
};

// Applies what is set in `config`. Virtual interfaces (vcan) have no bit timing: asking for a
// bitrate on one fails with a clear message.
LinkResult configure_link(const LinkConfig& config);

struct LinkStatus {
  std::string state;  // "error-active", "bus-off", ... or "unknown" (vcan has none)
  std::uint16_t tx_errors = 0;
  std::uint16_t rx_errors = 0;
  std::uint32_t bitrate = 0;
  bool has_counters = false;
};
LinkResult read_link_status(const std::string& interface, LinkStatus& status);

}  // namespace packsim::hil
