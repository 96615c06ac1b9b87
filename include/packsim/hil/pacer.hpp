#pragma once
// Real-time pacing of the tick loop, after ros2_control's controller_manager: absolute deadlines on
// the monotonic clock (clock_nanosleep TIMER_ABSTIME), so errors never accumulate; a tick that ends
// after the next deadline is an overrun, and the loop skips ahead to the next deadline still in the
// future (counting the periods it skipped) instead of bursting ticks to catch up. The clock is an
// interface so the pacing logic is tested with a fake one.

#include <atomic>
#include <cstdint>

#include "packsim/hil/histogram.hpp"

namespace packsim::hil {

enum class OverrunPolicy { kSkip, kAbort };

inline constexpr double kMinSpeed = 0.1;
inline constexpr double kMaxSpeed = 10.0;

struct LoopTiming {
  std::int64_t tick_ns = 1'000'000;  // simulated time per tick
  double speed = 1.0;  // wall period = tick / speed; clamped to kMinSpeed .. kMaxSpeed, and 1x
                       // when not a positive finite number
  OverrunPolicy overrun = OverrunPolicy::kSkip;
};

class LoopClock {
 public:
  virtual ~LoopClock() = default;
  virtual std::int64_t now_ns() = 0;
  // Returns false when the sleep was cut short by a stop request (the deadline not reached).
  virtual bool sleep_until(std::int64_t deadline_ns) = 0;
};

// CLOCK_MONOTONIC. Sleeps to the absolute deadline in slices of at most 50 ms, checking `stop`
// between them, so a stop request ends even a 10 s period (1 s tick at --speed 0.1) promptly;
// a short period is a single clock_nanosleep, as cyclictest does it.
class MonotonicClock final : public LoopClock {
 public:
  explicit MonotonicClock(const std::atomic<bool>* stop = nullptr) : stop_(stop) {}
  std::int64_t now_ns() override;
  bool sleep_until(std::int64_t deadline_ns) override;

 private:
  const std::atomic<bool>* stop_;
};

// Where the loop stands; plain data, readable by the caller after every tick.
struct LoopState {
  std::int64_t period_ns = 0;
  std::int64_t start_ns = 0;
  std::int64_t deadline_ns = 0;      // of the tick in progress
  std::uint64_t deadline_index = 0;  // deadline_ns = start + index x period, rounded once
  std::int64_t woke_ns = 0;
  std::uint64_t ticks = 0;
  std::uint64_t overruns = 0;         // ticks that ended after the next deadline
  std::uint64_t skipped_periods = 0;  // deadlines dropped to get back in step
  std::int64_t last_latency_ns = 0;
  std::int64_t last_compute_ns = 0;
};

class Pacer {
 public:
  Pacer(const LoopTiming& timing, LoopClock& clock);

  // The first deadline is one period after now.
  void start();
  // Sleeps until the tick's deadline; records and returns the wake-up latency (woke - deadline).
  // When a stop request cut the sleep short, records nothing, sets stopped() and returns 0.
  std::int64_t wait();
  bool stopped() const { return stopped_; }
  // After the tick's work: records the compute time (now - woke) and sets the next deadline.
  // Returns false if the tick overran and the policy is to abort.
  bool finish();

  const LoopState& state() const { return state_; }
  const LatencyHistogram& wake_latency() const { return wake_; }
  const LatencyHistogram& compute() const { return compute_; }

 private:
  LoopTiming timing_;
  LoopClock& clock_;
  std::int64_t deadline_at(std::uint64_t index) const;

  LoopState state_;
  bool stopped_ = false;
  LatencyHistogram wake_;
  LatencyHistogram compute_;
};

}  // namespace packsim::hil
