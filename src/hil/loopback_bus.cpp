#include <vector>

#include "packsim/hil/can_bus.hpp"

namespace packsim::hil {
namespace {

// One direction of the loopback: a fixed ring, allocated once.
struct Channel {
  explicit Channel(std::size_t capacity) : frames(capacity) {}
  std::vector<can::CanFrame> frames;
  std::size_t head = 0;  // next to read
  std::size_t count = 0;
};

struct Shared {
  Shared(std::size_t capacity) : a_to_b(capacity), b_to_a(capacity) {}
  Channel a_to_b;
  Channel b_to_a;
};

class LoopbackEnd final : public CanBus {
 public:
  LoopbackEnd(std::string name, std::shared_ptr<Shared> shared, Channel& tx, Channel& rx, bool fd)
      : name_(std::move(name)), shared_(std::move(shared)), tx_(tx), rx_(rx), fd_(fd) {}
  const std::string& name() const override { return name_; }
  bool fd_capable() const override { return fd_; }
  std::size_t receive(RxFrame* out, std::size_t max) override {
    std::size_t n = 0;
    while (n < max && rx_.count > 0) {
      out[n].frame = rx_.frames[rx_.head];
      out[n].timestamp_ns = 0;
      rx_.head = (rx_.head + 1) % rx_.frames.size();
      --rx_.count;
      ++n;
    }
    stats_.rx_frames += n;
    return n;
  }
  TxResult send(const can::CanFrame& f) override {
    if (f.fd && !fd_) {
      ++stats_.tx_failed;
      return TxResult::kUnsupported;
    }
    if (tx_.count == tx_.frames.size()) {
      ++stats_.tx_queue_full;
      return TxResult::kQueueFull;
    }
    tx_.frames[(tx_.head + tx_.count) % tx_.frames.size()] = f;
    ++tx_.count;
    ++stats_.tx_frames;
    return TxResult::kOk;
  }
  BusState state() const override { return BusState::kErrorActive; }
  const BusStats& stats() const override { return stats_; }

 private:
  std::string name_;
  std::shared_ptr<Shared> shared_;
  Channel& tx_;
  Channel& rx_;
  bool fd_;
  BusStats stats_;
};

}  // namespace

LoopbackPair make_loopback(const std::string& name, std::size_t capacity, bool fd) {
  auto shared = std::make_shared<Shared>(capacity);
  LoopbackPair p;
  p.a = std::make_unique<LoopbackEnd>(name, shared, shared->a_to_b, shared->b_to_a, fd);
  p.b = std::make_unique<LoopbackEnd>(name, shared, shared->b_to_a, shared->a_to_b, fd);
  return p;
}

const char* bus_state_name(BusState s) {
  switch (s) {
    case BusState::kUnknown:
      return "unknown";
    case BusState::kErrorActive:
      return "error-active";
    case BusState::kErrorWarning:
      return "error-warning";
    case BusState::kErrorPassive:
      return "error-passive";
    case BusState::kBusOff:
      return "bus-off";
    case BusState::kDown:
      return "down";
  }
  return "?";
}

}  // namespace packsim::hil
