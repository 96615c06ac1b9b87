#pragma once
// Estimator scoring (issue 11): how well the BMS under test knew the pack, against the simulator's
// ground truth, accumulated tick by tick without allocating. The session feeds one ScoreSample per
// tick; result() is read after the run (summary.json, end-of-run expectations).
//
// Definitions (docs/expectations.md):
//  - SOC error = BMS estimate - true pack SOC, over the ticks where the BMS has reported one:
//    RMS, signed mean (bias) and the largest magnitude with its time. Likewise SOH.
//  - Per-cell SOC error (where the BMS reports a SOC per cell, bms_cell_soc): its estimate for a
//    voltage channel - the true SOC of that series group (the mean of its parallel cells), over
//    every (tick, channel) with an estimate; the largest also names its channel.
//  - Hazard onset: the earlier of the first scripted fault's onset and the first tick the true pack
//    state is beyond a protection limit. Detection latency: onset -> the first tick at or after it
//    with the BMS's fault flag set; open latency: onset -> the first tick at or after that
//    detection with the contactors open (NaN when the BMS never flagged it).
//  - False alarms: rising edges of the BMS's fault flag before any hazard onset.
//  - Beyond-limit time: how long the pack was beyond a limit with its contactors closed, i.e. the
//    exposure the BMS let through.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>

namespace packsim::sim {

struct ScoreSample {
  std::int64_t time_ns = 0;  // the tick's end
  double dt_s = 0.0;         // the tick's length
  double true_soc = std::numeric_limits<double>::quiet_NaN();
  double bms_soc = std::numeric_limits<double>::quiet_NaN();  // NaN: not reported (yet)
  double true_soh = std::numeric_limits<double>::quiet_NaN();
  double bms_soh = std::numeric_limits<double>::quiet_NaN();
  bool bms_fault = false;            // the BMS reports a fault (flag, or its state is "fault")
  bool contactors_closed = false;    // the pack is connected (true contactor state)
  bool beyond_limit = false;         // the true pack state is beyond a protection limit
  std::int64_t fault_onset_ns = -1;  // earliest scripted fault onset so far, -1: none
  // Per channel (n_channels each; null or NaN entries: none): truth and the BMS's estimate.
  const double* true_cell_soc = nullptr;
  const double* bms_cell_soc = nullptr;
  std::size_t n_channels = 0;
};

struct ErrorStats {
  std::int64_t samples = 0;
  double rms = std::numeric_limits<double>::quiet_NaN();   // NaN without samples
  double mean = std::numeric_limits<double>::quiet_NaN();  // signed: estimate - truth
  double max_abs = std::numeric_limits<double>::quiet_NaN();
  std::int64_t max_abs_time_ns = -1;
  int max_abs_index = -1;  // per-cell errors: the channel of the largest
};

struct ScoreResult {
  ErrorStats soc;
  ErrorStats soh;
  ErrorStats cell_soc;
  std::int64_t hazard_onset_ns = -1;  // -1: no hazard in the run
  double detection_latency_s = std::numeric_limits<double>::quiet_NaN();  // NaN: none or missed
  double open_latency_s = std::numeric_limits<double>::quiet_NaN();
  bool detected = false;  // a hazard occurred and the BMS flagged a fault after it
  int false_alarms = 0;
  double beyond_limit_closed_s = 0.0;
};

class EstimatorScore {
 public:
  void update(const ScoreSample& s);
  ScoreResult result() const;

 private:
  struct Accumulator {
    std::int64_t n = 0;
    double sum = 0.0;
    double sum_sq = 0.0;
    double max_abs = -1.0;
    std::int64_t max_time_ns = -1;
    int max_index = -1;
    void add(double err, std::int64_t t, int index = -1);
    ErrorStats stats() const;
  };
  Accumulator soc_;
  Accumulator soh_;
  Accumulator cell_soc_;
  std::int64_t hazard_onset_ns_ = -1;
  std::int64_t detected_ns_ = -1;
  std::int64_t opened_ns_ = -1;
  bool last_fault_ = false;
  int false_alarms_ = 0;
  double beyond_closed_s_ = 0.0;
};

}  // namespace packsim::sim
