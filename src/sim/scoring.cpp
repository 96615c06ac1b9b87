#include "packsim/sim/scoring.hpp"

#include <algorithm>

namespace packsim::sim {

void EstimatorScore::Accumulator::add(double err, std::int64_t t, int index) {
  ++n;
  sum += err;
  sum_sq += err * err;
  // The first largest error keeps its time: a steady offset is dated where it began.
  if (std::fabs(err) > max_abs) {
    max_abs = std::fabs(err);
    max_time_ns = t;
    max_index = index;
  }
}

ErrorStats EstimatorScore::Accumulator::stats() const {
  ErrorStats s;
  s.samples = n;
  if (n == 0) return s;
  const auto count = static_cast<double>(n);
  s.mean = sum / count;
  // Rounding can leave sum_sq / n a hair below mean^2 for a constant error: RMS >= |mean|.
  s.rms = std::max(std::sqrt(sum_sq / count), std::fabs(s.mean));
  s.max_abs = max_abs;
  s.max_abs_time_ns = max_time_ns;
  s.max_abs_index = max_index;
  return s;
}

void EstimatorScore::update(const ScoreSample& s) {
  if (std::isfinite(s.bms_soc) && std::isfinite(s.true_soc)) {
    soc_.add(s.bms_soc - s.true_soc, s.time_ns);
  }
  if (std::isfinite(s.bms_soh) && std::isfinite(s.true_soh)) {
    soh_.add(s.bms_soh - s.true_soh, s.time_ns);
  }
  if (s.true_cell_soc && s.bms_cell_soc) {
    for (std::size_t g = 0; g < s.n_channels; ++g) {
      const double est = s.bms_cell_soc[g];
      const double truth = s.true_cell_soc[g];
      if (std::isfinite(est) && std::isfinite(truth))
        cell_soc_.add(est - truth, s.time_ns, static_cast<int>(g));
    }
  }

  if (hazard_onset_ns_ < 0) {
    if (s.fault_onset_ns >= 0) hazard_onset_ns_ = s.fault_onset_ns;
    if (s.beyond_limit && (hazard_onset_ns_ < 0 || s.time_ns < hazard_onset_ns_)) {
      hazard_onset_ns_ = s.time_ns;
    }
  }
  const bool hazard = hazard_onset_ns_ >= 0 && s.time_ns >= hazard_onset_ns_;

  // A rising edge with no hazard yet is a false alarm; a flag already up when the hazard begins
  // detects it at the onset (the BMS had it before packsim knew it mattered).
  if (s.bms_fault && !last_fault_ && !hazard) ++false_alarms_;
  last_fault_ = s.bms_fault;
  if (hazard && detected_ns_ < 0 && s.bms_fault) detected_ns_ = s.time_ns;
  // Opening counts once the BMS has flagged the hazard: contactors still open from the start
  // (a fault at t = 0, before the BMS closed them) are not an answer.
  if (detected_ns_ >= 0 && opened_ns_ < 0 && !s.contactors_closed) opened_ns_ = s.time_ns;

  if (s.beyond_limit && s.contactors_closed) beyond_closed_s_ += s.dt_s;
}

ScoreResult EstimatorScore::result() const {
  ScoreResult r;
  r.soc = soc_.stats();
  r.soh = soh_.stats();
  r.cell_soc = cell_soc_.stats();
  r.hazard_onset_ns = hazard_onset_ns_;
  r.false_alarms = false_alarms_;
  r.beyond_limit_closed_s = beyond_closed_s_;
  if (hazard_onset_ns_ >= 0) {
    if (detected_ns_ >= 0) {
      r.detected = true;
      r.detection_latency_s = static_cast<double>(detected_ns_ - hazard_onset_ns_) / 1e9;
    }
    if (opened_ns_ >= 0) {
      r.open_latency_s = static_cast<double>(opened_ns_ - hazard_onset_ns_) / 1e9;
    }
  }
  return r;
}

}  // namespace packsim::sim
