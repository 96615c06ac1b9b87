#pragma once
// The transport a protocol talks through: SocketCAN (a real or virtual interface) or the in-process
// loopback. Non-blocking both ways; error conditions become bus state and counters, never
// exceptions or blocking retries, because the caller is the tick thread.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "packsim/can/frame.hpp"

namespace packsim::hil {

enum class BusState : std::uint8_t {
  kUnknown,  // no error frame seen yet: presumably fine
  kErrorActive,
  kErrorWarning,  // an error counter above 96
  kErrorPassive,  // an error counter above 127
  kBusOff,
  kDown,  // the interface is down or gone (ENETDOWN / ENODEV); packsim keeps trying
};
const char* bus_state_name(BusState s);
// The more severe of two states (the enumerators are in order of severity).
constexpr BusState worse_state(BusState a, BusState b) { return a < b ? b : a; }

struct BusStats {
  std::uint64_t rx_frames = 0;
  std::uint64_t tx_frames = 0;
  std::uint64_t tx_queue_full = 0;  // ENOBUFS/EAGAIN: the frame was dropped, not retried
  std::uint64_t tx_failed = 0;      // other send errors (down, too long for the interface)
  std::uint64_t rx_dropped = 0;     // frames the kernel dropped from our queue (SO_RXQ_OVFL)
  std::uint64_t rx_invalid = 0;     // reads of an unexpected size
  std::uint64_t error_frames = 0;
  std::uint64_t bus_off = 0;
  std::uint64_t restarts = 0;
  std::uint64_t down_events = 0;
  std::uint64_t reopens = 0;
};

struct RxFrame {
  can::CanFrame frame;
  std::int64_t timestamp_ns = 0;  // kernel receive time (CLOCK_REALTIME), 0 if unknown
};

enum class TxResult : std::uint8_t { kOk, kQueueFull, kDown, kUnsupported, kError };

class CanBus {
 public:
  virtual ~CanBus() = default;
  virtual const std::string& name() const = 0;
  virtual bool fd_capable() const = 0;
  // Reads what is queued, up to `max` frames, without blocking. Error frames update the state and
  // counters and are also returned (frame.error set) so they can be logged.
  virtual std::size_t receive(RxFrame* out, std::size_t max) = 0;
  virtual TxResult send(const can::CanFrame& frame) = 0;
  virtual BusState state() const = 0;
  virtual const BusStats& stats() const = 0;
  // Housekeeping, called once per tick: e.g. reopen a vanished interface (rate limited on the
  // monotonic clock). Never allocates.
  virtual void poll() {}
};

struct SocketCanOptions {
  std::string interface;
  bool enable_fd = true;  // use CAN FD frames if the interface's MTU allows
  std::int64_t reopen_interval_ns = 1'000'000'000;
  // The kernel default (~212 KB) holds only ~280 frames: a BMS burst between two ticks can overflow
  // it. 0 keeps the default.
  int receive_buffer_bytes = 1 << 20;
};

struct OpenResult {
  std::unique_ptr<CanBus> bus;
  std::string message;  // why it failed (bus empty), or a note (FD not available, ...)
};

// Opens a raw CAN socket on the interface: non-blocking, error frames subscribed, SO_RXQ_OVFL and
// receive timestamps on, CAN FD if the MTU allows. Fails if the interface does not exist.
OpenResult open_socketcan(const SocketCanOptions& options);

// An in-process bus with two ends: what one end sends, the other receives, in order, with no
// system calls. Each direction holds `capacity` frames; frames beyond that are dropped and counted
// (like a full socket queue). Single-threaded: both ends are used from the same thread.
struct LoopbackPair {
  std::unique_ptr<CanBus> a;
  std::unique_ptr<CanBus> b;
};
LoopbackPair make_loopback(const std::string& name, std::size_t capacity = 4096, bool fd = true);

}  // namespace packsim::hil
