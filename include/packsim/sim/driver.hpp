#pragma once
// Turns a scenario into the pack's inputs tick by tick: applies due events, plays the load segments
// (fixed setpoints or a profile), and ends a segment when its duration or a stop condition is
// reached. Pure logic over plain data, no I/O and no allocation per tick.

#include <cstdint>
#include <string>

#include "packsim/model/afe.hpp"
#include "packsim/model/pack.hpp"
#include "packsim/sim/scenario.hpp"

namespace packsim::sim {

// How a segment ended, for the summary.
struct SegmentLog {
  std::int64_t start_ns = 0;
  std::int64_t end_ns = -1;  // -1: still running when the run ended
  int ended_by = -1;  // -2: duration, -3: profile finished, >= 0: index of its stop condition
};

class ScenarioDriver {
 public:
  explicit ScenarioDriver(const Scenario& scenario);

  // What the events ask of the BMS side (applied by the session).
  struct HostRequests {
    bool drive = true;
    bool fault_reset = false;  // true for the tick of a reset event
  };

  // Before a tick that starts at `now_ns`: set data.input from the events and the active segment.
  // Measurement faults go to `afe` (may be null), requests to the BMS to `host`.
  void read(std::int64_t now_ns, model::PackData& data, model::AfeData* afe = nullptr,
            HostRequests* host = nullptr);
  // After the tick (data holds its outputs, data.time_ns its end): check the segment's conditions.
  void after_step(const model::PackData& data);

  // The events the last read() applied: scenario().events[first, last). The session applies what
  // concerns the transports (CAN faults, current-sensor errors) from these.
  std::size_t fired_first() const { return fired_first_; }
  std::size_t fired_last() const { return next_event_; }

  bool load_done() const { return segment_ >= scenario_->load.size(); }
  std::size_t segment() const { return segment_; }
  const std::vector<SegmentLog>& segment_log() const { return log_; }

 private:
  void start_segment(std::int64_t now_ns);
  double profile_value(const Profile& p, std::int64_t t_ns, bool& finished);

  const Scenario* scenario_;
  std::size_t next_event_ = 0;
  std::size_t fired_first_ = 0;
  std::size_t segment_ = 0;
  std::int64_t segment_start_ns_ = 0;
  bool segment_started_ = false;
  double cv_setpoint_v_ = 0.0;  // CC-CV with a cell limit: the pack setpoint the loop adjusts
  bool profile_finished_ = false;
  std::size_t profile_cursor_ = 0;
  std::vector<SegmentLog> log_;  // sized once: one per segment
};

// The value a stop condition watches.
double watched_value(Watch w, const model::PackData& d);

}  // namespace packsim::sim
