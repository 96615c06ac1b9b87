// The codec and E2E paths run on the real-time thread: they must not allocate. This test binary
// counts heap allocations (alloc_counter.cpp) and runs those paths many times.

#include <catch2/catch.hpp>

#include "alloc_counter.hpp"
#include "can_test_util.hpp"
#include "packsim/can/codec.hpp"
#include "packsim/can/e2e.hpp"

using namespace packsim::can;

TEST_CASE("encode, decode and E2E do not allocate", "[can][codec][e2e]") {
  Signal crc = test::make_signal("Crc", 7, 8, ByteOrder::kBigEndian);
  Signal counter = test::make_signal("Counter", 8, 4, ByteOrder::kLittleEndian);
  Signal sel = test::make_signal("Sel", 12, 4, ByteOrder::kLittleEndian);
  sel.mux_role = MuxRole::kMultiplexor;
  Signal v = test::make_signal("V", 23, 13, ByteOrder::kBigEndian, true, 0.1, -40);
  v.mux_role = MuxRole::kMultiplexed;
  v.mux_value = 3;
  Signal f = test::make_signal("F", 32, 32, ByteOrder::kLittleEndian);
  f.value_type = ValueType::kFloat32;
  const MessageCodec c(test::make_message(8, {crc, counter, sel, v, f}));
  E2EProtector tx(c, 1, 0, E2EConfig{0x77, DataIdMode::kBothBytes, 1});
  E2EChecker rx(c, 1, 0, E2EConfig{0x77, DataIdMode::kBothBytes, 1});
  CanFrame frame;

  packsim::test::start_counting_allocations();
  double sum = 0;
  int ok = 0;
  for (int i = 0; i < 1000; ++i) {
    c.prepare_frame(frame);
    c.encode(3, 20.0 + 0.1 * i, frame);
    c.encode(4, 1.5 * i, frame);
    tx.protect(frame.data.data());
    sum += c.decode(3, frame).value + c.decode(4, frame.data.data());
    sum += static_cast<double>(c.get_raw_signed(3, frame.data.data()));
    ok += rx.check(frame.data.data()) != E2EStatus::kBadCrc ? 1 : 0;
  }
  CHECK(packsim::test::stop_counting_allocations() == 0);
  CHECK(ok == 1000);
  CHECK(sum != 0.0);
  // The counter works: a vector allocation is seen.
  packsim::test::start_counting_allocations();
  auto* probe = new std::vector<int>(10);
  delete probe;
  CHECK(packsim::test::stop_counting_allocations() > 0);
}
