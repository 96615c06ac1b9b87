// SocketCAN raw socket, set up the way can-utils' candump/cangen and cannelloni do it.
#include <fcntl.h>
#include <linux/can.h>
#include <linux/can/error.h>
#include <linux/can/raw.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "packsim/hil/can_bus.hpp"

namespace packsim::hil {
namespace {

std::int64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

class SocketCanBus final : public CanBus {
 public:
  explicit SocketCanBus(SocketCanOptions opt) : opt_(std::move(opt)) {}
  ~SocketCanBus() override { close_socket(); }

  // Opens the socket; false when it cannot, with the reason in message(). Allocation-free (the
  // message is a fixed buffer), because poll() reopens a vanished interface on the tick thread.
  bool open_socket() {
    close_socket();
    const int fd = socket(PF_CAN, SOCK_RAW, CAN_RAW);
    if (fd < 0) return fail_errno("socket(PF_CAN)");
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, opt_.interface.c_str(), IFNAMSIZ - 1);
    if (ioctl(fd, SIOCGIFINDEX, &ifr) < 0) {
      std::snprintf(message_, sizeof message_, "interface '%s': %s", ifr.ifr_name,
                    std::strerror(errno));
      ::close(fd);
      return false;
    }
    const int ifindex = ifr.ifr_ifindex;
    // CAN FD only where the interface's MTU says the controller can carry it.
    fd_capable_ = false;
    if (opt_.enable_fd && ioctl(fd, SIOCGIFMTU, &ifr) == 0 && ifr.ifr_mtu == CANFD_MTU) {
      const int on = 1;
      fd_capable_ = setsockopt(fd, SOL_CAN_RAW, CAN_RAW_FD_FRAMES, &on, sizeof on) == 0;
    }
    const can_err_mask_t err_mask = CAN_ERR_MASK;
    setsockopt(fd, SOL_CAN_RAW, CAN_RAW_ERR_FILTER, &err_mask, sizeof err_mask);
    const int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &on, sizeof on);
    setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
    if (opt_.receive_buffer_bytes > 0) {
      // FORCE passes net.core.rmem_max (needs CAP_NET_ADMIN); otherwise take what we may.
      if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &opt_.receive_buffer_bytes,
                     sizeof opt_.receive_buffer_bytes) != 0) {
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &opt_.receive_buffer_bytes,
                   sizeof opt_.receive_buffer_bytes);
      }
    }
    const int flags = fcntl(fd, F_GETFL, 0);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
      fail_errno("fcntl(O_NONBLOCK)");
      ::close(fd);
      return false;
    }
    sockaddr_can addr{};
    addr.can_family = AF_CAN;
    addr.can_ifindex = ifindex;
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) {
      std::snprintf(message_, sizeof message_, "bind(%s): %s", ifr.ifr_name, std::strerror(errno));
      ::close(fd);
      return false;
    }
    fd_ = fd;
    state_ = BusState::kUnknown;
    last_drops_ = 0;
    std::snprintf(message_, sizeof message_, "%s",
                  fd_capable_
                      ? "CAN FD"
                      : (opt_.enable_fd ? "classic CAN (MTU 16: no CAN FD)" : "classic CAN"));
    return true;
  }
  const char* message() const { return message_; }

  const std::string& name() const override { return opt_.interface; }
  bool fd_capable() const override { return fd_capable_; }
  BusState state() const override { return state_; }
  const BusStats& stats() const override { return stats_; }

  std::size_t receive(RxFrame* out, std::size_t max) override {
    if (fd_ < 0) return 0;
    std::size_t n = 0;
    while (n < max) {
      canfd_frame raw{};
      iovec iov{&raw, sizeof raw};
      alignas(
          cmsghdr) char control[CMSG_SPACE(sizeof(timespec)) + CMSG_SPACE(sizeof(std::uint32_t))];
      msghdr msg{};
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = control;
      msg.msg_controllen = sizeof control;
      const ssize_t bytes = recvmsg(fd_, &msg, MSG_DONTWAIT);
      if (bytes < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) break;
        mark_down(errno);
        break;
      }
      if (bytes != static_cast<ssize_t>(CAN_MTU) && bytes != static_cast<ssize_t>(CANFD_MTU)) {
        ++stats_.rx_invalid;
        continue;
      }
      RxFrame& f = out[n];
      f.timestamp_ns = 0;
      for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET) continue;
        if (c->cmsg_type == SCM_TIMESTAMPNS) {
          timespec ts{};
          std::memcpy(&ts, CMSG_DATA(c), sizeof ts);
          f.timestamp_ns = static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
        } else if (c->cmsg_type == SO_RXQ_OVFL) {
          std::uint32_t drops = 0;
          std::memcpy(&drops, CMSG_DATA(c), sizeof drops);
          // The kernel reports a running total for the socket.
          stats_.rx_dropped += static_cast<std::uint32_t>(drops - last_drops_);
          last_drops_ = drops;
        }
      }
      convert(raw, bytes == static_cast<ssize_t>(CANFD_MTU), f.frame);
      if (f.frame.error) {
        on_error_frame(raw);
      } else {
        ++stats_.rx_frames;
        if (state_ == BusState::kDown) state_ = BusState::kUnknown;
      }
      ++n;
    }
    return n;
  }

  TxResult send(const can::CanFrame& f) override {
    if (fd_ < 0) {
      ++stats_.tx_failed;
      return TxResult::kDown;
    }
    if (f.fd && !fd_capable_) {
      ++stats_.tx_failed;
      return TxResult::kUnsupported;
    }
    canfd_frame raw{};
    // An error frame (CanFrame::error, its class bits in id) goes out with CAN_ERR_FLAG: the
    // kernel delivers it only to sockets whose CAN_RAW_ERR_FILTER has one of those bits
    // (docs/faults.md: what vcan can show).
    raw.can_id = f.error ? (f.id & CAN_ERR_MASK) | CAN_ERR_FLAG
                         : f.id | (f.extended ? CAN_EFF_FLAG : 0u) | (f.rtr ? CAN_RTR_FLAG : 0u);
    raw.len = f.len;
    if (f.fd) raw.flags = static_cast<__u8>((f.brs ? CANFD_BRS : 0) | (f.esi ? CANFD_ESI : 0));
    std::memcpy(raw.data, f.data.data(), f.len);
    const std::size_t size = f.fd ? CANFD_MTU : CAN_MTU;
    const ssize_t w = ::write(fd_, &raw, size);
    if (w == static_cast<ssize_t>(size)) {
      ++stats_.tx_frames;
      if (state_ == BusState::kDown) state_ = BusState::kUnknown;
      return TxResult::kOk;
    }
    if (w < 0 && (errno == ENOBUFS || errno == EAGAIN || errno == EWOULDBLOCK)) {
      ++stats_.tx_queue_full;  // counted, not retried: the tick goes on
      return TxResult::kQueueFull;
    }
    if (w < 0 && (errno == ENETDOWN || errno == ENODEV || errno == ENXIO)) {
      mark_down(errno);
      ++stats_.tx_failed;
      return TxResult::kDown;
    }
    ++stats_.tx_failed;
    return TxResult::kError;
  }

  void poll() override {
    // A vanished interface (ENODEV) needs a new socket once it is back; a downed one (ENETDOWN)
    // keeps its socket and recovers on the next successful read or write.
    if (!need_reopen_) return;
    const std::int64_t now_ns = monotonic_ns();
    if (now_ns - last_reopen_ns_ < opt_.reopen_interval_ns) return;
    last_reopen_ns_ = now_ns;
    if (open_socket()) {
      need_reopen_ = false;
      ++stats_.reopens;
    }
  }

 private:
  static void convert(const canfd_frame& raw, bool fd, can::CanFrame& f) {
    f.error = (raw.can_id & CAN_ERR_FLAG) != 0;
    f.extended = (raw.can_id & CAN_EFF_FLAG) != 0;
    f.rtr = !fd && (raw.can_id & CAN_RTR_FLAG) != 0;
    f.id = f.error ? (raw.can_id & CAN_ERR_MASK)
                   : (raw.can_id & (f.extended ? CAN_EFF_MASK : CAN_SFF_MASK));
    f.fd = fd;
    f.brs = fd && (raw.flags & CANFD_BRS) != 0;
    f.esi = fd && (raw.flags & CANFD_ESI) != 0;
    f.len = raw.len > (fd ? CANFD_MAX_DLEN : CAN_MAX_DLEN)
                ? static_cast<std::uint8_t>(fd ? CANFD_MAX_DLEN : CAN_MAX_DLEN)
                : raw.len;
    std::memcpy(f.data.data(), raw.data, f.len);
  }

  void on_error_frame(const canfd_frame& raw) {
    ++stats_.error_frames;
    const canid_t cls = raw.can_id & CAN_ERR_MASK;
    if (cls & CAN_ERR_BUSOFF) {
      ++stats_.bus_off;
      state_ = BusState::kBusOff;
    }
    if (cls & CAN_ERR_RESTARTED) {
      ++stats_.restarts;
      state_ = BusState::kErrorActive;
    }
    if (cls & CAN_ERR_CRTL) {
      const __u8 c = raw.data[1];
      if (c & (CAN_ERR_CRTL_RX_PASSIVE | CAN_ERR_CRTL_TX_PASSIVE)) {
        state_ = BusState::kErrorPassive;
      } else if (c & (CAN_ERR_CRTL_RX_WARNING | CAN_ERR_CRTL_TX_WARNING)) {
        state_ = BusState::kErrorWarning;
      } else if (c & CAN_ERR_CRTL_ACTIVE) {
        state_ = BusState::kErrorActive;
      }
    }
  }

  void mark_down(int err) {
    if (state_ != BusState::kDown) ++stats_.down_events;
    state_ = BusState::kDown;
    if (err == ENODEV || err == ENXIO) {
      close_socket();
      need_reopen_ = true;
      last_reopen_ns_ = monotonic_ns();
    }
  }

  void close_socket() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  bool fail_errno(const char* what) {
    std::snprintf(message_, sizeof message_, "%s: %s", what, std::strerror(errno));
    return false;
  }

  SocketCanOptions opt_;
  int fd_ = -1;
  bool fd_capable_ = false;
  BusState state_ = BusState::kUnknown;
  BusStats stats_;
  std::uint32_t last_drops_ = 0;
  bool need_reopen_ = false;
  std::int64_t last_reopen_ns_ = 0;
  char message_[160] = "";
};

}  // namespace

OpenResult open_socketcan(const SocketCanOptions& options) {
  OpenResult r;
  auto bus = std::make_unique<SocketCanBus>(options);
  const bool ok = bus->open_socket();
  r.message = bus->message();
  if (!ok) return r;
  r.bus = std::move(bus);
  return r;
}

}  // namespace packsim::hil
