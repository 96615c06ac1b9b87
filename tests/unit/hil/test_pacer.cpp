// Pacing logic with an injected clock: deadlines, wake latency, overrun skip-ahead, abort, speed.
#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <thread>

#include "packsim/hil/pacer.hpp"

using namespace packsim::hil;

namespace {
// Time moves only when the test says so; a sleep ends at the deadline plus a set wake delay.
class FakeClock final : public LoopClock {
 public:
  std::int64_t now = 1'000'000'000;
  std::int64_t wake_delay = 0;
  std::int64_t now_ns() override { return now; }
  bool sleep_until(std::int64_t deadline) override {
    if (deadline > now) now = deadline;
    now += wake_delay;
    ++sleeps;
    return true;
  }
  int sleeps = 0;
};
}  // namespace

TEST_CASE("Deadlines are absolute: a period apart, whatever the work took", "[pacer]") {
  FakeClock clock;
  LoopTiming t;
  t.tick_ns = 1'000'000;
  Pacer p(t, clock);
  p.start();
  const std::int64_t t0 = clock.now;
  clock.wake_delay = 20'000;  // 20 us late each time
  for (int k = 1; k <= 100; ++k) {
    CHECK(p.wait() == 20'000);
    CHECK(clock.now == t0 + k * 1'000'000 + 20'000);
    clock.now += 300'000;  // 300 us of work
    REQUIRE(p.finish());
  }
  CHECK(p.state().ticks == 100);
  CHECK(p.state().overruns == 0);
  CHECK(p.wake_latency().max_ns() == 20'000);
  CHECK(p.compute().mean_ns() == Approx(300'000));
  CHECK(p.compute().percentile_ns(0.99) == 300'000);
}

TEST_CASE("An overrun skips ahead to the next future deadline, never bursts", "[pacer]") {
  FakeClock clock;
  LoopTiming t;
  t.tick_ns = 1'000'000;
  Pacer p(t, clock);
  p.start();
  const std::int64_t t0 = clock.now;
  p.wait();                // tick 1 starts at t0 + 1 ms
  clock.now += 2'500'000;  // and takes 2.5 periods: ends at t0 + 3.5 ms
  REQUIRE(p.finish());
  CHECK(p.state().overruns == 1);
  // Deadlines t0 + 2 ms and t0 + 3 ms are gone; the next is t0 + 4 ms.
  CHECK(p.state().skipped_periods == 2);
  CHECK(p.state().deadline_ns == t0 + 4'000'000);
  p.wait();
  CHECK(clock.now == t0 + 4'000'000);  // it slept: no burst of late ticks
  clock.now += 100'000;
  REQUIRE(p.finish());
  CHECK(p.state().overruns == 1);
  CHECK(p.state().deadline_ns == t0 + 5'000'000);
}

TEST_CASE("A tick that ends exactly on the next deadline is not an overrun", "[pacer]") {
  FakeClock clock;
  LoopTiming t;
  t.tick_ns = 1'000'000;
  Pacer p(t, clock);
  p.start();
  p.wait();
  clock.now += 1'000'000;
  REQUIRE(p.finish());
  CHECK(p.state().overruns == 0);
}

TEST_CASE("The abort policy stops at the first overrun", "[pacer]") {
  FakeClock clock;
  LoopTiming t;
  t.tick_ns = 1'000'000;
  t.overrun = OverrunPolicy::kAbort;
  Pacer p(t, clock);
  p.start();
  p.wait();
  clock.now += 500'000;
  CHECK(p.finish());
  p.wait();
  clock.now += 1'200'000;
  CHECK_FALSE(p.finish());
  CHECK(p.state().overruns == 1);
}

TEST_CASE("Scaled real time: --speed divides the wall period", "[pacer]") {
  for (const auto& [speed, period] : {std::pair<double, std::int64_t>{2.0, 500'000},
                                      {0.1, 10'000'000},
                                      {10.0, 100'000},
                                      {1.0, 1'000'000}}) {
    FakeClock clock;
    LoopTiming t;
    t.tick_ns = 1'000'000;
    t.speed = speed;
    Pacer p(t, clock);
    CHECK(p.state().period_ns == period);
    p.start();
    const std::int64_t t0 = clock.now;
    for (int k = 1; k <= 10; ++k) {
      p.wait();
      CHECK(clock.now == t0 + k * period);
      REQUIRE(p.finish());
    }
  }
}

TEST_CASE("A fractional wall period does not drift: deadlines come from their index", "[pacer]") {
  FakeClock clock;
  LoopTiming t;
  t.tick_ns = 1'000'000;
  t.speed =
      3.0;  // 333,333.33 ns per tick: accumulating the rounded period would lose 1/3 ns a tick
  Pacer p(t, clock);
  p.start();
  const std::int64_t t0 = clock.now;
  for (int k = 1; k <= 30'000; ++k) {
    p.wait();
    REQUIRE(clock.now == t0 + std::llround(k * 1e6 / 3.0));
    REQUIRE(p.finish());
  }
  CHECK(clock.now == t0 + 10'000'000'000);  // 30,000 ticks of 1 ms at 3x: exactly 10 s
}

TEST_CASE("A stop request ends a long sleep promptly and records no latency", "[pacer]") {
  std::atomic<bool> stop{false};
  MonotonicClock clock(&stop);
  LoopTiming t;
  t.tick_ns = 1'000'000'000;
  t.speed = 0.1;  // a 10 s wall period
  Pacer p(t, clock);
  p.start();
  std::thread stopper([&stop]() {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    stop.store(true);
  });
  const auto t0 = std::chrono::steady_clock::now();
  CHECK(p.wait() == 0);
  const double waited =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  stopper.join();
  CHECK(p.stopped());
  CHECK(p.wake_latency().count() == 0);
  CHECK(waited < 5.0);  // behaviour, not speed: without the stop it would sleep 10 s
}

TEST_CASE("Histogram percentiles", "[pacer]") {
  LatencyHistogram h;
  for (int k = 1; k <= 1000; ++k) h.record(k * 1000);  // 1 .. 1000 us
  CHECK(h.count() == 1000);
  CHECK(h.min_ns() == 1000);
  CHECK(h.max_ns() == 1'000'000);
  CHECK(h.mean_ns() == Approx(500'500));
  // Bins are 0.5 us wide: the q-quantile is within one bin above the exact order statistic.
  CHECK(h.percentile_ns(0.5) >= 500'000);
  CHECK(h.percentile_ns(0.5) <= 501'000);
  CHECK(h.percentile_ns(0.99) >= 990'000);
  CHECK(h.percentile_ns(0.99) <= 991'000);
  CHECK(h.percentile_ns(1.0) == 1'000'000);
  h.record(50'000'000);  // beyond the bins: the overflow bin, reported as the maximum
  CHECK(h.percentile_ns(1.0) == 50'000'000);
}

TEST_CASE("A speed that is not a finite number in range cannot stall the deadlines", "[pacer]") {
  // NaN once made every deadline the same and the skip-ahead loop spin forever.
  for (const double speed : {std::nan(""), HUGE_VAL, -2.0, 0.0, 1e-9, 1e9}) {
    FakeClock clock;
    LoopTiming t;
    t.tick_ns = 1'000'000;
    t.speed = speed;
    Pacer p(t, clock);
    const double expected = std::isfinite(speed) && speed > 0.0 ? (speed < kMinSpeed   ? kMinSpeed
                                                                   : speed > kMaxSpeed ? kMaxSpeed
                                                                                       : speed)
                                                                : 1.0;
    CHECK(p.state().period_ns == std::llround(1e6 / expected));
    p.start();
    const std::int64_t t0 = clock.now;
    p.wait();
    CHECK(clock.now == t0 + p.state().period_ns);
    clock.now += 5 * p.state().period_ns + 1;  // an overrun: skip ahead, and return
    REQUIRE(p.finish());
    CHECK(p.state().deadline_ns > clock.now);
    CHECK(p.state().skipped_periods == 5);
  }
}
