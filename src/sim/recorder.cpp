#include "packsim/sim/recorder.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cmath>
#include <cstring>

namespace packsim::sim {

int time_decimals_for(std::int64_t tick_ns) {
  int decimals = 9;
  while (decimals > 3 && tick_ns % 10 == 0) {
    tick_ns /= 10;
    --decimals;
  }
  return decimals;
}

void append_time(std::string& out, std::int64_t time_ns, int decimals) {
  const bool negative = time_ns < 0;
  const std::uint64_t v =
      negative ? static_cast<std::uint64_t>(-time_ns) : static_cast<std::uint64_t>(time_ns);
  const std::uint64_t whole = v / 1'000'000'000u;
  std::uint64_t frac = v % 1'000'000'000u;
  for (int k = decimals; k < 9; ++k) frac /= 10;
  if (negative) out += '-';
  fmt::format_to(std::back_inserter(out), "{}", whole);
  if (decimals > 0) fmt::format_to(std::back_inserter(out), ".{:0{}}", frac, decimals);
}

bool CsvRecorder::open(const std::filesystem::path& path, const model::PackModel& model,
                       const CellColumns& columns, std::int64_t tick_ns, std::string& error,
                       OutOfSpace* space) {
  if (!file_.open(path, error, space)) return false;
  time_decimals_ = time_decimals_for(tick_ns);
  std::string h =
      "time_s,current_a,pack_v,link_v,soc_mean,soc_min,soc_max,cell_v_min,cell_v_max,cell_v_mean,"
      "temp_min_degc,temp_max_degc,temp_mean_degc,heat_w,main_pos,main_neg,precharge,segment,"
      "vented_cells,runaway_cells,hottest_cell,vent_gas_g_per_s,insulation_ohm,segment_label,"
      "sent_v_min,sent_v_max,sent_t_min,sent_t_max";
  for (unsigned o = 0; o < can::kObservableCount; ++o) {
    if ((observed_mask_ >> o) & 1u) {
      h += ',';
      h += can::observable_name(static_cast<can::Observable>(o));
    }
  }
  for (std::size_t k = 0; k < segment_labels_.size(); ++k) {
    std::string& label = segment_labels_[k];
    if (label.empty()) label = std::to_string(k);
    if (label.find_first_of(",\"\n\r") == std::string::npos) continue;
    std::string quoted = "\"";
    for (const char c : label) {
      if (c == '"') quoted += '"';
      quoted += c == '\n' || c == '\r' ? ' ' : c;
    }
    label = quoted + '"';
  }
  auto add = [&](bool on, const char* prefix) {
    if (!on) return;
    for (int c = 0; c < model.n_cells; ++c)
      fmt::format_to(std::back_inserter(h), ",{}{}", prefix, c);
  };
  add(columns.voltage, "v_c");
  add(columns.temperature, "t_c");
  add(columns.soc, "soc_c");
  add(columns.current, "i_c");
  h += '\n';
  file_.write(h.data(), h.size());
  line_.reserve(256 + 16 * static_cast<std::size_t>(model.n_cells) * 4);
  blocks_.clear();
  if (columns.voltage) blocks_.push_back(0);
  if (columns.temperature) blocks_.push_back(1);
  if (columns.soc) blocks_.push_back(2);
  if (columns.current) blocks_.push_back(3);
  n_cells_ = static_cast<std::size_t>(model.n_cells);
  return true;
}

void CsvRecorder::write(const Sample& s) {
  if (!file_.is_open()) return;
  constexpr double kC = 273.15;
  line_.clear();
  append_time(line_, s.time_ns, time_decimals_);
  auto out = std::back_inserter(line_);
  fmt::format_to(out, ",{:.6f},{:.6f},{:.6f},{:.8f},{:.8f},{:.8f},{:.6f},{:.6f},{:.6f}",
                 s.current_a, s.pack_v, s.link_v, s.soc_mean, s.soc_min, s.soc_max, s.v_min,
                 s.v_max, s.v_mean);
  fmt::format_to(out, ",{:.4f},{:.4f},{:.4f},{:.6f},{:d},{:d},{:d},{}", s.t_min_k - kC,
                 s.t_max_k - kC, s.t_mean_k - kC, s.heat_w, s.contactors.main_pos ? 1 : 0,
                 s.contactors.main_neg ? 1 : 0, s.contactors.precharge ? 1 : 0, s.segment);
  fmt::format_to(out, ",{},{},{},{:.6f},{:.1f},", s.vented_cells, s.runaway_cells, s.hottest_cell,
                 s.vent_gas_g_per_s, s.insulation_ohm);
  if (s.segment >= 0 && static_cast<std::size_t>(s.segment) < segment_labels_.size()) {
    line_ += segment_labels_[static_cast<std::size_t>(s.segment)];
  } else {
    fmt::format_to(out, "{}", s.segment);  // past the last segment: its index, as `segment`
  }
  // Missing values (nothing valid sent, nothing received yet) are empty fields.
  auto number = [&](double v, int decimals) {
    line_ += ',';
    if (std::isnan(v)) return;
    fmt::format_to(out, "{:.{}f}", v, decimals);
  };
  number(s.sent.v_min, 6);
  number(s.sent.v_max, 6);
  number(s.sent.t_min_k - kC, 4);
  number(s.sent.t_max_k - kC, 4);
  for (unsigned o = 0; o < can::kObservableCount; ++o) {
    if (((observed_mask_ >> o) & 1u) == 0) continue;
    const auto obs = static_cast<can::Observable>(o);
    const double v = s.bms[o];
    switch (obs) {
      case can::Observable::kState:
        line_ += ',';
        if (!std::isnan(v) && v >= 0.0 && v < static_cast<double>(kBmsStateNames.size()))
          line_ += kBmsStateNames[static_cast<std::size_t>(v)];
        break;
      case can::Observable::kTempMin:
      case can::Observable::kTempMax:
        number(v - kC, 4);
        break;
      case can::Observable::kSoc:
      case can::Observable::kSoh:
      case can::Observable::kCellVMin:
      case can::Observable::kCellVMax:
        number(v, 6);
        break;
      case can::Observable::kChargeCurrentLimit:
      case can::Observable::kDischargeCurrentLimit:
      case can::Observable::kChargePowerLimit:
      case can::Observable::kDischargePowerLimit:
        number(v, 3);
        break;
      default:  // flags and codes
        number(v, 0);
        break;
    }
  }
  const double* v = s.cells.data();
  for (const int block : blocks_) {
    for (std::size_t c = 0; c < n_cells_; ++c) {
      switch (block) {
        case 1:
          fmt::format_to(out, ",{:.4f}", v[c] - kC);
          break;  // degC like the aggregates
        case 2:
          fmt::format_to(out, ",{:.8f}", v[c]);
          break;
        default:
          fmt::format_to(out, ",{:.6f}", v[c]);
          break;
      }
    }
    v += n_cells_;
  }
  line_ += '\n';
  file_.write(line_.data(), line_.size());
  ++rows_;
  last_time_ns_ = s.time_ns;
}

}  // namespace packsim::sim
