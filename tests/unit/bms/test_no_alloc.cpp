// update() runs on the real-time thread: it must not allocate. This binary counts heap
// allocations (alloc_counter.cpp) and drives the BMS through every path many times.

#include <algorithm>
#include <catch2/catch.hpp>

#include "alloc_counter.hpp"
#include "bms_test_util.hpp"

using namespace packsim::bms;
using namespace packsim::bms::test;

TEST_CASE("update does not allocate", "[bms][noalloc]") {
  BmsConfig c = small_config();
  c.rest_ns = sec(1);
  Rig r(c);                   // construction may allocate
  std::uint32_t visited = 0;  // bit per state (a std::set would allocate in the counted loop)
  Fault seen = Fault::kNone;
  int balancing = 0;

  packsim::test::start_counting_allocations();
  std::int64_t t = 0;
  // Module 0 late: the first updates are in init.
  r.voltage_silent[0] = 1;
  for (int k = 0; k < 5; ++k) {
    r.step(t += ms(10));
    visited |= 1u << static_cast<unsigned>(r.out.state);
  }
  r.voltage_silent[0] = 0;
  for (int cycle = 0; cycle < 20; ++cycle) {
    // Connect, balance, drive, trip a different fault each cycle, reset, disconnect.
    r.in.drive_request = false;
    r.in.fault_reset = false;
    r.in.link_v = 0.0;
    std::fill(r.cell_v.begin(), r.cell_v.end(), 3.7);
    r.cell_v[static_cast<std::size_t>(cycle % 9)] = 3.75;
    r.step(t += ms(10));
    r.in.drive_request = true;
    for (int k = 0; k < 100; ++k) {
      r.in.link_v = r.in.pack_v * (k < 20 ? 0.05 * k : 1.0);
      r.in.current_a = k < 50 ? 0.0 : 30.0;
      r.step(t += ms(10));
      visited |= 1u << static_cast<unsigned>(r.out.state);
      for (std::uint8_t b : r.out.balance) balancing += b;
    }
    if (cycle % 2 == 0) {  // disconnect and reconnect
      r.in.drive_request = false;
      for (int k = 0; k < 10; ++k) {
        r.step(t += ms(10));
        visited |= 1u << static_cast<unsigned>(r.out.state);
      }
      r.in.drive_request = true;
      for (int k = 0; k < 60; ++k) r.step(t += ms(10));
    }
    switch (cycle % 5) {
      case 0:
        r.cell_v[2] = 4.5;
        break;
      case 1:
        r.in.current_a = 80.0;
        break;
      case 2:
        r.voltage_silent[1] = 1;
        break;
      case 3:
        r.in.rejected_crc += 10;
        break;
      case 4:
        r.temp_ok[1] = 0;
        break;
    }
    for (int k = 0; k < 150; ++k) r.step(t += ms(10));
    seen |= r.out.faults;
    visited |= 1u << static_cast<unsigned>(r.out.state);
    r.cell_v[2] = 3.7;
    r.in.current_a = 0.0;
    r.voltage_silent[1] = 0;
    r.temp_ok[1] = 1;
    for (int k = 0; k < 110; ++k) r.step(t += ms(10));
    r.in.fault_reset = true;
    r.in.drive_request = false;
    for (int k = 0; k < 10; ++k) {
      r.step(t += ms(10));
      visited |= 1u << static_cast<unsigned>(r.out.state);
    }
  }
  CHECK(packsim::test::stop_counting_allocations() == 0);
  CHECK(visited == 0x7Fu);  // all seven states
  CHECK(has_fault(seen, Fault::kOverVoltage));
  CHECK(has_fault(seen, Fault::kAfeDataLost));
  CHECK(has_fault(seen, Fault::kAfeDataCorrupt));
  CHECK(balancing > 0);
  // The counter works: a vector allocation is seen.
  packsim::test::start_counting_allocations();
  auto* probe = new std::vector<int>(10);
  delete probe;
  CHECK(packsim::test::stop_counting_allocations() > 0);
}
