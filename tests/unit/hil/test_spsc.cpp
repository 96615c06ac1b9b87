// The SPSC ring between two threads: every record arrives once, in order, with nothing torn
// (run under ThreadSanitizer by tools/bootstrap test).
#include <catch2/catch.hpp>
#include <thread>

#include "packsim/hil/spsc_ring.hpp"

using packsim::hil::SpscRing;

namespace {
struct Record {
  std::uint64_t seq = 0;
  std::uint64_t check = 0;  // a function of seq: a torn copy would not match
  std::vector<double> payload;
};
}  // namespace

TEST_CASE("SPSC ring: single thread basics", "[spsc]") {
  SpscRing<int> r(5);
  CHECK(r.capacity() == 8);
  for (int k = 0; k < 8; ++k) CHECK(r.try_push(k));
  CHECK_FALSE(r.try_push(99));  // full: refused, not blocked
  int v = -1;
  for (int k = 0; k < 8; ++k) {
    REQUIRE(r.try_pop(v));
    CHECK(v == k);
  }
  CHECK_FALSE(r.try_pop(v));
}

TEST_CASE("SPSC ring: two threads, a million records, in order", "[spsc]") {
  constexpr std::uint64_t kCount = 1'000'000;
  Record proto;
  proto.payload.assign(16, 0.0);
  SpscRing<Record> ring(1024, proto);
  std::uint64_t refused = 0;
  std::thread producer([&]() {
    Record r = proto;
    for (std::uint64_t k = 0; k < kCount; ++k) {
      r.seq = k;
      r.check = k * 2654435761u;
      r.payload[15] = static_cast<double>(k);
      while (!ring.try_push(r)) {
        ++refused;
        std::this_thread::yield();
      }
    }
  });
  Record got = proto;
  std::uint64_t expected = 0;
  bool in_order = true;
  while (expected < kCount) {
    if (!ring.try_pop(got)) {
      std::this_thread::yield();
      continue;
    }
    in_order = in_order && got.seq == expected && got.check == expected * 2654435761u &&
               got.payload[15] == static_cast<double>(expected);
    ++expected;
  }
  producer.join();
  CHECK(in_order);
  CHECK(expected == kCount);
  CHECK_FALSE(ring.try_pop(got));
}
