#include "packsim/sim/driver.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace packsim::sim {

ScenarioDriver::ScenarioDriver(const Scenario& scenario)
    : scenario_(&scenario), log_(scenario.load.size()) {}

double watched_value(Watch w, const model::PackData& d) {
  switch (w) {
    case Watch::kCellVMin:
      return d.v_min;
    case Watch::kCellVMax:
      return d.v_max;
    case Watch::kPackV:
      return d.pack_voltage_v;
    case Watch::kCurrent:
      return d.pack_current_a;
    case Watch::kAbsCurrent:
      return std::fabs(d.pack_current_a);
    case Watch::kSocMean:
      return d.soc_mean;
    case Watch::kSocMin:
      return d.soc_min;
    case Watch::kSocMax:
      return d.soc_max;
    case Watch::kTempMax:
      return d.t_max_k;
    case Watch::kTempMin:
      return d.t_min_k;
  }
  return 0.0;
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

void ScenarioDriver::read(std::int64_t now_ns, model::PackData& data, model::AfeData* afe,
                          HostRequests* host) {
  const Scenario& sc = *scenario_;
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
    if (host && e.bms_drive) host->drive = *e.bms_drive;
    if (host && e.fault_reset) host->fault_reset = *e.fault_reset;
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
  for (std::size_t k = 0; k < seg.until.size(); ++k) {
    const StopCondition& c = seg.until[k];
    const double v = watched_value(c.watch, data);
    if (c.below ? v < c.threshold : v > c.threshold) {
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
