#pragma once
// Turns a scenario into the pack's inputs tick by tick: applies due events, plays the load segments
// (fixed setpoints or a profile), and ends a segment when its duration or a stop condition is
// reached. Pure logic over plain data, no I/O and no allocation per tick.

#include <cstdint>
#include <string>

#include "packsim/model/afe.hpp"
#include "packsim/model/pack.hpp"
#include "packsim/sim/condition.hpp"
#include "packsim/sim/scenario.hpp"

namespace packsim::sim {

// What happened to a scripted fault during a tick, for events.csv and the session (which applies
// the CAN faults to the protocol).
enum class FaultAction : std::uint8_t { kStart, kStop, kStep, kRampEnd };
const char* fault_action_name(FaultAction a);

struct FaultTransition {
  std::int64_t time_ns = 0;
  int fault = 0;  // index into Scenario::faults
  FaultAction action = FaultAction::kStart;
  double value = 0.0;  // the magnitude from now on (SI), 0 for a stop
};

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
    bool fault_reset = false;    // true for the tick of a reset event
    std::int64_t drive_ns = 0;   // the last drive request (start, or a bms_drive = true event)
    std::int64_t reset_ns = -1;  // the last fault_reset = true event; -1: none since
  };
  // What the host sends at time_ns (a frame due then): standby while not driving and for
  // [bms] host_standby after each drive request, [bms] host_mode after that; the fault reset for
  // [bms] host_reset from its event.
  static can::HostRequest host_request(const HostRequests& host, const BmsSettings& bms,
                                       std::int64_t time_ns);

  // Before a tick that starts at `now_ns`: set data.input from the events and the active segment.
  // Measurement faults go to `afe` (may be null), requests to the BMS to `host`.
  // Scripted faults write their interface fields into data, afe and shunt (each may be null:
  // then those faults do nothing) and list what they did in transitions().
  void read(std::int64_t now_ns, model::PackData& data, model::AfeData* afe = nullptr,
            HostRequests* host = nullptr, model::ShuntData* shunt = nullptr);
  // After the tick (data holds its outputs, data.time_ns its end): check the segment's conditions
  // and the faults' `when` (only faults not yet started) and `until` (only active ones).
  void after_step(const model::PackData& data);
  // The BMS's state for `bms_state` conditions (bms::BmsState as a number; -1 unknown).
  void set_bms_state(int state) { bms_state_ = state; }
  // What bms_* and sent_* conditions read (owned by the caller, updated in place each tick).
  void set_condition_sources(const can::BmsObservations* bms, const SentValues* sent) {
    bms_observed_ = bms;
    sent_ = sent;
  }
  // What conditions see after a tick that left `data`: the driver's own and the expectations'.
  ConditionView view(const model::PackData& data) const {
    return {&data,
            data.time_ns,
            bms_state_,
            fault_log_.data(),
            static_cast<int>(fault_log_.size()),
            bms_observed_,
            sent_};
  }

  // What the faults did during the last read(), in fault order.
  const FaultTransition* transitions() const { return transitions_.data(); }
  std::size_t transition_count() const { return n_transitions_; }
  std::uint64_t transitions_dropped() const { return transitions_dropped_; }
  const std::vector<FaultLog>& fault_log() const { return fault_log_; }

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

  // Fault scheduling, all sized once by the constructor.
  enum class FaultState : std::uint8_t { kPending, kArmed, kActive, kDone };
  struct FaultRun {
    FaultState state = FaultState::kPending;
    std::int64_t fire_ns = 0;  // armed: start at this time
    bool stop_requested = false;
    std::size_t next_step = 0;
    bool ramping = false;
    double base = 0.0;   // what the fault replaced (ambient), restored at its end
    double stuck = 0.0;  // the reading held by afe_stuck / current_stuck
  };
  void start_fault(std::size_t k, std::int64_t now_ns, model::PackData& data, model::AfeData* afe,
                   model::ShuntData* shunt);
  void stop_fault(std::size_t k, std::int64_t now_ns, model::PackData& data, model::AfeData* afe,
                  model::ShuntData* shunt);
  void apply_fault(std::size_t k, bool on, double value, model::PackData& data, model::AfeData* afe,
                   model::ShuntData* shunt);
  void note(std::int64_t now_ns, std::size_t k, FaultAction a, double value);
  std::vector<FaultRun> runs_;
  std::vector<FaultLog> fault_log_;
  std::vector<FaultTransition> transitions_;
  std::size_t n_transitions_ = 0;
  std::uint64_t transitions_dropped_ = 0;
  int bms_state_ = -1;
  const can::BmsObservations* bms_observed_ = nullptr;
  const SentValues* sent_ = nullptr;
};

// A fault's magnitude `t_ns` after its onset (constant, ramp or steps).
double fault_magnitude(const Fault& f, std::int64_t t_ns);

}  // namespace packsim::sim
