#include "packsim/sim/driver.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace packsim::sim {

ScenarioDriver::ScenarioDriver(const Scenario& scenario)
    : scenario_(&scenario),
      log_(scenario.load.size()),
      runs_(scenario.faults.size()),
      fault_log_(scenario.faults.size()),
      // A fault starts, steps and stops at most once per tick; the CAN ones and a few spare.
      transitions_(3 * scenario.faults.size() + 4) {}

const char* fault_action_name(FaultAction a) {
  switch (a) {
    case FaultAction::kStart:
      return "start";
    case FaultAction::kStop:
      return "stop";
    case FaultAction::kStep:
      return "step";
    case FaultAction::kRampEnd:
      return "ramp_end";
  }
  return "?";
}

double fault_magnitude(const Fault& f, std::int64_t t_ns) {
  if (!f.step_ns.empty()) {
    double v = f.value;  // before the first step (the loader makes steps start at 0 without one)
    for (std::size_t k = 0; k < f.step_ns.size() && f.step_ns[k] <= t_ns; ++k) v = f.step_value[k];
    return v;
  }
  if (f.ramp_to) {
    if (f.ramp_over_ns <= 0 || t_ns >= f.ramp_over_ns) return *f.ramp_to;
    const double x = static_cast<double>(t_ns) / static_cast<double>(f.ramp_over_ns);
    return f.value + (*f.ramp_to - f.value) * x;
  }
  return f.value;
}

void ScenarioDriver::note(std::int64_t now_ns, std::size_t k, FaultAction a, double value) {
  if (n_transitions_ >= transitions_.size()) {
    ++transitions_dropped_;
    return;
  }
  transitions_[n_transitions_++] = {now_ns, static_cast<int>(k), a, value};
}

void ScenarioDriver::apply_fault(std::size_t k, bool on, double value, model::PackData& d,
                                 model::AfeData* afe, model::ShuntData* shunt) {
  const Fault& f = scenario_->faults[k];
  FaultRun& run = runs_[k];
  const auto i = static_cast<std::size_t>(f.target < 0 ? 0 : f.target);
  auto contactor = [&](model::ContactorState& s) {
    (f.target == 0 ? s.main_pos : f.target == 1 ? s.main_neg : s.precharge) = on;
  };
  switch (f.kind) {
    case FaultKind::kInternalShort:
      d.leak_s[i] = on ? 1.0 / value : 0.0;
      break;
    case FaultKind::kHeater:
      d.heater_w[i] = on ? value : 0.0;
      break;
    case FaultKind::kOpenCell:
      d.open[i] = on ? 1 : 0;
      break;
    case FaultKind::kCellFade:
      d.capacity_fault_scale[i] = on ? value : 1.0;
      d.r0_fault_scale[i] = on ? f.value2 : 1.0;
      break;
    case FaultKind::kLooseBusbar:
      d.busbar_extra_ohm[i] = on ? value : 0.0;
      break;
    case FaultKind::kLooseLink:
      d.group_link_extra_ohm[i] = on ? value : 0.0;
      break;
    case FaultKind::kContactorWelded:
      contactor(d.input.contactor_welded);
      break;
    case FaultKind::kContactorStuckOpen:
      contactor(d.input.contactor_stuck_open);
      break;
    case FaultKind::kPrechargeOpen:
      d.input.precharge_open = on;
      break;
    case FaultKind::kInsulation:
      d.input.iso_fault_cell = on ? f.target : -1;
      d.input.iso_fault_s = on ? 1.0 / value : 0.0;
      break;
    case FaultKind::kCoolingLoss:
      if (f.target < 0) {
        for (double& s : d.module_cooling_scale) s = on ? value : 1.0;
      } else {
        d.module_cooling_scale[i] = on ? value : 1.0;
      }
      break;
    case FaultKind::kAmbient:
      d.input.ambient_k = on ? value : run.base;
      break;
    case FaultKind::kAfeOffset:
      if (afe) afe->v_fault_offset[i] = on ? value : 0.0;
      break;
    case FaultKind::kAfeGain:
      if (afe) afe->v_fault_gain[i] = on ? value : 1.0;
      break;
    case FaultKind::kAfeStuck:
      if (afe) {
        afe->v_stuck[i] = on ? 1 : 0;
        afe->v_stuck_value[i] = on ? run.stuck : 0.0;
      }
      break;
    case FaultKind::kAfeNoise:
      if (afe) afe->v_noise_burst_sigma[i] = on ? value : 0.0;
      break;
    case FaultKind::kAfeDropout:
      if (afe) afe->v_dropout[i] = on ? 1 : 0;
      break;
    case FaultKind::kOpenWire:
      if (afe) afe->open_wire[i] = on ? 1 : 0;
      break;
    case FaultKind::kNtcOffset:
    case FaultKind::kNtcDrift:
      if (afe) afe->t_fault_offset_k[i] = on ? value : 0.0;
      break;
    case FaultKind::kNtcOpen:
      if (afe) afe->ntc_open[i] = on ? 1 : 0;
      break;
    case FaultKind::kNtcShort:
      if (afe) afe->ntc_short[i] = on ? 1 : 0;
      break;
    case FaultKind::kCurrentOffset:
      if (shunt) shunt->fault_offset_a = on ? value : 0.0;
      break;
    case FaultKind::kCurrentStuck:
      if (shunt) {
        shunt->stuck = on;
        shunt->stuck_a = on ? run.stuck : 0.0;
      }
      break;
    case FaultKind::kCurrentError:
      if (shunt) shunt->error_bits = on ? static_cast<std::uint8_t>(value) : 0;
      break;
    case FaultKind::kCanDrop:
    case FaultKind::kCanCorruptCrc:
    case FaultKind::kCanRepeatCounter:
    case FaultKind::kCanShortFrame:
    case FaultKind::kCanDelay:
    case FaultKind::kCanBabble:
    case FaultKind::kCanSilence:
    case FaultKind::kCanErrorFrames:
      break;  // on the wire: the session applies them to the protocol from transitions()
  }
}

void ScenarioDriver::start_fault(std::size_t k, std::int64_t now_ns, model::PackData& data,
                                 model::AfeData* afe, model::ShuntData* shunt) {
  const Fault& f = scenario_->faults[k];
  FaultRun& run = runs_[k];
  run.state = FaultState::kActive;
  run.next_step = 0;
  run.ramping = f.ramp_to.has_value();
  run.stop_requested = false;
  fault_log_[k].onset_ns = now_ns;
  if (f.kind == FaultKind::kAmbient) run.base = data.input.ambient_k;
  // A stuck reading without a value holds the one of the last measurement.
  run.stuck = f.value;
  if (!f.has_value && f.kind == FaultKind::kAfeStuck && afe)
    run.stuck = afe->v_meas[static_cast<std::size_t>(f.target)];
  if (!f.has_value && f.kind == FaultKind::kCurrentStuck && shunt) run.stuck = shunt->current_a;
  while (run.next_step < f.step_ns.size() && f.step_ns[run.next_step] <= 0) ++run.next_step;
  const double v = f.kind == FaultKind::kAfeStuck || f.kind == FaultKind::kCurrentStuck
                       ? run.stuck
                       : fault_magnitude(f, 0);
  apply_fault(k, true, v, data, afe, shunt);
  note(now_ns, k, FaultAction::kStart, v);
}

void ScenarioDriver::stop_fault(std::size_t k, std::int64_t now_ns, model::PackData& data,
                                model::AfeData* afe, model::ShuntData* shunt) {
  runs_[k].state = FaultState::kDone;
  fault_log_[k].end_ns = now_ns;
  apply_fault(k, false, 0.0, data, afe, shunt);
  note(now_ns, k, FaultAction::kStop, 0.0);
}

void ScenarioDriver::start_segment(std::int64_t now_ns) {
  segment_start_ns_ = now_ns;
  segment_started_ = true;
  profile_finished_ = false;
  profile_cursor_ = 0;
  if (segment_ < scenario_->load.size()) cv_setpoint_v_ = scenario_->load[segment_].cv_voltage_v;
  if (segment_ < log_.size()) log_[segment_].start_ns = now_ns;
}

namespace {
// One play lasts until the last sample plus one sample interval (the last value is held for it).
std::int64_t profile_period(const Profile& p) {
  const std::size_t n = p.t_ns.size();
  return p.t_ns[n - 1] + (p.t_ns[n - 1] - p.t_ns[n - 2]);
}
// All of its plays; a long profile repeated many times outlasts any run, so the product saturates
// instead of overflowing.
std::int64_t plays_ns(const Profile& p) {
  std::int64_t total = 0;
  if (__builtin_mul_overflow(profile_period(p), static_cast<std::int64_t>(p.repeat), &total))
    return std::numeric_limits<std::int64_t>::max();
  return total;
}
}  // namespace

double ScenarioDriver::profile_value(const Profile& p, std::int64_t t_ns, bool& finished) {
  const std::size_t n = p.t_ns.size();
  const std::int64_t period = profile_period(p);
  const std::int64_t play = t_ns / period;
  if (play >= p.repeat) {
    finished = true;
    return 0.0;
  }
  const std::int64_t t = t_ns - play * period;
  if (profile_cursor_ >= n || p.t_ns[profile_cursor_] > t) profile_cursor_ = 0;  // a new play
  while (profile_cursor_ + 1 < n && p.t_ns[profile_cursor_ + 1] <= t) ++profile_cursor_;
  const std::size_t k = profile_cursor_;
  if (!p.linear || k + 1 >= n) return p.value[k];
  const double f =
      static_cast<double>(t - p.t_ns[k]) / static_cast<double>(p.t_ns[k + 1] - p.t_ns[k]);
  return p.value[k] + f * (p.value[k + 1] - p.value[k]);
}

can::HostRequest ScenarioDriver::host_request(const HostRequests& host, const BmsSettings& bms,
                                              std::int64_t time_ns) {
  can::HostRequest r;
  if (host.drive && time_ns - host.drive_ns >= bms.host_standby_ns) r.mode = bms.host_mode;
  r.fault_reset =
      host.reset_ns >= 0 && time_ns >= host.reset_ns && time_ns - host.reset_ns < bms.host_reset_ns;
  return r;
}

void ScenarioDriver::read(std::int64_t now_ns, model::PackData& data, model::AfeData* afe,
                          HostRequests* host, model::ShuntData* shunt) {
  const Scenario& sc = *scenario_;
  n_transitions_ = 0;
  if (host) host->fault_reset = false;
  fired_first_ = next_event_;
  while (next_event_ < sc.events.size() && sc.events[next_event_].at_ns <= now_ns) {
    const Event& e = sc.events[next_event_++];
    if (e.contactors) data.input.contactors = *e.contactors;
    if (e.ambient_k) data.input.ambient_k = *e.ambient_k;
    if (e.soc) data.z[static_cast<std::size_t>(e.soc->cell)] = e.soc->soc;
    if (e.afe && afe) {
      const auto ch = static_cast<std::size_t>(e.afe->channel);
      if (e.afe->offset_v) afe->v_fault_offset[ch] = *e.afe->offset_v;
      if (e.afe->open_wire) afe->open_wire[ch] = *e.afe->open_wire ? 1 : 0;
    }
    if (e.ntc && afe)
      afe->t_fault_offset_k[static_cast<std::size_t>(e.ntc->sensor)] = e.ntc->offset_k;
    if (host && e.bms_drive) {
      host->drive = *e.bms_drive;
      if (*e.bms_drive) host->drive_ns = e.at_ns;  // a VCU starts over: standby, then the mode
    }
    if (host && e.fault_reset) {
      host->fault_reset = *e.fault_reset;
      host->reset_ns = *e.fault_reset ? e.at_ns : -1;
    }
  }
  // Scripted faults: start the due ones, stop the ended ones, move ramps and steps on.
  for (std::size_t k = 0; k < sc.faults.size(); ++k) {
    const Fault& f = sc.faults[k];
    FaultRun& run = runs_[k];
    if ((run.state == FaultState::kPending && f.at_ns && now_ns >= *f.at_ns) ||
        (run.state == FaultState::kArmed && now_ns >= run.fire_ns)) {
      start_fault(k, now_ns, data, afe, shunt);
    }
    if (run.state != FaultState::kActive) continue;
    const std::int64_t t = now_ns - fault_log_[k].onset_ns;
    if (run.stop_requested || (f.duration_ns && t >= *f.duration_ns)) {
      stop_fault(k, now_ns, data, afe, shunt);
      continue;
    }
    if (run.next_step < f.step_ns.size() && f.step_ns[run.next_step] <= t) {
      while (run.next_step < f.step_ns.size() && f.step_ns[run.next_step] <= t) ++run.next_step;
      const double v = f.step_value[run.next_step - 1];
      apply_fault(k, true, v, data, afe, shunt);
      note(now_ns, k, FaultAction::kStep, v);
    } else if (run.ramping && t > 0) {
      const double v = fault_magnitude(f, t);
      apply_fault(k, true, v, data, afe, shunt);
      if (t >= f.ramp_over_ns) {
        run.ramping = false;
        note(now_ns, k, FaultAction::kRampEnd, v);
      }
    }
  }
  model::LoadCommand cmd;
  if (segment_ < sc.load.size()) {
    if (!segment_started_) start_segment(now_ns);
    const LoadSegment& seg = sc.load[segment_];
    const std::int64_t t = now_ns - segment_start_ns_;
    switch (seg.kind) {
      case SegmentKind::kRest:
        break;
      case SegmentKind::kCurrent:
        cmd.mode = model::LoadMode::kCurrent;
        cmd.current_a = seg.value;
        break;
      case SegmentKind::kPower:
        cmd.mode = model::LoadMode::kPower;
        cmd.power_w = seg.value;
        break;
      case SegmentKind::kResistance:
        cmd.mode = model::LoadMode::kResistance;
        cmd.resistance_ohm = seg.value;
        break;
      case SegmentKind::kCcCv:
        cmd.mode = model::LoadMode::kCcCv;
        cmd.charge_current_a = seg.value;
        cmd.cv_voltage_v = seg.cell_limit_v ? cv_setpoint_v_ : seg.cv_voltage_v;
        break;
      case SegmentKind::kProfile: {
        const double v = profile_value(*seg.profile, t, profile_finished_);
        if (!profile_finished_) {
          cmd.mode = seg.profile->power ? model::LoadMode::kPower : model::LoadMode::kCurrent;
          cmd.current_a = v;
          cmd.power_w = v;
        }
        break;
      }
    }
  }
  data.input.load = cmd;
}

void ScenarioDriver::after_step(const model::PackData& data) {
  const Scenario& sc = *scenario_;
  if (!sc.faults.empty()) {
    // Only faults waiting for their `when`, and active ones with an `until`, cost anything.
    const ConditionView view = this->view(data);
    for (std::size_t k = 0; k < sc.faults.size(); ++k) {
      const Fault& f = sc.faults[k];
      FaultRun& run = runs_[k];
      if (run.state == FaultState::kPending && f.when && evaluate(*f.when, view)) {
        run.state = FaultState::kArmed;
        run.fire_ns = data.time_ns + f.delay_ns;
      } else if (run.state == FaultState::kActive && f.until && !run.stop_requested &&
                 evaluate(*f.until, view)) {
        run.stop_requested = true;
      }
    }
  }
  if (segment_ >= sc.load.size() || !segment_started_) return;
  const LoadSegment& seg = sc.load[segment_];
  if (seg.kind == SegmentKind::kCcCv && seg.cell_limit_v) {
    // Integral control of the highest cell: lowering the pack setpoint by `series` x the excess
    // lowers that cell by about the excess; half of it per tick converges without overshoot for
    // cells of similar resistance. Never above the segment's own pack setpoint.
    const double excess = data.v_max - *seg.cell_limit_v;
    cv_setpoint_v_ = std::min(seg.cv_voltage_v, cv_setpoint_v_ - 0.5 * seg.series * excess);
    // Anti-windup: a setpoint below the pack's own voltage already idles the charger; letting it
    // sink further while a cell relaxes would delay the restart by minutes.
    cv_setpoint_v_ = std::max(cv_setpoint_v_, data.pack_voltage_v - 0.005 * seg.series);
  }
  int ended_by = -1;
  const ConditionView view = this->view(data);
  for (std::size_t k = 0; k < seg.until.size(); ++k) {
    if (evaluate(seg.until[k], view)) {
      ended_by = static_cast<int>(k);
      break;
    }
  }
  if (ended_by < 0 && seg.duration_ns && data.time_ns - segment_start_ns_ >= *seg.duration_ns) {
    ended_by = -2;
  }
  if (ended_by < 0 && seg.kind == SegmentKind::kProfile &&
      (profile_finished_ || data.time_ns - segment_start_ns_ >= plays_ns(*seg.profile))) {
    ended_by = -3;
  }
  if (ended_by == -1) return;
  log_[segment_].end_ns = data.time_ns;
  log_[segment_].ended_by = ended_by;
  ++segment_;
  segment_started_ = false;
}

}  // namespace packsim::sim
