#include "packsim/sim/runner.hpp"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>

namespace packsim::sim {
namespace {

using Clock = std::chrono::steady_clock;

std::int64_t realtime_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

std::int64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// A one-line progress bar on stderr, shown once a run has taken more than two seconds.
class Progress {
 public:
  Progress(bool enabled, std::int64_t total_ns) : enabled_(enabled), total_ns_(total_ns) {}
  void update(std::int64_t now_ns) {
    if (!enabled_) return;
    const auto now = Clock::now();
    const double wall = std::chrono::duration<double>(now - start_).count();
    if (wall < 2.0 || now - last_ < std::chrono::milliseconds(200)) return;
    last_ = now;
    const double frac = total_ns_ > 0 ? static_cast<double>(now_ns) / static_cast<double>(total_ns_) : 0.0;
    const int width = 30;
    const int filled = static_cast<int>(frac * width);
    const double sim_s = static_cast<double>(now_ns) / 1e9;
    const double eta = frac > 0.0 ? wall * (1.0 - frac) / frac : 0.0;
    std::fprintf(stderr, "\r[%.*s%*s] %5.1f%%  sim %.1f s  %.1fx real time  ETA %.0f s ",
                 filled, "##############################", width - filled, "", 100.0 * frac, sim_s,
                 sim_s / wall, eta);
    shown_ = true;
  }
  void finish() {
    if (shown_) std::fprintf(stderr, "\r%*s\r", 90, "");
  }

 private:
  bool enabled_;
  std::int64_t total_ns_;
  Clock::time_point start_ = Clock::now();
  Clock::time_point last_ = start_;
  bool shown_ = false;
};

const char* signal_name(int sig) {
  switch (sig) {
    case SIGINT: return "SIGINT";
    case SIGTERM: return "SIGTERM";
    case SIGHUP: return "SIGHUP";
    default: return "signal";
  }
}

}  // namespace

RunResult run_scenario(const Scenario& sc, const RunOptions& opt) {
  RunResult result;
  Session session(sc);
  SessionOptions so;
  so.out_dir = opt.out_dir;
  so.interfaces = opt.interfaces;
  const SetupResult setup = session.open(so);
  if (!setup.ok) {
    result.status = RunStatus::kFailed;
    result.stop_reason = setup.message;
    session.finish(result, opt.version);
    return result;
  }
  // Over SocketCAN the BMS on the other side keeps its own time: pace the ticks to absolute
  // deadlines on the monotonic clock (the real-time mode measures and hardens this).
  const bool paced = session.uses_socketcan();
  const std::int64_t start_ns = monotonic_ns();
  Progress progress(opt.progress && !paced, sc.duration_ns);
  const auto wall_start = Clock::now();
  result.stop_reason = "duration";
  try {
    while (!session.done()) {
      if (opt.stop_request && opt.stop_request->load(std::memory_order_relaxed) != 0) {
        result.status = RunStatus::kInterrupted;
        result.signal = opt.stop_request->load();
        result.stop_reason = signal_name(result.signal);
        break;
      }
      if (paced) {
        const std::int64_t deadline = start_ns + session.data().time_ns;
        const timespec ts{static_cast<time_t>(deadline / 1'000'000'000), static_cast<long>(deadline % 1'000'000'000)};
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
          if (opt.stop_request && opt.stop_request->load(std::memory_order_relaxed) != 0) break;
        }
      }
      const std::int64_t wall = paced ? realtime_ns() : 0;
      session.read(wall);
      session.update();
      session.write(wall);
      if ((session.data().tick & 1023u) == 0) progress.update(session.data().time_ns);
    }
    if (result.status == RunStatus::kCompleted) result.stop_reason = session.done_reason();
  } catch (const std::exception& ex) {
    result.status = RunStatus::kFailed;
    result.stop_reason = ex.what();
  }
  progress.finish();
  result.ticks = session.data().tick;
  result.wall_s = std::chrono::duration<double>(Clock::now() - wall_start).count();
  const SetupResult closed = session.finish(result, opt.version);
  if (!closed.ok && result.status != RunStatus::kFailed) {
    result.status = RunStatus::kFailed;
    result.stop_reason = closed.message;
  }
  return result;
}

}  // namespace packsim::sim
