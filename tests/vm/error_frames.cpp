// vm_error_frames IFACE: measures what becomes of the error frames packsim writes on a SocketCAN
// interface (docs/faults.md, "Error frames on SocketCAN"). packsim's SocketCanBus (open_socketcan)
// sends CanFrame::error frames the way SimProtocol::set_error_frames makes them (class bits in
// id, 8 bytes); three receivers on the same interface:
//   * a raw socket with CAN_RAW_ERR_FILTER = CAN_ERR_MASK (as candump -e and a BMS that watches
//     its controller would): must see each frame with CAN_ERR_FLAG, its class and payload;
//   * a raw socket with the default error mask (0): must see none of them, but does see a
//     data frame sent after them (so an empty queue is not a dead socket);
//   * a second SocketCanBus (subscribes to every error class): must count them as error frames
//     and take the bus state they report.
// Prints one line per check and a summary; exits 0 only if all hold.
#include <linux/can.h>
#include <linux/can/error.h>
#include <linux/can/raw.h>
#include <net/if.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

#include "packsim/hil/can_bus.hpp"

namespace {

int failures = 0;

void check(bool ok, const std::string& what) {
  std::printf("%s %s\n", ok ? "ok  " : "FAIL", what.c_str());
  if (!ok) ++failures;
}

int raw_socket(const char* iface, bool errors) {
  const int fd = ::socket(PF_CAN, SOCK_RAW, CAN_RAW);
  if (fd < 0) return -1;
  ifreq ifr{};
  std::snprintf(ifr.ifr_name, IFNAMSIZ, "%s", iface);
  if (::ioctl(fd, SIOCGIFINDEX, &ifr) < 0) return -1;
  if (errors) {
    const can_err_mask_t mask = CAN_ERR_MASK;
    if (::setsockopt(fd, SOL_CAN_RAW, CAN_RAW_ERR_FILTER, &mask, sizeof mask) < 0) return -1;
  }
  sockaddr_can addr{};
  addr.can_family = AF_CAN;
  addr.can_ifindex = ifr.ifr_ifindex;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) return -1;
  return fd;
}

// One classic frame within timeout_ms; false on timeout.
bool read_frame(int fd, can_frame& f, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, timeout_ms) <= 0) return false;
  return ::read(fd, &f, sizeof f) == static_cast<ssize_t>(sizeof f);
}

packsim::can::CanFrame error_frame(std::uint32_t error_class, std::uint8_t byte1) {
  packsim::can::CanFrame f;  // as SimProtocol::set_error_frames builds it
  f.error = true;
  f.id = error_class;
  f.len = 8;  // CAN_ERR_DLC
  f.data[1] = byte1;
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: vm_error_frames IFACE\n");
    return 2;
  }
  const char* iface = argv[1];
  const int with_mask = raw_socket(iface, true);
  const int without_mask = raw_socket(iface, false);
  packsim::hil::SocketCanOptions opt;
  opt.interface = iface;
  auto tx = packsim::hil::open_socketcan(opt);
  auto rx = packsim::hil::open_socketcan(opt);
  if (with_mask < 0 || without_mask < 0 || !tx.bus || !rx.bus) {
    std::fprintf(stderr, "vm_error_frames: cannot open %s: %s %s %s\n", iface, std::strerror(errno),
                 tx.message.c_str(), rx.message.c_str());
    return 1;
  }

  // Three classes a BMS would react to: controller error-passive, bus-off, restarted.
  const packsim::can::CanFrame sent[] = {
      error_frame(CAN_ERR_CRTL, CAN_ERR_CRTL_RX_PASSIVE | CAN_ERR_CRTL_TX_PASSIVE),
      error_frame(CAN_ERR_BUSOFF, 0),
      error_frame(CAN_ERR_RESTARTED, 0),
  };
  int accepted = 0;
  for (const auto& f : sent) {
    const auto r = tx.bus->send(f);
    accepted += r == packsim::hil::TxResult::kOk ? 1 : 0;
    std::printf("send error class 0x%03x: %s%s\n", static_cast<unsigned>(f.id),
                r == packsim::hil::TxResult::kOk ? "accepted" : "refused: ",
                r == packsim::hil::TxResult::kOk ? "" : std::strerror(errno));
  }
  check(accepted == 3, "the kernel accepts error frames written by SocketCanBus (write())");

  // A data frame after them: proves the unsubscribed socket is alive and keeps the order.
  packsim::can::CanFrame data;
  data.id = 0x123;
  data.len = 2;
  data.data[0] = 0xAB;
  check(tx.bus->send(data) == packsim::hil::TxResult::kOk, "data frame sent");

  int seen = 0;
  for (const auto& f : sent) {
    can_frame got{};
    if (!read_frame(with_mask, got, 1000)) break;
    const bool same = (got.can_id & CAN_ERR_FLAG) != 0 && (got.can_id & CAN_ERR_MASK) == f.id &&
                      got.can_dlc == CAN_ERR_DLC && got.data[1] == f.data[1];
    std::printf("ERR_FILTER socket got can_id 0x%08x dlc %u data[1] 0x%02x\n",
                static_cast<unsigned>(got.can_id), got.can_dlc, got.data[1]);
    seen += same ? 1 : 0;
  }
  check(seen == 3, "a socket with CAN_RAW_ERR_FILTER receives all 3 with CAN_ERR_FLAG and class");
  can_frame got{};
  check(read_frame(with_mask, got, 1000) && got.can_id == 0x123,
        "...then the data frame, in order");

  check(read_frame(without_mask, got, 1000) && got.can_id == 0x123,
        "a socket without an error mask receives only the data frame");
  check(!read_frame(without_mask, got, 200), "...and nothing else");

  packsim::hil::RxFrame frames[8];
  std::size_t n = 0;
  for (int i = 0; i < 50 && n < 4; ++i) {
    n += rx.bus->receive(frames + n, 8 - n);
    if (n < 4) ::usleep(20000);
  }
  const auto& st = rx.bus->stats();
  check(n == 4 && st.error_frames == 3 && st.bus_off == 1 && st.restarts == 1 && st.rx_frames == 1,
        "a receiving SocketCanBus counts 3 error frames (1 bus-off, 1 restart) and 1 frame");
  check(rx.bus->state() == packsim::hil::BusState::kErrorActive,
        "...and ends error-active (the last class sent was 'restarted')");
  std::printf("vm_error_frames: %s on %s: sent %d error frames, ERR_FILTER socket saw %d\n",
              failures == 0 ? "all checks passed" : "FAILED", iface, accepted, seen);
  ::close(with_mask);
  ::close(without_mask);
  return failures == 0 ? 0 : 1;
}
