#pragma once
// Expectations (issue 11, docs/expectations.md): what the BMS must do, written next to the
// scenario as [[expect]] tables, each a condition of the condition language (condition.hpp) under
// a temporal form. The ExpectationEngine checks them after every tick over the ConditionView the
// driver uses, without allocating: it keeps numbers (times, the values its conditions read) and
// words its verdicts only after the run.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "packsim/config/quantity.hpp"
#include "packsim/sim/condition.hpp"
#include "packsim/util/diagnostic.hpp"

namespace packsim::sim {

enum class ExpectForm : std::uint8_t {
  kAlways,      // `expect` holds after every tick
  kNever,       // `expect` holds after no tick
  kEventually,  // `expect` holds after some tick (by `within` from the start)
  kAfter,       // after each rising edge of `trigger`, `expect` holds within `within`
  kBefore,      // `expect` becomes true no later than `trigger` (the tick it does at the latest)
  kWhile,       // `expect` holds after every tick where `trigger` holds
  kAtEnd,       // a metric of the run, compared once after it
};
// The key that names the form in TOML ("always", ..., "at_end").
const char* expect_form_name(ExpectForm f);

struct Expectation {
  std::string name;  // unique in the scenario
  ExpectForm form = ExpectForm::kAlways;
  Condition expect;                       // what must hold or happen; empty for kAtEnd
  Condition trigger;                      // after: X; before: what must not come first; while: X
  std::optional<std::int64_t> within_ns;  // eventually: from the start; after: from each edge
  bool every_edge = true;                 // after: each rising edge of X (else the first only)
  // kAtEnd: `metric op threshold`, the threshold in the metric's SI unit.
  std::string metric;
  CondOp metric_op = CondOp::kLt;
  double metric_threshold = 0.0;
  std::string at_end_text;  // as written
  SourceLocation where;     // the table
};

// A metric a run computes once at its end (estimator scores), for `at_end`.
struct MetricInfo {
  std::string name;
  config::Dimension dim = config::Dimension::kRatio;  // of its value and its threshold
};
// The metrics `packsim run` computes: the loader accepts `at_end` on these only. Empty until the
// session computes some; a session adds its rows here.
// The estimator scores (sim/scoring.hpp, docs/expectations.md); a metric the run could not
// compute (no SOC reported, no hazard) is absent, and an `at_end` on it is an error.
inline const std::vector<MetricInfo>& run_metrics() {
  static const std::vector<MetricInfo> metrics = {
      {"soc_rms_error", config::Dimension::kRatio},
      {"soc_max_error", config::Dimension::kRatio},
      {"soc_bias", config::Dimension::kRatio},
      {"soh_rms_error", config::Dimension::kRatio},
      {"soh_max_error", config::Dimension::kRatio},
      {"cell_soc_rms_error", config::Dimension::kRatio},
      {"cell_soc_max_error", config::Dimension::kRatio},
      {"cell_soc_bias", config::Dimension::kRatio},
      {"detection_latency", config::Dimension::kTime},
      {"open_latency", config::Dimension::kTime},
      {"false_alarms", config::Dimension::kRatio},
      {"beyond_limit_time", config::Dimension::kTime},
  };
  return metrics;
}
// A run's metrics by name, SI values.
using MetricMap = std::map<std::string, double>;

enum class Verdict : std::uint8_t {
  kPending,  // not decided yet (during the run)
  kPass,
  kFail,
  kError,  // not decided: the run stopped before its end, or a metric was not computed
};
const char* verdict_name(Verdict v);  // "pending", "pass", "fail", "error"

// One expectation's outcome, worded after the run.
struct ExpectationReport {
  std::string name;
  ExpectForm form = ExpectForm::kAlways;
  Verdict verdict = Verdict::kPending;
  std::int64_t time_ns = -1;  // when it was decided (a pass of always/never/...: the run's end)
  std::string message;        // fail and error: expected what, what happened instead, when
  std::string details;        // key figures, one per line
};

class ExpectationEngine {
 public:
  // `fault_names` as ConditionContext::fault_names (for messages). Sizes all per-tick state.
  ExpectationEngine(const std::vector<Expectation>& expectations,
                    std::vector<std::string> fault_names = {});

  // After every tick. Allocation-free.
  void evaluate(const ConditionView& view);
  // Once after the last tick (`last`: the final state): decides what is still pending. A run
  // that did not reach its end (`completed` false: interrupted, failed) leaves undecided
  // expectations as errors, with `stop_reason`. `metrics` for at_end.
  void finish(const ConditionView& last, bool completed, const std::string& stop_reason,
              const MetricMap& metrics);
  bool finished() const { return finished_; }

  // The outcomes in scenario order: the verdicts so far, worded (allocates; after finish() or
  // for a placeholder).
  const std::vector<ExpectationReport>& reports() const { return reports_; }
  std::size_t size() const { return states_.size(); }
  int count(Verdict v) const;

 public:
  struct Read {
    CondQuantity quantity = CondQuantity::kTime;
    int index = 0;
  };

 private:
  struct State {
    Verdict verdict = Verdict::kPending;
    std::int64_t decided_ns = -1;
    bool expect_now = false;  // `expect` at the deciding tick (words the message)
    bool at_end = false;      // decided by finish()
    bool trigger_prev = false;
    bool pending = false;       // after: an edge waits for `expect`
    std::int64_t edge_ns = -1;  // after: the pending edge
    std::uint64_t edges = 0;
    std::uint64_t answered = 0;
    std::int64_t max_latency_ns = -1;
    std::int64_t last_answer_ns = -1;
    std::int64_t expect_first_ns = -1;   // eventually, before: first tick `expect` held
    std::int64_t trigger_first_ns = -1;  // before: first tick `trigger` held
    std::uint64_t ticks = 0;
    std::uint64_t trigger_ticks = 0;  // while: ticks `trigger` held
    std::vector<Read> expect_reads, trigger_reads;
    std::vector<double> edge_values;     // [trigger_reads] at the pending edge
    std::vector<double> expect_values;   // [expect_reads] at the deciding tick
    std::vector<double> trigger_values;  // [trigger_reads] at the deciding tick
  };
  void decide(State& s, Verdict v, const ConditionView& view, bool expect_now);
  // "v_max = 4.2012 V, contactor_main_pos = 1"; those also in `skip` left out.
  std::string values(const std::vector<Read>& reads, const std::vector<double>& v,
                     const std::vector<Read>* skip = nullptr) const;
  void word(std::size_t k, bool completed, const std::string& stop_reason,
            const MetricMap& metrics);

  const std::vector<Expectation>* list_;
  std::vector<std::string> fault_names_;
  std::vector<State> states_;
  std::vector<ExpectationReport> reports_;
  bool finished_ = false;
};

// "12.340 s" (whole milliseconds) or "12.3405 s": a simulated time in messages.
std::string format_time(std::int64_t ns);
// "600 ms", "2.5 ms", "2 s", "1.5 s", "50 us": a duration as a scenario writes it.
std::string format_duration(std::int64_t ns);

}  // namespace packsim::sim
