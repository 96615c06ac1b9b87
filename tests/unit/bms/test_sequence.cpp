// Contactor sequence: init, precharge, overlap, normal, opening in order, precharge failure.

#include <catch2/catch.hpp>
#include <cmath>
#include <map>
#include <string>

#include "bms_test_util.hpp"

using namespace packsim::bms;
using namespace packsim::bms::test;

namespace {

// The contactor pattern each state must command.
void check_pattern(const BmsOutputs& o) {
  const auto& k = o.contactors;
  switch (o.state) {
    case BmsState::kPrecharge:
      CHECK((!k.main_pos && k.main_neg && k.precharge));
      break;
    case BmsState::kClosing:
      CHECK((k.main_pos && k.main_neg && k.precharge));
      break;
    case BmsState::kNormal:
      CHECK((k.main_pos && k.main_neg && !k.precharge));
      break;
    case BmsState::kOpening:
      CHECK((!k.main_pos && k.main_neg && !k.precharge));
      break;
    default:
      CHECK(all_open(o));
  }
}

// Records the time each state was first entered.
struct Transitions {
  std::map<BmsState, std::int64_t> entered;
  BmsState last = BmsState::kInit;
  void see(const BmsOutputs& o, std::int64_t t) {
    if (o.state != last && entered.count(o.state) == 0) entered[o.state] = t;
    last = o.state;
  }
  std::int64_t at(BmsState s) const {
    const auto it = entered.find(s);
    return it == entered.end() ? -1 : it->second;
  }
};

}  // namespace

TEST_CASE("contactor sequence with an RC precharge, 10 ms cycle", "[bms][sequence]") {
  Rig r(small_config());
  const double pack = r.in.pack_v;  // 33.3 V
  r.step(0);
  // Every source delivered at the first update: init is over at once.
  CHECK(r.out.state == BmsState::kStandby);
  CHECK(all_open(r.out));
  CHECK(r.out.faults == Fault::kNone);

  Transitions tr;
  r.in.drive_request = true;
  // The link charges with tau = 100 ms from the moment precharge closes (10 ms). It reaches
  // 95 % at 10 ms + 0.1 s * ln 20 = 309.57 ms: the first update at or after is 310 ms.
  for (std::int64_t t = ms(10); t <= ms(990); t += ms(10)) {
    r.in.link_v = pack * (1.0 - std::exp(-static_cast<double>(t - ms(10)) * 1e-9 / 0.1));
    r.step(t);
    tr.see(r.out, t);
    check_pattern(r.out);
  }
  CHECK(tr.at(BmsState::kPrecharge) == ms(10));
  CHECK(tr.at(BmsState::kClosing) == ms(310));
  CHECK(tr.at(BmsState::kNormal) == ms(360));  // 50 ms overlap
  CHECK(r.out.state == BmsState::kNormal);

  // Dropping the request opens main+ first, main- 50 ms later.
  r.in.drive_request = false;
  for (std::int64_t t = ms(1000); t <= ms(1100); t += ms(10)) {
    r.step(t);
    tr.see(r.out, t);
    check_pattern(r.out);
    if (t < ms(1050)) {
      CHECK(r.out.state == BmsState::kOpening);
      CHECK(r.out.contactors.main_neg);
      CHECK_FALSE(r.out.contactors.main_pos);
    }
  }
  CHECK(tr.at(BmsState::kOpening) == ms(1000));
  CHECK(r.out.state == BmsState::kStandby);
  CHECK(all_open(r.out));
  CHECK(r.out.faults == Fault::kNone);
}

TEST_CASE("precharge lasts at least the minimum time, rounded up to the cycle", "[bms][sequence]") {
  Rig r(small_config());
  r.in.link_v = r.in.pack_v;  // already at the pack voltage
  Transitions tr;
  // 7 ms cycle: request seen at 7 ms, minimum 100 ms -> first update >= 107 ms is 112 ms;
  // overlap 50 ms -> first update >= 162 ms is 168 ms.
  for (std::int64_t t = 0; t <= ms(700); t += ms(7)) {
    r.in.drive_request = t >= ms(7);
    r.step(t);
    tr.see(r.out, t);
    check_pattern(r.out);
  }
  CHECK(tr.at(BmsState::kPrecharge) == ms(7));
  CHECK(tr.at(BmsState::kClosing) == ms(112));
  CHECK(tr.at(BmsState::kNormal) == ms(168));
  CHECK(r.out.state == BmsState::kNormal);
}

TEST_CASE("precharge of exactly the minimum time on a 10 ms cycle", "[bms][sequence]") {
  Rig r(small_config());
  r.in.link_v = r.in.pack_v;
  r.step(0);
  r.in.drive_request = true;
  Transitions tr;
  for (std::int64_t t = ms(10); t <= ms(300); t += ms(10)) {
    r.step(t);
    tr.see(r.out, t);
  }
  CHECK(tr.at(BmsState::kPrecharge) == ms(10));
  CHECK(tr.at(BmsState::kClosing) == ms(110));  // 10 ms + 100 ms
  CHECK(tr.at(BmsState::kNormal) == ms(160));   // + 50 ms overlap
}

TEST_CASE("precharge waits for valid measurements and a valid link voltage", "[bms][sequence]") {
  Rig r(small_config());
  r.in.link_v = r.in.pack_v;
  r.in.drive_request = true;
  r.cell_ok[3] = 0;  // one channel invalid: not healthy, stay in standby
  r.run(0, ms(100), ms(10));
  CHECK(r.out.state == BmsState::kStandby);
  r.cell_ok[3] = 1;
  r.step(ms(110));
  CHECK(r.out.state == BmsState::kPrecharge);
  // An invalid link voltage cannot prove the precharge: it keeps precharging.
  r.in.link_v_valid = false;
  r.run(ms(120), ms(400), ms(10));
  CHECK(r.out.state == BmsState::kPrecharge);
  r.in.link_v_valid = true;
  r.step(ms(410));
  CHECK(r.out.state == BmsState::kClosing);
}

TEST_CASE("precharge that does not reach the ratio fails at exactly the maximum time",
          "[bms][sequence][fault]") {
  Rig r(small_config());
  r.in.link_v = 0.5 * r.in.pack_v;  // a shorted or too large DC link
  r.in.drive_request = true;
  r.step(0);  // standby
  r.step(ms(10));
  REQUIRE(r.out.state == BmsState::kPrecharge);
  r.run(ms(20), ms(5000), ms(10), [&](std::int64_t) { check_pattern(r.out); });
  // Maximum 5 s from 10 ms: still precharging at 5000 ms, failed at 5010 ms.
  CHECK(r.out.state == BmsState::kPrecharge);
  CHECK(r.out.contactors.precharge);
  r.step(ms(5010));
  CHECK(r.out.state == BmsState::kFault);
  CHECK(all_open(r.out));
  CHECK(r.out.faults == Fault::kPrechargeFailed);
  CHECK(r.out.first_fault == Fault::kPrechargeFailed);
  CHECK(r.out.first_fault_onset_ns == ms(10));
  CHECK(r.out.first_fault_ns == ms(5010));

  // Reset clears it (nothing to wait for), but the still-raised request does not reconnect.
  r.in.fault_reset = true;
  r.step(ms(5020));
  CHECK(r.out.faults == Fault::kNone);
  CHECK(r.out.first_fault == Fault::kNone);
  CHECK(r.out.state == BmsState::kStandby);
  r.in.fault_reset = false;
  r.run(ms(5030), ms(5500), ms(10));
  CHECK(r.out.state == BmsState::kStandby);
  CHECK(all_open(r.out));
  // A renewed request does.
  r.in.drive_request = false;
  r.step(ms(5510));
  r.in.drive_request = true;
  r.in.link_v = r.in.pack_v;
  r.step(ms(5520));
  CHECK(r.out.state == BmsState::kPrecharge);
}

TEST_CASE("precharge reaching the ratio exactly at the maximum time succeeds", "[bms][sequence]") {
  Rig r(small_config());
  r.in.drive_request = true;
  r.in.link_v = 0.9 * r.in.pack_v;
  r.step(0);
  r.step(ms(10));
  r.run(ms(20), ms(5000), ms(10));
  REQUIRE(r.out.state == BmsState::kPrecharge);
  r.in.link_v = 0.96 * r.in.pack_v;
  r.step(ms(5010));
  CHECK(r.out.state == BmsState::kClosing);
  CHECK(r.out.faults == Fault::kNone);
}

TEST_CASE("dropping the request during precharge or overlap opens in order", "[bms][sequence]") {
  for (const std::int64_t drop_at : {ms(50), ms(130)}) {
    Rig r(small_config());
    r.in.link_v = r.in.pack_v;
    r.in.drive_request = true;
    r.run(0, drop_at - ms(10), ms(10));
    // 50 ms: precharging (minimum 100 ms); 130 ms: closing (main+ at 110 ms, overlap to 160 ms).
    CHECK(r.out.state == (drop_at == ms(50) ? BmsState::kPrecharge : BmsState::kClosing));
    r.in.drive_request = false;
    r.step(drop_at);
    CHECK(r.out.state == BmsState::kOpening);
    CHECK((!r.out.contactors.main_pos && r.out.contactors.main_neg && !r.out.contactors.precharge));
    r.step(drop_at + ms(40));
    CHECK(r.out.state == BmsState::kOpening);
    r.step(drop_at + ms(50));
    CHECK(r.out.state == BmsState::kStandby);
    CHECK(all_open(r.out));
  }
}

TEST_CASE("a fault during precharge, overlap or normal opens all contactors at once",
          "[bms][sequence][fault]") {
  for (const std::int64_t fault_at : {ms(50), ms(130), ms(400)}) {
    BmsConfig c = small_config();
    c.oc_discharge_delay_ns = 0;
    Rig r(c);
    r.in.link_v = r.in.pack_v;
    r.in.drive_request = true;
    r.run(0, fault_at - ms(10), ms(10));
    CHECK_FALSE(all_open(r.out));
    r.in.current_a = 80.0;
    r.step(fault_at);
    CHECK(r.out.state == BmsState::kFault);
    CHECK(all_open(r.out));
    CHECK(r.out.first_fault_ns == fault_at);
  }
}

TEST_CASE("state and fault names", "[bms]") {
  CHECK(std::string(to_string(BmsState::kPrecharge)) == "precharge");
  CHECK(std::string(to_string(BmsState::kFault)) == "fault");
  CHECK(std::string(to_string(Fault::kAfeDataCorrupt)) == "AFE data corrupt");
  CHECK(std::string(to_string(Fault::kOverVoltage | Fault::kUnderVoltage)).empty());
  CHECK(has_fault(Fault::kOverVoltage | Fault::kOverTemp, Fault::kOverTemp));
  CHECK_FALSE(has_fault(Fault::kOverVoltage | Fault::kOverTemp, Fault::kUnderTemp));
}
