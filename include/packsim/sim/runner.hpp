#pragma once
// Run of a scenario through a Session (read -> update -> write per tick) into an output directory:
//   signals.csv   the recorded samples (byte-identical for equal inputs and seed)
//   can.log       every frame sent and received, candump -l format (when a protocol runs)
//   summary.json  final state, extremes, energy books, CAN and BMS statistics, performance
//   junit.xml     one testcase per expectation (docs/expectations.md)
// Each is complete on every exit path: normal end, stop request (SIGINT/SIGTERM), or error. A write
// that fails (a full disk, a read-only file system, a file-size limit) stops the run as a failure;
// summary.json's space is claimed at the start so that it can still say so.

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "packsim/hil/link_control.hpp"
#include "packsim/hil/pacer.hpp"
#include "packsim/sim/scenario.hpp"
#include "packsim/sim/session.hpp"

namespace packsim::sim {

struct RunOptions {
  std::filesystem::path out_dir;
  bool progress = false;  // draw a progress bar on stderr (the CLI enables it on a terminal)
  // Set (to the signal number) by a signal handler to stop the run; checked every tick.
  const std::atomic<int>* stop_request = nullptr;
  std::string version;
  // SocketCAN interfaces for the profile's buses; empty: the in-process loopback.
  std::vector<BusAssignment> interfaces;
  // Link settings (bitrate, restart-ms, txqueuelen; `interface` ignored) applied through
  // libsocketcan to every SocketCAN interface before the run; a failure fails the run.
  std::optional<hil::LinkConfig> link;

  // Real time: ticks paced to absolute deadlines on the monotonic clock (the default on SocketCAN);
  // otherwise as fast as the CPU allows.
  bool realtime = false;
  std::optional<int> priority;  // SCHED_FIFO priority of the tick thread
  std::optional<int> cpu;       // pin the tick thread to this CPU
  bool mlock = false;
  hil::OverrunPolicy overrun = hil::OverrunPolicy::kSkip;
  double speed = 1.0;        // scaled real time, 0.1 .. 10
  bool status_line = false;  // live status on stderr (a terminal)
  bool verbose = false;      // report the real-time set-up steps that succeeded too
};

// Statistics of a real-time run (summary.json, "realtime").
struct Distribution {
  double min = 0, mean = 0, p50 = 0, p99 = 0, p999 = 0, max = 0;  // microseconds
};
struct RealtimeReport {
  double period_us = 0.0;
  double speed = 1.0;
  std::uint64_t ticks = 0;
  std::uint64_t overruns = 0;
  std::uint64_t skipped_periods = 0;
  std::uint64_t frames_late = 0;      // frames sent in a tick that ended after the next deadline
  std::uint64_t records_dropped = 0;  // samples or log lines the writer could not keep up with
  Distribution wake_latency_us;
  Distribution compute_us;
  std::vector<std::string> setup;  // what was applied and what could not be
};

// A SocketCAN interface's controller as the main thread saw it through netlink (once a second,
// never on the tick thread): summary.json, can.links.
struct LinkReport {
  std::string interface;
  std::string state;  // the last reading: "error-active", "bus-off", ... "unknown" (vcan)
  std::string worst_state;
  bool has_counters = false;
  std::uint16_t tx_errors_max = 0;
  std::uint16_t rx_errors_max = 0;
  std::uint32_t bitrate = 0;
  std::uint64_t readings = 0;
};

enum class RunStatus { kCompleted, kInterrupted, kFailed };

struct RunResult {
  RunStatus status = RunStatus::kCompleted;
  int signal = 0;
  std::string stop_reason;  // "duration", "load done", "signal SIGINT", or the error
  std::uint64_t ticks = 0;
  double wall_s = 0.0;
  std::optional<RealtimeReport> realtime;
  std::vector<LinkReport> links;
  std::vector<std::string> model_warnings;  // Session::range_warnings() at the end
  std::vector<std::string> table_warnings;  // Session::table_warnings() at the end
  // Outputs cut short by a failed write, and a summary.json that could not be written, one
  // message each (the stop_reason may be the first of them).
  std::vector<std::string> output_errors;
  // The expectations' verdicts (Session::finish), in scenario order.
  std::vector<ExpectationReport> expectations;
};

// Runs the scenario. Failures to create the outputs are reported as kFailed with a message.
RunResult run_scenario(const Scenario& scenario, const RunOptions& options);

// Names of a real-time run's threads (at most 15 characters), as ps -L and top -H show them.
inline constexpr const char* kTickThreadName = "packsim-tick";
inline constexpr const char* kWriterThreadName = "packsim-writer";

// The default recording interval when a scenario does not set one.
inline constexpr std::int64_t kDefaultRecordEveryNs = 1'000'000'000;

}  // namespace packsim::sim
