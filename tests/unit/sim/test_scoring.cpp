// Estimator scoring on constructed BMSs whose errors are known exactly.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <limits>

#include "packsim/sim/scoring.hpp"

using packsim::sim::EstimatorScore;
using packsim::sim::ScoreSample;

namespace {
constexpr std::int64_t kTickNs = 10'000'000;  // 10 ms
ScoreSample sample(std::int64_t k) {
  ScoreSample s;
  s.time_ns = (k + 1) * kTickNs;
  s.dt_s = 0.01;
  s.true_soc = 0.8 - 0.0002 * static_cast<double>(k);
  s.contactors_closed = true;
  return s;
}
}  // namespace

TEST_CASE("a SOC estimate off by a constant scores that constant", "[sim][scoring]") {
  EstimatorScore score;
  for (std::int64_t k = 0; k < 1000; ++k) {
    ScoreSample s = sample(k);
    s.bms_soc = s.true_soc + 0.03;
    s.true_soh = 1.0;
    s.bms_soh = 0.95;
    score.update(s);
  }
  const auto r = score.result();
  CHECK(r.soc.samples == 1000);
  CHECK(r.soc.rms == Approx(0.03).margin(1e-12));
  CHECK(r.soc.mean == Approx(0.03).margin(1e-12));
  CHECK(r.soc.max_abs == Approx(0.03).margin(1e-12));
  CHECK(r.soh.rms == Approx(0.05).margin(1e-12));
  CHECK(r.soh.mean == Approx(-0.05).margin(1e-12));
  // No hazard, no fault flag: nothing to detect, nothing falsely alarmed.
  CHECK(r.hazard_onset_ns == -1);
  CHECK_FALSE(r.detected);
  CHECK(std::isnan(r.detection_latency_s));
  CHECK(r.false_alarms == 0);
  CHECK(r.beyond_limit_closed_s == 0.0);
}

TEST_CASE("SOC error statistics match their closed forms", "[sim][scoring]") {
  SECTION("alternating +e, -e: RMS e, bias 0") {
    EstimatorScore score;
    for (std::int64_t k = 0; k < 500; ++k) {
      ScoreSample s = sample(k);
      s.bms_soc = s.true_soc + (k % 2 == 0 ? 0.02 : -0.02);
      score.update(s);
    }
    const auto r = score.result();
    CHECK(r.soc.rms == Approx(0.02).margin(1e-12));
    CHECK(r.soc.mean == Approx(0.0).margin(1e-12));
    CHECK(r.soc.max_abs_time_ns == kTickNs);  // the first tick already had the largest error
  }
  SECTION("a drifting estimate e_k = k * 1e-4: RMS sqrt((N-1)(2N-1)/6) * 1e-4, max at the end") {
    constexpr std::int64_t n = 400;
    EstimatorScore score;
    for (std::int64_t k = 0; k < n; ++k) {
      ScoreSample s = sample(k);
      s.bms_soc = s.true_soc + 1e-4 * static_cast<double>(k);
      score.update(s);
    }
    const auto r = score.result();
    const double nn = static_cast<double>(n);
    CHECK(r.soc.rms == Approx(std::sqrt((nn - 1.0) * (2.0 * nn - 1.0) / 6.0) * 1e-4).epsilon(1e-9));
    CHECK(r.soc.mean == Approx((nn - 1.0) / 2.0 * 1e-4).epsilon(1e-9));
    CHECK(r.soc.max_abs == Approx((nn - 1.0) * 1e-4).epsilon(1e-9));
    CHECK(r.soc.max_abs_time_ns == n * kTickNs);
  }
  SECTION("ticks before the BMS's first report do not count") {
    EstimatorScore score;
    for (std::int64_t k = 0; k < 100; ++k) {
      ScoreSample s = sample(k);
      if (k >= 40) s.bms_soc = s.true_soc - 0.01;  // NaN before
      score.update(s);
    }
    const auto r = score.result();
    CHECK(r.soc.samples == 60);
    CHECK(r.soc.mean == Approx(-0.01).margin(1e-12));
    CHECK(std::isnan(score.result().soh.rms));  // never reported
  }
}

TEST_CASE("fault detection latency, false alarms and exposure", "[sim][scoring]") {
  // A scripted fault begins at 5.000 s and puts the pack beyond a limit at once; the BMS flags it
  // at 5.300 s and opens at 5.350 s. A spurious flag from 1.000 s to 1.100 s before it.
  EstimatorScore score;
  for (std::int64_t k = 0; k < 800; ++k) {
    ScoreSample s = sample(k);
    const std::int64_t t = s.time_ns;
    if (t >= 5'000'000'000) {
      s.fault_onset_ns = 5'000'000'000;
      s.beyond_limit = true;
    }
    s.bms_fault = (t >= 1'000'000'000 && t < 1'100'000'000) || t >= 5'300'000'000;
    s.contactors_closed = t < 5'350'000'000;
    score.update(s);
  }
  const auto r = score.result();
  CHECK(r.hazard_onset_ns == 5'000'000'000);
  CHECK(r.detected);
  CHECK(r.detection_latency_s == Approx(0.3).margin(1e-12));
  CHECK(r.open_latency_s == Approx(0.35).margin(1e-12));
  CHECK(r.false_alarms == 1);
  // Ticks ending 5.00 .. 5.34 s were beyond the limit with the contactors closed: 35 ticks.
  CHECK(r.beyond_limit_closed_s == Approx(0.35).margin(1e-9));
}

TEST_CASE("a hazard the BMS never flags is a miss, and the first limit crossing dates it",
          "[sim][scoring]") {
  EstimatorScore score;
  for (std::int64_t k = 0; k < 300; ++k) {
    ScoreSample s = sample(k);
    s.beyond_limit = s.time_ns >= 2'000'000'000;  // no scripted fault: the pack drifts over
    score.update(s);
  }
  const auto r = score.result();
  CHECK(r.hazard_onset_ns == 2'000'000'000);
  CHECK_FALSE(r.detected);
  CHECK(std::isnan(r.detection_latency_s));
  CHECK(std::isnan(r.open_latency_s));
  CHECK(r.false_alarms == 0);
  CHECK(r.beyond_limit_closed_s == Approx(1.01).margin(1e-9));  // 2.00 .. 3.00 s: 101 ticks
}

TEST_CASE("per-cell SOC errors: every channel with an estimate, the worst named",
          "[sim][scoring]") {
  // Three channels: 0 off by +1 %, 1 by -2 %, 2 never estimated; from tick 100, channel 1 is
  // off by -5 % (a cell the BMS loses track of). Closed forms over 2 x 200 samples.
  EstimatorScore score;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (std::int64_t k = 0; k < 200; ++k) {
    ScoreSample s = sample(k);
    const double truth[3] = {0.50, 0.40, 0.30};
    const double est[3] = {0.51, k < 100 ? 0.38 : 0.35, nan};
    s.true_cell_soc = truth;
    s.bms_cell_soc = est;
    s.n_channels = 3;
    score.update(s);
  }
  const auto r = score.result();
  CHECK(r.cell_soc.samples == 400);
  // Sum of squares: 200 * 1e-4 + 100 * 4e-4 + 100 * 25e-4 = 0.31 over 400 samples.
  CHECK(r.cell_soc.rms == Approx(std::sqrt(0.31 / 400.0)).epsilon(1e-9));
  CHECK(r.cell_soc.mean == Approx((200 * 0.01 - 100 * 0.02 - 100 * 0.05) / 400.0).epsilon(1e-9));
  CHECK(r.cell_soc.max_abs == Approx(0.05).epsilon(1e-9));
  CHECK(r.cell_soc.max_abs_index == 1);
  CHECK(r.cell_soc.max_abs_time_ns == 101 * kTickNs);  // tick 100 ends at 101 ticks
  CHECK(r.soc.samples == 0);                           // the pack estimate was never reported
  CHECK(r.soc.max_abs_index == -1);
}
