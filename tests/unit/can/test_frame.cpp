#include <catch2/catch.hpp>

#include "packsim/can/frame.hpp"

using namespace packsim::can;

TEST_CASE("DLC maps to the CAN FD payload lengths of ISO 11898-1", "[can][frame]") {
  // DLC 0..8 are byte counts; 9..15 are 12, 16, 20, 24, 32, 48, 64 bytes on CAN FD.
  const std::uint8_t expected[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 20, 24, 32, 48, 64};
  for (std::uint8_t dlc = 0; dlc < 16; ++dlc) {
    CHECK(dlc_to_len(dlc) == expected[dlc]);
    CHECK(len_to_dlc(expected[dlc]) == dlc);
  }
  CHECK(dlc_to_len(99) == 64);  // out-of-range DLC treated as 15
}

TEST_CASE("classic CAN caps DLC 9..15 at 8 bytes", "[can][frame]") {
  for (std::uint8_t dlc = 8; dlc < 16; ++dlc) CHECK(dlc_to_len(dlc, false) == 8);
  CHECK(dlc_to_len(5, false) == 5);
}

TEST_CASE("len_to_dlc rounds up to the next FD length", "[can][frame]") {
  CHECK(len_to_dlc(9) == 9);    // 9 bytes need a 12-byte frame
  CHECK(len_to_dlc(13) == 10);  // 16
  CHECK(len_to_dlc(21) == 12);  // 24
  CHECK(len_to_dlc(33) == 14);  // 48
  CHECK(len_to_dlc(49) == 15);  // 64
  CHECK(len_to_dlc(200) == 15);
  CHECK(fd_padded_len(10) == 12);
  CHECK(fd_padded_len(25) == 32);
  CHECK(fd_padded_len(7) == 7);
}

TEST_CASE("valid lengths depend on the frame format", "[can][frame]") {
  CHECK(is_valid_len(8, false));
  CHECK_FALSE(is_valid_len(9, false));
  CHECK(is_valid_len(12, true));
  CHECK_FALSE(is_valid_len(10, true));
  CHECK(is_valid_len(64, true));
  CHECK_FALSE(is_valid_len(65, true));
}

TEST_CASE("frame validity checks id width, length and FD-only flags", "[can][frame]") {
  CanFrame f;
  f.id = 0x7FF;
  f.len = 8;
  CHECK(is_valid_frame(f));
  f.id = 0x800;  // needs 12 bits
  CHECK_FALSE(is_valid_frame(f));
  f.extended = true;
  CHECK(is_valid_frame(f));
  f.id = 0x20000000;  // needs 30 bits
  CHECK_FALSE(is_valid_frame(f));
  f.id = 0x123;
  f.brs = true;  // bit-rate switch exists only on FD frames
  CHECK_FALSE(is_valid_frame(f));
  f.fd = true;
  f.len = 48;
  CHECK(is_valid_frame(f));
  f.rtr = true;  // FD has no remote frames
  CHECK_FALSE(is_valid_frame(f));
}

TEST_CASE("frame equality ignores bytes beyond len", "[can][frame]") {
  CanFrame a, b;
  a.id = b.id = 0x10;
  a.len = b.len = 2;
  a.data[0] = b.data[0] = 0xAA;
  a.data[5] = 0x11;  // beyond len: don't care
  CHECK(a == b);
  b.data[1] = 0x01;
  CHECK(a != b);
}
