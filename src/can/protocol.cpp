#include "packsim/can/protocol.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace packsim::can {
namespace {

constexpr double kZeroCelsius = 273.15;

std::uint64_t id_key(std::uint32_t id, bool extended) {
  return (static_cast<std::uint64_t>(extended) << 32) | id;
}

// A per-channel fault flag; AfeData filled by hand (tests, fuzzers) may leave the issue-10 fault
// vectors empty, which means no fault.
bool flag_at(const std::vector<std::uint8_t>& v, std::size_t i) { return i < v.size() && v[i]; }

// Balancing masks and contactor bits go out as raw integers.
std::uint64_t to_raw_bits(double v) { return v <= 0.0 ? 0u : static_cast<std::uint64_t>(v); }

// What both sides do first with a received frame: error frames and ids the profile does not know
// are counted and go no further (count 0); otherwise the index entries of the frame's id.
std::pair<const std::uint32_t*, std::size_t> match_frame(const IdIndex& index,
                                                         const CanFrame& frame,
                                                         ProtocolStats& stats) {
  if (frame.error) {
    ++stats.rx_error_frames;
    return {nullptr, 0};
  }
  const auto found = index.find(frame.id, frame.extended);
  if (found.second == 0) ++stats.rx_unknown;
  return found;
}

// The checks both sides make on a frame of a known message: length and format, then E2E (a bad CRC,
// a repeated counter or a counter jump beyond max_delta rejects it; a jump within max_delta is
// accepted and its missed frames counted). False = rejected.
bool screen_frame(const CanFrame& frame, const MessageCodec& codec, E2EChecker* checker,
                  ProtocolStats& stats) {
  if (frame.rtr || frame.len != codec.size() || frame.fd != codec.fd()) {
    ++stats.rx_malformed;
    return false;
  }
  if (checker == nullptr) return true;
  const std::uint32_t missed_before = checker->counts().missed_frames;
  const E2EStatus st = checker->check(frame.data.data());
  stats.e2e_missed_frames += checker->counts().missed_frames - missed_before;
  if (st == E2EStatus::kBadCrc) {
    ++stats.e2e_bad_crc;
    return false;
  }
  if (st == E2EStatus::kRepeated) {
    ++stats.e2e_repeated;
    return false;
  }
  if (st == E2EStatus::kLost) {
    ++stats.e2e_lost;
    return false;
  }
  return true;
}

// The first channel a received binding addresses for this mux value and instance, in checked
// 64-bit arithmetic: the multiplexor is the sender's (up to 64 bits), so mux * stride can reach
// anything. False when no channel of `n_channels` can be addressed (a balance mask's bits reach
// at most 64 channels beyond it); `first` then stays unset.
bool rx_first_channel(const RxBinding& b, std::uint64_t mux, int instance, int n_channels,
                      std::int64_t& first) {
  // The loader bounds index and strides to 1e9 and instances to the pack's modules: no overflow.
  std::int64_t index = std::int64_t{b.index} + std::int64_t{instance} * b.index_per_instance;
  if (b.index_per_mux != 0) {
    std::int64_t step = 0;
    if (mux > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) ||
        __builtin_mul_overflow(static_cast<std::int64_t>(mux), std::int64_t{b.index_per_mux},
                               &step) ||
        __builtin_add_overflow(index, step, &index)) {
      return false;
    }
  }
  if (index < -64 || index >= n_channels) return false;
  first = index;
  return true;
}

constexpr const char* kObservableNames[] = {
    "bms_state",
    "bms_fault",
    "bms_fault_code",
    "bms_main_pos",
    "bms_main_neg",
    "bms_precharge",
    "bms_soc",
    "bms_soh",
    "bms_charge_current_limit",
    "bms_discharge_current_limit",
    "bms_charge_power_limit",
    "bms_discharge_power_limit",
    "bms_balancing",
    "bms_v_min",
    "bms_v_max",
    "bms_t_min",
    "bms_t_max",
};
static_assert(sizeof kObservableNames / sizeof kObservableNames[0] == kObservableCount,
              "one name per Observable");

// A signal's all-ones raw value: "not available" in the BMS reports, a cleared result register
// in the AFE's rows.
std::uint64_t all_ones(const MessageCodec& codec, std::size_t signal) {
  const int len = codec.layout(signal).length;
  return len >= 64 ? ~0ull : (1ull << len) - 1u;
}

// The decoded physical value of an observe binding as the observable's SI value.
double observed_value(const RxBinding& b, double decoded, std::int64_t& raw_state) {
  if (b.observe == Observable::kState) {
    raw_state = static_cast<std::int64_t>(std::llround(decoded));
    if (b.observe_states.empty()) {
      return raw_state >= 0 && raw_state <= 6 ? static_cast<double>(raw_state)
                                              : b.observe_state_default;
    }
    double state = b.observe_state_default;
    for (const auto& [value, index] : b.observe_states) {
      if (value == raw_state) state = index;
    }
    return state;
  }
  if (observable_is_flag(b.observe)) return decoded != 0.0 ? 1.0 : 0.0;
  if (b.observe == Observable::kFaultCode) return std::round(decoded);
  return decoded * b.observe_scale + b.observe_offset;
}

// What the reference BMS's side writes for an observe binding: the inverse of observed_value.
double observed_encoding(const RxBinding& b, const BmsCommands& cmd) {
  const double v = cmd.observed[static_cast<std::size_t>(b.observe)];
  switch (b.observe) {
    case Observable::kState: {
      const double index = std::isnan(v) ? cmd.state : v;
      if (b.observe_states.empty()) return index;
      for (const auto& [value, s] : b.observe_states) {
        if (s == index) return static_cast<double>(value);
      }
      return 0.0;
    }
    case Observable::kMainPos:
      return std::isnan(v) ? (cmd.contactors.main_pos ? 1.0 : 0.0) : v;
    case Observable::kMainNeg:
      return std::isnan(v) ? (cmd.contactors.main_neg ? 1.0 : 0.0) : v;
    case Observable::kPrecharge:
      return std::isnan(v) ? (cmd.contactors.precharge ? 1.0 : 0.0) : v;
    default:
      break;
  }
  if (std::isnan(v)) return 0.0;
  if (observable_is_flag(b.observe) || b.observe == Observable::kFaultCode) return v;
  return b.observe_scale != 0.0 ? (v - b.observe_offset) / b.observe_scale : 0.0;
}

}  // namespace

const char* observable_name(Observable o) {
  const auto i = static_cast<std::size_t>(o);
  return i < kObservableCount ? kObservableNames[i] : "";
}

Observable observable_from_name(std::string_view name) {
  for (std::size_t i = 0; i < kObservableCount; ++i) {
    if (name == kObservableNames[i]) return static_cast<Observable>(i);
  }
  return Observable::kCount;
}

bool observable_is_flag(Observable o) {
  return o == Observable::kFault || o == Observable::kMainPos || o == Observable::kMainNeg ||
         o == Observable::kPrecharge || o == Observable::kBalancing;
}

void IdIndex::add(std::uint32_t id, bool extended, std::uint32_t value) {
  entries_.push_back({id_key(id, extended), value});
}

void IdIndex::finish() {
  std::stable_sort(entries_.begin(), entries_.end(),
                   [](const Entry& a, const Entry& b) { return a.key < b.key; });
  values_.clear();
  for (const auto& e : entries_) values_.push_back(e.value);
}

std::pair<const std::uint32_t*, std::size_t> IdIndex::find(std::uint32_t id, bool extended) const {
  const std::uint64_t key = id_key(id, extended);
  const auto lo = std::lower_bound(entries_.begin(), entries_.end(), key,
                                   [](const Entry& e, std::uint64_t k) { return e.key < k; });
  auto hi = lo;
  while (hi != entries_.end() && hi->key == key) ++hi;
  const auto first = static_cast<std::size_t>(lo - entries_.begin());
  return {values_.data() + first, static_cast<std::size_t>(hi - lo)};
}

// ------------------------------------------------------------------------------------------------
// Simulator side

SimProtocol::SimProtocol(std::shared_ptr<const Profile> profile, int n_channels, int n_sensors,
                         int n_modules)
    : profile_(std::move(profile)),
      n_channels_(n_channels),
      n_sensors_(n_sensors),
      n_modules_(n_modules) {
  const Profile& p = *profile_;
  int keys = 0;
  for (const auto& f : p.frames) keys = std::max(keys, f.counter_key + 1);
  counters_.assign(static_cast<std::size_t>(keys), 0);
  protectors_.resize(static_cast<std::size_t>(keys));
  fault_.assign(p.frames.size(), TxFault::kNone);
  fault_until_ns_.assign(p.frames.size(), 0);
  delay_ns_.assign(p.frames.size(), 0);
  delay_until_ns_.assign(p.frames.size(), 0);
  silence_until_ns_.assign(p.frames.size(), 0);
  bus_silence_until_ns_.assign(std::max<std::size_t>(p.buses.size(), 1), 0);
  delay_line_.reserve(kDelayCapacity);
  babblers_.resize(kMaxBabblers);
  for (const auto& f : p.frames) {
    const TxMessage& m = p.tx[f.message];
    auto& slot = protectors_[static_cast<std::size_t>(f.counter_key)];
    if (m.e2e && !slot) {
      slot = std::make_unique<E2EProtector>(*m.codec, m.counter_signal, m.crc_signal,
                                            instance_e2e(m.e2e_config, f.id - m.codec->id()));
    }
  }
  std::size_t instance_slots = 0;
  for (std::size_t k = 0; k < p.rx.size(); ++k) {
    const RxMessage& m = p.rx[k];
    rx_instance_base_.push_back(instance_slots);
    for (int i = 0; i < m.instances; ++i) {
      rx_index_.add(m.id + static_cast<std::uint32_t>(i) * m.id_step, m.codec->extended(),
                    static_cast<std::uint32_t>(instance_slots));
      const auto offset = static_cast<std::uint32_t>(i) * m.id_step;
      checkers_.push_back(m.e2e ? std::make_unique<E2EChecker>(*m.codec, m.counter_signal,
                                                               m.crc_signal,
                                                               instance_e2e(m.e2e_config, offset))
                                : nullptr);
      ++instance_slots;
    }
  }
  rx_index_.finish();
  rx_last_ns_.assign(instance_slots, -1);
  rx_timed_out_.assign(instance_slots, 0);
  commands_.balance.assign(static_cast<std::size_t>(n_channels_), 0);
  if (p.observes_cell_soc) {
    commands_.observed.cell_soc.assign(static_cast<std::size_t>(n_channels_),
                                       std::numeric_limits<double>::quiet_NaN());
  }
}

std::int64_t Profile::slowest_afe_period_ns() const {
  std::int64_t slowest = 0;
  for (const auto& f : frames) {
    for (const auto& slot : f.slots) {
      if (slot.source == Source::kCellVoltage || slot.source == Source::kTemperature)
        slowest = std::max(slowest, tx[f.message].period_ns);
    }
  }
  return slowest;
}

double SimProtocol::frames_per_second() const {
  double fps = 0.0;
  for (const auto& f : profile_->frames)
    fps += 1e9 / static_cast<double>(profile_->tx[f.message].period_ns);
  return fps;
}

double SimProtocol::source_value(const TxSlot& s, const TxFrame& f, const model::AfeData& afe,
                                 const model::ShuntData& sh, std::uint64_t mux) const {
  const int i = s.index;
  const bool cell_ok = i >= 0 && i < n_channels_;
  const bool sensor_ok = i >= 0 && i < n_sensors_;
  const auto ci = static_cast<std::size_t>(cell_ok ? i : 0);
  const auto si = static_cast<std::size_t>(sensor_ok ? i : 0);
  switch (s.source) {
    case Source::kConstant:
      return s.constant;
    case Source::kCellVoltage:
      return cell_ok ? afe.v_meas[ci] : 0.0;
    case Source::kCellVoltageValid:
      return cell_ok && !afe.open_wire[ci] && !flag_at(afe.v_dropout, ci) ? 1.0 : 0.0;
    case Source::kCellStatus:
      if (!cell_ok) return 0.0;
      if (afe.open_wire[ci]) return 3.0;
      if (afe.ov_flag[ci]) return 1.0;
      return afe.uv_flag[ci] ? 2.0 : 0.0;
    case Source::kOpenWire:
      return cell_ok && afe.open_wire[ci] ? 1.0 : 0.0;
    case Source::kOvFlag:
      return cell_ok && afe.ov_flag[ci] ? 1.0 : 0.0;
    case Source::kUvFlag:
      return cell_ok && afe.uv_flag[ci] ? 1.0 : 0.0;
    case Source::kTemperature:
      return sensor_ok ? afe.t_meas_k[si] - kZeroCelsius : 0.0;
    case Source::kTemperatureValid:
      return sensor_ok && !flag_at(afe.ntc_open, si) && !flag_at(afe.ntc_short, si) ? 1.0 : 0.0;
    case Source::kDieTemperature:
      return i >= 0 && i < n_modules_ ? afe.die_temp_k[static_cast<std::size_t>(i)] - kZeroCelsius
                                      : 0.0;
    case Source::kCurrent:
      return sh.current_a;
    case Source::kPackVoltage:
      return sh.pack_v;
    case Source::kLinkVoltage:
      return sh.link_v;
    case Source::kShuntTemperature:
      return sh.temp_k - kZeroCelsius;
    case Source::kPower:
      return sh.power_w;
    case Source::kCharge:
      return sh.charge_as;
    case Source::kEnergy:
      return sh.energy_wh;
    case Source::kModule:
      return static_cast<double>(f.instance);
    case Source::kMux:
      return static_cast<double>(mux);
    case Source::kCounter:
      return static_cast<double>(counters_[static_cast<std::size_t>(f.counter_key)]);
    case Source::kSensorError:
      return static_cast<double>(sh.error_bits);
    case Source::kVentGas:
      return afe.gas_ppm;
    case Source::kInsulation:
      return afe.insulation_meas_ohm;
    case Source::kInsulationFailure:
      return afe.imd_failure;
    case Source::kInsulationWarning:
      return afe.imd_warning;
    case Source::kHostMode:
      return s.host_map[static_cast<std::size_t>(host_.mode)];
    case Source::kHostFaultReset:
      return host_.fault_reset ? 1.0 : 0.0;
  }
  return 0.0;
}

std::size_t SimProtocol::transmit(std::int64_t time_ns, const model::AfeData& afe,
                                  const model::ShuntData& shunt, FrameSink& sink) {
  const Profile& p = *profile_;
  std::size_t sent = 0;
  // Frames held back by a delay go first: they were due before this tick's.
  if (!delay_line_.empty()) {
    std::size_t keep = 0;
    for (std::size_t k = 0; k < delay_line_.size(); ++k) {
      Delayed& d = delay_line_[k];
      if (d.release_ns <= time_ns && !bus_silenced(d.bus, time_ns)) {
        send_or_count(d.bus, d.frame, sink, sent);
      } else {
        if (keep != k) delay_line_[keep] = d;
        ++keep;
      }
    }
    delay_line_.resize(keep);  // shrinking never allocates
  }
  CanFrame frame;
  for (std::size_t fi = 0; fi < p.frames.size(); ++fi) {
    const TxFrame& f = p.frames[fi];
    const TxMessage& m = p.tx[f.message];
    if (time_ns < f.phase_ns || (time_ns - f.phase_ns) % m.period_ns != 0) continue;
    if (time_ns < silence_until_ns_[fi] || bus_silenced(m.bus_index, time_ns)) {
      ++stats_.tx_silenced;  // never generated: a dead sender's counter does not move
      continue;
    }
    const TxFault fault = time_ns < fault_until_ns_[fi] ? fault_[fi] : TxFault::kNone;
    const MessageCodec& codec = *m.codec;
    codec.prepare_frame(frame);
    frame.id = f.id;
    std::uint64_t mux = 0;
    for (const TxSlot& s : f.slots) {
      if (s.source == Source::kMux) mux = static_cast<std::uint64_t>(s.constant);
    }
    for (const TxSlot& s : f.slots) {
      const double v =
          std::clamp(source_value(s, f, afe, shunt, mux) * s.scale + s.offset, s.min, s.max);
      if (s.raw) {
        codec.set_raw(s.signal, to_raw_bits(v), frame.data.data());
      } else if (s.source == Source::kCellVoltage && s.index >= 0 && s.index < n_channels_ &&
                 flag_at(afe.v_dropout, static_cast<std::size_t>(s.index))) {
        // A channel that dropped out carries what a cleared LTC681x result register reads:
        // all ones (0xFFFF), so a BMS without a validity bit can still tell.
        codec.set_raw(s.signal, all_ones(codec, s.signal), frame.data.data());
      } else {
        codec.encode(s.signal, v, frame);
      }
    }
    auto& protector = protectors_[static_cast<std::size_t>(f.counter_key)];
    auto& counter = counters_[static_cast<std::size_t>(f.counter_key)];
    if (fault == TxFault::kRepeatCounter && protector) {
      // The counter stops: an E2E frame carries the value the previous one had (a plain counter
      // signal already holds the value that is not advanced below).
      protector->set_next_counter(static_cast<std::uint8_t>((counter + 15) & 0x0F));
    }
    if (protector) protector->protect(frame.data.data());
    if (fault != TxFault::kRepeatCounter) counter = static_cast<std::uint8_t>((counter + 1) & 0x0F);
    if (fault != TxFault::kNone) {
      ++stats_.tx_faulted;
      if (fault == TxFault::kDrop) continue;  // lost on the wire: the counter has moved on
      if (fault == TxFault::kCorruptCrc && m.e2e) {
        const std::uint64_t crc = codec.get_raw(m.crc_signal, frame.data.data());
        codec.set_raw(m.crc_signal, crc ^ 0xFFu, frame.data.data());
      }
      if (fault == TxFault::kShortFrame && frame.len > 0) {
        // One byte short; on CAN FD the next shorter length the format has.
        std::uint8_t len = static_cast<std::uint8_t>(frame.len - 1u);
        while (frame.fd && !is_valid_len(len, true)) --len;
        frame.len = len;
      }
    }
    if (delay_ns_[fi] > 0 && time_ns < delay_until_ns_[fi]) {
      ++stats_.tx_delayed;
      if (delay_line_.size() >= kDelayCapacity) {
        ++stats_.tx_delay_overflow;
        continue;
      }
      // Sorted by release time; equal times keep their order (FIFO), as a queue would.
      const std::int64_t release = time_ns + delay_ns_[fi];
      const auto at =
          std::upper_bound(delay_line_.begin(), delay_line_.end(), release,
                           [](std::int64_t r, const Delayed& d) { return r < d.release_ns; });
      delay_line_.insert(at, Delayed{release, m.bus_index, frame});  // within capacity
      continue;
    }
    send_or_count(m.bus_index, frame, sink, sent);
  }
  for (Babbler& b : babblers_) {
    if (!b.active) continue;
    if (b.start_ns < 0) b.start_ns = time_ns;
    if (time_ns >= b.until_ns) {
      b.active = false;
      continue;
    }
    // Frames due since the start at the rate, the first one at the start.
    const double elapsed_s = static_cast<double>(time_ns - b.start_ns) * 1e-9;
    const auto due = static_cast<std::uint64_t>(std::floor(elapsed_s * b.rate_hz + 1e-9)) + 1;
    if (bus_silenced(b.bus, time_ns)) {
      b.sent = due;
      continue;
    }
    for (std::size_t k = 0; b.sent < due && k < kMaxBabblePerCall; ++k, ++b.sent) {
      ++stats_.tx_babble;
      send_or_count(b.bus, b.frame, sink, sent);
    }
    b.sent = due;  // a flood beyond what one call may send is lost, not queued
  }
  return sent;
}

bool SimProtocol::bus_silenced(std::size_t bus, std::int64_t time_ns) const {
  return bus < bus_silence_until_ns_.size() && time_ns < bus_silence_until_ns_[bus];
}

bool SimProtocol::send_or_count(std::size_t bus, const CanFrame& frame, FrameSink& sink,
                                std::size_t& sent) {
  if (sink.send(bus, frame)) {
    ++stats_.tx_frames;
    ++sent;
    return true;
  }
  ++stats_.tx_dropped;
  return false;
}

void SimProtocol::set_delay(std::size_t tx_message, int instance, std::int64_t delay_ns,
                            std::int64_t until_ns) {
  const Profile& p = *profile_;
  for (std::size_t fi = 0; fi < p.frames.size(); ++fi) {
    const TxFrame& f = p.frames[fi];
    if (f.message != tx_message || (instance >= 0 && f.instance != instance)) continue;
    delay_ns_[fi] = delay_ns > 0 ? delay_ns : 0;
    delay_until_ns_[fi] = delay_ns > 0 ? until_ns : 0;
  }
}

void SimProtocol::set_babble(std::size_t bus, std::uint32_t can_id, bool extended, int dlc,
                             double rate_hz, std::int64_t until_ns) {
  const int d = std::clamp(dlc, 0, 15);
  CanFrame f;
  f.id = can_id;
  f.extended = extended;
  f.fd = d > 8;
  f.len = dlc_to_len(static_cast<std::uint8_t>(d), f.fd);
  start_babbler(bus, f, rate_hz, until_ns);
}

void SimProtocol::set_error_frames(std::size_t bus, std::uint32_t error_class, double rate_hz,
                                   std::int64_t until_ns) {
  CanFrame f;
  f.error = true;
  f.id = error_class;
  f.len = 8;  // CAN_ERR_DLC
  start_babbler(bus, f, rate_hz, until_ns);
}

void SimProtocol::start_babbler(std::size_t bus, const CanFrame& frame, double rate_hz,
                                std::int64_t until_ns) {
  auto same = [&](const Babbler& b) {
    return b.active && b.bus == bus && b.frame.id == frame.id &&
           b.frame.extended == frame.extended && b.frame.error == frame.error;
  };
  Babbler* slot = nullptr;
  for (Babbler& b : babblers_) {
    if (same(b)) slot = &b;
  }
  if (rate_hz <= 0.0) {
    if (slot) slot->active = false;
    return;
  }
  for (Babbler& b : babblers_) {
    if (!b.active && !slot) slot = &b;
  }
  if (!slot) slot = &babblers_.front();  // all in use: the first one gives way
  slot->active = true;
  slot->bus = bus;
  slot->frame = frame;
  slot->rate_hz = rate_hz;
  slot->start_ns = -1;
  slot->until_ns = until_ns;
  slot->sent = 0;
}

void SimProtocol::set_silence(int bus, int instance, std::int64_t until_ns) {
  const Profile& p = *profile_;
  if (instance < 0) {
    for (std::size_t b = 0; b < bus_silence_until_ns_.size(); ++b) {
      if (bus < 0 || static_cast<std::size_t>(bus) == b) bus_silence_until_ns_[b] = until_ns;
    }
    return;
  }
  for (std::size_t fi = 0; fi < p.frames.size(); ++fi) {
    const TxFrame& f = p.frames[fi];
    const TxMessage& m = p.tx[f.message];
    if (!m.per_module || f.instance != instance) continue;
    if (bus >= 0 && m.bus_index != static_cast<std::size_t>(bus)) continue;
    silence_until_ns_[fi] = until_ns;
  }
}

void SimProtocol::receive(std::size_t /*bus*/, const CanFrame& frame, std::int64_t time_ns) {
  const auto [slots, count] = match_frame(rx_index_, frame, stats_);
  if (count == 0) return;
  const Profile& p = *profile_;
  // Which RX message and instance this slot is.
  const std::size_t slot = slots[0];
  std::size_t msg = 0;
  while (msg + 1 < p.rx.size() && rx_instance_base_[msg + 1] <= slot) ++msg;
  const RxMessage& m = p.rx[msg];
  const int instance = static_cast<int>(slot - rx_instance_base_[msg]);
  const MessageCodec& codec = *m.codec;
  if (!screen_frame(frame, codec, checkers_[slot].get(), stats_)) return;
  ++stats_.rx_frames;
  rx_last_ns_[slot] = time_ns;
  rx_timed_out_[slot] = 0;
  std::uint64_t mux = 0;
  if (codec.multiplexor() != MessageCodec::npos)
    mux = codec.get_raw(codec.multiplexor(), frame.data.data());
  for (const RxBinding& b : m.bindings) {
    if (!codec.is_active(b.signal, frame.data.data())) continue;
    const double v = codec.decode(b.signal, frame.data.data());
    if (b.observe != Observable::kCount) {
      const auto o = static_cast<std::size_t>(b.observe);
      BmsObservations& obs = commands_.observed;
      const bool not_available =
          b.observe_not_available &&
          codec.get_raw(b.signal, frame.data.data()) == all_ones(codec, b.signal);
      obs.value[o] = not_available ? std::numeric_limits<double>::quiet_NaN()
                                   : observed_value(b, v, obs.state_raw);
      obs.rx_ns[o] = time_ns;
      obs.stale[o] = 0;
    }
    std::int64_t index = -1;
    const bool addressed = rx_first_channel(b, mux, instance, n_channels_, index);
    switch (b.command) {
      case Command::kContactorMainPos:
        commands_.contactors.main_pos = v != 0.0;
        commands_.contactors_commanded = true;
        break;
      case Command::kContactorMainNeg:
        commands_.contactors.main_neg = v != 0.0;
        commands_.contactors_commanded = true;
        break;
      case Command::kContactorPrecharge:
        commands_.contactors.precharge = v != 0.0;
        commands_.contactors_commanded = true;
        break;
      case Command::kContactorState: {
        std::uint8_t state = b.state_default;
        const auto raw = static_cast<std::int64_t>(std::llround(v));
        for (const auto& [value, s] : b.state_map) {
          if (value == raw) state = s;
        }
        commands_.contactors = {(state & 1u) != 0, (state & 2u) != 0, (state & 4u) != 0};
        commands_.contactors_commanded = true;
        break;
      }
      case Command::kBalanceMask: {
        if (!addressed) break;
        const std::uint64_t bits = codec.get_raw(b.signal, frame.data.data());
        const int len = codec.layout(b.signal).length;
        for (int k = 0; k < len; ++k) {
          const std::int64_t ch = index + k;
          if (ch >= 0 && ch < n_channels_) {
            commands_.balance[static_cast<std::size_t>(ch)] = ((bits >> k) & 1u) ? 1 : 0;
          }
        }
        break;
      }
      case Command::kBalanceChannel:
        if (addressed && index >= 0) {
          commands_.balance[static_cast<std::size_t>(index)] = v != 0.0 ? 1 : 0;
        }
        break;
      case Command::kCellSoc:
        if (addressed && index >= 0) {
          const bool unknown =
              b.observe_not_available &&
              codec.get_raw(b.signal, frame.data.data()) == all_ones(codec, b.signal);
          commands_.observed.cell_soc[static_cast<std::size_t>(index)] =
              unknown ? std::numeric_limits<double>::quiet_NaN()
                      : v * b.observe_scale + b.observe_offset;
        }
        break;
      case Command::kRecordOnly:
      case Command::kObserve:
        break;
    }
  }
  commands_.last_command_ns = time_ns;
}

void SimProtocol::set_fault(std::size_t tx_message, int instance, TxFault fault,
                            std::int64_t until_ns) {
  const Profile& p = *profile_;
  for (std::size_t fi = 0; fi < p.frames.size(); ++fi) {
    const TxFrame& f = p.frames[fi];
    if (f.message != tx_message || (instance >= 0 && f.instance != instance)) continue;
    fault_[fi] = fault;
    fault_until_ns_[fi] = fault == TxFault::kNone ? 0 : until_ns;
  }
}

void SimProtocol::supervise(std::int64_t time_ns) {
  const Profile& p = *profile_;
  for (std::size_t msg = 0; msg < p.rx.size(); ++msg) {
    const RxMessage& m = p.rx[msg];
    if (m.timeout_ns <= 0) continue;
    for (int i = 0; i < m.instances; ++i) {
      const std::size_t slot = rx_instance_base_[msg] + static_cast<std::size_t>(i);
      // Never received counts from the start of the run.
      const std::int64_t last = rx_last_ns_[slot] < 0 ? 0 : rx_last_ns_[slot];
      if (rx_timed_out_[slot] || time_ns - last <= m.timeout_ns) continue;
      rx_timed_out_[slot] = 1;
      bool drives_contactors = false, drives_balance = false;
      for (const auto& b : m.bindings) {
        drives_contactors |=
            b.command == Command::kContactorMainPos || b.command == Command::kContactorMainNeg ||
            b.command == Command::kContactorPrecharge || b.command == Command::kContactorState;
        drives_balance |=
            b.command == Command::kBalanceMask || b.command == Command::kBalanceChannel;
      }
      // Counted for command messages; a report that goes quiet only leaves its values stale.
      if (drives_contactors || drives_balance) ++stats_.rx_timeouts;
      // What it reported stays, marked stale until its next frame.
      for (const auto& b : m.bindings) {
        if (b.observe != Observable::kCount)
          commands_.observed.stale[static_cast<std::size_t>(b.observe)] = 1;
      }
      // A silent BMS must not leave the pack connected or bleeding: open and stop balancing.
      if (m.open_on_timeout && drives_contactors) commands_.contactors = {};
      if (drives_balance) std::fill(commands_.balance.begin(), commands_.balance.end(), 0);
    }
  }
}

// ------------------------------------------------------------------------------------------------
// BMS side

BmsProtocol::BmsProtocol(std::shared_ptr<const Profile> profile, int n_channels, int n_sensors,
                         int n_modules, int cells_per_module, int sensors_per_module)
    : profile_(std::move(profile)),
      n_channels_(n_channels),
      n_sensors_(n_sensors),
      n_modules_(n_modules),
      cells_per_module_(cells_per_module),
      sensors_per_module_(sensors_per_module) {
  const Profile& p = *profile_;
  int keys = 0;
  for (std::size_t k = 0; k < p.frames.size(); ++k) {
    const TxFrame& f = p.frames[k];
    frame_index_.add(f.id, p.tx[f.message].codec->extended(), static_cast<std::uint32_t>(k));
    keys = std::max(keys, f.counter_key + 1);
  }
  frame_index_.finish();
  checkers_.resize(static_cast<std::size_t>(keys));
  for (const auto& f : p.frames) {
    const TxMessage& m = p.tx[f.message];
    auto& c = checkers_[static_cast<std::size_t>(f.counter_key)];
    if (m.e2e && !c) {
      c = std::make_unique<E2EChecker>(*m.codec, m.counter_signal, m.crc_signal,
                                       instance_e2e(m.e2e_config, f.id - m.codec->id()));
    }
  }
  for (const RxMessage& m : p.rx) {
    for (int i = 0; i < m.instances; ++i) {
      const auto offset = static_cast<std::uint32_t>(i) * m.id_step;
      protectors_.push_back(
          m.e2e ? std::make_unique<E2EProtector>(*m.codec, m.counter_signal, m.crc_signal,
                                                 instance_e2e(m.e2e_config, offset))
                : nullptr);
    }
    next_send_ns_.push_back(0);
    std::vector<std::uint64_t> rows;
    if (m.codec->multiplexor() != MessageCodec::npos) {
      for (const RxBinding& b : m.bindings) {
        if (m.codec->mux_role(b.signal) == MuxRole::kMultiplexed)
          rows.push_back(m.codec->mux_value(b.signal));
      }
      std::sort(rows.begin(), rows.end());
      rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
    }
    mux_rows_.push_back(std::move(rows));
  }
  const auto nc = static_cast<std::size_t>(n_channels_);
  const auto ns = static_cast<std::size_t>(n_sensors_);
  view_.cell_v.assign(nc, 0.0);
  view_.cell_valid.assign(nc, 0);
  view_.cell_seen.assign(nc, 0);
  view_.cell_flag_ok.assign(nc, 1);
  view_.cell_open_wire.assign(nc, 0);
  view_.cell_hw_ov.assign(nc, 0);
  view_.cell_hw_uv.assign(nc, 0);
  view_.temp_k.assign(ns, 0.0);
  view_.temp_valid.assign(ns, 0);
  view_.module_voltage_rx_ns.assign(static_cast<std::size_t>(n_modules_), -1);
  view_.module_temp_rx_ns.assign(static_cast<std::size_t>(n_modules_), -1);
}

void BmsProtocol::receive(const CanFrame& frame, std::int64_t time_ns) {
  const auto [entries, count] = match_frame(frame_index_, frame, stats_);
  if (count == 0) return;
  const Profile& p = *profile_;
  const TxFrame& first = p.frames[entries[0]];
  const TxMessage& m = p.tx[first.message];
  const MessageCodec& codec = *m.codec;
  if (!screen_frame(frame, codec, checkers_[static_cast<std::size_t>(first.counter_key)].get(),
                    stats_)) {
    ++view_.rejected_frames;
    return;
  }
  // Pick the frame template whose mux value the frame carries.
  std::uint64_t mux = 0;
  const bool muxed = codec.multiplexor() != MessageCodec::npos;
  if (muxed) mux = codec.get_raw(codec.multiplexor(), frame.data.data());
  const TxFrame* f = nullptr;
  for (std::size_t k = 0; k < count && !f; ++k) {
    const TxFrame& cand = p.frames[entries[k]];
    bool match = true;
    if (muxed) {
      match = false;
      for (const TxSlot& s : cand.slots) {
        if (s.source == Source::kMux && static_cast<std::uint64_t>(s.constant) == mux) match = true;
      }
    }
    if (match) f = &cand;
  }
  if (!f) {
    ++stats_.rx_malformed;
    ++view_.rejected_frames;
    return;
  }
  ++stats_.rx_frames;
  bool voltages = false, temps = false;
  for (const TxSlot& s : f->slots) {
    if (!codec.is_active(s.signal, frame.data.data())) continue;
    const double phys = s.raw ? static_cast<double>(codec.get_raw(s.signal, frame.data.data()))
                              : codec.decode(s.signal, frame.data.data());
    const double v = s.scale != 0.0 ? (phys - s.offset) / s.scale : 0.0;
    const int i = s.index;
    const bool cell_ok = i >= 0 && i < n_channels_;
    const bool sensor_ok = i >= 0 && i < n_sensors_;
    const auto ci = static_cast<std::size_t>(i);
    switch (s.source) {
      case Source::kCellVoltage:
        if (cell_ok) {
          // All ones is a cleared result register (a dropped-out channel), not a voltage.
          const bool cleared =
              !s.raw && codec.get_raw(s.signal, frame.data.data()) == all_ones(codec, s.signal);
          if (!cleared) view_.cell_v[ci] = v;
          view_.cell_seen[ci] = cleared ? 0 : 1;
          voltages = true;
        }
        break;
      case Source::kCellVoltageValid:
        if (cell_ok) view_.cell_flag_ok[ci] = v > 0.5 ? 1 : 0;
        break;
      case Source::kCellStatus:
      case Source::kOpenWire:
        if (cell_ok) {
          view_.cell_open_wire[ci] =
              std::llround(v) == (s.source == Source::kCellStatus ? 3 : 1) ? 1 : 0;
          if (s.source == Source::kCellStatus) {
            view_.cell_hw_ov[ci] = std::llround(v) == 1 ? 1 : 0;
            view_.cell_hw_uv[ci] = std::llround(v) == 2 ? 1 : 0;
          }
        }
        break;
      case Source::kOvFlag:
        if (cell_ok) view_.cell_hw_ov[ci] = v > 0.5 ? 1 : 0;
        break;
      case Source::kUvFlag:
        if (cell_ok) view_.cell_hw_uv[ci] = v > 0.5 ? 1 : 0;
        break;
      case Source::kSensorError:
        view_.current_error = std::llround(v) != 0;
        view_.current_valid = view_.current_seen && !view_.current_error;
        break;
      case Source::kVentGas:
        view_.gas_ppm = v;
        view_.gas_valid = true;
        break;
      case Source::kInsulation:
        view_.insulation_ohm = v;
        view_.insulation_valid = true;
        break;
      case Source::kTemperature:
        if (sensor_ok) {
          view_.temp_k[static_cast<std::size_t>(i)] = v + kZeroCelsius;
          view_.temp_valid[static_cast<std::size_t>(i)] = 1;
          temps = true;
        }
        break;
      case Source::kTemperatureValid:
        if (sensor_ok) view_.temp_valid[static_cast<std::size_t>(i)] = v > 0.5 ? 1 : 0;
        break;
      case Source::kCurrent:
        view_.current_a = v;
        view_.current_seen = true;
        view_.current_valid = !view_.current_error;
        view_.current_rx_ns = time_ns;
        break;
      case Source::kPackVoltage:
        view_.pack_v = v;
        view_.voltages_valid = true;
        break;
      case Source::kLinkVoltage:
        view_.link_v = v;
        break;
      default:
        break;
    }
    if (cell_ok) {
      view_.cell_valid[ci] = static_cast<std::uint8_t>(
          view_.cell_seen[ci] != 0 && view_.cell_flag_ok[ci] != 0 && view_.cell_open_wire[ci] == 0);
    }
  }
  if (f->instance >= 0 && f->instance < n_modules_) {
    const auto mod = static_cast<std::size_t>(f->instance);
    if (voltages) view_.module_voltage_rx_ns[mod] = time_ns;
    if (temps) view_.module_temp_rx_ns[mod] = time_ns;
  }
  (void)cells_per_module_;
  (void)sensors_per_module_;
}

std::size_t BmsProtocol::transmit(std::int64_t time_ns, const BmsCommands& cmd, FrameSink& sink) {
  const Profile& p = *profile_;
  std::size_t sent = 0, protector = 0;
  CanFrame frame;
  for (std::size_t k = 0; k < p.rx.size(); ++k) {
    const RxMessage& m = p.rx[k];
    const bool due = m.period_ns > 0 && time_ns >= next_send_ns_[k];
    if (due) next_send_ns_[k] = time_ns + m.period_ns;
    const std::vector<std::uint64_t>& rows = mux_rows_[k];
    const std::size_t n_rows = rows.empty() ? 1 : rows.size();
    for (int inst = 0; inst < m.instances; ++inst, ++protector) {
      if (!due) continue;
      const MessageCodec& codec = *m.codec;
      // A multiplexed message goes out as one frame per row, each protected in turn (the
      // receiver's E2E counter steps by one per frame, as for the AFE's rows).
      for (std::size_t row = 0; row < n_rows; ++row) {
        codec.prepare_frame(frame);
        frame.id = m.id + static_cast<std::uint32_t>(inst) * m.id_step;
        const std::uint64_t mux = rows.empty() ? 0 : rows[row];
        if (!rows.empty()) codec.set_raw(codec.multiplexor(), mux, frame.data.data());
        for (const RxBinding& b : m.bindings) {
          if (!rows.empty() && !codec.is_active(b.signal, frame.data.data())) continue;
          // 64 bits: the loader bounds index and stride to 1e9 each, not their sum.
          std::int64_t index = 0;
          const bool addressed = rx_first_channel(b, mux, inst, n_channels_, index);
          switch (b.command) {
            case Command::kContactorMainPos:
              codec.encode(b.signal, cmd.contactors.main_pos ? 1.0 : 0.0, frame);
              break;
            case Command::kContactorMainNeg:
              codec.encode(b.signal, cmd.contactors.main_neg ? 1.0 : 0.0, frame);
              break;
            case Command::kContactorPrecharge:
              codec.encode(b.signal, cmd.contactors.precharge ? 1.0 : 0.0, frame);
              break;
            case Command::kContactorState: {
              const std::uint8_t state = static_cast<std::uint8_t>(
                  (cmd.contactors.main_pos ? 1 : 0) | (cmd.contactors.main_neg ? 2 : 0) |
                  (cmd.contactors.precharge ? 4 : 0));
              for (const auto& [value, s] : b.state_map) {
                if (s == state)
                  codec.set_raw(b.signal, static_cast<std::uint64_t>(value), frame.data.data());
              }
              break;
            }
            case Command::kBalanceMask: {
              std::uint64_t bits = 0;
              const int len = codec.layout(b.signal).length;
              for (int bit = 0; bit < len; ++bit) {
                const std::int64_t ch = index + bit;
                if (addressed && cmd.balance && ch >= 0 && ch < n_channels_ &&
                    cmd.balance[static_cast<std::size_t>(ch)])
                  bits |= 1ull << bit;
              }
              codec.set_raw(b.signal, bits, frame.data.data());
              break;
            }
            case Command::kBalanceChannel:
              codec.encode(b.signal,
                           addressed && cmd.balance && index >= 0 && index < n_channels_ &&
                                   cmd.balance[static_cast<std::size_t>(index)]
                               ? 1.0
                               : 0.0,
                           frame);
              break;
            case Command::kCellSoc: {
              const double v = addressed && cmd.cell_soc && index >= 0 && index < n_channels_
                                   ? cmd.cell_soc[static_cast<std::size_t>(index)]
                                   : std::numeric_limits<double>::quiet_NaN();
              if (std::isnan(v) && b.observe_not_available) {
                codec.set_raw(b.signal, all_ones(codec, b.signal), frame.data.data());
              } else if (!std::isnan(v) && b.observe_scale != 0.0) {
                codec.encode(b.signal, (v - b.observe_offset) / b.observe_scale, frame);
              }
              break;
            }
            case Command::kRecordOnly:
              codec.encode(b.signal, cmd.state, frame);
              break;
            case Command::kObserve:
              if (b.observe_not_available &&
                  std::isnan(cmd.observed[static_cast<std::size_t>(b.observe)])) {
                codec.set_raw(b.signal, all_ones(codec, b.signal), frame.data.data());
              } else {
                codec.encode(b.signal, observed_encoding(b, cmd), frame);
              }
              break;
          }
        }
        if (auto& pr = protectors_[protector]) pr->protect(frame.data.data());
        if (sink.send(m.bus_index, frame)) {
          ++stats_.tx_frames;
          ++sent;
        } else {
          ++stats_.tx_dropped;
        }
      }
    }
  }
  return sent;
}

}  // namespace packsim::can
