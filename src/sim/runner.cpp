#include "packsim/sim/runner.hpp"

#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "packsim/model/pack.hpp"
#include "packsim/sim/driver.hpp"
#include "packsim/sim/json.hpp"
#include "packsim/sim/recorder.hpp"
#include "packsim/sim/sample.hpp"
#include "packsim/sim/stats.hpp"

namespace packsim::sim {
namespace {

using Clock = std::chrono::steady_clock;

// A one-line progress bar on stderr, shown once a run has taken more than two seconds.
class Progress {
 public:
  Progress(bool enabled, std::int64_t total_ns) : enabled_(enabled), total_ns_(total_ns) {}
  void update(std::int64_t now_ns) {
    if (!enabled_) return;
    const auto now = Clock::now();
    const double wall = std::chrono::duration<double>(now - start_).count();
    if (wall < 2.0 || now - last_ < std::chrono::milliseconds(200)) return;
    last_ = now;
    const double frac = total_ns_ > 0 ? static_cast<double>(now_ns) / static_cast<double>(total_ns_) : 0.0;
    const int width = 30;
    const int filled = static_cast<int>(frac * width);
    const double sim_s = static_cast<double>(now_ns) / 1e9;
    const double eta = frac > 0.0 ? wall * (1.0 - frac) / frac : 0.0;
    std::fprintf(stderr, "\r[%.*s%*s] %5.1f%%  sim %.1f s  %.1fx real time  ETA %.0f s ",
                 filled, "##############################", width - filled, "", 100.0 * frac, sim_s,
                 sim_s / wall, eta);
    shown_ = true;
  }
  void finish() {
    if (shown_) std::fprintf(stderr, "\r%*s\r", 90, "");
  }

 private:
  bool enabled_;
  std::int64_t total_ns_;
  Clock::time_point start_ = Clock::now();
  Clock::time_point last_ = start_;
  bool shown_ = false;
};

const char* contactor_name(const model::ContactorState& k) {
  if (k.main_pos && k.main_neg) return k.precharge ? "closed+precharge" : "closed";
  if (k.main_neg && k.precharge) return "precharge";
  if (!k.main_pos && !k.main_neg && !k.precharge) return "open";
  return "partial";
}

const char* signal_name(int sig) {
  switch (sig) {
    case SIGINT: return "SIGINT";
    case SIGTERM: return "SIGTERM";
    case SIGHUP: return "SIGHUP";
    default: return "signal";
  }
}

void extreme(JsonWriter& j, std::string_view name, const Extreme& e, double offset = 0.0) {
  j.key(name).begin_object();
  j.field("value", e.value - offset);
  j.field("time_s", static_cast<double>(e.time_ns) / 1e9);
  j.end_object();
}

// Writes via a temporary file and rename, so a reader never sees half a summary.
bool write_file_atomic(const std::filesystem::path& path, const std::string& text, std::string& err) {
  const auto tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out) {
      err = "cannot write " + tmp;
      return false;
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    err = "cannot rename " + tmp + ": " + ec.message();
    return false;
  }
  return true;
}

std::string summary_json(const Scenario& sc, const model::PackModel& m, const model::PackData& d,
                         const RunStats& st, const ScenarioDriver& driver, const RunResult& r,
                         const CsvRecorder& csv, const std::string& version) {
  constexpr double kC = 273.15;
  JsonWriter j;
  j.begin_object();
  j.field("packsim_version", version);
  j.key("scenario").begin_object();
  j.field("name", sc.name).field("file", sc.file).field("pack_file", sc.pack_file)
      .field("cell_file", sc.cell_file);
  j.field("seed", static_cast<std::uint64_t>(sc.seed));
  j.field("tick_s", static_cast<double>(sc.tick_ns) / 1e9);
  j.field("duration_s", static_cast<double>(sc.duration_ns) / 1e9);
  j.end_object();
  j.key("pack").begin_object();
  j.field("name", m.name).field("cell", m.cell_type.name);
  j.field("series", m.ns).field("parallel", m.np).field("cells", m.n_cells).field("modules", m.n_modules);
  j.field("thermal_step_s", m.thermal_dt_s);
  j.end_object();

  j.field("status", r.status == RunStatus::kCompleted ? "completed"
                    : r.status == RunStatus::kInterrupted ? "interrupted" : "failed");
  j.field("completed", r.status == RunStatus::kCompleted);
  j.field("stop_reason", r.stop_reason);
  j.field("simulated_s", static_cast<double>(d.time_ns) / 1e9);
  j.field("ticks", static_cast<std::uint64_t>(d.tick));
  j.field("rows_recorded", csv.rows());

  j.key("final").begin_object();
  j.field("current_a", d.pack_current_a).field("pack_v", d.pack_voltage_v).field("link_v", d.link_voltage_v);
  j.field("soc_mean", d.soc_mean).field("soc_min", d.soc_min).field("soc_max", d.soc_max);
  j.field("cell_v_min", d.v_min).field("cell_v_max", d.v_max).field("cell_v_mean", d.v_mean);
  j.field("temp_min_degc", d.t_min_k - kC).field("temp_max_degc", d.t_max_k - kC)
      .field("temp_mean_degc", d.t_mean_k - kC);
  j.field("contactors", contactor_name(d.contactors));
  j.end_object();

  j.key("extremes").begin_object();
  extreme(j, "cell_v_min", st.cell_v_min);
  extreme(j, "cell_v_max", st.cell_v_max);
  extreme(j, "pack_v_min", st.pack_v_min);
  extreme(j, "pack_v_max", st.pack_v_max);
  extreme(j, "current_max_a", st.current_max_a);
  extreme(j, "current_min_a", st.current_min_a);
  extreme(j, "temp_max_degc", st.temp_max_k, kC);
  extreme(j, "temp_min_degc", st.temp_min_k, kC);
  extreme(j, "soc_min", st.soc_min);
  extreme(j, "soc_max", st.soc_max);
  j.field("heat_max_w", st.heat_max_w);
  j.end_object();

  const model::EnergyBooks& e = d.energy;
  constexpr double kWh = 1.0 / 3600.0;
  j.key("energy").begin_object();
  j.field("discharged_wh", e.discharged_j * kWh);
  j.field("charged_wh", e.charged_j * kWh);
  j.field("net_out_wh", e.battery_out_j * kWh);
  j.field("discharged_ah", e.discharged_as * kWh);
  j.field("charged_ah", e.charged_as * kWh);
  j.field("load_wh", e.load_j * kWh);
  j.field("heat_generated_kj", e.cell_heat_j * 1e-3);
  j.key("heat_kj").begin_object();
  j.field("ohmic", e.ohmic_j * 1e-3).field("rc", e.rc_j * 1e-3).field("reversible", e.reversible_j * 1e-3);
  j.field("hysteresis", e.hysteresis_j * 1e-3).field("charge_inefficiency", e.side_j * 1e-3);
  j.field("internal_short", e.leak_j * 1e-3).field("balancing", e.bleed_j * 1e-3);
  j.field("interconnect", e.interconnect_j * 1e-3).field("contactors_precharge", e.path_j * 1e-3);
  j.end_object();
  j.end_object();
  j.key("counters").begin_object();
  j.field("table_clamps", d.clamp_total);
  j.field("sign_iterations", d.sign_iterations);
  j.field("power_limited_ticks", d.power_limited_ticks);
  j.end_object();

  j.key("segments").begin_array();
  for (std::size_t k = 0; k < sc.load.size(); ++k) {
    const SegmentLog& log = driver.segment_log()[k];
    j.begin_object();
    j.field("label", sc.load[k].label);
    if (k < driver.segment() || k == driver.segment()) {
      j.field("start_s", static_cast<double>(log.start_ns) / 1e9);
    }
    if (log.end_ns >= 0) {
      j.field("end_s", static_cast<double>(log.end_ns) / 1e9);
      std::string by = log.ended_by == -2 ? "duration"
                       : log.ended_by == -3 ? "profile finished"
                       : "until: " + sc.load[k].until[static_cast<std::size_t>(log.ended_by)].text;
      j.field("ended_by", by);
    } else {
      j.field("ended_by", k == driver.segment() ? "run ended" : "not reached");
    }
    j.end_object();
  }
  j.end_array();

  const double sim_s = static_cast<double>(d.time_ns) / 1e9;
  const double cell_steps = static_cast<double>(d.tick) * m.n_cells;
  j.key("performance").begin_object();
  j.field("wall_s", r.wall_s);
  j.field("sim_to_wall_ratio", r.wall_s > 0 ? sim_s / r.wall_s : 0.0);
  j.field("cell_steps_per_s", r.wall_s > 0 ? cell_steps / r.wall_s : 0.0);
  j.field("ns_per_cell_step", cell_steps > 0 ? r.wall_s * 1e9 / cell_steps : 0.0);
  j.end_object();
  j.end_object();
  return j.str();
}

}  // namespace

RunResult run_scenario(const Scenario& sc, const RunOptions& opt) {
  RunResult result;
  std::error_code ec;
  std::filesystem::create_directories(opt.out_dir, ec);
  if (ec) {
    result.status = RunStatus::kFailed;
    result.stop_reason = "cannot create output directory " + opt.out_dir.string() + ": " + ec.message();
    return result;
  }
  const model::PackModel m =
      model::build_pack_model(sc.pack, sc.cell, sc.tick_ns, {sc.initial_soc, sc.initial_temp_k, sc.seed});
  model::PackData d = model::make_data(m);
  d.input.contactors = sc.initial_contactors;
  d.input.ambient_k = sc.ambient_k;
  d.contactors = sc.initial_contactors;
  // A run that starts with the contactors closed starts with the DC link already precharged.
  if (sc.initial_contactors.main_pos && sc.initial_contactors.main_neg) {
    d.link_voltage_v = d.pack_voltage_v;
  }

  CsvRecorder csv;
  std::string err;
  if (!csv.open(opt.out_dir / "signals.csv", m, sc.record.cells, sc.tick_ns, err)) {
    result.status = RunStatus::kFailed;
    result.stop_reason = err;
    return result;
  }
  ScenarioDriver driver(sc);
  RunStats stats;
  Sample sample;
  prepare_sample(m, sc.record.cells, sample);
  const std::int64_t every_ns = sc.record.every_ns > 0 ? sc.record.every_ns : sc.tick_ns;
  const std::uint64_t every_ticks = static_cast<std::uint64_t>(std::max<std::int64_t>(1, (every_ns + sc.tick_ns / 2) / sc.tick_ns));
  const std::uint64_t total_ticks = static_cast<std::uint64_t>((sc.duration_ns + sc.tick_ns - 1) / sc.tick_ns);

  Progress progress(opt.progress, sc.duration_ns);
  const auto wall_start = Clock::now();
  stats.update(d);
  fill_sample(m, d, sc.record.cells, 0, sample);
  csv.write(sample);
  result.stop_reason = "duration";
  try {
    while (d.tick < total_ticks) {
      if (opt.stop_request && opt.stop_request->load(std::memory_order_relaxed) != 0) {
        result.status = RunStatus::kInterrupted;
        result.signal = opt.stop_request->load();
        result.stop_reason = signal_name(result.signal);
        break;
      }
      driver.read(d.time_ns, d);       // read: events and the load for this tick
      model::step(m, d);               // update: every cell, the network, the thermal nodes
      driver.after_step(d);
      stats.update(d);
      if (d.tick % every_ticks == 0) {  // write: record
        fill_sample(m, d, sc.record.cells, static_cast<std::int32_t>(driver.segment()), sample);
        csv.write(sample);
      }
      if (sc.stop_when_load_done && driver.load_done()) {
        result.stop_reason = "load done";
        break;
      }
      if ((d.tick & 1023u) == 0) {
        progress.update(d.time_ns);
        if (csv.failed()) throw std::runtime_error("writing signals.csv failed");
      }
    }
  } catch (const std::exception& ex) {
    result.status = RunStatus::kFailed;
    result.stop_reason = ex.what();
  }
  // The last state is always in the file, whatever stopped the run.
  if (csv.last_time_ns() != d.time_ns) {
    fill_sample(m, d, sc.record.cells, static_cast<std::int32_t>(driver.segment()), sample);
    csv.write(sample);
  }
  progress.finish();
  result.ticks = d.tick;
  result.wall_s = std::chrono::duration<double>(Clock::now() - wall_start).count();
  if (!csv.close() && result.status != RunStatus::kFailed) {
    result.status = RunStatus::kFailed;
    result.stop_reason = "writing signals.csv failed";
  }
  const std::string summary = summary_json(sc, m, d, stats, driver, result, csv, opt.version);
  if (!write_file_atomic(opt.out_dir / "summary.json", summary, err)) {
    result.status = RunStatus::kFailed;
    result.stop_reason = err;
  }
  return result;
}

}  // namespace packsim::sim
