// packsim run SCENARIO --out DIR
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "commands.hpp"
#include "packsim/config/loaders.hpp"
#include "packsim/config/quantity.hpp"
#include "packsim/sim/runner.hpp"
#include "packsim/sim/session.hpp"

namespace packsim::cli {
namespace {

struct RunArgs {
  std::string scenario;
  std::string out;
  std::string duration;
  std::string tick;
  std::string record_every;
  std::string cells;
  std::string seed;
  std::string can;
  std::string bms;
  std::string can_log;
  std::string can_log_max;
  int can_log_keep = 0;
  std::uint32_t bitrate = 0;
  std::uint32_t sample_point = 0;
  std::int64_t restart_ms = -1;
  int txqueuelen = 0;
  bool realtime = false;
  int priority = -1;
  int cpu = -1;
  bool mlock = false;
  std::string overrun = "skip";
  double speed = 1.0;
  bool no_status = false;
  bool quiet = false;
  bool no_progress = false;
};

// Applies a time override given on the command line; false (with a message) if it does not parse.
bool time_override(const std::string& option, const std::string& text, std::int64_t min_ns,
                   std::int64_t max_ns, std::int64_t& target) {
  if (text.empty()) return true;
  const auto q = config::parse_quantity(text, config::Dimension::kTime);
  if (!q.value) {
    spdlog::error("{}: {}", option, q.error);
    return false;
  }
  const double ns = std::round(*q.value * 1e9);
  if (ns < static_cast<double>(min_ns) || ns > static_cast<double>(max_ns)) {
    spdlog::error("{}: {} is out of range ({} s to {} s)", option, text,
                  static_cast<double>(min_ns) * 1e-9, static_cast<double>(max_ns) * 1e-9);
    return false;
  }
  target = static_cast<std::int64_t>(ns);
  return true;
}

// --can-log, --can-log-max, --can-log-keep over the scenario's [record] keys. A limit that cannot
// act (with --can-log off, a keep without any limit) is refused, as the scenario file refuses it.
bool can_log_overrides(const RunArgs& a, sim::RecordSpec& record) {
  if (!a.can_log.empty()) {
    record.can_log = a.can_log == "off"  ? sim::CanLogMode::kOff
                     : a.can_log == "rx" ? sim::CanLogMode::kRx
                     : a.can_log == "tx" ? sim::CanLogMode::kTx
                                         : sim::CanLogMode::kAll;
    if (record.can_log == sim::CanLogMode::kOff) record.can_log_max_bytes = 0;
  }
  if (!a.can_log_max.empty()) {
    const auto size = config::parse_byte_size(a.can_log_max);
    if (!size.value) {
      spdlog::error("--can-log-max: {}", size.error);
      return false;
    }
    if (*size.value < sim::kMinCanLogMaxBytes) {
      spdlog::error("--can-log-max: {} bytes is too small; expected at least {} bytes", *size.value,
                    sim::kMinCanLogMaxBytes);
      return false;
    }
    if (record.can_log == sim::CanLogMode::kOff) {
      spdlog::error("--can-log-max does nothing with --can-log off");
      return false;
    }
    record.can_log_max_bytes = *size.value;
  }
  if (a.can_log_keep > 0) {
    if (record.can_log_max_bytes == 0) {
      spdlog::error("--can-log-keep does nothing without --can-log-max (can.log is not rotated)");
      return false;
    }
    record.can_log_keep = a.can_log_keep;
  }
  return true;
}

// The verdicts, one line each, on stdout: what a CI log shows first.
void print_verdicts(const std::vector<sim::ExpectationReport>& reports,
                    const std::filesystem::path& out_dir) {
  if (reports.empty()) return;
  std::size_t width = 4;
  for (const auto& r : reports) width = std::max(width, std::min<std::size_t>(r.name.size(), 40));
  int passed = 0;
  for (const auto& r : reports) {
    passed += r.verdict == sim::Verdict::kPass ? 1 : 0;
    const char* tag = r.verdict == sim::Verdict::kPass   ? "PASS"
                      : r.verdict == sim::Verdict::kFail ? "FAIL"
                                                         : "ERROR";
    const std::string at = r.time_ns >= 0 ? sim::format_time(r.time_ns) : "-";
    std::printf("%-5s  %-*s  %12s%s%s\n", tag, static_cast<int>(width), r.name.c_str(), at.c_str(),
                r.message.empty() ? "" : "  ", r.message.c_str());
  }
  std::printf("expectations: %d of %zu passed; junit.xml in %s\n", passed, reports.size(),
              out_dir.string().c_str());
  std::fflush(stdout);
}

int run(const RunArgs& a, const Context& ctx) {
  Diagnostics diags;
  auto scenario = config::load_scenario(a.scenario, diags);
  if (!scenario) {
    std::fputs(diags.format().c_str(), stderr);
    return kExitBadInput;
  }
  sim::Scenario& sc = *scenario;
  bool ok =
      time_override("--duration", a.duration, 1, std::int64_t{1} << 62, sc.duration_ns) &&
      time_override("--tick", a.tick, sim::kMinTickNs, sim::kMaxTickNs, sc.tick_ns) &&
      time_override("--record-every", a.record_every, 0, std::int64_t{1} << 62, sc.record.every_ns);
  if (!ok) return kExitBadInput;
  if (!a.seed.empty()) {
    // Any 64-bit seed; CLI11's integer parsing would saturate silently.
    errno = 0;
    char* end = nullptr;
    const unsigned long long v = std::strtoull(a.seed.c_str(), &end, 10);
    if (a.seed[0] == '-' || *end != '\0' || errno == ERANGE) {
      spdlog::error("--seed: '{}' is not an integer from 0 to 18446744073709551615", a.seed);
      return kExitBadInput;
    }
    sc.seed = static_cast<std::uint64_t>(v);
  }
  if (!a.cells.empty()) {
    sc.record.cells = {};
    const auto unknown = config::add_cell_columns(a.cells, true, sc.record.cells);
    if (!unknown.empty()) {
      spdlog::error(
          "--cells: unknown column set '{}'; expected a list of v, t, soc, i, all or none",
          unknown.front());
      return kExitBadInput;
    }
  }
  if (sc.record.every_ns == 0)
    sc.record.every_ns = std::max(sim::kDefaultRecordEveryNs, sc.tick_ns);
  if (!can_log_overrides(a, sc.record)) return kExitBadInput;

  // CAN: `--can can0` puts every logical bus on can0; `--can afe=can0,sensor=can1` maps them.
  std::vector<sim::BusAssignment> interfaces;
  if (!a.can.empty()) {
    std::string error;
    if (!sim::parse_bus_assignments(a.can, interfaces, error)) {
      spdlog::error("--can: {}", error);
      return kExitBadInput;
    }
    // A BMS on a real bus is somebody else's unless asked otherwise.
    if (a.bms.empty() && sc.bms.mode == sim::BmsMode::kReference)
      sc.bms.mode = sim::BmsMode::kExternal;
  }
  if (a.bms == "none" && sc.bms.mode != sim::BmsMode::kNone) {
    // The pack alone, as if the file said [bms] mode = "none": its contactors start as such a
    // scenario's do (closed), not open waiting for a BMS that is not there.
    sc.initial_contactors = sim::kContactorsClosed;
  }
  if (!a.bms.empty()) {
    sc.bms.mode = a.bms == "none"       ? sim::BmsMode::kNone
                  : a.bms == "external" ? sim::BmsMode::kExternal
                                        : sim::BmsMode::kReference;
  }
  if (sc.bms.mode == sim::BmsMode::kNone && !interfaces.empty()) {
    spdlog::error("--can needs a BMS mode other than none: nothing would go on the bus");
    return kExitBadInput;
  }
  if (sc.bms.mode != sim::BmsMode::kNone) {
    // A scenario written for no BMS drives the contactors itself; with a BMS they are its job.
    for (const auto& e : sc.events) {
      if (e.contactors) {
        spdlog::error(
            "--bms {}: the scenario sets the contactors itself (event at {} s); with a BMS use "
            "bms_drive events, or run it with --bms none",
            a.bms.empty() ? "external" : a.bms, static_cast<double>(e.at_ns) / 1e9);
        return kExitBadInput;
      }
    }
    sc.initial_contactors = {};
  }
  if (sc.bms.mode == sim::BmsMode::kReference && sc.bms.period_ns % sc.tick_ns != 0) {
    spdlog::error(
        "--tick {}: the reference BMS runs on ticks and its period ({} ms) is not a "
        "multiple of it (or run the pack alone with --bms none)",
        a.tick.empty() ? "(scenario)" : a.tick, static_cast<double>(sc.bms.period_ns) / 1e6);
    return kExitBadInput;
  }
  {
    Diagnostics pd;
    if (!config::resolve_scenario_profile(sc, pd)) {
      if (!a.tick.empty()) {
        spdlog::error(
            "--tick {}: the protocol profile's frames cannot be sent at this tick (below); "
            "choose a tick that divides its periods, or run the pack alone with --bms none",
            a.tick);
      }
      std::fputs(pd.format().c_str(), stderr);
      return kExitBadInput;
    }
  }
  if (sc.bms.mode == sim::BmsMode::kExternal && interfaces.empty()) {
    spdlog::warn("bms mode is external but no --can interface: nobody will command the contactors");
  }

  sim::RunOptions opt;
  opt.out_dir = a.out.empty()
                    ? std::filesystem::path("out") / std::filesystem::path(a.scenario).stem()
                    : std::filesystem::path(a.out);
  opt.progress = !a.quiet && !a.no_progress && isatty(STDERR_FILENO);
  opt.stop_request = &stop_request();
  opt.version = ctx.version;
  opt.interfaces = interfaces;
  // On a real bus the BMS keeps its own time: always real time there.
  opt.realtime = a.realtime || !interfaces.empty() || a.speed != 1.0 || a.priority >= 0 ||
                 a.cpu >= 0 || a.mlock;
  if (a.priority >= 0) opt.priority = a.priority;
  if (a.cpu >= 0) opt.cpu = a.cpu;
  opt.mlock = a.mlock;
  opt.overrun = a.overrun == "abort" ? hil::OverrunPolicy::kAbort : hil::OverrunPolicy::kSkip;
  opt.speed = a.speed;
  if (a.bitrate || a.restart_ms >= 0 || a.txqueuelen > 0) {
    if (interfaces.empty()) {
      spdlog::error("--bitrate, --restart-ms and --txqueuelen configure the --can interfaces");
      return kExitBadInput;
    }
    hil::LinkConfig link;
    if (a.bitrate) link.bitrate = a.bitrate;
    if (a.sample_point) link.sample_point = a.sample_point;
    if (a.restart_ms >= 0) link.restart_ms = static_cast<std::uint32_t>(a.restart_ms);
    if (a.txqueuelen > 0) link.txqueuelen = a.txqueuelen;
    opt.link = link;
  }
  // Bad input, not a failed run: the reference BMS's limits must make sense with this cell.
  if (const sim::SetupResult bms = sim::Session(sc).validate_bms(); !bms.ok) {
    Diagnostics d;
    d.error(sc.bms_where, "bms: " + bms.message);
    std::fputs(d.format().c_str(), stderr);
    return kExitBadInput;
  }
  opt.status_line = opt.realtime && !a.quiet && !a.no_status && isatty(STDERR_FILENO);
  opt.verbose = !a.quiet;
  if (opt.realtime) opt.progress = false;
  install_stop_handlers();
  if (!a.quiet) {
    spdlog::info("running '{}': {}s{}p, tick {:.6g} s, {:.9g} s simulated, seed {} -> {}", sc.name,
                 sc.pack.series, sc.pack.parallel, static_cast<double>(sc.tick_ns) * 1e-9,
                 static_cast<double>(sc.duration_ns) * 1e-9, sc.seed, opt.out_dir.string());
  }
  const sim::RunResult r = sim::run_scenario(sc, opt);
  if (r.realtime && r.realtime->records_dropped > 0) {
    spdlog::warn(
        "{} records dropped: the writer thread could not keep up, so signals.csv or can.log has "
        "gaps (record less often, fewer --cells, or a faster disk)",
        r.realtime->records_dropped);
  }
  if (r.realtime && r.realtime->overruns > 0) {
    spdlog::warn("{} ticks overran their deadline; {} frames went out late", r.realtime->overruns,
                 r.realtime->frames_late);
  }
  if (!a.quiet) {
    for (const auto& w : r.model_warnings)
      spdlog::warn("outside the cell model: {}; results beyond this are extrapolation", w);
    for (const auto& w : r.table_warnings)
      spdlog::warn("table lookups clamped: {}; the table's edge stood in for those values", w);
  }
  if (!a.quiet) print_verdicts(r.expectations, opt.out_dir);
  const bool all_held =
      std::all_of(r.expectations.begin(), r.expectations.end(),
                  [](const sim::ExpectationReport& x) { return x.verdict == sim::Verdict::kPass; });
  switch (r.status) {
    case sim::RunStatus::kCompleted:
      if (!all_held) {
        // A run that went through but whose BMS did not do what the scenario expects.
        spdlog::error("expectations not met; outputs in {}", opt.out_dir.string());
        return kExitRuntime;
      }
      if (!a.quiet) {
        spdlog::info("done: {} ticks in {:.3f} s wall ({}); outputs in {}", r.ticks, r.wall_s,
                     r.stop_reason, opt.out_dir.string());
        if (r.realtime) {
          spdlog::info(
              "real time: wake latency p99 {:.1f} us, max {:.1f} us; compute p99 {:.1f} us of a "
              "{:.0f} us period; {} overruns",
              r.realtime->wake_latency_us.p99, r.realtime->wake_latency_us.max,
              r.realtime->compute_us.p99, r.realtime->period_us, r.realtime->overruns);
        }
      }
      return kExitOk;
    case sim::RunStatus::kInterrupted:
      if (r.realtime && r.realtime->records_dropped > 0) {
        spdlog::warn(
            "stopped by {} after {} ticks; outputs in {} are parseable and end with the last "
            "state, but {} records the writer could not keep up with are missing",
            r.stop_reason, r.ticks, opt.out_dir.string(), r.realtime->records_dropped);
      } else {
        spdlog::warn("stopped by {} after {} ticks; outputs in {} are complete", r.stop_reason,
                     r.ticks, opt.out_dir.string());
      }
      return 128 + r.signal;
    case sim::RunStatus::kFailed:
      spdlog::error("run failed: {}", r.stop_reason);
      for (const auto& e : r.output_errors) {
        if (r.stop_reason.rfind(e, 0) != 0) spdlog::error("also: {}", e);
      }
      return kExitRuntime;
  }
  return kExitRuntime;
}

}  // namespace

void add_run_command(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<RunArgs>();
  CLI::App* sub = app.add_subcommand(
      "run", "Run a scenario: as fast as possible, or paced to the wall clock (--realtime, --can)");
  sub->add_option("scenario", args->scenario, "Scenario file (TOML)")->required();
  sub->add_option("-o,--out", args->out, "Output directory (default: out/<scenario name>)");
  sub->add_option("--duration", args->duration,
                  "Override the scenario's duration, e.g. \"10 min\"");
  sub->add_option("--tick", args->tick, "Override the tick, e.g. \"1 ms\" (100 us to 1 s)");
  sub->add_option("--seed", args->seed, "Override the scenario's seed (0 to 2^64-1)");
  sub->add_option(
      "--record-every", args->record_every,
      "Decimate signals.csv: one row per this interval (default: the scenario's, else 1 s)");
  sub->add_option("--cells", args->cells,
                  "Per-cell columns: comma list of v, t, soc, i, all, none");
  sub->add_option("--can-log", args->can_log,
                  "Frames in can.log: all (default), rx (received), tx (sent), off (no can.log)")
      ->check(CLI::IsMember({"all", "rx", "tx", "off"}));
  sub->add_option("--can-log-max", args->can_log_max,
                  "Rotate can.log at this size, e.g. \"100 MB\", \"1 GiB\" (default: no limit)");
  sub->add_option("--can-log-keep", args->can_log_keep,
                  "Rotated logs kept besides can.log (default 3; with --can-log-max)")
      ->check(CLI::Range(1, sim::kMaxCanLogKeep));
  sub->add_option("--can", args->can,
                  "SocketCAN instead of the loopback: IFACE, or BUS=IFACE,... for several buses");
  sub->add_option("--bms", args->bms, "BMS: reference (in-process), external (on --can), none")
      ->check(CLI::IsMember({"reference", "external", "none"}));
  sub->add_flag("--realtime", args->realtime,
                "Pace ticks to the wall clock (absolute deadlines); the default with --can");
  sub->add_option("--priority", args->priority, "SCHED_FIFO priority of the tick thread (1-99)")
      ->check(CLI::Range(1, 99));
  sub->add_option("--cpu", args->cpu, "Pin the tick thread to this CPU")
      ->check(CLI::NonNegativeNumber);
  sub->add_flag("--mlock", args->mlock, "Lock all memory (no page faults during ticks)");
  sub->add_option("--bitrate", args->bitrate,
                  "Set the --can interfaces' bit rate first (libsocketcan; needs CAP_NET_ADMIN)");
  sub->add_option("--sample-point", args->sample_point, "With --bitrate: per mille, e.g. 875");
  sub->add_option("--restart-ms", args->restart_ms,
                  "Automatic bus-off restart of the --can interfaces, ms (0: off)")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--txqueuelen", args->txqueuelen,
                  "Transmit queue length of the --can interfaces (the default 10 drops bursts)")
      ->check(CLI::PositiveNumber);
  sub->add_option("--overrun", args->overrun,
                  "A tick that misses its deadline: skip (skip ahead and count) or abort")
      ->check(CLI::IsMember({"skip", "abort"}));
  sub->add_option("--speed", args->speed, "Scaled real time: simulated seconds per wall second")
      ->check(finite_range(0.1, 10.0));
  sub->add_flag("--no-status", args->no_status, "No live status line in real time");
  sub->add_flag("-q,--quiet", args->quiet, "Only errors on stderr");
  sub->add_flag("--no-progress", args->no_progress, "No progress bar even on a terminal");
  sub->callback([args, &ctx]() { ctx.exit_code = run(*args, ctx); });
}

}  // namespace packsim::cli
