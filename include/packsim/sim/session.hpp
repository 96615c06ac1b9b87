#pragma once
// One simulation session: the pack, its measurement chain, the scenario driver, the protocol on its
// buses (loopback or SocketCAN), the in-process reference BMS if the scenario asks for one, and the
// recorders. A tick is read -> update -> write:
//   read    drain the buses into the protocol, apply the BMS's commands, apply due scenario events
//   update  balancing switches, pack step, AFE and current-sensor measurements
//   write   send the frames due this tick, run the in-process BMS, record a sample
// (the frames due at t = 0 go out in the first read, before that tick's events).
// Construction does all allocation; open() creates files and transports and reports {ok, message}.

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "packsim/bms/node.hpp"
#include "packsim/can/protocol.hpp"
#include "packsim/hil/can_bus.hpp"
#include "packsim/hil/can_log.hpp"
#include "packsim/hil/spsc_ring.hpp"
#include "packsim/model/afe.hpp"
#include "packsim/model/pack.hpp"
#include "packsim/sim/driver.hpp"
#include "packsim/sim/expect.hpp"
#include "packsim/sim/recorder.hpp"
#include "packsim/sim/sample.hpp"
#include "packsim/sim/scenario.hpp"
#include "packsim/sim/scoring.hpp"
#include "packsim/sim/stats.hpp"
#include "packsim/util/output_file.hpp"

namespace packsim::sim {

class JsonWriter;

struct SetupResult {
  bool ok = true;
  std::string message;
};

// Which transport carries a logical bus of the profile ("afe", ...).
struct BusAssignment {
  std::string logical;    // empty: every logical bus without an explicit assignment
  std::string interface;  // SocketCAN interface name
};

// Parses `--can` values: `IFACE` (every logical bus there) or `BUS=IFACE,BUS=IFACE,...`.
bool parse_bus_assignments(const std::string& text, std::vector<BusAssignment>& out,
                           std::string& error);

// Which interfaces the profile's logical buses (`logical`, in profile order) use: each distinct
// interface once (logical buses on one interface share its socket), and each bus's among them.
struct InterfacePlan {
  std::vector<std::string> interfaces;  // distinct, in order of first use
  std::vector<std::size_t> of_bus;      // [logical bus] -> index into interfaces
};
// An explicit BUS=IFACE wins over a plain IFACE; a BUS the profile does not have, or a bus left
// without an interface, is an error.
SetupResult resolve_interfaces(const std::vector<std::string>& logical,
                               const std::vector<BusAssignment>& assignments, InterfacePlan& plan);

struct SessionOptions {
  std::filesystem::path out_dir;
  std::string version;                    // for summary.json
  std::vector<BusAssignment> interfaces;  // empty: the in-process loopback
  bool enable_fd = true;
};

// The reference BMS's configuration for a scenario: limits from the cell model and [bms], the OCV
// table of the cell, the AFE layout, timeouts that suit the profile's frame periods.
SetupResult reference_bms_config(const Scenario& scenario, const model::AfeModel& afe,
                                 bms::BmsConfig& out, bms::NodeLayout& layout);

class Session {
 public:
  explicit Session(const Scenario& scenario);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Creates the output directory, removes what an earlier run left there, and claims summary.json's
  // space with a placeholder that says the run has not ended. open() does it when not done yet;
  // done first, a run that fails before open() still has a summary in the right place.
  SetupResult prepare(const SessionOptions& options);
  SetupResult open(const SessionOptions& options);
  // The reference BMS's configuration as open() will make it (scenario limits against the cell's
  // defaults, timeouts against the profile), without opening anything: for `packsim check` and
  // for refusing a run as bad input before it starts. Ok when the scenario has no reference BMS.
  SetupResult validate_bms() const;

  // wall_ns: the wall clock (CLOCK_REALTIME) for CAN log timestamps on real interfaces.
  void read(std::int64_t wall_ns);
  void update();
  void write(std::int64_t wall_ns);

  // Real-time runs: samples and CAN log lines go into rings, and another thread writes them with
  // drain(). Call after open(), before the first tick. A full ring drops the record and counts it.
  // The sample ring holds at most sample_slots, and no more than sample_budget_bytes.
  void enable_threaded_recording(std::size_t sample_slots, std::size_t frame_slots,
                                 std::size_t sample_budget_bytes = std::size_t{64} << 20);
  // Writer thread: formats and writes what the rings hold. Returns the number of records written.
  std::size_t drain();
  std::uint64_t records_dropped() const { return dropped_.load(std::memory_order_relaxed); }
  // Frames handed to the transports during the last tick (read() at t = 0, write()).
  std::uint64_t frames_last_tick() const { return frames_last_tick_; }
  // Counters the status line reads from another thread.
  std::uint64_t ticks_published() const { return ticks_pub_.load(std::memory_order_relaxed); }
  std::uint64_t frames_published() const { return frames_pub_.load(std::memory_order_relaxed); }
  hil::BusState bus_state_published() const {
    return static_cast<hil::BusState>(bus_state_pub_.load(std::memory_order_relaxed));
  }

  // The scenario's duration is reached, its load is done when it says so, the model diverged, or
  // an output failed (outputs_stopped()).
  bool done() const;
  // A write to signals.csv or can.log failed, or found the disk full: the run stops. Any thread.
  bool outputs_stopped() const { return outputs_stopped_.load(std::memory_order_relaxed); }
  // The model's state became non-finite (NaN or overflow): the run stops and fails.
  bool diverged() const { return diverged_; }
  // Where the run took cells outside what their model describes (SOC outside 0..1, terminal
  // voltage outside the cell's v_min..v_max), one sentence each; empty when it never did. The
  // results beyond those limits are extrapolation, which a run should not pass off as physics.
  std::vector<std::string> range_warnings() const;
  // Where the cells' table lookups clamped for more than 1 % of the cell-ticks (a run at -10 degC
  // on tables from 15 degC), one sentence each: the table, its axis and the span the run needed.
  std::vector<std::string> table_warnings() const;
  const char* done_reason() const;
  bool uses_socketcan() const { return socketcan_; }

  // Flushes and closes the recorders and writes summary.json with `result` (completed,
  // interrupted, failed). An output that failed or found the disk full makes `result` a failure
  // with its message (and its file in output_errors). Safe to call once on every exit path; a
  // failure to write summary.json itself is returned.
  SetupResult finish(struct RunResult& result, const std::string& version);

  // The expectations' verdicts: pending during the run, decided by finish().
  const ExpectationEngine& expectations() const { return expect_; }
  // junit.xml's text for the verdicts as they stand (`running`: a placeholder).
  std::string render_junit_file(const struct RunResult& r, bool running) const;

  const model::PackModel& model() const { return model_; }
  const model::PackData& data() const { return data_; }
  const can::SimProtocol* protocol() const { return protocol_.get(); }
  const bms::RefBmsNode* reference_bms() const { return bms_node_.get(); }
  // What sent_* conditions and columns read this tick.
  const SentValues& sent() const { return sent_; }

  // The BMS's side as the summary reports it, from the observations of any BMS (the reference
  // one's frames as well): its state's transitions and its first fault.
  struct BmsStateChange {
    std::int64_t time_ns = 0;
    int state = 0;  // index into kBmsStateNames
  };
  static constexpr std::size_t kMaxBmsStateChanges = 256;
  struct BmsTrack {
    std::vector<BmsStateChange> states;  // capacity kMaxBmsStateChanges
    std::uint64_t states_dropped = 0;
    int last_state = -1;
    std::int64_t first_fault_ns = -1;  // the first rising edge of bms_fault
    double first_fault_code = 0.0;     // bms_fault_code then (NaN: not reported)
    bool fault = false;
  };
  const BmsTrack& bms_track() const { return bms_track_; }
  // The estimator scores so far (complete after finish()).
  const EstimatorScore& score() const { return score_; }
  // One transport per distinct interface; several logical buses may share one.
  const std::vector<std::unique_ptr<hil::CanBus>>& interfaces() const { return interfaces_; }
  std::uint64_t frames_not_sent() const { return frames_not_sent_; }

 private:
  class Sink;
  // Sends the protocol's frames due at data_.time_ns, with the host's request of that time.
  void transmit();
  void record();
  // After writes outside the tick thread: the first failed output stops the run.
  void note_outputs();
  std::string render_summary(const struct RunResult& r, const std::string& version,
                             bool running) const;
  void outputs_summary(JsonWriter& j, bool running) const;
  void bms_summary(JsonWriter& j) const;
  void track_bms(std::int64_t now_ns);
  void fill_bms_sample();
  // One tick of estimator scoring (after the BMS has answered): allocation-free.
  void score_tick();
  void score_metrics();
  void score_summary(JsonWriter& j) const;

  const Scenario& sc_;
  model::PackModel model_;
  model::PackData data_;
  model::AfeModel afe_model_;
  model::AfeData afe_;
  model::ShuntData shunt_;
  ScenarioDriver driver_;
  ExpectationEngine expect_;
  // End-of-run metrics (estimator scores) for `at_end` expectations, filled before finish()
  // decides them; names as in run_metrics().
  MetricMap metrics_;
  ScenarioDriver::HostRequests host_;
  std::unique_ptr<can::SimProtocol> protocol_;
  // Transports: one per distinct interface (owned), and the one of each logical bus. Logical
  // buses on the same interface share its socket, so no frame is seen twice.
  std::vector<std::unique_ptr<hil::CanBus>> interfaces_;
  std::vector<hil::CanBus*> buses_;         // [logical bus]
  std::vector<std::size_t> bus_interface_;  // [logical bus] -> index into interfaces_
  // The in-process reference BMS's ends: owned per interface, and per logical bus.
  std::vector<std::unique_ptr<hil::CanBus>> bms_interfaces_;
  std::vector<hil::CanBus*> bms_buses_;
  std::unique_ptr<bms::RefBmsNode> bms_node_;
  std::vector<hil::RxFrame> rx_;
  std::unique_ptr<Sink> sink_;
  SentValues sent_{};
  BmsTrack bms_track_;
  EstimatorScore score_;
  double score_ot_k_ = 0.0;  // the temperature limit scoring judges the pack by
  double true_soh_ = 1.0;    // mean cell capacity over nominal, with the fault scales
  // [series] the true SOC of each group, for the per-cell score; empty unless the profile
  // reports bms_cell_soc (sized in the constructor: the tick does not allocate).
  std::vector<double> true_group_soc_;
  bool socketcan_ = false;
  bool bms_commanded_ = false;
  bool diverged_ = false;
  std::uint64_t frames_not_sent_ = 0;
  std::int64_t wall_ns_ = 0;

  std::filesystem::path out_dir_;
  bool prepared_ = false;
  // summary.json's space, held from the start; its spare part is what the other outputs flush
  // into when the disk fills up (space_ releases it).
  ReservedFile summary_;
  bool summary_unwritable_ = false;
  ReservedFile junit_;  // junit.xml: a placeholder from prepare() on, like summary.json
  bool junit_unwritable_ = false;
  OutOfSpace space_{&summary_};
  std::atomic<bool> outputs_stopped_{false};
  std::string stop_cause_;  // the first output failure, as a message
  CsvRecorder csv_;
  hil::CanLogWriter can_log_;
  bool log_can_ = false;                 // can.log is open
  bool log_rx_ = false;                  // frames the simulator received go into it
  bool log_tx_ = false;                  // frames it sent
  std::uint64_t frames_not_logged_ = 0;  // left out by the can_log mode
  Sample sample_;
  RunStats stats_;
  std::uint64_t every_ticks_ = 1;
  std::uint64_t total_ticks_ = 0;
  bool finished_ = false;

  // A row of events.csv: a fault's transition (source 0) or a model event (source 1), handed to
  // the writer as a fixed-size record.
  struct EventRecord {
    std::int64_t time_ns = 0;
    std::uint8_t source = 0;
    std::uint8_t action = 0;  // FaultAction for faults
    std::int32_t fault = 0;   // index into Scenario::faults
    model::ModelEvent event;  // model events
    double value = 0.0;
  };
  void log_event(const EventRecord& r);
  void write_event(const EventRecord& r);
  void apply_wire_fault(const FaultTransition& t);
  OutputFile events_;
  std::string event_line_;
  std::uint64_t model_events_ = 0;
  std::unique_ptr<hil::SpscRing<EventRecord>> event_ring_;

  struct LogRecord {
    std::int64_t timestamp_ns = 0;
    std::uint32_t bus = 0;
    can::CanFrame frame;
  };
  void log_frame(std::int64_t timestamp_ns, std::size_t iface, const can::CanFrame& frame,
                 bool received);
  bool threaded_ = false;
  std::int64_t last_recorded_ns_ = -1;
  std::unique_ptr<hil::SpscRing<Sample>> sample_ring_;
  std::unique_ptr<hil::SpscRing<LogRecord>> frame_ring_;
  Sample drain_sample_;  // the writer thread's copy
  std::atomic<std::uint64_t> dropped_{0};
  std::uint64_t frames_last_tick_ = 0;
  std::uint64_t frames_total_ = 0;
  std::atomic<std::uint64_t> ticks_pub_{0};
  std::atomic<std::uint64_t> frames_pub_{0};
  std::atomic<std::uint8_t> bus_state_pub_{0};
};

}  // namespace packsim::sim
