#pragma once
// The protocol engines, both I/O-free and allocation-free once constructed:
//  - SimProtocol, the simulator's side: every tick it encodes the frames that are due from the
//    measurement chain (AFE, current sensor), regenerating counters and CRCs at each send; and it
//    decodes what the BMS sends into commands (contactors, balancing), rejecting and counting
//    frames that fail their E2E check, and falling back to safe commands when the BMS goes quiet.
//  - BmsProtocol, the mirror used by the reference BMS: decodes the simulator's frames into what a
//  BMS
//    sees (cell voltages, temperatures, current, freshness) and encodes its commands.
// Frames leave through a FrameSink so the engines do not know about sockets.

#include <array>
#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

#include "packsim/can/e2e.hpp"
#include "packsim/can/frame.hpp"
#include "packsim/can/profile.hpp"
#include "packsim/model/afe.hpp"
#include "packsim/model/network.hpp"

namespace packsim::can {

class FrameSink {
 public:
  virtual ~FrameSink() = default;
  // Returns false when the frame could not be queued (it is then counted as dropped).
  virtual bool send(std::size_t bus, const CanFrame& frame) = 0;
};

struct ProtocolStats {
  std::uint64_t tx_frames = 0;
  std::uint64_t tx_dropped = 0;    // the transport refused the frame (queue full, bus down)
  std::uint64_t rx_frames = 0;     // frames that matched a profile message
  std::uint64_t rx_unknown = 0;    // ids the profile does not know (other traffic, garbage)
  std::uint64_t rx_malformed = 0;  // wrong length or format for their message
  std::uint64_t rx_error_frames = 0;
  std::uint64_t e2e_bad_crc = 0;
  std::uint64_t e2e_repeated = 0;
  std::uint64_t e2e_lost = 0;
  std::uint64_t e2e_missed_frames = 0;
  std::uint64_t rx_timeouts = 0;        // command messages that went quiet
  std::uint64_t tx_faulted = 0;         // frames an injected CAN fault dropped or altered
  std::uint64_t tx_delayed = 0;         // frames held back by an injected delay
  std::uint64_t tx_delay_overflow = 0;  // frames lost because the delay line was full
  std::uint64_t tx_silenced = 0;        // frames not sent because their bus or module is silenced
  std::uint64_t tx_babble = 0;          // frames of an injected babbling node
  std::uint64_t rx_rejected() const { return rx_malformed + e2e_bad_crc + e2e_repeated + e2e_lost; }
};

// Finds the messages a frame may belong to: (id, extended) -> index ranges, sorted once.
class IdIndex {
 public:
  void add(std::uint32_t id, bool extended, std::uint32_t value);
  void finish();
  // Index of the first entry for this id and how many entries share it.
  std::pair<const std::uint32_t*, std::size_t> find(std::uint32_t id, bool extended) const;

 private:
  struct Entry {
    std::uint64_t key;
    std::uint32_t value;
  };
  std::vector<Entry> entries_;
  std::vector<std::uint32_t> values_;
};

// What the BMS reported about itself, per Observable (profile.hpp), in SI. A value whose message
// timed out keeps its last value and is marked stale until its next frame.
struct BmsObservations {
  BmsObservations() {
    value.fill(std::numeric_limits<double>::quiet_NaN());
    rx_ns.fill(-1);
    stale.fill(0);
  }
  std::array<double, kObservableCount> value{};        // NaN: never received
  std::array<std::int64_t, kObservableCount> rx_ns{};  // last accepted frame; -1 never
  std::array<std::uint8_t, kObservableCount> stale{};  // 1: its message timed out since
  std::int64_t state_raw = -1;                         // kState's raw value (-1 never)
  // The BMS's per-channel SOC estimates (Command::kCellSoc), fractions, NaN until received;
  // sized [n_channels] by SimProtocol when its profile reports them, else empty.
  std::vector<double> cell_soc;

  double get(Observable o) const { return value[static_cast<std::size_t>(o)]; }
  bool received(Observable o) const { return rx_ns[static_cast<std::size_t>(o)] >= 0; }
};

struct SimCommands {
  bool contactors_commanded = false;  // a valid contactor command has been received
  model::ContactorState contactors;
  std::vector<std::uint8_t> balance;  // [n_channels]
  std::int64_t last_command_ns = -1;
  BmsObservations observed;
};

// An injected fault on the frames of one TX message (scenario event `can_fault`), as a BMS would
// meet it on a real bus: frames lost (the sender's counter still advances, so E2E sees the gap),
// a wrong CRC, a counter that stops (stale data), or a frame one byte short.
enum class TxFault : std::uint8_t { kNone, kDrop, kCorruptCrc, kRepeatCounter, kShortFrame };

// What the simulated host asks of the BMS at the moment of a transmit (sources kHostMode and
// kHostFaultReset).
struct HostRequest {
  HostMode mode = HostMode::kStandby;
  bool fault_reset = false;
};

class SimProtocol {
 public:
  SimProtocol(std::shared_ptr<const Profile> profile, int n_channels, int n_sensors, int n_modules);

  // Encodes and sends every frame due at time_ns. Returns the number of frames handed to the sink.
  std::size_t transmit(std::int64_t time_ns, const model::AfeData& afe,
                       const model::ShuntData& shunt, FrameSink& sink);
  // The host's request that the next transmit() puts into host_mode/host_fault_reset signals.
  void set_host(const HostRequest& host) { host_ = host; }
  const HostRequest& host() const { return host_; }
  // Decodes one received frame.
  void receive(std::size_t bus, const CanFrame& frame, std::int64_t time_ns);
  // Applies command timeouts (call once per tick after receiving).
  void supervise(std::int64_t time_ns);
  // Injects `fault` on TX message `tx_message` (index into Profile::tx), on one module instance
  // or all (-1), until `until_ns` (exclusive). kNone clears. Allocation-free.
  void set_fault(std::size_t tx_message, int instance, TxFault fault, std::int64_t until_ns);
  // Frames of TX message `tx_message` (one instance or all, -1) due before `until_ns` are sent
  // `delay_ns` late, as a congested gateway would: encoded (counter, CRC) when due, held in a
  // fixed-capacity delay line, sent in order of their release time. delay_ns <= 0 clears; frames
  // already held still go out. When the line is full a frame is lost (tx_delay_overflow).
  void set_delay(std::size_t tx_message, int instance, std::int64_t delay_ns,
                 std::int64_t until_ns);
  // A babbling node: frames of `can_id` (payload of `dlc` zero bytes; a DLC above 8 makes a CAN FD
  // frame of that DLC's length) at `rate_hz` on `bus` (index into Profile::buses), from the first
  // transmit after this call until `until_ns`. Up to kMaxBabblers at once; one per (bus, id,
  // format): a new call replaces it, rate_hz <= 0 stops it.
  void set_babble(std::size_t bus, std::uint32_t can_id, bool extended, int dlc, double rate_hz,
                  std::int64_t until_ns);
  // Error frames as a faulty controller would report them (CanFrame::error, `error_class` the
  // SocketCAN error class bits, e.g. 0x80 bus error, 0x40 bus-off, 8 data bytes of zeros), at
  // `rate_hz` on `bus` until `until_ns`; shares the babblers' slots. Over SocketCAN they go out
  // with CAN_ERR_FLAG (docs/faults.md says what vcan does with them).
  void set_error_frames(std::size_t bus, std::uint32_t error_class, double rate_hz,
                        std::int64_t until_ns);
  // Bus silence: no frames of bus `bus` (-1 every bus) and, if `instance` >= 0, only of that AFE
  // module's per-module messages, until `until_ns`. The silenced frames are not generated (their
  // counters stop, as a dead sender's would). A whole-bus silence also stops the bus's babblers
  // and its delay line's output (held frames go out when the silence ends).
  void set_silence(int bus, int instance, std::int64_t until_ns);
  static constexpr std::size_t kDelayCapacity = 512;
  static constexpr std::size_t kMaxBabblers = 4;
  static constexpr std::size_t kMaxBabblePerCall = 256;  // frames one transmit call may flood

  const SimCommands& commands() const { return commands_; }
  const ProtocolStats& stats() const { return stats_; }
  const Profile& profile() const { return *profile_; }
  // Frames due per second, for reports.
  double frames_per_second() const;

 private:
  double source_value(const TxSlot& slot, const TxFrame& f, const model::AfeData& afe,
                      const model::ShuntData& shunt, std::uint64_t mux) const;

  std::shared_ptr<const Profile> profile_;
  int n_channels_, n_sensors_, n_modules_;
  std::vector<std::unique_ptr<E2EProtector>> protectors_;  // per TxFrame counter key
  std::vector<std::uint8_t> counters_;                     // per counter key
  std::vector<TxFault> fault_;                             // per TxFrame
  std::vector<std::int64_t> fault_until_ns_;               // per TxFrame
  std::vector<std::int64_t> delay_ns_;                     // per TxFrame
  std::vector<std::int64_t> delay_until_ns_;               // per TxFrame
  std::vector<std::int64_t> silence_until_ns_;             // per TxFrame
  std::vector<std::int64_t> bus_silence_until_ns_;         // per bus (whole-bus silences)
  struct Delayed {
    std::int64_t release_ns = 0;
    std::size_t bus = 0;
    CanFrame frame;
  };
  std::vector<Delayed> delay_line_;  // sorted by release time, capacity kDelayCapacity
  struct Babbler {
    bool active = false;
    std::size_t bus = 0;
    CanFrame frame;
    double rate_hz = 0.0;
    std::int64_t start_ns = -1;  // set by the first transmit after set_babble
    std::int64_t until_ns = 0;
    std::uint64_t sent = 0;
  };
  std::vector<Babbler> babblers_;
  void start_babbler(std::size_t bus, const CanFrame& frame, double rate_hz, std::int64_t until_ns);
  bool bus_silenced(std::size_t bus, std::int64_t time_ns) const;
  bool send_or_count(std::size_t bus, const CanFrame& frame, FrameSink& sink, std::size_t& sent);
  std::vector<std::unique_ptr<E2EChecker>> checkers_;  // per RX message instance
  std::vector<std::int64_t> rx_last_ns_;               // per RX message instance
  std::vector<std::uint8_t> rx_timed_out_;
  std::vector<std::size_t> rx_instance_base_;  // first instance slot per RX message
  IdIndex rx_index_;
  SimCommands commands_;
  ProtocolStats stats_;
  HostRequest host_;
};

// What the BMS side decoded so far.
struct BmsView {
  std::vector<double> cell_v;  // [n_channels] V
  // cell_valid = a voltage was received && its validity flag (if the profile has one) says valid
  // && the last status (if any) reports no open wire. The three come in different signals,
  // frames and orders, so each is kept and the result recomputed, whatever arrives last.
  std::vector<std::uint8_t> cell_valid;
  std::vector<std::uint8_t> cell_seen;
  std::vector<std::uint8_t> cell_flag_ok;
  std::vector<std::uint8_t> cell_open_wire;
  std::vector<double> temp_k;  // [n_sensors]
  std::vector<std::uint8_t> temp_valid;
  std::vector<std::uint8_t> cell_hw_ov;  // [n_channels] the AFE's hardware comparator flags
  std::vector<std::uint8_t> cell_hw_uv;
  double current_a = 0.0;
  bool current_valid = false;  // received, and the sensor reports no error
  bool current_seen = false;
  bool current_error = false;  // the sensor's error bits are set
  double gas_ppm = 0.0;
  bool gas_valid = false;  // a vent-gas frame was received
  double insulation_ohm = 0.0;
  bool insulation_valid = false;  // an insulation-monitor frame was received
  double pack_v = 0.0;
  double link_v = 0.0;
  bool voltages_valid = false;
  std::vector<std::int64_t> module_voltage_rx_ns;  // [n_modules] last valid voltage frame, -1 never
  std::vector<std::int64_t> module_temp_rx_ns;     // [n_modules]
  std::int64_t current_rx_ns = -1;
  std::uint64_t rejected_frames = 0;  // E2E or format failures
};

struct BmsCommands {
  model::ContactorState contactors;
  const std::uint8_t* balance = nullptr;  // [n_channels]
  std::uint8_t state = 0;
  // What the BMS reports, per Observable in SI (kState: a kBmsStateNames index), for the
  // profile's observe bindings; NaN sends 0. kState, kMainPos/Neg, kPrecharge and kBalancing
  // default to `state`, `contactors` and `balance` when left NaN.
  std::array<double, kObservableCount> observed = nan_observations();
  const double* cell_soc = nullptr;  // [n_channels] per-channel SOC estimates; NaN/null: unknown
  static std::array<double, kObservableCount> nan_observations() {
    std::array<double, kObservableCount> a{};
    a.fill(std::numeric_limits<double>::quiet_NaN());
    return a;
  }
};

class BmsProtocol {
 public:
  BmsProtocol(std::shared_ptr<const Profile> profile, int n_channels, int n_sensors, int n_modules,
              int cells_per_module, int sensors_per_module);
  void receive(const CanFrame& frame, std::int64_t time_ns);
  // Sends the BMS's command messages that are due (each RX message of the profile at its period).
  std::size_t transmit(std::int64_t time_ns, const BmsCommands& cmd, FrameSink& sink);
  const BmsView& view() const { return view_; }
  const ProtocolStats& stats() const { return stats_; }

 private:
  std::shared_ptr<const Profile> profile_;
  int n_channels_, n_sensors_, n_modules_, cells_per_module_, sensors_per_module_;
  std::vector<std::unique_ptr<E2EChecker>> checkers_;      // per TxFrame counter key
  std::vector<std::unique_ptr<E2EProtector>> protectors_;  // per RX message instance
  std::vector<std::int64_t> next_send_ns_;                 // per RX message
  // Per RX message: the multiplexor values its bound signals need, one frame each per period
  // (empty: not multiplexed, one frame).
  std::vector<std::vector<std::uint64_t>> mux_rows_;
  IdIndex frame_index_;
  BmsView view_;
  ProtocolStats stats_;
};

}  // namespace packsim::can
