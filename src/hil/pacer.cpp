#include "packsim/hil/pacer.hpp"

#include <cerrno>
#include <cmath>
#include <ctime>

namespace packsim::hil {

std::int64_t MonotonicClock::now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

void MonotonicClock::sleep_until(std::int64_t deadline_ns) {
  const timespec ts{static_cast<time_t>(deadline_ns / 1'000'000'000),
                    static_cast<long>(deadline_ns % 1'000'000'000)};
  // A signal wakes the sleep early; the loop checks its stop flag after every tick anyway.
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
  }
}

Pacer::Pacer(const LoopTiming& timing, LoopClock& clock) : timing_(timing), clock_(clock) {
  const double speed = timing.speed > 0.0 ? timing.speed : 1.0;
  state_.period_ns =
      static_cast<std::int64_t>(std::llround(static_cast<double>(timing.tick_ns) / speed));
  if (state_.period_ns < 1) state_.period_ns = 1;
}

void Pacer::start() {
  state_.start_ns = clock_.now_ns();
  state_.deadline_ns = state_.start_ns + state_.period_ns;
}

std::int64_t Pacer::wait() {
  clock_.sleep_until(state_.deadline_ns);
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
  std::int64_t next = state_.deadline_ns + state_.period_ns;
  if (now > next) {
    ++state_.overruns;
    if (timing_.overrun == OverrunPolicy::kAbort) {
      state_.deadline_ns = next;
      return false;
    }
    // Skip to the first deadline still ahead: never a burst of late ticks.
    const std::int64_t behind = (now - next) / state_.period_ns + 1;
    state_.skipped_periods += static_cast<std::uint64_t>(behind);
    next += behind * state_.period_ns;
  }
  state_.deadline_ns = next;
  return true;
}

}  // namespace packsim::hil
