// packsim-refbms: packsim's reference BMS as a separate program on a SocketCAN interface. It reads
// the same scenario as the simulator (for the pack layout, the cell's limits and OCV, the protocol
// profile) and sees the pack only through the frames on the bus.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <csignal>
#include <ctime>

#include "commands.hpp"
#include "packsim/bms/node.hpp"
#include "packsim/config/data_dirs.hpp"
#include "packsim/config/loaders.hpp"
#include "packsim/config/quantity.hpp"
#include "packsim/hil/can_bus.hpp"
#include "packsim/model/afe.hpp"
#include "packsim/sim/json.hpp"
#include "packsim/sim/session.hpp"
#include "packsim/util/output_file.hpp"

namespace {

using namespace packsim;

std::int64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

struct Args {
  std::string scenario;
  std::string can;
  std::string out;
  std::string duration;
  std::string period;
  bool no_drive = false;
  bool quiet = false;
};

struct Transition {
  double time_s;
  std::string state;
  std::string faults;
};

std::string faults_text(bms::Fault faults) {
  std::string out;
  for (std::uint32_t bit = 1; bit <= (1u << 15); bit <<= 1) {
    const auto f = static_cast<bms::Fault>(bit);
    if (bms::has_fault(faults, f)) out += (out.empty() ? "" : ",") + std::string(bms::to_string(f));
  }
  return out;
}

// refbms.json: claimed with a placeholder before the bus is touched, so that the report can be
// written however the run ends (a full disk included), and said to be missing up front when it
// cannot.
struct Report {
  std::string version;
  std::string interface;
  std::string profile;
  std::string status = "running";
  std::string stopped_by;
  std::string error;
  ReservedFile file;
};

std::string render_report(const Report& r, const bms::RefBmsNode* node,
                          const std::vector<std::unique_ptr<hil::CanBus>>& interfaces,
                          const std::vector<Transition>& transitions) {
  sim::JsonWriter j;
  j.begin_object();
  j.field("packsim_version", r.version).field("interface", r.interface).field("profile", r.profile);
  j.field("status", r.status);
  if (!r.stopped_by.empty()) j.field("stopped_by", r.stopped_by);
  if (!r.error.empty()) j.field("error", r.error);
  if (r.status == "running") {
    j.field("note",
            "the BMS has not stopped; if packsim-refbms is no longer running, it was killed "
            "before it could write this report");
  }
  if (node) {
    const bms::BmsOutputs& o = node->outputs();
    j.field("state", bms::to_string(o.state)).field("faults", faults_text(o.faults));
    j.field("first_fault", bms::to_string(o.first_fault));
    if (o.first_fault != bms::Fault::kNone) {
      j.field("first_fault_onset_s", static_cast<double>(o.first_fault_onset_ns) / 1e9);
      j.field("first_fault_s", static_cast<double>(o.first_fault_ns) / 1e9);
      j.field("first_fault_cell", o.first_fault_cell)
          .field("first_fault_module", o.first_fault_module);
    }
    j.field("soc_estimate", o.soc).field("cycles", node->cycles());
    const auto& st = node->protocol().stats();
    j.key("decoder").begin_object();
    j.field("rx_frames", st.rx_frames)
        .field("rx_unknown", st.rx_unknown)
        .field("rx_malformed", st.rx_malformed);
    j.field("e2e_bad_crc", st.e2e_bad_crc)
        .field("e2e_repeated", st.e2e_repeated)
        .field("e2e_lost", st.e2e_lost);
    j.field("tx_frames", st.tx_frames).field("tx_dropped", st.tx_dropped);
    j.end_object();
  }
  j.key("buses").begin_array();
  for (const auto& bus : interfaces) {
    j.begin_object().field("interface", bus->name());
    j.field("state", hil::bus_state_name(bus->state()))
        .field("rx_dropped", bus->stats().rx_dropped);
    j.field("tx_queue_full", bus->stats().tx_queue_full)
        .field("error_frames", bus->stats().error_frames);
    j.end_object();
  }
  j.end_array();
  j.key("transitions").begin_array();
  for (const auto& t : transitions) {
    j.begin_object()
        .field("time_s", t.time_s)
        .field("state", t.state)
        .field("faults", t.faults)
        .end_object();
  }
  j.end_array();
  j.end_object();
  return j.str();
}

// Writes the report into its reservation (nothing without --out). False, with the message on
// stderr, when it cannot be written.
bool write_report(Report& r, const bms::RefBmsNode* node,
                  const std::vector<std::unique_ptr<hil::CanBus>>& interfaces,
                  const std::vector<Transition>& transitions) {
  if (!r.file.is_open()) return true;
  std::string error;
  if (r.file.commit(render_report(r, node, interfaces, transitions), error)) return true;
  spdlog::error("{}", error);
  return false;
}

int run(const Args& a, const std::string& version) {
  Diagnostics diags;
  auto sc = config::load_scenario(a.scenario, diags);
  if (!sc) {
    std::fputs(diags.format().c_str(), stderr);
    return cli::kExitBadInput;
  }
  if (sc->bms.mode == sim::BmsMode::kNone) sc->bms.mode = sim::BmsMode::kReference;
  if (!a.period.empty()) {
    const auto q = config::parse_quantity(a.period, config::Dimension::kTime);
    if (!q.value || *q.value <= 0.0) {
      spdlog::error("--period: {}", q.value ? "must be positive" : q.error);
      return cli::kExitBadInput;
    }
    sc->bms.period_ns = static_cast<std::int64_t>(std::llround(*q.value * 1e9));
  }
  std::int64_t duration_ns = 0;
  if (!a.duration.empty()) {
    const auto q = config::parse_quantity(a.duration, config::Dimension::kTime);
    if (!q.value || *q.value <= 0.0) {
      spdlog::error("--duration: {}", q.value ? "must be positive" : q.error);
      return cli::kExitBadInput;
    }
    duration_ns = static_cast<std::int64_t>(std::llround(*q.value * 1e9));
  }
  if (!config::resolve_scenario_profile(*sc, diags)) {
    std::fputs(diags.format().c_str(), stderr);
    return cli::kExitBadInput;
  }
  const model::PackModel pack = model::build_pack_model(
      sc->pack, sc->cell, sc->tick_ns, {sc->initial_soc, sc->initial_temp_k, sc->seed});
  const model::AfeModel afe = model::build_afe_model(sc->afe, pack);
  bms::BmsConfig cfg;
  bms::NodeLayout layout;
  if (const auto r = sim::reference_bms_config(*sc, afe, cfg, layout); !r.ok) {
    spdlog::error("{}", r.message);
    return cli::kExitBadInput;
  }
  // `--can IFACE` or `--can afe=can0,sensor=can1`, as for packsim run: one socket per distinct
  // interface, each logical bus of the profile on its own.
  std::vector<sim::BusAssignment> assignments;
  std::string error;
  if (!sim::parse_bus_assignments(a.can, assignments, error)) {
    spdlog::error("--can: {}", error);
    return cli::kExitBadInput;
  }
  sim::InterfacePlan plan;
  if (const auto r = sim::resolve_interfaces(sc->profile->buses, assignments, plan); !r.ok) {
    spdlog::error("--can: {}", r.message);
    return cli::kExitBadInput;
  }
  std::vector<std::unique_ptr<hil::CanBus>> interfaces;
  std::vector<Transition> transitions;
  Report report;
  report.version = version;
  report.interface = a.can;
  report.profile = sc->profile->name;
  if (!a.out.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(a.out, ec);
    if (ec) {
      spdlog::error("cannot create output directory {}: {}", a.out, errno_text(ec.value()));
      return cli::kExitRuntime;
    }
    // 256 KiB: a few thousand state transitions.
    std::string reserve_error;
    if (!report.file.create(std::filesystem::path(a.out) / "refbms.json",
                            render_report(report, nullptr, interfaces, transitions),
                            std::size_t{256} << 10, 0, reserve_error)) {
      spdlog::error("{}; the BMS did not start", reserve_error);
      return cli::kExitRuntime;
    }
  }
  std::string opened_text;
  for (const auto& iface : plan.interfaces) {
    hil::SocketCanOptions so;
    so.interface = iface;
    auto opened = hil::open_socketcan(so);
    if (!opened.bus) {
      spdlog::error("cannot open {}: {}", iface, opened.message);
      report.status = "failed";
      report.error = "cannot open " + iface + ": " + opened.message;
      write_report(report, nullptr, interfaces, transitions);
      return cli::kExitRuntime;
    }
    opened_text += (opened_text.empty() ? "" : ", ") + iface + " " + opened.message;
    interfaces.push_back(std::move(opened.bus));
  }
  std::vector<hil::CanBus*> buses;
  for (const std::size_t i : plan.of_bus) buses.push_back(interfaces[i].get());
  bms::RefBmsNode node(sc->profile, cfg, layout, sc->bms.period_ns);
  node.drive_request = !a.no_drive && sc->bms.drive;
  cli::install_stop_handlers();
  if (!a.quiet) {
    spdlog::info("reference BMS on {}: {} channels, {} sensors, profile '{}', cycle {} ms",
                 opened_text, layout.n_channels, layout.n_sensors, sc->profile->name,
                 static_cast<double>(sc->bms.period_ns) / 1e6);
  }

  bms::BmsState last_state = node.outputs().state;
  bms::Fault last_faults = node.outputs().faults;
  transitions.push_back({0.0, bms::to_string(last_state), ""});
  const std::int64_t start = monotonic_ns();
  std::int64_t deadline = start;
  int stop_signal = 0;
  for (;;) {
    const timespec ts{static_cast<time_t>(deadline / 1'000'000'000),
                      static_cast<long>(deadline % 1'000'000'000)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
      if (cli::stop_request().load() != 0) break;
    }
    stop_signal = cli::stop_request().load();
    const std::int64_t now = deadline - start;
    if (stop_signal != 0 || (duration_ns > 0 && now >= duration_ns)) break;
    for (const auto& bus : interfaces) bus->poll();
    node.poll(now, buses.data(), buses.size());
    const bms::BmsOutputs& o = node.outputs();
    if (o.state != last_state || o.faults != last_faults) {
      transitions.push_back(
          {static_cast<double>(now) / 1e9, bms::to_string(o.state), faults_text(o.faults)});
      if (!a.quiet) {
        spdlog::info("{:.3f} s: {}{}{}", static_cast<double>(now) / 1e9, bms::to_string(o.state),
                     o.faults != bms::Fault::kNone ? ", faults: " : "", faults_text(o.faults));
      }
      last_state = o.state;
      last_faults = o.faults;
    }
    deadline += sc->bms.period_ns;
    // Never burst to catch up: if the process fell behind, skip to the next period.
    const std::int64_t now_abs = monotonic_ns();
    if (deadline < now_abs)
      deadline = now_abs + sc->bms.period_ns - (now_abs - start) % sc->bms.period_ns;
  }

  report.status = stop_signal != 0 ? "interrupted" : "completed";
  report.stopped_by = stop_signal != 0 ? "signal" : "duration";
  if (!write_report(report, &node, interfaces, transitions)) return cli::kExitRuntime;
  return stop_signal != 0 ? 128 + stop_signal : cli::kExitOk;
}

int refbms_main(int argc, char** argv) {
  CLI::App app{"packsim-refbms - packsim's reference BMS on a SocketCAN interface"};
  app.set_version_flag("--version", []() {
    return std::string("packsim-refbms ") + PACKSIM_VERSION + "\n" + config::data_dirs_report();
  });
  Args a;
  app.add_option("scenario", a.scenario,
                 "The scenario the simulator runs (pack, cell, profile, limits)")
      ->required();
  app.add_option("--can", a.can,
                 "SocketCAN interface, or BUS=IFACE,... for a profile with several buses")
      ->required();
  app.add_option("--out", a.out,
                 "Write refbms.json (states, faults, statistics) into this directory");
  app.add_option("--duration", a.duration,
                 "Stop after this long, e.g. \"60 s\" (default: until a signal)");
  app.add_option("--period", a.period, "BMS cycle (default: the scenario's [bms] period)");
  app.add_flag("--no-drive", a.no_drive, "Do not request the pack (stay in standby)");
  app.add_flag("-q,--quiet", a.quiet, "Only errors");
  spdlog::set_default_logger(spdlog::stderr_color_st("refbms"));
  spdlog::set_pattern("%^%l%$: %v");
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return packsim::cli::kExitBadInput;
  }
  return run(a, PACKSIM_VERSION);
}

}  // namespace

int main(int argc, char** argv) { return packsim::cli::guarded_main(refbms_main, argc, argv); }
