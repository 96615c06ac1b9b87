#include "packsim/hil/link_control.hpp"

#include <libsocketcan.h>
#include <linux/can/netlink.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace packsim::hil {
namespace {

LinkResult fail(const std::string& iface, const char* what) {
  return {false, iface + ": " + what + " failed (" + std::strerror(errno) +
                     "); needs root/CAP_NET_ADMIN and a real CAN controller"};
}

const char* state_name(int state) {
  switch (state) {
    case CAN_STATE_ERROR_ACTIVE:
      return "error-active";
    case CAN_STATE_ERROR_WARNING:
      return "error-warning";
    case CAN_STATE_ERROR_PASSIVE:
      return "error-passive";
    case CAN_STATE_BUS_OFF:
      return "bus-off";
    case CAN_STATE_STOPPED:
      return "stopped";
    case CAN_STATE_SLEEPING:
      return "sleeping";
    default:
      return "unknown";
  }
}

}  // namespace

LinkResult configure_link(const LinkConfig& c) {
  const char* name = c.interface.c_str();
  if (if_nametoindex(name) == 0) return {false, "no interface '" + c.interface + "'"};
  if (c.bitrate || c.restart_ms) {
    if (can_do_stop(name) != 0) return fail(c.interface, "stop");
    // A failed setting must not leave the interface down: start it again before reporting.
    auto fail_started = [&](const char* what) {
      LinkResult r = fail(c.interface, what);
      can_do_start(name);
      return r;
    };
    if (c.bitrate) {
      const int rc = c.sample_point ? can_set_bitrate_samplepoint(name, *c.bitrate, *c.sample_point)
                                    : can_set_bitrate(name, *c.bitrate);
      if (rc != 0) return fail_started("setting the bitrate");
    }
    if (c.restart_ms && can_set_restart_ms(name, *c.restart_ms) != 0) {
      return fail_started("setting restart-ms");
    }
    if (can_do_start(name) != 0) return fail(c.interface, "start");
  }
  if (c.txqueuelen) {
    const int fd = socket(AF_INET, SOCK_DGRAM, 0);
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
    ifr.ifr_qlen = *c.txqueuelen;
    const int rc = fd >= 0 ? ioctl(fd, SIOCSIFTXQLEN, &ifr) : -1;
    if (fd >= 0) close(fd);
    if (rc != 0) return fail(c.interface, "setting txqueuelen");
  }
  return {true, "configured " + c.interface};
}

LinkResult read_link_status(const std::string& iface, LinkStatus& s) {
  const char* name = iface.c_str();
  if (if_nametoindex(name) == 0) return {false, "no interface '" + iface + "'"};
  int state = -1;
  s.state = can_get_state(name, &state) == 0 ? state_name(state) : "unknown";
  can_berr_counter bc{};
  s.has_counters = can_get_berr_counter(name, &bc) == 0;
  if (s.has_counters) {
    s.tx_errors = bc.txerr;
    s.rx_errors = bc.rxerr;
  }
  can_bittiming bt{};
  if (can_get_bittiming(name, &bt) == 0) s.bitrate = bt.bitrate;
  return {true, ""};
}

}  // namespace packsim::hil
