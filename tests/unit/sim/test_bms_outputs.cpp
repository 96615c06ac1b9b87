// The BMS's side in the outputs (issue 11, item 1): a short closed loop with the reference BMS on
// the loopback. signals.csv carries what the BMS was sent (sent_*), what it reported (bms_*, in
// enum order, only those the profile binds) and the segment's label; summary.json's bms section
// its state transitions, first fault and last values. Checked against the reference BMS's own
// outputs, which the reported values must equal within their signal's resolution.
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "packsim/sim/runner.hpp"
#include "packsim/sim/session.hpp"
#include "sim_test_util.hpp"

using namespace packsim;

namespace {

std::vector<std::string> split_csv(const std::string& line) {
  std::vector<std::string> out;
  std::string cell;
  bool quoted = false;
  for (std::size_t k = 0; k < line.size(); ++k) {
    const char c = line[k];
    if (quoted) {
      if (c == '"' && k + 1 < line.size() && line[k + 1] == '"') {
        cell += '"';
        ++k;
      } else if (c == '"') {
        quoted = false;
      } else {
        cell += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      out.push_back(cell);
      cell.clear();
    } else {
      cell += c;
    }
  }
  out.push_back(cell);
  return out;
}

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("signals.csv and summary.json carry the BMS's side of a closed loop", "[outputs][bms]") {
  const auto sc = test::load_test_scenario("bms_outputs.toml");
  const auto out = std::filesystem::temp_directory_path() / "packsim-bms-outputs-test";
  sim::Session session(sc);
  test::run_to_end(session, out);
  const bms::BmsOutputs ref = session.reference_bms()->outputs();
  const sim::SentValues sent = session.sent();
  sim::RunResult r;
  r.status = sim::RunStatus::kCompleted;
  REQUIRE(session.finish(r, "test").ok);

  std::ifstream csv(out / "signals.csv");
  std::string header_line, line, last_line;
  std::getline(csv, header_line);
  std::vector<std::string> first_rows;
  while (std::getline(csv, line)) {
    if (first_rows.size() < 2) first_rows.push_back(line);
    last_line = line;
  }
  const auto header = split_csv(header_line);
  auto col = [&](const std::string& name) {
    for (std::size_t k = 0; k < header.size(); ++k) {
      if (header[k] == name) return k;
    }
    FAIL("no column " << name);
    return std::size_t{0};
  };
  // The new columns follow insulation_ohm, the observables in enum order.
  const std::vector<std::string> want = {"insulation_ohm",
                                         "segment_label",
                                         "sent_v_min",
                                         "sent_v_max",
                                         "sent_t_min",
                                         "sent_t_max",
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
                                         "bms_t_max"};
  const std::size_t at = col("insulation_ohm");
  REQUIRE(header.size() == at + want.size());
  for (std::size_t k = 0; k < want.size(); ++k) CHECK(header[at + k] == want[k]);

  // The first row (t = 0): nothing received yet, the first segment's label quoted for its comma.
  const auto row0 = split_csv(first_rows.at(0));
  CHECK(first_rows.at(0).find(",\"drive, hard\",") != std::string::npos);
  CHECK(row0[col("segment_label")] == "drive, hard");
  CHECK(row0[col("bms_soc")].empty());
  CHECK(row0[col("bms_state")].empty());
  CHECK_FALSE(row0[col("sent_v_max")].empty());  // the AFE measured at construction

  // The last row: resting, contactors closed, and what the BMS reported is what it computed.
  const auto last = split_csv(last_line);
  CHECK(last[col("segment_label")] == "rest");
  CHECK(last[col("segment")] == "1");
  CHECK(last[col("bms_state")] == "normal");
  CHECK(ref.state == bms::BmsState::kNormal);
  CHECK(last[col("bms_fault")] == "0");
  CHECK(last[col("bms_fault_code")] == "0");
  CHECK(last[col("bms_main_pos")] == "1");
  CHECK(last[col("bms_main_neg")] == "1");
  CHECK(last[col("bms_precharge")] == "0");
  auto num = [&](const char* name) { return std::stod(last[col(name)]); };
  // 0.01 % and 100 uV steps; the BMS's last frame came within its 100 ms period, at rest.
  CHECK(num("bms_soc") == Approx(ref.soc).margin(0.0001));
  CHECK(num("bms_soh") == 1.0);
  CHECK(num("bms_v_max") == Approx(ref.cell_v_max_v).margin(0.0001));
  CHECK(num("bms_v_min") == Approx(ref.cell_v_min_v).margin(0.0001));
  CHECK(num("bms_t_max") == Approx(ref.temp_max_k - 273.15).margin(0.5));
  // Resting, far from every limit: the limits are the over-current limits (5 C / 2 C of 2 x 2 Ah
  // ... of the pack's 1 C), powers those times the cells' sum.
  CHECK(num("bms_discharge_current_limit") == Approx(ref.discharge_current_limit_a).margin(0.05));
  CHECK(num("bms_charge_current_limit") == Approx(ref.charge_current_limit_a).margin(0.05));
  CHECK(ref.discharge_current_limit_a > 0.0);
  CHECK(num("bms_discharge_power_limit") == Approx(ref.discharge_power_limit_w).margin(1.0));
  // What the BMS was sent: the AFE's measured extremes, exactly as the session computed them,
  // beside the truth (within the AFE's error) and the BMS's own view of them (one frame old).
  CHECK(num("sent_v_max") == Approx(sent.v_max).margin(5e-7));
  CHECK(num("sent_v_min") == Approx(sent.v_min).margin(5e-7));
  CHECK(num("sent_t_max") == Approx(sent.t_max_k - 273.15).margin(5e-5));
  CHECK(std::fabs(num("sent_v_max") - num("cell_v_max")) < 0.01);
  CHECK(std::fabs(num("sent_v_max") - ref.cell_v_max_v) < 0.001);

  // summary.json: the bms section for any BMS, the reference one's own fields beside it.
  const std::string summary = slurp(out / "summary.json");
  CHECK(summary.find("\"mode\": \"reference\"") != std::string::npos);
  CHECK(summary.find("\"reported_fault\": null") != std::string::npos);
  CHECK(summary.find("\"states_dropped\": 0") != std::string::npos);
  const auto states = session.bms_track().states;
  REQUIRE(states.size() >= 3);
  CHECK(states.back().state == 4);  // normal
  for (std::size_t k = 1; k < states.size(); ++k) {
    CHECK(states[k].time_ns > states[k - 1].time_ns);
    CHECK(states[k].state != states[k - 1].state);
  }
  // precharge -> closing -> normal in order, as the reference BMS sequences them.
  CHECK(states[states.size() - 3].state == 2);
  CHECK(states[states.size() - 2].state == 3);
  CHECK(summary.find("\"state\": \"precharge\"") != std::string::npos);
  CHECK(summary.find("\"bms_soc\": {") != std::string::npos);
  CHECK(summary.find("\"faults\": \"\"") != std::string::npos);  // the reference BMS's own
  std::filesystem::remove_all(out);
}
