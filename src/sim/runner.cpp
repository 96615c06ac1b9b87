#include "packsim/sim/runner.hpp"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <thread>

#include "packsim/hil/rt_setup.hpp"

namespace packsim::sim {
namespace {

using Clock = std::chrono::steady_clock;

std::int64_t realtime_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
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
    const double frac =
        total_ns_ > 0 ? static_cast<double>(now_ns) / static_cast<double>(total_ns_) : 0.0;
    const int width = 30;
    const int filled = static_cast<int>(frac * width);
    const double sim_s = static_cast<double>(now_ns) / 1e9;
    const double eta = frac > 0.0 ? wall * (1.0 - frac) / frac : 0.0;
    std::fprintf(stderr, "\r[%.*s%*s] %5.1f%%  sim %.1f s  %.1fx real time  ETA %.0f s ", filled,
                 "##############################", width - filled, "", 100.0 * frac, sim_s,
                 sim_s / wall, eta);
    shown_ = true;
  }
  void finish() {
    if (shown_) std::fprintf(stderr, "\r%*s\r", 100, "");
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
    case SIGINT:
      return "SIGINT";
    case SIGTERM:
      return "SIGTERM";
    case SIGHUP:
      return "SIGHUP";
    default:
      return "signal";
  }
}

Distribution distribution_us(const hil::LatencyHistogram& h) {
  Distribution d;
  d.min = static_cast<double>(h.min_ns()) / 1e3;
  d.mean = h.mean_ns() / 1e3;
  d.p50 = static_cast<double>(h.percentile_ns(0.50)) / 1e3;
  d.p99 = static_cast<double>(h.percentile_ns(0.99)) / 1e3;
  d.p999 = static_cast<double>(h.percentile_ns(0.999)) / 1e3;
  d.max = static_cast<double>(h.max_ns()) / 1e3;
  return d;
}

// What the real-time set-up achieved: failures always (packsim goes on without them), the rest
// when asked.
void print_setup(const std::vector<bool>& ok, const std::vector<std::string>& lines, bool verbose) {
  for (std::size_t k = 0; k < lines.size(); ++k) {
    if (!ok[k] || verbose) std::fprintf(stderr, "realtime: %s\n", lines[k].c_str());
  }
}

// Orders libsocketcan's state names by how bad they are ("unknown": vcan, no controller).
int link_severity(const std::string& state) {
  if (state == "error-warning") return 2;
  if (state == "error-passive") return 3;
  if (state == "bus-off") return 4;
  if (state == "stopped") return 5;
  return state == "error-active" ? 1 : 0;
}

// As fast as the CPU allows; recording inline. Signals arrive through the caller's handler flag.
void run_fast(Session& session, const Scenario& sc, const RunOptions& opt, RunResult& result) {
  Progress progress(opt.progress, sc.duration_ns);
  while (!session.done()) {
    if (opt.stop_request && opt.stop_request->load(std::memory_order_relaxed) != 0) {
      result.status = RunStatus::kInterrupted;
      result.signal = opt.stop_request->load();
      result.stop_reason = signal_name(result.signal);
      break;
    }
    session.read(0);
    session.update();
    session.write(0);
    if ((session.data().tick & 1023u) == 0) progress.update(session.data().time_ns);
  }
  if (result.status == RunStatus::kCompleted) result.stop_reason = session.done_reason();
  progress.finish();
}

// Real time: the tick thread reads CAN, steps, writes CAN and pushes records into rings; a writer
// thread drains the rings into the files; the main thread waits for signals on a signalfd and draws
// the status line. Nothing on the tick thread allocates, locks or logs.
void run_realtime(Session& session, const Scenario& sc, const RunOptions& opt, RunResult& result) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  sigset_t previous;
  pthread_sigmask(SIG_BLOCK, &signals, &previous);  // threads created from here inherit it
  const int sfd = signalfd(-1, &signals, SFD_CLOEXEC | SFD_NONBLOCK);
  // Without a signalfd the caller's handlers must see the signals (they set stop_request).
  if (sfd < 0) pthread_sigmask(SIG_SETMASK, &previous, nullptr);

  session.enable_threaded_recording(4096, 1 << 17);
  hil::LoopTiming timing;
  timing.tick_ns = sc.tick_ns;
  timing.speed = opt.speed;
  timing.overrun = opt.overrun;
  std::atomic<bool> stop{false}, tick_done{false}, writer_stop{false}, setup_ready{false};
  hil::MonotonicClock clock(&stop);  // a stop request cuts a long sleep short
  hil::Pacer pacer(timing, clock);

  std::atomic<std::uint64_t> overruns{0};
  std::vector<std::string> setup;
  std::vector<bool> setup_ok;
  auto note = [&](const hil::RtResult& r) {
    setup.push_back(r.message);
    setup_ok.push_back(r.ok);
  };
  bool aborted = false;
  std::uint64_t frames_late = 0;
  std::string error;

  // With the tick thread pinned, the writer and this thread stay on the other CPUs, so the tick
  // thread's CPU has nothing to preempt when its timer fires.
  if (opt.cpu) {
    const hil::RtResult r = hil::avoid_cpu(*opt.cpu);
    if (!r.message.empty()) note(r);  // empty: the CPU was not ours to avoid
  }
  std::thread writer([&]() {
    pthread_setname_np(pthread_self(), kWriterThreadName);
    while (!writer_stop.load(std::memory_order_acquire)) {
      if (session.drain() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });

  // Real-time priority comes with the wake-up latency request cyclictest makes.
  hil::CpuLatencyGuard latency_guard;
  if (opt.priority) note(latency_guard.acquire());
  std::thread ticker([&]() {
    if (opt.mlock) note(hil::lock_memory());
    if (opt.cpu) note(hil::set_cpu_affinity(*opt.cpu));
    if (opt.priority) note(hil::set_fifo_priority(*opt.priority));
    setup_ready.store(true, std::memory_order_release);
    // Named once its set-up is done: from here on it is the tick loop (ps -L, top -H and the
    // allocation test tell it by this name).
    pthread_setname_np(pthread_self(), kTickThreadName);
    try {
      pacer.start();
      while (!stop.load(std::memory_order_relaxed) && !session.done()) {
        pacer.wait();
        if (pacer.stopped()) break;
        const std::int64_t wall = realtime_ns();
        session.read(wall);
        session.update();
        session.write(wall);
        const std::uint64_t before = pacer.state().overruns;
        const bool go_on = pacer.finish();
        if (pacer.state().overruns != before) {
          frames_late += session.frames_last_tick();
          overruns.store(pacer.state().overruns, std::memory_order_relaxed);
        }
        if (!go_on) {
          aborted = true;
          break;
        }
      }
    } catch (const std::exception& ex) {
      error = ex.what();
    }
    tick_done.store(true, std::memory_order_release);
  });

  // The controllers' state and error counters through netlink, once a second, from this thread.
  std::vector<LinkReport> links;
  auto last_link = Clock::now() - std::chrono::seconds(1);
  auto read_links = [&]() {
    if (!session.uses_socketcan()) return;
    if (links.empty()) {
      for (const auto& bus : session.interfaces()) {
        LinkReport l;
        l.interface = bus->name();
        links.push_back(l);
      }
    }
    for (LinkReport& l : links) {
      // An interface without a CAN controller (vcan) has no link data: after the first reading
      // says so, stop asking (libsocketcan complains on stderr every time).
      if (l.readings > 0 && !l.has_counters && l.bitrate == 0 && l.state == "unknown") continue;
      hil::LinkStatus st;
      if (!hil::read_link_status(l.interface, st).ok) continue;
      ++l.readings;
      l.state = st.state;
      if (l.worst_state.empty() || link_severity(st.state) > link_severity(l.worst_state))
        l.worst_state = st.state;
      l.has_counters = l.has_counters || st.has_counters;
      l.tx_errors_max = std::max(l.tx_errors_max, st.tx_errors);
      l.rx_errors_max = std::max(l.rx_errors_max, st.rx_errors);
      if (st.bitrate) l.bitrate = st.bitrate;
    }
  };

  bool setup_printed = false;
  auto last_status = Clock::now();
  std::uint64_t last_frames = 0;
  bool status_shown = false;
  int caught = 0;
  while (!tick_done.load(std::memory_order_acquire)) {
    pollfd pfd{sfd, POLLIN, 0};
    poll(&pfd, 1, 100);
    signalfd_siginfo info{};
    if (sfd >= 0 && read(sfd, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
      caught = static_cast<int>(info.ssi_signo);
      stop.store(true, std::memory_order_relaxed);
    }
    if (opt.stop_request && opt.stop_request->load(std::memory_order_relaxed) != 0) {
      caught = opt.stop_request->load();
      stop.store(true, std::memory_order_relaxed);
    }
    if (Clock::now() - last_link >= std::chrono::seconds(1)) {
      last_link = Clock::now();
      read_links();
    }
    if (!setup_printed && setup_ready.load(std::memory_order_acquire)) {
      setup_printed = true;
      print_setup(setup_ok, setup, opt.verbose);
    }
    if (opt.status_line && Clock::now() - last_status > std::chrono::milliseconds(500)) {
      const auto now = Clock::now();
      const double dt = std::chrono::duration<double>(now - last_status).count();
      last_status = now;
      const std::uint64_t ticks = session.ticks_published();
      const std::uint64_t frames = session.frames_published();
      const double sim_s = static_cast<double>(ticks) * static_cast<double>(sc.tick_ns) / 1e9;
      std::fprintf(stderr,
                   "\rsim %8.1f s  ticks %9llu  wake p99 %6.1f us  compute p99 %7.1f us  overruns "
                   "%llu  dropped %llu  bus %s  %6.0f frames/s ",
                   sim_s, static_cast<unsigned long long>(ticks),
                   static_cast<double>(pacer.wake_latency().percentile_ns(0.99)) / 1e3,
                   static_cast<double>(pacer.compute().percentile_ns(0.99)) / 1e3,
                   static_cast<unsigned long long>(overruns.load(std::memory_order_relaxed)),
                   static_cast<unsigned long long>(session.records_dropped()),
                   session.uses_socketcan() ? hil::bus_state_name(session.bus_state_published())
                                            : "loopback",
                   static_cast<double>(frames - last_frames) / dt);
      last_frames = frames;
      status_shown = true;
    }
  }
  ticker.join();
  read_links();
  result.links = links;
  writer_stop.store(true, std::memory_order_release);
  writer.join();
  if (status_shown) std::fprintf(stderr, "\n");
  if (!setup_printed) print_setup(setup_ok, setup, opt.verbose);
  if (sfd >= 0) close(sfd);
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);

  if (!error.empty()) {
    result.status = RunStatus::kFailed;
    result.stop_reason = error;
  } else if (aborted) {
    result.status = RunStatus::kFailed;
    result.stop_reason =
        "overrun at tick " + std::to_string(pacer.state().ticks) + " (overrun policy: abort)";
  } else if (caught != 0) {
    result.status = RunStatus::kInterrupted;
    result.signal = caught;
    result.stop_reason = signal_name(caught);
  } else {
    result.stop_reason = session.done_reason();
  }
  RealtimeReport rt;
  rt.period_us = static_cast<double>(pacer.state().period_ns) / 1e3;
  rt.speed = opt.speed;
  rt.ticks = pacer.state().ticks;
  rt.overruns = pacer.state().overruns;
  rt.skipped_periods = pacer.state().skipped_periods;
  rt.frames_late = frames_late;
  rt.records_dropped = session.records_dropped();
  rt.wake_latency_us = distribution_us(pacer.wake_latency());
  rt.compute_us = distribution_us(pacer.compute());
  rt.setup = setup;
  result.realtime = rt;
}

}  // namespace

RunResult run_scenario(const Scenario& sc, const RunOptions& opt) {
  RunResult result;
  Session session(sc);
  SessionOptions so;
  so.out_dir = opt.out_dir;
  so.interfaces = opt.interfaces;
  so.version = opt.version;
  // The output folder and summary.json's space first: whatever fails from here on is reported
  // there.
  if (const SetupResult prepared = session.prepare(so); !prepared.ok) {
    result.status = RunStatus::kFailed;
    result.stop_reason = prepared.message;
    session.finish(result, opt.version);
    return result;
  }
  if (opt.link && !opt.interfaces.empty() && sc.profile) {
    // Bit timing and queue length before any socket opens; netlink, so never on the tick thread.
    InterfacePlan plan;
    SetupResult r = resolve_interfaces(sc.profile->buses, opt.interfaces, plan);
    for (const auto& name : plan.interfaces) {
      if (!r.ok) break;
      hil::LinkConfig c = *opt.link;
      c.interface = name;
      const hil::LinkResult lr = hil::configure_link(c);
      if (!lr.ok) r = {false, lr.message};
    }
    if (!r.ok) {
      result.status = RunStatus::kFailed;
      result.stop_reason = r.message;
      session.finish(result, opt.version);
      return result;
    }
  }
  const SetupResult setup = session.open(so);
  if (!setup.ok) {
    result.status = RunStatus::kFailed;
    result.stop_reason = setup.message;
    session.finish(result, opt.version);
    return result;
  }
  const auto wall_start = Clock::now();
  try {
    if (opt.realtime) {
      run_realtime(session, sc, opt, result);
    } else {
      run_fast(session, sc, opt, result);
    }
  } catch (const std::exception& ex) {
    result.status = RunStatus::kFailed;
    result.stop_reason = ex.what();
  }
  if (session.diverged() && result.status == RunStatus::kCompleted) {
    char what[160];
    std::snprintf(what, sizeof what,
                  "the model state became non-finite at t = %.6f s (check the pack's and cell's "
                  "parameters)",
                  static_cast<double>(session.data().time_ns) / 1e9);
    result.status = RunStatus::kFailed;
    result.stop_reason = what;
  }
  result.ticks = session.data().tick;
  result.model_warnings = session.range_warnings();
  result.table_warnings = session.table_warnings();
  result.wall_s = std::chrono::duration<double>(Clock::now() - wall_start).count();
  const SetupResult closed = session.finish(result, opt.version);
  if (!closed.ok) {
    if (result.status != RunStatus::kFailed) {
      result.status = RunStatus::kFailed;
      result.stop_reason = closed.message;
    } else {
      result.output_errors.push_back(closed.message);
    }
  }
  return result;
}

}  // namespace packsim::sim
