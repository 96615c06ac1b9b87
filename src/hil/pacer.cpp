#include "packsim/hil/pacer.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <ctime>

namespace packsim::hil {

std::int64_t MonotonicClock::now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

bool MonotonicClock::sleep_until(std::int64_t deadline_ns) {
  constexpr std::int64_t kSlice = 50'000'000;
  for (;;) {
    if (stop_ != nullptr && stop_->load(std::memory_order_relaxed)) return false;
    const std::int64_t now = now_ns();
    if (now >= deadline_ns) return true;
    // Within one slice of the deadline: sleep to the deadline itself (absolute, so no drift).
    const std::int64_t target = deadline_ns - now > kSlice ? now + kSlice : deadline_ns;
    const timespec ts{static_cast<time_t>(target / 1'000'000'000),
                      static_cast<long>(target % 1'000'000'000)};
    // EINTR (a signal to this thread) just goes round the loop again.
    const int rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
    if (rc == 0 && target == deadline_ns) return true;
  }
}

Pacer::Pacer(const LoopTiming& timing, LoopClock& clock) : timing_(timing), clock_(clock) {
  // A speed that is not a finite number in range would stop the deadlines from moving (NaN makes
  // every one the same): clamp to 0.1x .. 10x, and anything not a positive number means 1x.
  timing_.speed = std::isfinite(timing.speed) && timing.speed > 0.0
                      ? std::min(std::max(timing.speed, kMinSpeed), kMaxSpeed)
                      : 1.0;
  if (timing_.tick_ns < 1) timing_.tick_ns = 1;
  state_.period_ns =
      static_cast<std::int64_t>(std::llround(static_cast<double>(timing_.tick_ns) / timing_.speed));
  if (state_.period_ns < 1) state_.period_ns = 1;
}

// Deadlines are computed from their index, not accumulated, so a period that is not a whole
// number of nanoseconds (a 1 ms tick at 3x) does not drift.
std::int64_t Pacer::deadline_at(std::uint64_t index) const {
  if (timing_.speed == 1.0) {
    return state_.start_ns + static_cast<std::int64_t>(index) * state_.period_ns;
  }
  return state_.start_ns + std::llround(static_cast<double>(index) *
                                        static_cast<double>(timing_.tick_ns) / timing_.speed);
}

void Pacer::start() {
  state_.start_ns = clock_.now_ns();
  state_.deadline_index = 1;
  state_.deadline_ns = deadline_at(1);
}

std::int64_t Pacer::wait() {
  if (!clock_.sleep_until(state_.deadline_ns)) {
    stopped_ = true;
    return 0;
  }
  state_.woke_ns = clock_.now_ns();
  state_.last_latency_ns = state_.woke_ns - state_.deadline_ns;
  wake_.record(state_.last_latency_ns);
  return state_.last_latency_ns;
}

bool Pacer::finish() {
  const std::int64_t now = clock_.now_ns();
  state_.last_compute_ns = now - state_.woke_ns;
  compute_.record(state_.last_compute_ns);
  ++state_.ticks;
  std::uint64_t index = state_.deadline_index + 1;
  std::int64_t next = deadline_at(index);
  if (now > next) {
    ++state_.overruns;
    if (timing_.overrun == OverrunPolicy::kAbort) {
      state_.deadline_index = index;
      state_.deadline_ns = next;
      return false;
    }
    // Skip to the first deadline still ahead: never a burst of late ticks.
    const auto behind = static_cast<std::uint64_t>((now - next) / state_.period_ns + 1);
    index += behind;
    next = deadline_at(index);
    while (next <= now) {  // rounding of a fractional period: one more
      ++index;
      next = deadline_at(index);
    }
    state_.skipped_periods += index - state_.deadline_index - 1;
  }
  state_.deadline_index = index;
  state_.deadline_ns = next;
  return true;
}

}  // namespace packsim::hil
