// socketcan_probe IFACE: a small C++ program (libstdc++, libc) that the vm tests run through the
// vcan-vm harness, inside the VM or natively. It checks what packsim's SocketCAN transport relies
// on: a CAN_RAW socket binds to IFACE, the interface MTU says whether CAN FD frames are allowed,
// a classic and (if allowed) an FD frame sent on one socket arrive on another, the receive
// timestamps are sane, txqueuelen absorbs a burst, and CLOCK_MONOTONIC advances. Prints a report
// and exits 0 only if everything holds.
#include <linux/can.h>
#include <linux/can/raw.h>
#include <net/if.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace {

int failures = 0;

void check(bool ok, const std::string& what) {
  std::cout << (ok ? "ok   " : "FAIL ") << what << '\n';
  if (!ok) {
    ++failures;
  }
}

class Socket {
 public:
  explicit Socket(const std::string& iface) : fd_(::socket(PF_CAN, SOCK_RAW, CAN_RAW)) {
    if (fd_ < 0) {
      throw std::runtime_error("socket(PF_CAN): " + std::string(std::strerror(errno)));
    }
    ifreq ifr{};
    std::snprintf(ifr.ifr_name, IFNAMSIZ, "%s", iface.c_str());
    if (::ioctl(fd_, SIOCGIFINDEX, &ifr) < 0) {
      throw std::runtime_error("SIOCGIFINDEX " + iface + ": " + std::strerror(errno));
    }
    ifindex_ = ifr.ifr_ifindex;
    if (::ioctl(fd_, SIOCGIFMTU, &ifr) < 0) {
      throw std::runtime_error("SIOCGIFMTU: " + std::string(std::strerror(errno)));
    }
    mtu_ = ifr.ifr_mtu;
    sockaddr_can addr{};
    addr.can_family = AF_CAN;
    addr.can_ifindex = ifindex_;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) {
      throw std::runtime_error("bind: " + std::string(std::strerror(errno)));
    }
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  ~Socket() { ::close(fd_); }

  int fd() const { return fd_; }
  std::uint32_t dropped() const { return dropped_; }
  int mtu() const { return mtu_; }

  void set_int(int level, int name, int value) {
    if (::setsockopt(fd_, level, name, &value, sizeof value) < 0) {
      throw std::runtime_error("setsockopt: " + std::string(std::strerror(errno)));
    }
  }

  // Receives one frame (classic or FD) within timeout_ms; returns its size (0 on timeout).
  // Also updates dropped() from SO_RXQ_OVFL (frames the kernel dropped: receive buffer full).
  std::size_t receive(canfd_frame& frame, timeval& stamp, int timeout_ms) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) {
      return 0;
    }
    iovec iov{&frame, sizeof frame};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(timeval)) + CMSG_SPACE(sizeof(std::uint32_t))];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    const ssize_t n = ::recvmsg(fd_, &msg, 0);
    if (n < 0) {
      throw std::runtime_error("recvmsg: " + std::string(std::strerror(errno)));
    }
    stamp = timeval{};
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_TIMESTAMP) {
        std::memcpy(&stamp, CMSG_DATA(c), sizeof stamp);
      } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
        std::memcpy(&dropped_, CMSG_DATA(c), sizeof dropped_);
      }
    }
    return static_cast<std::size_t>(n);
  }

 private:
  int fd_;
  int ifindex_ = 0;
  int mtu_ = 0;
  std::uint32_t dropped_ = 0;
};

std::int64_t monotonic_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

std::string hex(const unsigned char* data, std::size_t len) {
  std::ostringstream s;
  for (std::size_t i = 0; i < len; ++i) {
    static const char* const digits = "0123456789ABCDEF";
    s << digits[data[i] >> 4] << digits[data[i] & 0x0F];
  }
  return s.str();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: socketcan_probe IFACE\n";
    return 2;
  }
  const std::string iface = argv[1];
  try {
    const std::int64_t t0 = monotonic_ns();
    Socket tx(iface);
    Socket rx(iface);
    std::cout << "iface " << iface << " mtu " << rx.mtu() << '\n';
    check(rx.mtu() == CAN_MTU || rx.mtu() == CANFD_MTU, "MTU is CAN_MTU or CANFD_MTU");
    const bool fd = rx.mtu() == CANFD_MTU;
    if (fd) {
      tx.set_int(SOL_CAN_RAW, CAN_RAW_FD_FRAMES, 1);
      rx.set_int(SOL_CAN_RAW, CAN_RAW_FD_FRAMES, 1);
    }
    rx.set_int(SOL_SOCKET, SO_TIMESTAMP, 1);
    rx.set_int(SOL_SOCKET, SO_RXQ_OVFL, 1);
    // The default receive buffer (rmem_default, ~212 KB) holds ~280 frames: a burst read late
    // overflows it. SO_RCVBUFFORCE (root) passes rmem_max; otherwise SO_RCVBUF, capped by it.
    constexpr int rcvbuf = 2 * 1024 * 1024;
    if (::setsockopt(rx.fd(), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0) {
      rx.set_int(SOL_SOCKET, SO_RCVBUF, rcvbuf);
    }

    can_frame classic{};
    classic.can_id = 0x123;
    classic.len = 4;
    const unsigned char payload[] = {0xDE, 0xAD, 0xBE, 0xEF};
    std::memcpy(classic.data, payload, sizeof payload);
    check(::write(tx.fd(), &classic, sizeof classic) == static_cast<ssize_t>(sizeof classic),
          "write classic frame 123#DEADBEEF");
    canfd_frame fdframe{};
    if (fd) {
      fdframe.can_id = 0x18DAF110U | CAN_EFF_FLAG;
      fdframe.len = 64;
      fdframe.flags = CANFD_BRS;
      for (unsigned i = 0; i < 64; ++i) {
        fdframe.data[i] = static_cast<unsigned char>(i);
      }
      check(::write(tx.fd(), &fdframe, sizeof fdframe) == static_cast<ssize_t>(sizeof fdframe),
            "write CAN FD frame, 64 bytes, BRS, extended id");
    }

    canfd_frame got{};
    timeval stamp{};
    const std::size_t n1 = rx.receive(got, stamp, 2000);
    check(n1 == CAN_MTU && got.can_id == 0x123 && got.len == 4 &&
              std::memcmp(got.data, payload, 4) == 0,
          "received 123#" + hex(got.data, got.len));
    timeval now{};
    ::gettimeofday(&now, nullptr);
    check(stamp.tv_sec > 1'600'000'000 && stamp.tv_sec <= now.tv_sec,
          "receive timestamp is wall-clock time (" + std::to_string(stamp.tv_sec) + ")");
    if (fd) {
      const std::size_t n2 = rx.receive(got, stamp, 2000);
      check(n2 == CANFD_MTU && got.can_id == fdframe.can_id && got.len == 64 &&
                (got.flags & CANFD_BRS) != 0 && std::memcmp(got.data, fdframe.data, 64) == 0,
            "received CAN FD frame " + hex(got.data, 8) + "...");
    }

    // A burst: with txqueuelen 1000 no write fails with ENOBUFS and every frame arrives in order.
    constexpr unsigned burst = 300;
    unsigned written = 0;
    for (unsigned i = 0; i < burst; ++i) {
      can_frame f{};
      f.can_id = 0x321;
      f.len = 2;
      f.data[0] = static_cast<unsigned char>(i >> 8);
      f.data[1] = static_cast<unsigned char>(i & 0xFF);
      if (::write(tx.fd(), &f, sizeof f) == static_cast<ssize_t>(sizeof f)) {
        ++written;
      }
    }
    check(written == burst, "burst of " + std::to_string(burst) + " frames written, no ENOBUFS");
    unsigned in_order = 0;
    while (in_order < burst && rx.receive(got, stamp, 2000) != 0) {
      const unsigned seq = static_cast<unsigned>(got.data[0]) << 8 | got.data[1];
      if (got.can_id != 0x321 || seq != in_order) {
        break;
      }
      ++in_order;
    }
    check(in_order == burst, "burst received in order (" + std::to_string(in_order) + ")");
    check(rx.dropped() == 0,
          "no frames dropped (SO_RXQ_OVFL: " + std::to_string(rx.dropped()) + ")");

    const std::int64_t t1 = monotonic_ns();
    ::usleep(20'000);
    const std::int64_t t2 = monotonic_ns();
    check(
        t1 > t0 && t2 - t1 >= 20'000'000 && t2 - t1 < 2'000'000'000,
        "CLOCK_MONOTONIC advances (20 ms sleep took " + std::to_string((t2 - t1) / 1000) + " us)");

    if (const char* out = std::getenv("OUT_DIR")) {
      std::ofstream(std::string(out) + "/probe.txt")
          << "iface=" << iface << " mtu=" << rx.mtu() << " fd=" << fd << " failures=" << failures
          << '\n';
    }
  } catch (const std::exception& e) {
    std::cout << "FAIL " << e.what() << '\n';
    return 1;
  }
  std::cout << (failures == 0 ? "socketcan_probe: all checks passed\n"
                              : "socketcan_probe: FAILED\n");
  return failures == 0 ? 0 : 1;
}
