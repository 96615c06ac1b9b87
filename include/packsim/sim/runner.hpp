#pragma once
// Run of a scenario through a Session (read -> update -> write per tick) into an output directory:
//   signals.csv   the recorded samples (byte-identical for equal inputs and seed)
//   can.log       every frame sent and received, candump -l format (when a protocol runs)
//   summary.json  final state, extremes, energy books, CAN and BMS statistics, performance
// Both files are complete on every exit path: normal end, stop request (SIGINT/SIGTERM), or error.

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <string>

#include "packsim/sim/scenario.hpp"
#include "packsim/sim/session.hpp"

namespace packsim::sim {

struct RunOptions {
  std::filesystem::path out_dir;
  bool progress = false;  // draw a progress bar on stderr (the CLI enables it on a terminal)
  // Set (to the signal number) by a signal handler to stop the run; checked every tick.
  const std::atomic<int>* stop_request = nullptr;
  std::string version;
  // SocketCAN interfaces for the profile's buses; empty: the in-process loopback (as fast as the
  // CPU allows). On real interfaces the run is paced to the wall clock.
  std::vector<BusAssignment> interfaces;
};

enum class RunStatus { kCompleted, kInterrupted, kFailed };

struct RunResult {
  RunStatus status = RunStatus::kCompleted;
  int signal = 0;
  std::string stop_reason;  // "duration", "load done", "signal SIGINT", or the error
  std::uint64_t ticks = 0;
  double wall_s = 0.0;
};

// Runs the scenario. Failures to create the outputs are reported as kFailed with a message.
RunResult run_scenario(const Scenario& scenario, const RunOptions& options);

// The default recording interval when a scenario does not set one.
inline constexpr std::int64_t kDefaultRecordEveryNs = 1'000'000'000;

}  // namespace packsim::sim
