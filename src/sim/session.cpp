#include "packsim/sim/session.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "packsim/sim/json.hpp"
#include "packsim/sim/junit.hpp"
#include "packsim/sim/runner.hpp"

namespace packsim::sim {
namespace {

const char* contactor_name(const model::ContactorState& k) {
  if (k.main_pos && k.main_neg) return k.precharge ? "closed+precharge" : "closed";
  if (k.main_neg && k.precharge) return "precharge";
  if (!k.main_pos && !k.main_neg && !k.precharge) return "open";
  return "partial";
}

// can.log.1, can.log.2, ...: what a rotated log leaves.
bool is_rotated_can_log(const std::string& name) {
  constexpr std::string_view kPrefix = "can.log.";
  return name.size() > kPrefix.size() && name.compare(0, kPrefix.size(), kPrefix) == 0 &&
         std::all_of(name.begin() + static_cast<std::ptrdiff_t>(kPrefix.size()), name.end(),
                     [](char c) { return c >= '0' && c <= '9'; });
}

double seconds(std::int64_t ns) { return static_cast<double>(ns) / 1e9; }
// Room for the expectations' messages: their conditions' texts quoted a few times, and the value
// of every comparison (one line of "name = value" each at most).
std::size_t expectation_bytes(const Scenario& sc) {
  std::size_t n = 0;
  for (const Expectation& e : sc.expectations) {
    const std::size_t texts =
        e.name.size() + e.expect.text.size() + e.trigger.text.size() + e.at_end_text.size();
    n += 512 + 3 * texts + 96 * static_cast<std::size_t>(e.expect.n_nodes + 2 * e.trigger.n_nodes);
  }
  return n;
}

// The [[fault]] names in file order, for the expectations' messages.
std::vector<std::string> fault_names(const Scenario& sc) {
  std::vector<std::string> out;
  for (const Fault& f : sc.faults) out.push_back(f.name);
  return out;
}

void extreme(JsonWriter& j, std::string_view name, const Extreme& e, double offset = 0.0) {
  j.key(name).begin_object();
  j.field("value", e.value - offset);
  j.field("time_s", seconds(e.time_ns));
  j.end_object();
}

void protocol_stats(JsonWriter& j, const can::ProtocolStats& s) {
  j.field("tx_frames", s.tx_frames).field("tx_dropped", s.tx_dropped);
  j.field("rx_frames", s.rx_frames)
      .field("rx_unknown", s.rx_unknown)
      .field("rx_malformed", s.rx_malformed);
  j.field("rx_error_frames", s.rx_error_frames).field("e2e_bad_crc", s.e2e_bad_crc);
  j.field("e2e_repeated", s.e2e_repeated).field("e2e_lost", s.e2e_lost);
  j.field("e2e_missed_frames", s.e2e_missed_frames).field("rx_timeouts", s.rx_timeouts);
  j.field("tx_faulted", s.tx_faulted);
}

std::string fault_list(bms::Fault faults) {
  std::string out;
  for (std::uint32_t bit = 1; bit != 0 && bit <= (1u << 15); bit <<= 1) {
    const auto f = static_cast<bms::Fault>(bit);
    if (bms::has_fault(faults, f)) out += (out.empty() ? "" : ",") + std::string(bms::to_string(f));
  }
  return out;
}

}  // namespace

SetupResult reference_bms_config(const Scenario& sc, const model::AfeModel& afe,
                                 bms::BmsConfig& cfg, bms::NodeLayout& layout) {
  const double capacity_as = sc.cell.capacity_as * sc.pack.parallel;
  cfg = bms::default_bms_config(afe.n_channels, afe.cells_per_module, afe.sensor_module,
                                sc.cell.v_min, sc.cell.v_max, capacity_as);
  bms::set_ocv_from_cell(cfg, sc.cell, sc.initial_temp_k);
  const BmsSettings& b = sc.bms;
  if (b.cell_ov_v) cfg.cell_ov_v = *b.cell_ov_v;
  if (b.cell_uv_v) cfg.cell_uv_v = *b.cell_uv_v;
  if (b.ot_k) cfg.ot_k = *b.ot_k;
  if (b.ut_k) cfg.ut_k = *b.ut_k;
  if (b.oc_discharge_a) cfg.oc_discharge_a = *b.oc_discharge_a;
  if (b.oc_charge_a) cfg.oc_charge_a = *b.oc_charge_a;
  auto set = [](const std::optional<std::int64_t>& v, std::int64_t& out) {
    if (v) out = *v;
  };
  set(b.ov_delay_ns, cfg.ov_delay_ns);
  set(b.uv_delay_ns, cfg.uv_delay_ns);
  set(b.ot_delay_ns, cfg.ot_delay_ns);
  set(b.ut_delay_ns, cfg.ut_delay_ns);
  set(b.oc_discharge_delay_ns, cfg.oc_discharge_delay_ns);
  set(b.oc_charge_delay_ns, cfg.oc_charge_delay_ns);
  set(b.invalid_delay_ns, cfg.invalid_delay_ns);
  set(b.current_timeout_ns, cfg.current_timeout_ns);
  set(b.startup_grace_ns, cfg.startup_grace_ns);
  set(b.corrupt_window_ns, cfg.corrupt_window_ns);
  set(b.precharge_min_ns, cfg.precharge_min_ns);
  set(b.precharge_max_ns, cfg.precharge_max_ns);
  set(b.hw_flag_delay_ns, cfg.hw_flag_delay_ns);
  set(b.vent_gas_delay_ns, cfg.vent_gas_delay_ns);
  set(b.insulation_delay_ns, cfg.insulation_delay_ns);
  if (b.vent_gas_ppm) cfg.vent_gas_ppm = *b.vent_gas_ppm;
  if (b.insulation_min_ohm) cfg.insulation_min_ohm = *b.insulation_min_ohm;
  if (b.self_discharge_v) cfg.self_discharge_v = *b.self_discharge_v;
  set(b.self_discharge_settle_ns, cfg.self_discharge_settle_ns);
  set(b.self_discharge_filter_ns, cfg.self_discharge_filter_ns);
  set(b.self_discharge_delay_ns, cfg.self_discharge_delay_ns);
  if (b.corrupt_limit) cfg.corrupt_limit = *b.corrupt_limit;
  // Data counts as lost after three missed periods of the slowest AFE message, at least the
  // default: a profile with slow temperature frames must not trip the BMS by design. A timeout
  // given in the scenario is taken as it is, but not one the profile's own timing would break.
  if (sc.profile) {
    const std::int64_t slowest = sc.profile->slowest_afe_period_ns();
    if (b.afe_timeout_ns) {
      if (*b.afe_timeout_ns <= slowest) {
        return {false, "[bms] afe_timeout " + std::to_string(*b.afe_timeout_ns / 1'000'000) +
                           " ms is not longer than the profile's slowest AFE message period (" +
                           std::to_string(slowest / 1'000'000) + " ms): it would trip every cycle"};
      }
      cfg.afe_timeout_ns = *b.afe_timeout_ns;
    } else {
      cfg.afe_timeout_ns = std::max(cfg.afe_timeout_ns, 3 * slowest);
    }
  } else if (b.afe_timeout_ns) {
    cfg.afe_timeout_ns = *b.afe_timeout_ns;
  }
  const auto problems = bms::validate_bms_config(cfg);
  if (!problems.empty()) return {false, "reference BMS configuration: " + problems.front()};
  layout = {afe.n_channels, afe.n_sensors, afe.n_modules, afe.cells_per_module,
            afe.n_modules > 0 ? (afe.n_sensors + afe.n_modules - 1) / afe.n_modules : 0};
  return {true, ""};
}

bool parse_bus_assignments(const std::string& text, std::vector<BusAssignment>& out,
                           std::string& error) {
  out.clear();
  std::size_t begin = 0;
  while (begin <= text.size()) {
    const std::size_t end = std::min(text.find(',', begin), text.size());
    const std::string item = text.substr(begin, end - begin);
    BusAssignment b;
    const auto eq = item.find('=');
    if (eq == std::string::npos) {
      b.interface = item;
    } else {
      b.logical = item.substr(0, eq);
      b.interface = item.substr(eq + 1);
      if (b.logical.empty()) {
        error = "empty bus name in '" + item + "'; expected BUS=IFACE";
        return false;
      }
    }
    if (b.interface.empty()) {
      error = "empty interface name in '" + text + "'";
      return false;
    }
    out.push_back(b);
    begin = end + 1;
  }
  return true;
}

SetupResult resolve_interfaces(const std::vector<std::string>& logical,
                               const std::vector<BusAssignment>& assignments, InterfacePlan& plan) {
  std::string fallback;
  for (const auto& a : assignments) {
    if (a.logical.empty()) {
      fallback = a.interface;
    } else if (std::find(logical.begin(), logical.end(), a.logical) == logical.end()) {
      std::string names;
      for (const auto& l : logical) names += (names.empty() ? "" : ", ") + l;
      return {false, "the profile has no bus '" + a.logical + "' (its buses: " + names + ")"};
    }
  }
  plan = {};
  for (const std::string& bus : logical) {
    std::string iface = fallback;
    for (const auto& a : assignments) {
      if (a.logical == bus) iface = a.interface;
    }
    if (iface.empty()) {
      return {false, "no interface given for the profile's bus '" + bus + "' (use --can " + bus +
                         "=IFACE)"};
    }
    const auto it = std::find(plan.interfaces.begin(), plan.interfaces.end(), iface);
    plan.of_bus.push_back(static_cast<std::size_t>(it - plan.interfaces.begin()));
    if (it == plan.interfaces.end()) plan.interfaces.push_back(iface);
  }
  return {true, ""};
}

// Hands the protocol's frames to the transports and logs them.
class Session::Sink final : public can::FrameSink {
 public:
  explicit Sink(Session& s) : s_(s) {}
  bool send(std::size_t bus, const can::CanFrame& frame) override {
    if (bus >= s_.buses_.size()) return false;
    const bool ok = s_.buses_[bus]->send(frame) == hil::TxResult::kOk;
    if (ok) {
      ++s_.frames_last_tick_;
      s_.log_frame(s_.socketcan_ ? s_.wall_ns_ : s_.data_.time_ns, s_.bus_interface_[bus], frame,
                   false);
    } else {
      ++s_.frames_not_sent_;
    }
    return ok;
  }

 private:
  Session& s_;
};

Session::Session(const Scenario& sc)
    : sc_(sc),
      model_(model::build_pack_model(sc.pack, sc.cell, sc.tick_ns,
                                     {sc.initial_soc, sc.initial_temp_k, sc.seed})),
      data_(model::make_data(model_)),
      afe_model_(model::build_afe_model(sc.afe, model_)),
      afe_(model::make_afe_data(afe_model_, model_, data_)),
      driver_(sc),
      expect_(sc.expectations, fault_names(sc)),
      rx_(512) {
  data_.input.contactors = sc.initial_contactors;
  data_.input.ambient_k = sc.ambient_k;
  data_.contactors = sc.initial_contactors;
  host_.drive = sc.bms.drive;
  // A run that starts with the contactors closed starts with the DC link already precharged.
  if (sc.initial_contactors.main_pos && sc.initial_contactors.main_neg) {
    data_.link_voltage_v = data_.pack_voltage_v;
  }
  shunt_.temp_k = sc.ambient_k;
  if (sc.bms.mode != BmsMode::kNone && sc.profile) {
    protocol_ = std::make_unique<can::SimProtocol>(sc.profile, afe_model_.n_channels,
                                                   afe_model_.n_sensors, afe_model_.n_modules);
  }
  if (protocol_ && sc.profile->observes_cell_soc)
    true_group_soc_.assign(static_cast<std::size_t>(model_.ns), 0.0);
  prepare_sample(model_, sc.record.cells, sample_);
  sent_ = sent_values(afe_);
  driver_.set_condition_sources(protocol_ ? &protocol_->commands().observed : nullptr, &sent_);
  bms_track_.states.reserve(kMaxBmsStateChanges);
  // Scoring judges the pack by the cell's voltage window and the BMS's over-temperature limit
  // (the reference BMS's 60 degC default when the scenario sets none).
  score_ot_k_ = sc.bms.ot_k.value_or(273.15 + 60.0);
  bms_track_.first_fault_code = std::numeric_limits<double>::quiet_NaN();
  const std::int64_t every = sc.record.every_ns > 0 ? sc.record.every_ns : sc.tick_ns;
  every_ticks_ =
      static_cast<std::uint64_t>(std::max<std::int64_t>(1, (every + sc.tick_ns / 2) / sc.tick_ns));
  total_ticks_ = static_cast<std::uint64_t>((sc.duration_ns + sc.tick_ns - 1) / sc.tick_ns);
}

Session::~Session() = default;

SetupResult Session::validate_bms() const {
  if (sc_.bms.mode != BmsMode::kReference) return {true, ""};
  bms::BmsConfig cfg;
  bms::NodeLayout layout;
  return reference_bms_config(sc_, afe_model_, cfg, layout);
}

SetupResult Session::prepare(const SessionOptions& opt) {
  if (prepared_) return {true, ""};
  prepared_ = true;
  out_dir_ = opt.out_dir;
  std::error_code ec;
  std::filesystem::create_directories(out_dir_, ec);
  if (ec) {
    return {false,
            "cannot create output directory " + out_dir_.string() + ": " + errno_text(ec.value())};
  }
  // An earlier run's outputs in the same folder must not pass for this run's: its summary until
  // this run writes one, its can.log and rotated logs when this run logs less or no CAN.
  std::vector<std::filesystem::path> stale{out_dir_ / "summary.json", out_dir_ / "can.log",
                                           out_dir_ / "events.csv", out_dir_ / "junit.xml"};
  for (const auto& entry : std::filesystem::directory_iterator(out_dir_, ec)) {
    if (is_rotated_can_log(entry.path().filename().string())) stale.push_back(entry.path());
  }
  for (const auto& path : stale) {
    // Only what is there: unlink() on a read-only file system fails even for a missing file.
    if (!std::filesystem::exists(std::filesystem::symlink_status(path, ec))) continue;
    std::filesystem::remove(path, ec);
    if (ec) return {false, "cannot remove " + path.string() + ": " + errno_text(ec.value())};
  }
  // The placeholder is a whole summary of a run that has not ended, so a run killed outright
  // (SIGKILL, power) still leaves a parseable summary.json that says so. The reservation has room
  // for what the final one adds (segment ends, buses, real-time statistics, an error, the list of
  // rotated logs) and a spare for signals.csv and can.log to flush their 64 KiB buffers and the
  // final state's row into when the disk fills up.
  const std::string placeholder = render_summary(RunResult{}, opt.version, true);
  const std::size_t files =
      sc_.record.can_log_max_bytes > 0 ? static_cast<std::size_t>(sc_.record.can_log_keep) + 1 : 1;
  const std::size_t content = std::max<std::size_t>(std::size_t{64} << 10, 4 * placeholder.size()) +
                              192 * files +
                              // the cells that vented or ran away, listed with their times
                              64 * static_cast<std::size_t>(model_.n_cells) +
                              // the expectations' messages
                              expectation_bytes(sc_) +
                              // the BMS's state changes, each a {time_s, state} object
                              96 * kMaxBmsStateChanges;
  const std::size_t row = 256 + 16 * sample_.cells.size();
  const std::size_t spare = (std::size_t{256} << 10) + 2 * row;
  std::string err;
  if (!summary_.create(out_dir_ / "summary.json", placeholder, content, spare, err)) {
    summary_unwritable_ = true;  // the run does not start; finish() need not try again
    return {false, err};
  }
  // junit.xml the same way: a placeholder whose testcases are errors (not decided) until the run
  // ends, with room for the messages (twice: attribute and text) and their key figures.
  const std::string junit = render_junit_file(RunResult{}, true);
  const std::size_t junit_bytes =
      (std::size_t{16} << 10) + 2 * junit.size() + 3 * expectation_bytes(sc_);
  if (!junit_.create(out_dir_ / "junit.xml", junit, junit_bytes, 0, err)) {
    junit_unwritable_ = true;
    return {false, err};
  }
  return {true, ""};
}

SetupResult Session::open(const SessionOptions& opt) {
  if (SetupResult r = prepare(opt); !r.ok) return r;
  std::string err;
  {
    std::vector<std::string> labels;
    for (const auto& seg : sc_.load) labels.push_back(seg.label);
    csv_.set_bms_columns(std::move(labels), protocol_ ? protocol_->profile().observed_mask : 0);
  }
  if (!csv_.open(out_dir_ / "signals.csv", model_, sc_.record.cells, sc_.tick_ns, err, &space_))
    return {false, err};
  if (!events_.open(out_dir_ / "events.csv", err, &space_)) return {false, err};
  {
    static constexpr char kHeader[] = "time_s,source,kind,target,action,value,label\n";
    events_.write(kHeader, sizeof kHeader - 1);
  }
  event_line_.reserve(512);

  if (protocol_) {
    const can::Profile& p = protocol_->profile();
    socketcan_ = !opt.interfaces.empty();
    const bool reference = sc_.bms.mode == BmsMode::kReference;
    if (!socketcan_) {
      // The embedded default: each logical bus is an in-process loopback, with the reference BMS
      // at its other end.
      for (std::size_t b = 0; b < p.buses.size(); ++b) {
        auto pair = hil::make_loopback("loop" + std::to_string(b), 8192, true);
        bus_interface_.push_back(interfaces_.size());
        interfaces_.push_back(std::move(pair.a));
        bms_interfaces_.push_back(std::move(pair.b));
      }
    } else {
      InterfacePlan plan;
      if (SetupResult r = resolve_interfaces(p.buses, opt.interfaces, plan); !r.ok) return r;
      bus_interface_ = plan.of_bus;
      for (const std::string& iface : plan.interfaces) {
        hil::SocketCanOptions so;
        so.interface = iface;
        so.enable_fd = opt.enable_fd;
        auto r = hil::open_socketcan(so);
        if (!r.bus) return {false, "cannot open " + so.interface + ": " + r.message};
        interfaces_.push_back(std::move(r.bus));
        if (reference) {
          // The in-process BMS on its own socket of each interface: it sees the simulator's
          // frames as any other node on the bus would.
          auto rb = hil::open_socketcan(so);
          if (!rb.bus)
            return {false, "cannot open " + so.interface + " for the reference BMS: " + rb.message};
          bms_interfaces_.push_back(std::move(rb.bus));
        }
      }
      for (const auto& tx : p.tx) {
        const hil::CanBus& bus = *interfaces_[bus_interface_[tx.bus_index]];
        if (tx.codec->fd() && !bus.fd_capable()) {
          return {false, "profile '" + p.name + "' sends CAN FD frames (" + tx.name + ") but " +
                             bus.name() + " is classic CAN only (MTU 16)"};
        }
      }
    }
    for (const std::size_t i : bus_interface_) {
      buses_.push_back(interfaces_[i].get());
      if (reference) bms_buses_.push_back(bms_interfaces_[i].get());
    }
    if (reference) {
      bms::BmsConfig cfg;
      bms::NodeLayout layout;
      SetupResult r = reference_bms_config(sc_, afe_model_, cfg, layout);
      if (!r.ok) return r;
      bms_node_ = std::make_unique<bms::RefBmsNode>(sc_.profile, cfg, layout, sc_.bms.period_ns);
      bms_node_->drive_request = host_.drive;
    }
    const CanLogMode mode = sc_.record.can_log;
    log_rx_ = mode == CanLogMode::kAll || mode == CanLogMode::kRx;
    log_tx_ = mode == CanLogMode::kAll || mode == CanLogMode::kTx;
    if (mode != CanLogMode::kOff) {
      log_can_ = true;
      const hil::CanLogLimits limits{sc_.record.can_log_max_bytes, sc_.record.can_log_keep};
      if (!can_log_.open(out_dir_ / "can.log", limits, err, &space_)) return {false, err};
    }
    sink_ = std::make_unique<Sink>(*this);
  }
  // The initial state is the first row, with what the AFE reads of it: the frames due at t = 0
  // carry that reading too, not the measurement chain's empty buffers (0 V cells, from which a
  // BMS would start its SOC).
  model::afe_measure(afe_model_, model_, data_, afe_);
  model::shunt_measure(sc_.shunt, model_, data_, shunt_);
  sent_ = sent_values(afe_);
  stats_.update(data_);
  fill_sample(model_, data_, sc_.record.cells, 0, sample_);
  fill_bms_sample();
  csv_.write(sample_);
  last_recorded_ns_ = data_.time_ns;
  return {true, ""};
}

void Session::read(std::int64_t wall_ns) {
  wall_ns_ = wall_ns;
  const std::int64_t now = data_.time_ns;
  if (protocol_) {
    for (std::size_t i = 0; i < interfaces_.size(); ++i) {
      hil::CanBus& bus = *interfaces_[i];
      bus.poll();
      for (;;) {
        const std::size_t n = bus.receive(rx_.data(), rx_.size());
        for (std::size_t k = 0; k < n; ++k) {
          const can::CanFrame& f = rx_[k].frame;
          log_frame(socketcan_ ? (rx_[k].timestamp_ns ? rx_[k].timestamp_ns : wall_ns) : now, i, f,
                    true);
          protocol_->receive(i, f, now);
        }
        if (n < rx_.size()) break;
      }
    }
    protocol_->supervise(now);
    track_bms(now);
    const can::SimCommands& cmd = protocol_->commands();
    if (protocol_->profile().commands_contactors) data_.input.contactors = cmd.contactors;
    if (protocol_->profile().commands_balancing) {
      std::copy(cmd.balance.begin(), cmd.balance.end(), afe_.balance.begin());
    }
  }
  frames_last_tick_ = 0;
  // The frames due at t = 0 carry the initial state; write() sends those due at each tick's end.
  // Like those, they go out before the events of their own time apply.
  if (data_.tick == 0) transmit();
  driver_.read(now, data_, &afe_, &host_, &shunt_);
  for (std::size_t k = 0; k < driver_.transition_count(); ++k) {
    const FaultTransition& t = driver_.transitions()[k];
    apply_wire_fault(t);
    EventRecord r;
    r.time_ns = t.time_ns;
    r.source = 0;
    r.action = static_cast<std::uint8_t>(t.action);
    r.fault = t.fault;
    r.value = t.value;
    log_event(r);
  }
  for (std::size_t k = driver_.fired_first(); k < driver_.fired_last(); ++k) {
    const Event& e = sc_.events[k];
    if (e.sensor_error) shunt_.error_bits = static_cast<std::uint8_t>(*e.sensor_error);
    if (e.can_fault && protocol_) {
      const CanFaultEvent& f = *e.can_fault;
      const std::int64_t until =
          f.duration_ns > 0 ? e.at_ns + f.duration_ns : std::numeric_limits<std::int64_t>::max();
      protocol_->set_fault(f.tx_message, f.instance, f.fault, until);
    }
  }
}

void Session::update() {
  model::apply_balancing(afe_model_, model_, afe_, data_);
  model::step(model_, data_);
  model::afe_measure(afe_model_, model_, data_, afe_);
  model::shunt_measure(sc_.shunt, model_, data_, shunt_);
  sent_ = sent_values(afe_);
  // The model's physical events of this tick, as ground truth.
  model::ModelEvent ev;
  while (data_.events.pop(ev)) {
    EventRecord r;
    r.time_ns = ev.time_ns;
    r.source = 1;
    r.event = ev;
    r.value = ev.value;
    log_event(r);
    ++model_events_;
  }
  driver_.after_step(data_);
  stats_.update(data_);
  // Sums propagate a NaN that min/max would hide; an overflow to infinity counts as well.
  if (!std::isfinite(data_.v_mean + data_.t_mean_k + data_.soc_mean + data_.pack_current_a +
                     data_.link_voltage_v + data_.heat_total_w)) {
    diverged_ = true;
  }
}

void Session::log_frame(std::int64_t timestamp_ns, std::size_t iface, const can::CanFrame& frame,
                        bool received) {
  if (!(received ? log_rx_ : log_tx_)) {
    ++frames_not_logged_;
    return;
  }
  if (!threaded_) {
    can_log_.write(timestamp_ns, interfaces_[iface]->name(), frame);
    return;
  }
  LogRecord r;
  r.timestamp_ns = timestamp_ns;
  r.bus = static_cast<std::uint32_t>(iface);
  r.frame = frame;
  if (!frame_ring_->try_push(r)) dropped_.fetch_add(1, std::memory_order_relaxed);
}

void Session::apply_wire_fault(const FaultTransition& t) {
  const Fault& f = sc_.faults[static_cast<std::size_t>(t.fault)];
  if (!protocol_ || (t.action != FaultAction::kStart && t.action != FaultAction::kStop)) return;
  const bool on = t.action == FaultAction::kStart;
  // The scheduler ends a fault itself: on the wire it lasts until told otherwise.
  const std::int64_t until = on ? std::numeric_limits<std::int64_t>::max() : t.time_ns;
  const auto msg = static_cast<std::size_t>(f.target < 0 ? 0 : f.target);
  auto wire = [&](can::TxFault fault) {
    protocol_->set_fault(msg, f.target2, on ? fault : can::TxFault::kNone, until);
  };
  switch (f.kind) {
    case FaultKind::kCanDrop:
      wire(can::TxFault::kDrop);
      break;
    case FaultKind::kCanCorruptCrc:
      wire(can::TxFault::kCorruptCrc);
      break;
    case FaultKind::kCanRepeatCounter:
      wire(can::TxFault::kRepeatCounter);
      break;
    case FaultKind::kCanShortFrame:
      wire(can::TxFault::kShortFrame);
      break;
    case FaultKind::kCanDelay:
      protocol_->set_delay(msg, f.target2,
                           on ? static_cast<std::int64_t>(std::llround(t.value * 1e9)) : 0, until);
      break;
    case FaultKind::kCanBabble:
      protocol_->set_babble(static_cast<std::size_t>(f.bus_index < 0 ? 0 : f.bus_index), f.can_id,
                            f.extended, f.dlc, on ? f.rate_hz : 0.0, until);
      break;
    case FaultKind::kCanSilence:
      protocol_->set_silence(f.bus_index, f.target, until);
      break;
    case FaultKind::kCanErrorFrames:
      protocol_->set_error_frames(static_cast<std::size_t>(f.bus_index < 0 ? 0 : f.bus_index),
                                  f.error_class, on ? f.rate_hz : 0.0, until);
      break;
    default:
      break;
  }
}

void Session::log_event(const EventRecord& r) {
  if (!threaded_) {
    write_event(r);
  } else if (!event_ring_->try_push(r)) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
  }
}

namespace {
const char* contactor_index_name(int i) {
  return i == 0 ? "main_pos" : i == 1 ? "main_neg" : "precharge";
}
// A CSV field: quoted when it holds a comma, a quote or a line break.
void append_csv_field(std::string& out, const std::string& text) {
  if (text.find_first_of(",\"\n\r") == std::string::npos) {
    out += text;
    return;
  }
  out += '"';
  for (const char c : text) {
    if (c == '"') out += '"';
    out += c == '\n' || c == '\r' ? ' ' : c;
  }
  out += '"';
}
}  // namespace

void Session::write_event(const EventRecord& r) {
  std::string& line = event_line_;
  line.clear();
  append_time(line, r.time_ns, time_decimals_for(sc_.tick_ns));
  char buf[96];
  if (r.source == 0) {
    const Fault& f = sc_.faults[static_cast<std::size_t>(r.fault)];
    line += ",fault,";
    line += fault_kind_name(f.kind);
    line += ',';
    append_csv_field(line, f.target_text);
    std::snprintf(buf, sizeof buf, ",%s,%.9g,",
                  fault_action_name(static_cast<FaultAction>(r.action)), r.value);
    line += buf;
    append_csv_field(line, f.label);
  } else {
    const model::ModelEvent& e = r.event;
    line += ",model,";
    line += model::model_event_name(e.kind);
    switch (e.kind) {
      case model::ModelEventKind::kContactorStuck:
        std::snprintf(buf, sizeof buf, ",contactor %s", contactor_index_name(e.index));
        break;
      case model::ModelEventKind::kPrechargeFailed:
        std::snprintf(buf, sizeof buf, ",precharge");
        break;
      default:
        std::snprintf(buf, sizeof buf, ",cell %d", e.index);
        break;
    }
    line += buf;
    std::snprintf(buf, sizeof buf, ",event,%.9g,", r.value);
    line += buf;
  }
  line += '\n';
  events_.write(line.data(), line.size());
}

void Session::enable_threaded_recording(std::size_t sample_slots, std::size_t frame_slots,
                                        std::size_t sample_budget_bytes) {
  Sample prototype;
  prepare_sample(model_, sc_.record.cells, prototype);
  // Per-cell columns of a big pack make a sample large (7,104 cells x 4 quantities = 227 kB): cap
  // the ring's memory, which --mlock would otherwise pin by the gigabyte. 64 slots at least.
  const std::size_t sample_bytes = sizeof(Sample) + prototype.cells.size() * sizeof(double);
  sample_slots =
      std::min(sample_slots, std::max<std::size_t>(64, sample_budget_bytes / sample_bytes));
  sample_ring_ = std::make_unique<hil::SpscRing<Sample>>(sample_slots, prototype);
  frame_ring_ = std::make_unique<hil::SpscRing<LogRecord>>(frame_slots);
  // Faults and model events are few: a start, steps, a stop each, and a vent, a runaway and the
  // cell's opening per cell at most; the ring holds a burst of them between two drains.
  std::size_t fault_rows = 0;
  for (const auto& f : sc_.faults) fault_rows += 4 + f.step_ns.size();
  event_ring_ = std::make_unique<hil::SpscRing<EventRecord>>(
      std::max<std::size_t>(1024, fault_rows + 3 * static_cast<std::size_t>(model_.n_cells)));
  drain_sample_ = prototype;
  threaded_ = true;
}

std::size_t Session::drain() {
  if (!threaded_) return 0;
  std::size_t n = 0;
  while (sample_ring_->try_pop(drain_sample_)) {
    csv_.write(drain_sample_);
    ++n;
  }
  LogRecord r;
  while (frame_ring_->try_pop(r)) {
    can_log_.write(r.timestamp_ns, interfaces_[r.bus]->name(), r.frame);
    ++n;
  }
  EventRecord ev;
  while (event_ring_->try_pop(ev)) {
    write_event(ev);
    ++n;
  }
  note_outputs();
  return n;
}

void Session::note_outputs() {
  if (!stop_cause_.empty()) return;
  if (space_.tripped()) {
    stop_cause_ = space_.message();
  } else if (csv_.failed()) {
    stop_cause_ = csv_.error_message();
  } else if (events_.failed()) {
    stop_cause_ = events_.error_message();
  } else if (can_log_.failed()) {
    stop_cause_ = can_log_.error_message();
  } else {
    return;
  }
  outputs_stopped_.store(true, std::memory_order_relaxed);
}

void Session::write(std::int64_t wall_ns) {
  wall_ns_ = wall_ns;
  if (protocol_) {
    transmit();
    if (bms_node_) {
      bms_node_->drive_request = host_.drive;
      bms_node_->fault_reset = host_.fault_reset;
      bms_node_->poll(data_.time_ns, bms_buses_.data(), bms_buses_.size());
      driver_.set_bms_state(static_cast<int>(bms_node_->outputs().state));
    }
  }
  // After the BMS has answered this tick's frames: the verdicts see what it did at this time.
  if (expect_.size() > 0) expect_.evaluate(driver_.view(data_));
  score_tick();
  if (data_.tick % every_ticks_ == 0) record();
  frames_total_ += frames_last_tick_;
  ticks_pub_.store(data_.tick, std::memory_order_relaxed);
  frames_pub_.store(frames_total_, std::memory_order_relaxed);
  if (!interfaces_.empty()) {
    // The status line shows the worst state of any interface.
    hil::BusState worst = interfaces_.front()->state();
    for (const auto& bus : interfaces_) worst = hil::worse_state(worst, bus->state());
    bus_state_pub_.store(static_cast<std::uint8_t>(worst), std::memory_order_relaxed);
  }
  if (!threaded_) note_outputs();  // the tick thread leaves this to the writer's drain()
}

void Session::track_bms(std::int64_t now_ns) {
  const can::BmsObservations& obs = protocol_->commands().observed;
  BmsTrack& t = bms_track_;
  const double state = obs.get(can::Observable::kState);
  if (!std::isnan(state)) {
    const int s = static_cast<int>(state);
    // An external BMS's state for bms_state conditions; the reference BMS's comes from itself.
    if (!bms_node_) driver_.set_bms_state(s);
    if (s != t.last_state) {
      t.last_state = s;
      if (t.states.size() < kMaxBmsStateChanges) {
        t.states.push_back({now_ns, s});  // within the reserved capacity
      } else {
        ++t.states_dropped;
      }
    }
  }
  const bool fault = obs.get(can::Observable::kFault) == 1.0;
  if (fault && !t.fault && t.first_fault_ns < 0) {
    t.first_fault_ns = now_ns;
    t.first_fault_code = obs.get(can::Observable::kFaultCode);
  }
  t.fault = fault;
}

void Session::score_tick() {
  // The true SOH moves only when a cell_fade fault scales a capacity: recomputed on the ticks
  // whose faults changed something, O(cells) then.
  if (data_.tick <= 1 || driver_.transition_count() > 0) {
    double sum = 0.0;
    for (std::size_t c = 0; c < model_.capacity_as.size(); ++c) {
      const double scale =
          c < data_.capacity_fault_scale.size() ? data_.capacity_fault_scale[c] : 1.0;
      sum += model_.capacity_as[c] * scale;
    }
    const double nominal = sc_.cell.capacity_as * static_cast<double>(model_.capacity_as.size());
    true_soh_ = nominal > 0.0 ? sum / nominal : 1.0;
  }
  ScoreSample s;
  s.time_ns = data_.time_ns;
  s.dt_s = seconds(sc_.tick_ns);
  s.true_soc = data_.soc_mean;
  s.true_soh = true_soh_;
  if (protocol_) {
    const can::BmsObservations& obs = protocol_->commands().observed;
    s.bms_soc = obs.get(can::Observable::kSoc);
    s.bms_soh = obs.get(can::Observable::kSoh);
    s.bms_fault = obs.get(can::Observable::kFault) == 1.0;
    if (!true_group_soc_.empty() && obs.cell_soc.size() == true_group_soc_.size()) {
      const auto np = static_cast<std::size_t>(model_.np);
      for (std::size_t g = 0; g < true_group_soc_.size(); ++g) {
        double sum = 0.0;
        for (std::size_t p = 0; p < np; ++p) sum += data_.z[g * np + p];
        true_group_soc_[g] = sum / static_cast<double>(np);
      }
      s.true_cell_soc = true_group_soc_.data();
      s.bms_cell_soc = obs.cell_soc.data();
      s.n_channels = true_group_soc_.size();
    }
  }
  const int state = driver_.view(data_).bms_state;
  s.bms_fault = s.bms_fault || state == static_cast<int>(bms::BmsState::kFault);
  s.contactors_closed = data_.contactors.main_pos && data_.contactors.main_neg;
  const model::CellType& cell = sc_.cell;
  s.beyond_limit = (cell.v_max > 0.0 && data_.v_max > cell.v_max) ||
                   (cell.v_min > 0.0 && data_.v_min < cell.v_min) || data_.t_max_k > score_ot_k_;
  for (const FaultLog& f : driver_.fault_log()) {
    if (f.onset_ns >= 0 && (s.fault_onset_ns < 0 || f.onset_ns < s.fault_onset_ns)) {
      s.fault_onset_ns = f.onset_ns;
    }
  }
  score_.update(s);
}

void Session::score_metrics() {
  const ScoreResult r = score_.result();
  const auto put = [this](const char* name, double v) {
    if (std::isfinite(v)) metrics_[name] = v;
  };
  if (r.soc.samples > 0) {
    put("soc_rms_error", r.soc.rms);
    put("soc_max_error", r.soc.max_abs);
    put("soc_bias", r.soc.mean);
  }
  if (r.soh.samples > 0) {
    put("soh_rms_error", r.soh.rms);
    put("soh_max_error", r.soh.max_abs);
  }
  if (r.cell_soc.samples > 0) {
    put("cell_soc_rms_error", r.cell_soc.rms);
    put("cell_soc_max_error", r.cell_soc.max_abs);
    put("cell_soc_bias", r.cell_soc.mean);
  }
  put("detection_latency", r.detection_latency_s);
  put("open_latency", r.open_latency_s);
  put("false_alarms", static_cast<double>(r.false_alarms));
  put("beyond_limit_time", r.beyond_limit_closed_s);
}

void Session::score_summary(JsonWriter& j) const {
  const ScoreResult r = score_.result();
  const auto errors = [&j](const char* key, const ErrorStats& e) {
    j.key(key).begin_object();
    j.field("samples", e.samples).field("rms", e.rms).field("bias", e.mean);
    j.field("max", e.max_abs);
    if (e.max_abs_time_ns >= 0) {
      j.field("max_time_s", seconds(e.max_abs_time_ns));
    } else {
      j.key("max_time_s").null();
    }
    if (e.max_abs_index >= 0) j.field("max_channel", e.max_abs_index);  // per-cell errors
    j.end_object();
  };
  j.key("scores").begin_object();
  errors("soc_error", r.soc);
  errors("soh_error", r.soh);
  if (!true_group_soc_.empty()) errors("cell_soc_error", r.cell_soc);
  if (r.hazard_onset_ns >= 0) {
    j.field("hazard_onset_s", seconds(r.hazard_onset_ns));
  } else {
    j.key("hazard_onset_s").null();
  }
  j.field("detected", r.detected);
  j.field("detection_latency_s", r.detection_latency_s).field("open_latency_s", r.open_latency_s);
  j.field("false_alarms", r.false_alarms);
  j.field("beyond_limit_time_s", r.beyond_limit_closed_s);
  j.field("temperature_limit_degc", score_ot_k_ - 273.15);
  j.end_object();
}

void Session::fill_bms_sample() {
  sample_.sent = sent_;
  if (protocol_) {
    sample_.bms = protocol_->commands().observed.value;
  } else {
    sample_.bms.fill(std::numeric_limits<double>::quiet_NaN());
  }
}

void Session::transmit() {
  if (!protocol_) return;
  protocol_->set_host(ScenarioDriver::host_request(host_, sc_.bms, data_.time_ns));
  protocol_->transmit(data_.time_ns, afe_, shunt_, *sink_);
}

void Session::record() {
  fill_sample(model_, data_, sc_.record.cells, static_cast<std::int32_t>(driver_.segment()),
              sample_);
  fill_bms_sample();
  if (!threaded_) {
    csv_.write(sample_);
  } else if (!sample_ring_->try_push(sample_)) {
    // Not recorded: finish() must still write this state if it turns out to be the last.
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  last_recorded_ns_ = data_.time_ns;
}

std::vector<std::string> Session::range_warnings() const {
  std::vector<std::string> out;
  // "a cell's SOC went below 0 (lowest -0.186 at t = 1200.000 s; the cell is empty there)"
  auto say = [&](const char* what, const Extreme& e, bool lowest, const char* unit,
                 const std::string& limit) {
    char text[240];
    std::snprintf(text, sizeof text, "%s (%s %.4g%s%s at t = %.3f s; %s)", what,
                  lowest ? "lowest" : "highest", e.value, *unit ? " " : "", unit,
                  seconds(e.time_ns), limit.c_str());
    out.emplace_back(text);
  };
  auto volts = [](const char* name, double v) {
    char text[48];
    std::snprintf(text, sizeof text, "its %s is %.4g V", name, v);
    return std::string(text);
  };
  const model::CellType& cell = sc_.cell;
  if (stats_.soc_min.value < 0.0)
    say("a cell's SOC went below 0", stats_.soc_min, true, "", "the cell is empty there");
  if (stats_.soc_max.value > 1.0)
    say("a cell's SOC went above 1", stats_.soc_max, false, "", "the cell is full there");
  if (cell.v_min > 0.0 && stats_.cell_v_min.value < cell.v_min) {
    say("a cell's voltage went below the model's window", stats_.cell_v_min, true, "V",
        volts("v_min", cell.v_min));
  }
  if (cell.v_max > 0.0 && stats_.cell_v_max.value > cell.v_max) {
    say("a cell's voltage went above the model's window", stats_.cell_v_max, false, "V",
        volts("v_max", cell.v_max));
  }
  return out;
}

namespace {
constexpr double kZeroCelsius = 273.15;
// A table axis value as the files write it: SOC as a fraction, temperatures in degC.
double axis_value(const model::TableClampWarning& w, double v) {
  return w.temperature ? v - kZeroCelsius : v;
}
}  // namespace

std::vector<std::string> Session::table_warnings() const {
  std::vector<std::string> out;
  for (const auto& w : model::table_clamp_warnings(model_, data_)) {
    const char* unit = w.temperature ? " degC" : "";
    char text[320];
    std::snprintf(text, sizeof text,
                  "the cell model's %s table (%s) covers %s %.4g..%.4g%s, the run needed "
                  "%.4g..%.4g%s (%.3g %% of cell-ticks)",
                  w.table, w.fields, w.axis, axis_value(w, w.axis_lo), axis_value(w, w.axis_hi),
                  unit, axis_value(w, w.needed_lo), axis_value(w, w.needed_hi), unit,
                  w.share * 100.0);
    out.emplace_back(text);
  }
  return out;
}

bool Session::done() const {
  return diverged_ || outputs_stopped() || data_.tick >= total_ticks_ ||
         (sc_.stop_when_load_done && driver_.load_done());
}

const char* Session::done_reason() const {
  return data_.tick >= total_ticks_ ? "duration" : "load done";
}

SetupResult Session::finish(RunResult& r, const std::string& version) {
  if (finished_) return {true, ""};
  finished_ = true;
  // The last state is always in the file, whatever stopped the run: empty the rings first (the
  // other threads have stopped), then write it directly, so a full ring cannot lose it.
  drain();
  threaded_ = false;
  if (last_recorded_ns_ != data_.time_ns) record();
  csv_.close();
  events_.close();
  if (log_can_) can_log_.close();
  note_outputs();
  if (!stop_cause_.empty()) {
    char when[80];
    std::snprintf(when, sizeof when, "; the run stopped at t = %.3f s", seconds(data_.time_ns));
    std::string message = stop_cause_ + when;
    if (r.status == RunStatus::kInterrupted) message += " (stopping on " + r.stop_reason + ")";
    // Outputs that are not whole make a failed run, whatever else stopped it; an earlier failure
    // keeps its own reason.
    if (r.status != RunStatus::kFailed) {
      r.status = RunStatus::kFailed;
      r.stop_reason = message;
    }
  }
  if (csv_.failed()) r.output_errors.push_back(csv_.error_message());
  if (events_.failed()) r.output_errors.push_back(events_.error_message());
  if (can_log_.failed()) r.output_errors.push_back(can_log_.error_message());
  score_metrics();
  // A run that did not reach its end decides nothing more: what is pending becomes an error.
  expect_.finish(driver_.view(data_), r.status == RunStatus::kCompleted, r.stop_reason, metrics_);
  r.expectations = expect_.reports();
  std::string junit_err;
  if (!junit_.path().empty() && !junit_unwritable_ &&
      !junit_.commit(render_junit_file(r, false), junit_err)) {
    r.output_errors.push_back(junit_err);
  }
  // No output directory, or no room for a summary before the run: nothing to write into.
  if (summary_.path().empty() || summary_unwritable_) return {true, ""};
  std::string err;
  if (!summary_.commit(render_summary(r, version, false), err)) return {false, err};
  if (!junit_err.empty()) return {false, junit_err};
  return {true, ""};
}

std::string Session::render_junit_file(const RunResult& r, bool running) const {
  JunitSuite s;
  s.name = sc_.name;
  s.classname = std::filesystem::path(sc_.file).stem().string();
  s.time_s = seconds(data_.time_ns);
  s.cases = expect_.reports();
  const model::PackData& d = data_;
  char text[512];
  std::snprintf(text, sizeof text,
                "scenario: %s\nstatus: %s\nsimulated: %.3f s in %llu ticks\n"
                "cell voltage: %.4f V to %.4f V (min at %.3f s, max at %.3f s)\n"
                "temperature max: %.2f degC at %.3f s\ncontactors at the end: %s",
                sc_.file.c_str(),
                running                               ? "running"
                : r.status == RunStatus::kCompleted   ? "completed"
                : r.status == RunStatus::kInterrupted ? "interrupted"
                                                      : "failed",
                seconds(d.time_ns), static_cast<unsigned long long>(d.tick),
                stats_.cell_v_min.value, stats_.cell_v_max.value,
                seconds(stats_.cell_v_min.time_ns), seconds(stats_.cell_v_max.time_ns),
                stats_.temp_max_k.value - 273.15, seconds(stats_.temp_max_k.time_ns),
                contactor_name(d.contactors));
  s.system_out = text;
  if (!running && !r.stop_reason.empty()) s.system_out += "\nstop reason: " + r.stop_reason;
  if (bms_node_) {
    const bms::BmsOutputs& o = bms_node_->outputs();
    s.system_out += std::string("\nreference BMS: ") + bms::to_string(o.state) + ", first fault " +
                    bms::to_string(o.first_fault);
    if (o.first_fault != bms::Fault::kNone) s.system_out += " at " + format_time(o.first_fault_ns);
  }
  const int n = static_cast<int>(s.cases.size());
  s.system_out += "\nexpectations: " + std::to_string(n) + ", passed " +
                  std::to_string(expect_.count(Verdict::kPass)) + ", failed " +
                  std::to_string(expect_.count(Verdict::kFail)) + ", errors " +
                  std::to_string(expect_.count(Verdict::kError) + expect_.count(Verdict::kPending));
  return render_junit(s);
}

std::string Session::render_summary(const RunResult& r, const std::string& version,
                                    bool running) const {
  const Scenario& sc = sc_;
  const model::PackModel& m = model_;
  const model::PackData& d = data_;
  constexpr double kC = 273.15;
  JsonWriter j;
  j.begin_object();
  j.field("packsim_version", version);
  j.key("scenario").begin_object();
  j.field("name", sc.name)
      .field("file", sc.file)
      .field("pack_file", sc.pack_file)
      .field("cell_file", sc.cell_file);
  j.field("seed", static_cast<std::uint64_t>(sc.seed));
  j.field("tick_s", seconds(sc.tick_ns));
  j.field("duration_s", seconds(sc.duration_ns));
  j.end_object();
  j.key("pack").begin_object();
  j.field("name", m.name).field("cell", m.cell_type.name);
  j.field("series", m.ns)
      .field("parallel", m.np)
      .field("cells", m.n_cells)
      .field("modules", m.n_modules);
  j.field("thermal_step_s", m.thermal_dt_s);
  // Nominal: the cell type's capacity times the parallel count (C-rates are relative to it).
  j.field("capacity_ah", sc.cell.capacity_as * m.np / 3600.0);
  j.end_object();

  j.field("status", running                               ? "running"
                    : r.status == RunStatus::kCompleted   ? "completed"
                    : r.status == RunStatus::kInterrupted ? "interrupted"
                                                          : "failed");
  j.field("completed", !running && r.status == RunStatus::kCompleted);
  j.field("stop_reason", running ? "the run has not ended; if packsim is no longer running, it "
                                   "could not write this summary (killed, or the disk was full)"
                                 : r.stop_reason);
  j.field("simulated_s", seconds(d.time_ns));
  j.field("ticks", static_cast<std::uint64_t>(d.tick));
  j.field("rows_recorded", csv_.rows_in_file());

  j.key("final").begin_object();
  j.field("current_a", d.pack_current_a)
      .field("pack_v", d.pack_voltage_v)
      .field("link_v", d.link_voltage_v);
  j.field("soc_mean", d.soc_mean).field("soc_min", d.soc_min).field("soc_max", d.soc_max);
  j.field("cell_v_min", d.v_min).field("cell_v_max", d.v_max).field("cell_v_mean", d.v_mean);
  j.field("temp_min_degc", d.t_min_k - kC)
      .field("temp_max_degc", d.t_max_k - kC)
      .field("temp_mean_degc", d.t_mean_k - kC);
  j.field("contactors", contactor_name(d.contactors));
  j.end_object();

  j.key("extremes").begin_object();
  extreme(j, "cell_v_min", stats_.cell_v_min);
  extreme(j, "cell_v_max", stats_.cell_v_max);
  extreme(j, "pack_v_min", stats_.pack_v_min);
  extreme(j, "pack_v_max", stats_.pack_v_max);
  extreme(j, "current_max_a", stats_.current_max_a);
  extreme(j, "current_min_a", stats_.current_min_a);
  extreme(j, "temp_max_degc", stats_.temp_max_k, kC);
  extreme(j, "temp_min_degc", stats_.temp_min_k, kC);
  extreme(j, "soc_min", stats_.soc_min);
  extreme(j, "soc_max", stats_.soc_max);
  j.field("heat_max_w", stats_.heat_max_w);
  j.end_object();

  const model::EnergyBooks& e = d.energy;
  constexpr double kWh = 1.0 / 3600.0;
  j.key("energy").begin_object();
  j.field("discharged_wh", e.discharged_j * kWh).field("charged_wh", e.charged_j * kWh);
  j.field("net_out_wh", e.battery_out_j * kWh);
  j.field("discharged_ah", e.discharged_as * kWh).field("charged_ah", e.charged_as * kWh);
  j.field("load_wh", e.load_j * kWh);
  j.field("heat_generated_kj", e.cell_heat_j * 1e-3);
  j.key("heat_kj").begin_object();
  j.field("ohmic", e.ohmic_j * 1e-3)
      .field("rc", e.rc_j * 1e-3)
      .field("reversible", e.reversible_j * 1e-3);
  j.field("hysteresis", e.hysteresis_j * 1e-3).field("charge_inefficiency", e.side_j * 1e-3);
  j.field("internal_short", e.leak_j * 1e-3).field("balancing", e.bleed_j * 1e-3);
  j.field("interconnect", e.interconnect_j * 1e-3).field("contactors_precharge", e.path_j * 1e-3);
  j.field("runaway_body", e.runaway_body_j * 1e-3).field("overcharge", e.overcharge_j * 1e-3);
  j.end_object();
  // Heat from outside the pack's electrochemistry: heaters put in, runaway ejecta carried out.
  j.field("heater_kj", e.heater_j * 1e-3);
  j.field("runaway_ejecta_kj", e.runaway_ejecta_j * 1e-3);
  j.field("runaway_impinged_kj", e.runaway_impinged_j * 1e-3);  // of the ejecta, on neighbours
  j.field("vent_cooling_kj", e.vent_cooling_j * 1e-3);
  j.end_object();

  j.key("faults").begin_array();
  for (std::size_t k = 0; k < sc.faults.size(); ++k) {
    const Fault& f = sc.faults[k];
    const FaultLog& log = driver_.fault_log()[k];
    j.begin_object();
    j.field("kind", fault_kind_name(f.kind)).field("target", f.target_text);
    j.field("label", f.label);
    if (log.onset_ns >= 0) {
      j.field("onset_s", seconds(log.onset_ns));
    } else {
      j.key("onset_s").null();
    }
    if (log.end_ns >= 0) {
      j.field("end_s", seconds(log.end_ns));
    } else {
      j.key("end_s").null();
    }
    j.end_object();
  }
  j.end_array();
  j.key("cells").begin_object();
  j.field("vented", d.vented_cells).field("runaway", d.runaway_cells);
  j.key("events").begin_array();
  for (int c = 0; c < m.n_cells; ++c) {
    const auto i = static_cast<std::size_t>(c);
    const std::int64_t vent = d.vent_time_ns.empty() ? -1 : d.vent_time_ns[i];
    const std::int64_t runaway = d.runaway_time_ns.empty() ? -1 : d.runaway_time_ns[i];
    if (vent < 0 && runaway < 0) continue;
    j.begin_object().field("cell", c);
    if (vent >= 0) {
      j.field("vent_s", seconds(vent));
    } else {
      j.key("vent_s").null();
    }
    if (runaway >= 0) {
      j.field("runaway_s", seconds(runaway));
    } else {
      j.key("runaway_s").null();
    }
    j.end_object();
  }
  j.end_array();
  j.field("model_events", model_events_).field("model_events_dropped", d.events.dropped());
  j.end_object();

  j.key("counters").begin_object();
  j.field("table_clamps", d.clamp_total).field("sign_iterations", d.sign_iterations);
  j.field("power_limited_ticks", d.power_limited_ticks);
  j.end_object();
  j.key("model_range_warnings").begin_array();
  for (const auto& w : range_warnings()) j.value(w);
  j.end_array();
  j.key("table_clamp_warnings").begin_array();
  for (const auto& w : model::table_clamp_warnings(m, d)) {
    j.begin_object();
    j.field("table", w.table).field("holds", w.fields).field("axis", w.axis);
    j.field("unit", w.temperature ? "degC" : "ratio");
    j.key("range").begin_array().value(axis_value(w, w.axis_lo)).value(axis_value(w, w.axis_hi));
    j.end_array();
    j.key("needed").begin_array();
    j.value(axis_value(w, w.needed_lo)).value(axis_value(w, w.needed_hi)).end_array();
    j.field("share", w.share);
    j.end_object();
  }
  j.end_array();

  j.key("segments").begin_array();
  for (std::size_t k = 0; k < sc.load.size(); ++k) {
    const SegmentLog& log = driver_.segment_log()[k];
    j.begin_object();
    j.field("label", sc.load[k].label);
    if (k <= driver_.segment()) j.field("start_s", seconds(log.start_ns));
    if (log.end_ns >= 0) {
      j.field("end_s", seconds(log.end_ns));
      j.field("ended_by",
              log.ended_by == -2 ? std::string("duration")
              : log.ended_by == -3
                  ? std::string("profile finished")
                  : "until: " + sc.load[k].until[static_cast<std::size_t>(log.ended_by)].text);
    } else {
      j.field("ended_by", k == driver_.segment() ? "run ended" : "not reached");
    }
    j.end_object();
  }
  j.end_array();

  j.key("can").begin_object();
  j.field("bms_mode", sc.bms.mode == BmsMode::kNone        ? "none"
                      : sc.bms.mode == BmsMode::kReference ? "reference"
                                                           : "external");
  if (protocol_) {
    j.field("profile", protocol_->profile().name).field("profile_file", sc.bms.profile_file);
    j.field("transport", socketcan_ ? "socketcan" : "loopback");
    j.field("frames_per_second", protocol_->frames_per_second());
    j.field("frames_not_sent", frames_not_sent_);
    j.key("simulator").begin_object();
    protocol_stats(j, protocol_->stats());
    j.end_object();
    j.key("buses").begin_array();
    for (std::size_t i = 0; i < interfaces_.size(); ++i) {
      const hil::BusStats& s = interfaces_[i]->stats();
      std::string logical;
      for (std::size_t b = 0; b < bus_interface_.size(); ++b) {
        if (bus_interface_[b] != i) continue;
        logical += (logical.empty() ? "" : ",") + protocol_->profile().buses[b];
      }
      j.begin_object();
      j.field("logical", logical).field("interface", interfaces_[i]->name());
      j.field("state", hil::bus_state_name(interfaces_[i]->state()))
          .field("fd", interfaces_[i]->fd_capable());
      j.field("rx_frames", s.rx_frames).field("tx_frames", s.tx_frames);
      j.field("tx_queue_full", s.tx_queue_full).field("tx_failed", s.tx_failed);
      j.field("rx_dropped", s.rx_dropped).field("rx_invalid", s.rx_invalid);
      j.field("error_frames", s.error_frames)
          .field("bus_off", s.bus_off)
          .field("restarts", s.restarts);
      j.field("down_events", s.down_events).field("reopens", s.reopens);
      j.end_object();
    }
    j.end_array();
    if (!r.links.empty()) {
      j.key("links").begin_array();
      for (const LinkReport& l : r.links) {
        j.begin_object().field("interface", l.interface).field("readings", l.readings);
        j.field("state", l.state).field("worst_state", l.worst_state);
        j.field("has_counters", l.has_counters);
        if (l.has_counters) {
          j.field("tx_errors_max", static_cast<std::int64_t>(l.tx_errors_max));
          j.field("rx_errors_max", static_cast<std::int64_t>(l.rx_errors_max));
        }
        if (l.bitrate) j.field("bitrate", static_cast<std::int64_t>(l.bitrate));
        j.end_object();
      }
      j.end_array();
    }
  }
  j.end_object();

  if (protocol_) {
    j.key("bms").begin_object();
    bms_summary(j);
  }
  if (bms_node_) {
    // The reference BMS's own view, beside what its frames said.
    const bms::BmsOutputs& o = bms_node_->outputs();
    j.field("faults", fault_list(o.faults));
    j.field("first_fault", bms::to_string(o.first_fault));
    if (o.first_fault != bms::Fault::kNone) {
      j.field("first_fault_onset_s", seconds(o.first_fault_onset_ns));
      j.field("first_fault_s", seconds(o.first_fault_ns));
      j.field("first_fault_cell", o.first_fault_cell)
          .field("first_fault_sensor", o.first_fault_sensor);
      j.field("first_fault_module", o.first_fault_module);
    }
    j.field("soc_estimate", o.soc).field("soc_valid", o.soc_valid);
    j.field("cycles", bms_node_->cycles());
    j.key("decoder").begin_object();
    protocol_stats(j, bms_node_->protocol().stats());
    j.end_object();
  }
  if (protocol_) j.end_object();

  score_summary(j);
  j.key("expectations").begin_array();
  for (const ExpectationReport& x : expect_.reports()) {
    j.begin_object();
    j.field("name", x.name).field("form", expect_form_name(x.form));
    j.field("verdict", verdict_name(x.verdict));
    if (x.time_ns >= 0) {
      j.field("time_s", seconds(x.time_ns));
    } else {
      j.key("time_s").null();
    }
    j.field("message", x.message);
    j.end_object();
  }
  j.end_array();

  if (r.realtime) {
    const RealtimeReport& rt = *r.realtime;
    auto dist = [&](std::string_view name, const Distribution& x) {
      j.key(name).begin_object();
      j.field("min", x.min).field("mean", x.mean).field("p50", x.p50).field("p99", x.p99);
      j.field("p999", x.p999).field("max", x.max);
      j.end_object();
    };
    j.key("realtime").begin_object();
    j.field("period_us", rt.period_us).field("speed", rt.speed).field("ticks", rt.ticks);
    dist("wake_latency_us", rt.wake_latency_us);
    dist("compute_us", rt.compute_us);
    j.field("overruns", rt.overruns).field("skipped_periods", rt.skipped_periods);
    j.field("frames_late", rt.frames_late).field("records_dropped", rt.records_dropped);
    j.key("setup").begin_array();
    for (const auto& line : rt.setup) j.value(line);
    j.end_array();
    j.end_object();
  }

  const double sim_s = seconds(d.time_ns);
  const double cell_steps = static_cast<double>(d.tick) * m.n_cells;
  j.key("performance").begin_object();
  j.field("wall_s", r.wall_s);
  j.field("sim_to_wall_ratio", r.wall_s > 0 ? sim_s / r.wall_s : 0.0);
  j.field("cell_steps_per_s", r.wall_s > 0 ? cell_steps / r.wall_s : 0.0);
  j.field("ns_per_cell_step", cell_steps > 0 ? r.wall_s * 1e9 / cell_steps : 0.0);
  j.end_object();
  outputs_summary(j, running);
  j.end_object();
  return j.str();
}

void Session::bms_summary(JsonWriter& j) const {
  const can::Profile& p = protocol_->profile();
  const can::BmsObservations& obs = protocol_->commands().observed;
  const BmsTrack& t = bms_track_;
  constexpr double kC = 273.15;
  auto state_name = [](int s) {
    return s >= 0 && static_cast<std::size_t>(s) < kBmsStateNames.size()
               ? kBmsStateNames[static_cast<std::size_t>(s)]
               : "";
  };
  j.field("mode", sc_.bms.mode == BmsMode::kReference ? "reference" : "external");
  j.field("profile", p.name);
  // The reference BMS's state from itself; an external BMS's as it last reported it.
  if (bms_node_) {
    j.field("state", bms::to_string(bms_node_->outputs().state));
  } else if (t.last_state >= 0) {
    j.field("state", state_name(t.last_state));
  } else {
    j.key("state").null();
  }
  j.key("observed").begin_array();
  for (std::size_t o = 0; o < can::kObservableCount; ++o) {
    if (p.observes(static_cast<can::Observable>(o)))
      j.value(can::observable_name(static_cast<can::Observable>(o)));
  }
  j.end_array();
  j.key("states").begin_array();
  for (const BmsStateChange& c : t.states) {
    j.begin_object().field("time_s", seconds(c.time_ns)).field("state", state_name(c.state));
    j.end_object();
  }
  j.end_array();
  j.field("states_dropped", t.states_dropped);
  j.key("reported_fault");
  if (t.first_fault_ns >= 0) {
    j.begin_object().field("time_s", seconds(t.first_fault_ns));
    if (p.observes(can::Observable::kFaultCode) && !std::isnan(t.first_fault_code)) {
      j.field("code", static_cast<std::int64_t>(t.first_fault_code));
    } else {
      j.key("code").null();
    }
    j.end_object();
  } else {
    j.null();
  }
  // Each bound observable's last value (SI, temperatures in degC as in signals.csv), when it
  // came and whether its message has timed out since.
  j.key("last").begin_object();
  for (std::size_t o = 0; o < can::kObservableCount; ++o) {
    const auto obs_kind = static_cast<can::Observable>(o);
    if (!p.observes(obs_kind)) continue;
    j.key(can::observable_name(obs_kind)).begin_object();
    const double v = obs.value[o];
    const bool temp =
        obs_kind == can::Observable::kTempMin || obs_kind == can::Observable::kTempMax;
    if (obs_kind == can::Observable::kState) {
      if (std::isnan(v)) {
        j.key("value").null();
      } else {
        j.field("value", state_name(static_cast<int>(v)));
        j.field("raw", obs.state_raw);
      }
    } else {
      j.field("value", temp ? v - kC : v);
    }
    if (obs.rx_ns[o] >= 0) {
      j.field("time_s", seconds(obs.rx_ns[o]));
    } else {
      j.key("time_s").null();
    }
    j.field("stale", obs.stale[o] != 0);
    j.end_object();
  }
  j.end_object();
}

void Session::outputs_summary(JsonWriter& j, bool running) const {
  j.key("outputs").begin_object();
  j.field("directory", out_dir_.string());
  if (!running)
    j.field("summary_reserved_bytes", static_cast<std::uint64_t>(summary_.reserved_bytes()));
  if (space_.tripped()) {
    // The first write that found the disk full; the space held back let the others finish.
    j.key("disk_full").begin_object();
    j.field("file", space_.path()).field("error", errno_text(space_.code()));
    j.field("message", space_.message());
    j.end_object();
  }
  auto status = [&](bool failed) { return running ? "writing" : failed ? "failed" : "complete"; };
  j.key("signals_csv").begin_object();
  j.field("status", status(csv_.failed()));
  j.field("rows", csv_.rows_in_file()).field("bytes", csv_.bytes());
  if (csv_.failed()) j.field("error", csv_.error_message());
  j.end_object();

  j.key("events_csv").begin_object();
  j.field("status", status(events_.failed()));
  j.field("rows", events_.lines() > 0 ? events_.lines() - 1 : 0).field("bytes", events_.bytes());
  if (events_.failed()) j.field("error", events_.error_message());
  j.end_object();

  j.key("can_log").begin_object();
  j.field("mode", can_log_mode_name(sc_.record.can_log));
  if (!protocol_) {
    j.field("status", "none");  // no CAN in this run
  } else if (sc_.record.can_log == CanLogMode::kOff) {
    j.field("status", "off");
    j.field("frames_not_logged", frames_not_logged_);
  } else if (!log_can_ && !running) {
    j.field("status", "not opened");  // the run failed before it got there
  } else {
    j.field("status", status(can_log_.failed()));
    const RecordSpec& rec = sc_.record;
    if (rec.can_log_max_bytes > 0) {
      j.field("max_bytes", rec.can_log_max_bytes)
          .field("keep", static_cast<std::int64_t>(rec.can_log_keep));
    } else {
      j.key("max_bytes").null();
    }
    const auto files = can_log_.files();
    std::uint64_t frames = 0, bytes = 0;
    for (const auto& f : files) {
      frames += f.frames;
      bytes += f.bytes;
    }
    j.field("frames", frames).field("bytes", bytes);
    // Frames the mode leaves out (rx: those sent, tx: those received).
    j.field("frames_not_logged", frames_not_logged_);
    j.field("rotations", can_log_.rotations());
    j.field("deleted_files", can_log_.deleted_files())
        .field("deleted_frames", can_log_.deleted_frames())
        .field("deleted_bytes", can_log_.deleted_bytes());
    j.key("files").begin_array();
    for (const auto& f : files) {
      j.begin_object().field("file", f.path.filename().string());
      j.field("bytes", f.bytes).field("frames", f.frames).end_object();
    }
    j.end_array();
    if (can_log_.failed()) j.field("error", can_log_.error_message());
  }
  j.end_object();
  j.end_object();
}

}  // namespace packsim::sim
