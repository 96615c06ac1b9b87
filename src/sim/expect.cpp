// The expectation engine (expect.hpp): per-tick verdicts over plain numbers, words after the run.
#include "packsim/sim/expect.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace packsim::sim {

const char* expect_form_name(ExpectForm f) {
  switch (f) {
    case ExpectForm::kAlways:
      return "always";
    case ExpectForm::kNever:
      return "never";
    case ExpectForm::kEventually:
      return "eventually";
    case ExpectForm::kAfter:
      return "after";
    case ExpectForm::kBefore:
      return "before";
    case ExpectForm::kWhile:
      return "while";
    case ExpectForm::kAtEnd:
      return "at_end";
  }
  return "?";
}

const char* verdict_name(Verdict v) {
  switch (v) {
    case Verdict::kPending:
      return "pending";
    case Verdict::kPass:
      return "pass";
    case Verdict::kFail:
      return "fail";
    case Verdict::kError:
      return "error";
  }
  return "?";
}

std::string format_time(std::int64_t ns) {
  char text[48];
  if (ns % 1'000'000 == 0) {
    std::snprintf(text, sizeof text, "%.3f s", static_cast<double>(ns) / 1e9);
  } else {
    std::snprintf(text, sizeof text, "%.6f s", static_cast<double>(ns) / 1e9);
  }
  return text;
}

std::string format_duration(std::int64_t ns) {
  char text[48];
  const auto v = static_cast<double>(ns);
  if (ns >= 1'000'000'000) {
    std::snprintf(text, sizeof text, "%.9g s", v / 1e9);
  } else if (ns >= 1'000'000) {
    std::snprintf(text, sizeof text, "%.6g ms", v / 1e6);
  } else {
    std::snprintf(text, sizeof text, "%.6g us", v / 1e3);
  }
  return text;
}

namespace {
// The distinct quantities a condition reads, in the order it reads them.
std::vector<ExpectationEngine::Read> reads_of(const Condition& c) {
  std::vector<ExpectationEngine::Read> out;
  for (int k = 0; k < c.n_nodes; ++k) {
    const CondNode& n = c.nodes[static_cast<std::size_t>(k)];
    if (n.kind != CondNode::Kind::kCompare) continue;
    const bool seen = std::any_of(out.begin(), out.end(), [&](const ExpectationEngine::Read& r) {
      return r.quantity == n.quantity && r.index == n.index;
    });
    if (!seen) out.push_back({n.quantity, n.index});
  }
  return out;
}
}  // namespace

ExpectationEngine::ExpectationEngine(const std::vector<Expectation>& expectations,
                                     std::vector<std::string> fault_names)
    : list_(&expectations), fault_names_(std::move(fault_names)), states_(expectations.size()) {
  for (std::size_t k = 0; k < expectations.size(); ++k) {
    const Expectation& e = expectations[k];
    State& s = states_[k];
    s.expect_reads = reads_of(e.expect);
    s.trigger_reads = reads_of(e.trigger);
    s.edge_values.assign(s.trigger_reads.size(), 0.0);
    s.expect_values.assign(s.expect_reads.size(), 0.0);
    s.trigger_values.assign(s.trigger_reads.size(), 0.0);
    ExpectationReport r;
    r.name = e.name;
    r.form = e.form;
    reports_.push_back(std::move(r));
  }
}

int ExpectationEngine::count(Verdict v) const {
  return static_cast<int>(
      std::count_if(reports_.begin(), reports_.end(),
                    [v](const ExpectationReport& r) { return r.verdict == v; }));
}

void ExpectationEngine::decide(State& s, Verdict v, const ConditionView& view, bool expect_now) {
  s.verdict = v;
  s.decided_ns = view.time_ns;
  s.expect_now = expect_now;
  for (std::size_t i = 0; i < s.expect_reads.size(); ++i)
    s.expect_values[i] = condition_value(s.expect_reads[i].quantity, s.expect_reads[i].index, view);
  for (std::size_t i = 0; i < s.trigger_reads.size(); ++i) {
    s.trigger_values[i] =
        condition_value(s.trigger_reads[i].quantity, s.trigger_reads[i].index, view);
  }
}

void ExpectationEngine::evaluate(const ConditionView& view) {
  const std::int64_t t = view.time_ns;
  for (std::size_t k = 0; k < states_.size(); ++k) {
    State& s = states_[k];
    if (s.verdict != Verdict::kPending) continue;
    const Expectation& e = (*list_)[k];
    ++s.ticks;
    switch (e.form) {
      case ExpectForm::kAlways:
        if (!sim::evaluate(e.expect, view)) decide(s, Verdict::kFail, view, false);
        break;
      case ExpectForm::kNever:
        if (sim::evaluate(e.expect, view)) decide(s, Verdict::kFail, view, true);
        break;
      case ExpectForm::kEventually: {
        const bool y = sim::evaluate(e.expect, view);
        if (y && (!e.within_ns || t <= *e.within_ns)) {
          s.expect_first_ns = t;
          decide(s, Verdict::kPass, view, true);
        } else if (e.within_ns && t >= *e.within_ns) {
          // The last tick that could have met it has passed.
          decide(s, Verdict::kFail, view, y);
        }
        break;
      }
      case ExpectForm::kAfter: {
        const bool x = sim::evaluate(e.trigger, view);
        const bool edge = x && !s.trigger_prev;
        s.trigger_prev = x;
        if (edge) {
          ++s.edges;
          // A later edge while one waits asks for no more than the earlier one already does.
          if (!s.pending && (e.every_edge || s.edges == 1)) {
            s.pending = true;
            s.edge_ns = t;
            for (std::size_t i = 0; i < s.trigger_reads.size(); ++i) {
              s.edge_values[i] =
                  condition_value(s.trigger_reads[i].quantity, s.trigger_reads[i].index, view);
            }
          }
        }
        if (!s.pending) break;
        const bool y = sim::evaluate(e.expect, view);
        const std::int64_t waited = t - s.edge_ns;
        if (y && (!e.within_ns || waited <= *e.within_ns)) {
          s.pending = false;
          ++s.answered;
          s.max_latency_ns = std::max(s.max_latency_ns, waited);
          s.last_answer_ns = t;
          if (!e.every_edge) decide(s, Verdict::kPass, view, true);
        } else if (e.within_ns && waited >= *e.within_ns) {
          decide(s, Verdict::kFail, view, y);
        }
        break;
      }
      case ExpectForm::kBefore: {
        const bool a = sim::evaluate(e.expect, view);
        const bool b = sim::evaluate(e.trigger, view);
        if (a && s.expect_first_ns < 0) s.expect_first_ns = t;
        if (b) {
          s.trigger_first_ns = t;
          decide(s, s.expect_first_ns >= 0 ? Verdict::kPass : Verdict::kFail, view, a);
        }
        break;
      }
      case ExpectForm::kWhile:
        if (sim::evaluate(e.trigger, view)) {
          ++s.trigger_ticks;
          if (!sim::evaluate(e.expect, view)) decide(s, Verdict::kFail, view, false);
        }
        break;
      case ExpectForm::kAtEnd:
        break;
    }
  }
}

std::string ExpectationEngine::values(const std::vector<Read>& reads, const std::vector<double>& v,
                                      const std::vector<Read>* skip) const {
  std::string out;
  for (std::size_t i = 0; i < reads.size(); ++i) {
    if (skip && std::any_of(skip->begin(), skip->end(), [&](const Read& r) {
          return r.quantity == reads[i].quantity && r.index == reads[i].index;
        }))
      continue;
    out += (out.empty() ? "" : ", ") +
           describe_value(reads[i].quantity, reads[i].index, v[i], &fault_names_);
  }
  return out;
}

void ExpectationEngine::finish(const ConditionView& last, bool completed,
                               const std::string& stop_reason, const MetricMap& metrics) {
  if (finished_) return;
  finished_ = true;
  for (std::size_t k = 0; k < states_.size(); ++k) {
    State& s = states_[k];
    const Expectation& e = (*list_)[k];
    if (s.verdict == Verdict::kPending) {
      s.at_end = true;
      if (!completed) {
        decide(s, Verdict::kError, last, false);
      } else {
        switch (e.form) {
          case ExpectForm::kAlways:
          case ExpectForm::kNever:
          case ExpectForm::kWhile:
          case ExpectForm::kBefore:
            decide(s, Verdict::kPass, last, false);
            break;
          case ExpectForm::kEventually:
            decide(s, Verdict::kFail, last, false);
            break;
          case ExpectForm::kAfter:
            decide(s, s.pending ? Verdict::kFail : Verdict::kPass, last, false);
            if (!s.pending && s.last_answer_ns >= 0) s.decided_ns = s.last_answer_ns;
            break;
          case ExpectForm::kAtEnd: {
            const auto it = metrics.find(e.metric);
            decide(s,
                   it == metrics.end()                                          ? Verdict::kError
                   : compare_value(it->second, e.metric_op, e.metric_threshold) ? Verdict::kPass
                                                                                : Verdict::kFail,
                   last, false);
            break;
          }
        }
      }
    }
    word(k, completed, stop_reason, metrics);
  }
}

void ExpectationEngine::word(std::size_t k, bool completed, const std::string& stop_reason,
                             const MetricMap& metrics) {
  const State& s = states_[k];
  const Expectation& e = (*list_)[k];
  ExpectationReport& r = reports_[k];
  r.verdict = s.verdict;
  r.time_ns = s.decided_ns;
  const std::string at = format_time(s.decided_ns);
  const std::string ys = values(s.expect_reads, s.expect_values);
  const bool ended = s.at_end;
  // "still false at 12.940 s (...)", "still false when the run ended at 30.000 s (...)"
  auto outcome = [&](bool held_now) {
    return std::string(held_now ? "true only at "
                       : ended  ? "still false when the run ended at "
                                : "still false at ") +
           at + " (" + ys + ")";
  };
  std::string expected;
  switch (e.form) {
    case ExpectForm::kAlways:
      expected = "expected always: " + e.expect.text;
      r.message = expected + "; false at " + at + " (" + ys + ")";
      r.details = "checked after " + std::to_string(s.ticks) + " ticks";
      break;
    case ExpectForm::kNever:
      expected = "expected never: " + e.expect.text;
      r.message = expected + "; true at " + at + " (" + ys + ")";
      r.details = "checked after " + std::to_string(s.ticks) + " ticks";
      break;
    case ExpectForm::kEventually:
      expected =
          (e.within_ns ? "expected within " + format_duration(*e.within_ns) + " of the start: "
                       : std::string("expected eventually: ")) +
          e.expect.text;
      r.message = expected + "; " + outcome(s.expect_now);
      r.details = s.expect_first_ns >= 0 ? "true first at " + format_time(s.expect_first_ns)
                                         : std::string("never true");
      break;
    case ExpectForm::kAfter: {
      const std::string xs = values(s.trigger_reads, s.edge_values);
      expected = "expected " +
                 (e.within_ns ? "within " + format_duration(*e.within_ns) + " " : std::string()) +
                 "after " + e.trigger.text + " (true at " + format_time(s.edge_ns) + ", " + xs +
                 "): " + e.expect.text;
      r.message = expected + "; " + outcome(s.expect_now);
      r.details = "rising edges of " + e.trigger.text + ": " + std::to_string(s.edges) +
                  (e.every_edge ? " (each checked)" : " (the first checked)") +
                  "\nanswered: " + std::to_string(s.answered);
      if (s.max_latency_ns >= 0)
        r.details += "\nslowest answer: " + format_duration(s.max_latency_ns);
      break;
    }
    case ExpectForm::kBefore: {
      expected = "expected " + e.expect.text + " before " + e.trigger.text;
      r.message = expected + "; " + e.trigger.text + " true at " + at + " (" +
                  values(s.trigger_reads, s.trigger_values) + ") while " + e.expect.text +
                  " had not been (" + ys + ")";
      r.details = e.expect.text + ": " +
                  (s.expect_first_ns >= 0 ? "true first at " + format_time(s.expect_first_ns)
                                          : std::string("never true")) +
                  "\n" + e.trigger.text + ": " +
                  (s.trigger_first_ns >= 0 ? "true first at " + format_time(s.trigger_first_ns)
                                           : std::string("never true"));
      break;
    }
    case ExpectForm::kWhile: {
      expected = "expected while " + e.trigger.text + ": " + e.expect.text;
      const std::string xs = values(s.trigger_reads, s.trigger_values, &s.expect_reads);
      r.message = expected + "; false at " + at + " (" + xs + (xs.empty() ? "" : ", ") + ys + ")";
      r.details = e.trigger.text + " held after " + std::to_string(s.trigger_ticks) + " of " +
                  std::to_string(s.ticks) + " ticks";
      break;
    }
    case ExpectForm::kAtEnd: {
      expected = "expected at the end: " + e.at_end_text;
      const auto it = metrics.find(e.metric);
      char v[64] = "";
      if (it != metrics.end()) std::snprintf(v, sizeof v, "%.6g", it->second);
      r.message = it == metrics.end() ? expected + "; the run computed no metric '" + e.metric + "'"
                                      : expected + "; " + e.metric + " = " + v;
      r.details = it == metrics.end() ? e.metric + " not computed" : e.metric + " = " + v;
      break;
    }
  }
  if (s.verdict == Verdict::kError && !completed) {
    r.message = "not decided: the run stopped at " + format_time(s.decided_ns) +
                " before its end (" + stop_reason + "); " + expected;
  } else if (s.verdict == Verdict::kPass) {
    r.message.clear();
  }
}

}  // namespace packsim::sim
