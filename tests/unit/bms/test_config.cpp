// Config defaults and validation, OCV from the cell model, determinism.

#include <catch2/catch.hpp>
#include <cstdint>
#include <cstring>
#include <set>
#include <stdexcept>
#include <string>

#include "bms_test_util.hpp"
#include "packsim/model/cell.hpp"

using namespace packsim::bms;
using namespace packsim::bms::test;

namespace {

bool mentions(const std::vector<std::string>& problems, const std::string& what) {
  for (const auto& p : problems) {
    if (p.find(what) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("default config: documented defaults, valid", "[bms][config]") {
  const BmsConfig c = small_config();
  CHECK(validate_bms_config(c).empty());
  CHECK(c.n_cells == 9);
  CHECK(c.n_modules == 3);  // ceil(9 / 4)
  CHECK(c.n_sensors == 3);
  CHECK(c.cell_ov_v == 4.2);
  CHECK(c.cell_uv_v == 3.0);
  CHECK(c.ov_delay_ns == ms(500));
  CHECK(c.uv_delay_ns == ms(500));
  CHECK(c.ot_k == Approx(333.15));
  CHECK(c.ut_k == Approx(253.15));
  CHECK(c.ot_delay_ns == sec(1));
  CHECK(c.oc_discharge_a == Approx(50.0));  // 5 C of 10 Ah
  CHECK(c.oc_charge_a == Approx(20.0));     // 2 C
  CHECK(c.oc_discharge_delay_ns == ms(100));
  CHECK(c.afe_timeout_ns == ms(500));
  CHECK(c.current_timeout_ns == ms(500));
  CHECK(c.precharge_ratio == 0.95);
  CHECK(c.precharge_min_ns == ms(100));
  CHECK(c.precharge_max_ns == sec(5));
  CHECK(c.precharge_overlap_ns == ms(50));
  CHECK(c.balance_on_v == 0.010);
  CHECK(c.balance_off_v == 0.005);
  CHECK(c.balance_min_cell_v == Approx(3.6));
  CHECK(c.rest_current_a == Approx(0.1));  // C/100
}

TEST_CASE("validation lists every problem", "[bms][config]") {
  BmsConfig c = small_config();
  c.n_modules = 2;
  c.sensor_module = {0, 5, 1};
  c.ocv_v = {3.0, 3.5, 3.4, 4.2};
  c.ocv_soc = {0.0, 1.0};
  c.cell_uv_v = 4.3;
  c.precharge_min_ns = sec(6);
  c.precharge_ratio = 1.2;
  c.balance_off_v = 0.02;
  c.afe_timeout_ns = 0;
  c.corrupt_limit = -1;
  c.capacity_as = 0.0;
  c.oc_charge_a = -20.0;
  const auto p = validate_bms_config(c);
  CHECK(mentions(p, "n_modules must be ceil(n_cells / cells_per_module) = 3 (got 2)"));
  CHECK(mentions(p, "sensor_module[1] = 5 is not a module"));
  CHECK(mentions(p, "ocv_v must be strictly increasing (ocv_v[2]"));
  CHECK(mentions(p, "ocv_soc must be empty"));
  CHECK(mentions(p, "cell_uv_v must be below cell_ov_v"));
  CHECK(mentions(p, "precharge_min_ns must not exceed precharge_max_ns"));
  CHECK(mentions(p, "precharge_ratio must be in (0, 1]"));
  CHECK(mentions(p, "balance_off_v must be in [0, balance_on_v]"));
  CHECK(mentions(p, "afe_timeout_ns must be > 0"));
  CHECK(mentions(p, "corrupt_limit must be in [0, "));
  CHECK(mentions(p, "capacity_as must be > 0"));
  CHECK(mentions(p, "oc_charge_a must be > 0"));
  CHECK(p.size() == 12);
  CHECK_THROWS_AS(RefBms(c), std::invalid_argument);
  try {
    RefBms bms(c);
  } catch (const std::invalid_argument& e) {
    CHECK(std::string(e.what()).find("sensor_module[1] = 5") != std::string::npos);
  }
}

TEST_CASE("validation: topology and NaN", "[bms][config]") {
  BmsConfig c = small_config();
  c.n_cells = 0;
  c.cells_per_module = 0;
  c.n_sensors = 2;
  c.ocv_v = {3.0};
  c.ot_k = std::nan("");
  const auto p = validate_bms_config(c);
  CHECK(mentions(p, "n_cells must be >= 1"));
  CHECK(mentions(p, "cells_per_module must be >= 1"));
  CHECK(mentions(p, "sensor_module must have n_sensors = 2 entries (got 3)"));
  CHECK(mentions(p, "ocv_v needs at least 2 points"));
  CHECK(mentions(p, "ut_k must be below ot_k"));
}

TEST_CASE("OCV table from the cell model, plateaus dropped", "[bms][config]") {
  namespace model = packsim::model;
  model::CellType cell;
  cell.ocv = model::GridTable(model::UniformAxis{0.0, 0.25, 5}, model::UniformAxis{298.15, 10.0, 2},
                              model::kOcvFields);
  const double at_25c[] = {3.0, 3.5, 3.5, 3.9, 4.2};
  for (int i = 0; i < 5; ++i) {
    cell.ocv.at(i, 0, model::kOcv) = at_25c[i];
    cell.ocv.at(i, 1, model::kOcv) = at_25c[i] + 0.02;
  }
  BmsConfig c = small_config();
  set_ocv_from_cell(c, cell, 303.15);  // halfway between the two temperatures: +0.01 V
  CHECK(c.ocv_soc == std::vector<double>{0.0, 0.25, 0.75, 1.0});
  REQUIRE(c.ocv_v.size() == 4);
  CHECK(c.ocv_v[0] == Approx(3.01));
  CHECK(c.ocv_v[1] == Approx(3.51));
  CHECK(c.ocv_v[2] == Approx(3.91));
  CHECK(c.ocv_v[3] == Approx(4.21));
  CHECK(validate_bms_config(c).empty());
  const RefBms bms(c);
  CHECK(bms.soc_from_ocv(3.71) == Approx(0.5));
}

// --- Determinism -----------------------------------------------------------------------------

namespace {

// Bitwise comparison, so NaN or -0.0 differences would show.
template <typename T>
bool same_bits(const T& a, const T& b) {
  return std::memcmp(&a, &b, sizeof(T)) == 0;
}

bool same(const BmsOutputs& a, const BmsOutputs& b) {
  return a.contactors.main_pos == b.contactors.main_pos &&
         a.contactors.main_neg == b.contactors.main_neg &&
         a.contactors.precharge == b.contactors.precharge && a.balance == b.balance &&
         a.state == b.state && a.faults == b.faults && a.first_fault == b.first_fault &&
         a.first_fault_cell == b.first_fault_cell && a.first_fault_sensor == b.first_fault_sensor &&
         a.first_fault_module == b.first_fault_module &&
         a.first_fault_onset_ns == b.first_fault_onset_ns && a.first_fault_ns == b.first_fault_ns &&
         same_bits(a.soc, b.soc) && a.soc_valid == b.soc_valid &&
         same_bits(a.cell_v_min_v, b.cell_v_min_v) && same_bits(a.cell_v_max_v, b.cell_v_max_v) &&
         a.cell_v_min_index == b.cell_v_min_index && a.cell_v_max_index == b.cell_v_max_index &&
         same_bits(a.temp_min_k, b.temp_min_k) && same_bits(a.temp_max_k, b.temp_max_k) &&
         a.temp_min_index == b.temp_min_index && a.temp_max_index == b.temp_max_index;
}

struct Lcg {
  std::uint64_t s;
  std::uint32_t next() {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<std::uint32_t>(s >> 33);
  }
  double uniform() { return static_cast<double>(next()) / 2147483648.0; }  // [0, 1)
  bool chance(double p) { return uniform() < p; }
};

// A busy random script: an irregular cycle, noise and dropouts, and every ~2 s a new episode
// (healthy, or one fault condition), with request and reset toggles.
struct Script {
  Lcg g;
  int episode = 0;
  std::int64_t episode_end = 0;

  void next(Rig& r, std::int64_t& t) {
    t += ms(1) + static_cast<std::int64_t>(g.next() % 9'000'000u);
    if (t >= episode_end) {
      episode = static_cast<int>(g.next() % 9u);
      episode_end = t + ms(500) + static_cast<std::int64_t>(g.next() % 3'000'000'000u);
    }
    for (std::size_t c = 0; c < r.cell_v.size(); ++c) {
      r.cell_v[c] = 3.7 + 0.03 * (g.uniform() - 0.5);
      r.cell_ok[c] = g.chance(0.001) ? 0 : 1;
    }
    for (std::size_t s = 0; s < r.temp_k.size(); ++s) {
      r.temp_k[s] = 300.0 + 5.0 * g.uniform();
      r.temp_ok[s] = 1;
    }
    r.in.current_a = 0.3 * (g.uniform() - 0.5);
    r.in.link_v = r.in.pack_v;
    r.voltage_silent[1] = g.chance(0.05) ? 1 : 0;
    r.current_silent = g.chance(0.02);
    switch (episode) {
      case 1:
        r.cell_v[3] += 0.6;
        break;
      case 2:
        r.in.current_a = 45.0 + 20.0 * g.uniform();
        break;
      case 3:
        r.voltage_silent[1] = 1;
        break;
      case 4:
        if (g.chance(0.1)) ++r.in.rejected_crc;
        break;
      case 5:
        r.in.link_v = 0.5 * r.in.pack_v;
        break;
      case 6:
        r.temp_ok[2] = 0;
        break;
      case 7:
        r.temp_k[0] = 330.0 + 10.0 * g.uniform();
        break;
      default:
        break;
    }
    if (g.chance(0.003)) r.in.drive_request = !r.in.drive_request;
    r.in.fault_reset = g.chance(0.01);
  }
};

}  // namespace

TEST_CASE("update is deterministic", "[bms][determinism]") {
  const BmsConfig c = small_config();
  Rig a(c);
  Rig b(c);
  Script sa{Lcg{42}};
  Script sb{Lcg{42}};
  std::int64_t ta = 0;
  std::int64_t tb = 0;
  std::set<BmsState> visited;
  std::set<std::uint32_t> faults_seen;
  std::set<double> soc_seen;
  int mismatches = 0;
  for (int k = 0; k < 100'000; ++k) {
    sa.next(a, ta);
    sb.next(b, tb);
    a.step(ta);
    b.step(tb);
    if (!same(a.out, b.out)) ++mismatches;
    visited.insert(a.out.state);
    faults_seen.insert(static_cast<std::uint32_t>(a.out.faults));
    soc_seen.insert(a.out.soc);
  }
  CHECK(mismatches == 0);
  // The script exercised the machine (otherwise the comparison proves little).
  CHECK(visited.size() == 6);  // all but init (every source delivers from the start)
  CHECK(faults_seen.size() >= 8);
  CHECK(soc_seen.size() > 1000);
  // The comparison itself can fail.
  BmsOutputs other = a.out;
  other.soc = std::nextafter(other.soc, 2.0);
  CHECK_FALSE(same(a.out, other));
}
