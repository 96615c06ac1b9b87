// CRC-8 SAE J1850 and the E2E alive-counter/CRC protection. Reference CRCs come from the AUTOSAR
// SWS CRC Library test table and were re-computed with an independent bit-by-bit
// implementation (polynomial division, MSB first) before being written here.

#include <array>
#include <catch2/catch.hpp>
#include <cstring>
#include <string>
#include <vector>

#include "packsim/can/crc.hpp"
#include "packsim/can/dbc.hpp"
#include "packsim/can/e2e.hpp"

using namespace packsim::can;

namespace {

std::uint8_t crc_of(std::initializer_list<std::uint8_t> bytes) {
  const std::vector<std::uint8_t> v(bytes);
  return crc8_j1850(v.data(), v.size());
}

// Safety frame: CRC in byte 0 (Motorola, MSB bit 7), counter in byte 1 bits 0..3 (Intel),
// payload value in bytes 2..3.
const char* kSafetyDbc =
    "BO_ 256 Safety: 8 Vector__XXX\n"
    " SG_ Crc : 7|8@0+ (1,0) [0|255] \"\" Vector__XXX\n"
    " SG_ Counter : 8|4@1+ (1,0) [0|15] \"\" Vector__XXX\n"
    " SG_ Value : 16|16@1+ (1,0) [0|65535] \"\" Vector__XXX\n"
    " SG_ Unaligned : 36|8@1+ (1,0) [0|255] \"\" Vector__XXX\n"
    " SG_ Wide : 48|5@1+ (1,0) [0|31] \"\" Vector__XXX\n";

MessageCodec safety_codec() {
  auto r = parse_dbc(kSafetyDbc, "safety.dbc");
  REQUIRE(r.ok());
  return MessageCodec(r.database.messages[0]);
}

using Payload = std::array<std::uint8_t, 8>;

}  // namespace

TEST_CASE("CRC-8 SAE J1850 check value and AUTOSAR test vectors", "[can][crc]") {
  const char* check = "123456789";
  CHECK(crc8_j1850(reinterpret_cast<const std::uint8_t*>(check), 9) == 0x4B);
  CHECK(crc_of({0x00, 0x00, 0x00, 0x00}) == 0x59);
  CHECK(crc_of({0xF2, 0x01, 0x83}) == 0x37);
  CHECK(crc_of({0x0F, 0xAA, 0x00, 0x55}) == 0x79);
  CHECK(crc_of({0x00, 0xFF, 0x55, 0x11}) == 0xB8);
  CHECK(crc_of({0x33, 0x22, 0x55, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF}) == 0xCB);
  CHECK(crc_of({0x92, 0x6B, 0x55}) == 0x8C);
  CHECK(crc_of({0xFF, 0xFF, 0xFF, 0xFF}) == 0x74);
  CHECK(crc8_j1850(nullptr, 0) == 0x00);  // init 0xFF xor final 0xFF
}

TEST_CASE("CRC table entries follow the polynomial", "[can][crc]") {
  // Byte 0x01 shifted 8 times: 0x01 -> 0x80 after 7 shifts, then 0x80<<1 ^ 0x1D = 0x1D.
  CHECK(kCrc8J1850Table[0x01] == 0x1D);
  CHECK(kCrc8J1850Table[0x00] == 0x00);
  // Byte 0x80, eight shifts (XOR 0x1D whenever a 1 leaves bit 7):
  // 0x80 -> 0x1D -> 0x3A -> 0x74 -> 0xE8 -> 0xCD -> 0x87 -> 0x13 -> 0x26.
  CHECK(kCrc8J1850Table[0x80] == 0x26);
}

TEST_CASE("split CRC computation equals the one-shot CRC", "[can][crc]") {
  const std::uint8_t data[] = {0x12, 0x34, 0x56, 0x78, 0x9A};
  std::uint8_t reg = kCrc8J1850Init;
  reg = crc8_j1850_update(reg, data, 2);
  reg = crc8_j1850_update(reg, data + 2, 3);
  CHECK(static_cast<std::uint8_t>(reg ^ kCrc8J1850XorOut) == crc8_j1850(data, 5));
}

TEST_CASE("E2E protect writes counter and CRC at the DBC positions", "[can][e2e]") {
  const MessageCodec c = safety_codec();
  E2EConfig cfg;
  cfg.data_id = 0x1234;
  cfg.data_id_mode = DataIdMode::kBothBytes;
  E2EProtector p(c, c.find("Counter"), c.find("Crc"), cfg);
  CHECK(p.layout().crc_byte == 0);
  Payload d = {0x00, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66};
  p.set_next_counter(5);
  p.protect(d.data());
  // Counter 5 -> byte 1 = 0x05. CRC over 34 12 (data id, low byte first) 05 11 22 33 44 55 66
  // = 0xD5 (bitwise reference implementation).
  CHECK(d[1] == 0x05);
  CHECK(d[0] == 0xD5);
  CHECK(p.next_counter() == 6);

  // One-byte data id: CRC over 34 05 11 22 33 44 55 66 = 0x1B.
  cfg.data_id_mode = DataIdMode::kLowByte;
  E2EProtector q(c, c.find("Counter"), c.find("Crc"), cfg);
  Payload e = {0x00, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66};
  q.set_next_counter(5);
  q.protect(e.data());
  CHECK(e[0] == 0x1B);
}

TEST_CASE("E2E sequence: first, ok through the 15 -> 0 wrap", "[can][e2e]") {
  const MessageCodec c = safety_codec();
  const E2EConfig cfg{0x0042, DataIdMode::kBothBytes, 1};
  E2EProtector tx(c, c.find("Counter"), c.find("Crc"), cfg);
  E2EChecker rx(c, c.find("Counter"), c.find("Crc"), cfg);
  tx.set_next_counter(13);
  const std::uint8_t expected_counters[] = {13, 14, 15, 0, 1, 2};
  for (int i = 0; i < 6; ++i) {
    Payload d{};
    c.encode(c.find("Value"), 1000 + i, d.data());
    tx.protect(d.data());
    CHECK((d[1] & 0x0F) == expected_counters[i]);
    CHECK(rx.check(d.data()) == (i == 0 ? E2EStatus::kFirst : E2EStatus::kOk));
  }
  CHECK(rx.counts().first == 1);
  CHECK(rx.counts().ok == 5);
  CHECK(rx.counts().missed_frames == 0);
  CHECK(rx.last_counter() == 2);
}

TEST_CASE("E2E sequence: repeated, lost, bad CRC", "[can][e2e]") {
  const MessageCodec c = safety_codec();
  const E2EConfig cfg{0x0042, DataIdMode::kBothBytes, 1};
  E2EProtector tx(c, c.find("Counter"), c.find("Crc"), cfg);
  E2EChecker rx(c, c.find("Counter"), c.find("Crc"), cfg);
  auto next_frame = [&] {
    Payload d{};
    c.encode(c.find("Value"), 7, d.data());
    tx.protect(d.data());
    return d;
  };

  const Payload f0 = next_frame();  // counter 0
  CHECK(rx.check(f0.data()) == E2EStatus::kFirst);
  CHECK(rx.check(f0.data()) == E2EStatus::kRepeated);  // the same frame again: stale
  const Payload f1 = next_frame();                     // counter 1
  CHECK(rx.check(f1.data()) == E2EStatus::kOk);
  next_frame();                     // counter 2: lost on the bus
  next_frame();                     // counter 3: lost
  const Payload f4 = next_frame();  // counter 4: jump of 3 > max_delta 1
  CHECK(rx.check(f4.data()) == E2EStatus::kLost);
  CHECK(rx.last_counter() == 4);  // resynchronised
  const Payload f5 = next_frame();
  Payload bad = f5;
  bad[3] ^= 0x01;  // one flipped payload bit
  CHECK(rx.check(bad.data()) == E2EStatus::kBadCrc);
  CHECK(rx.last_counter() == 4);  // a rejected frame does not move the state
  CHECK(rx.check(f5.data()) == E2EStatus::kOk);
  Payload bad_crc = next_frame();
  bad_crc[0] ^= 0x80;  // corrupted CRC byte itself
  CHECK(rx.check(bad_crc.data()) == E2EStatus::kBadCrc);

  const E2ECounts& n = rx.counts();
  CHECK(n.first == 1);
  CHECK(n.ok == 2);
  CHECK(n.repeated == 1);
  CHECK(n.lost == 1);
  CHECK(n.bad_crc == 2);
  CHECK(n.missed_frames == 0);  // a jump beyond max_delta is not a count of missed frames

  rx.reset();
  CHECK_FALSE(rx.synchronised());
  CHECK(rx.counts().ok == 0);
  CHECK(rx.check(f1.data()) == E2EStatus::kFirst);
}

TEST_CASE("E2E max_delta_counter tolerates small gaps", "[can][e2e]") {
  const MessageCodec c = safety_codec();
  const E2EConfig cfg{0x0001, DataIdMode::kLowByte, 2};
  E2EProtector tx(c, c.find("Counter"), c.find("Crc"), cfg);
  E2EChecker rx(c, c.find("Counter"), c.find("Crc"), cfg);
  Payload d{};
  tx.protect(d.data());  // counter 0
  CHECK(rx.check(d.data()) == E2EStatus::kFirst);
  tx.protect(d.data());  // 1: lost
  tx.protect(d.data());  // 2: delta 2 <= max 2
  CHECK(rx.check(d.data()) == E2EStatus::kOk);
  CHECK(rx.counts().missed_frames == 1);
  tx.protect(d.data());  // 3 lost
  tx.protect(d.data());  // 4 lost
  tx.protect(d.data());  // 5: delta 3 > 2
  CHECK(rx.check(d.data()) == E2EStatus::kLost);
}

TEST_CASE("E2E treats an old frame replayed as a wrong sequence and resynchronises", "[can][e2e]") {
  const MessageCodec c = safety_codec();
  const E2EConfig cfg{0x0042, DataIdMode::kBothBytes, 3};
  E2EProtector tx(c, c.find("Counter"), c.find("Crc"), cfg);
  E2EChecker rx(c, c.find("Counter"), c.find("Crc"), cfg);
  std::vector<Payload> sent;
  for (int k = 0; k < 8; ++k) {
    Payload d{};
    c.encode(c.find("Value"), k, d.data());
    tx.protect(d.data());
    sent.push_back(d);
  }
  CHECK(rx.check(sent[0].data()) == E2EStatus::kFirst);
  CHECK(rx.check(sent[1].data()) == E2EStatus::kOk);
  CHECK(rx.check(sent[2].data()) == E2EStatus::kOk);
  // Counter 1 again after 2: a step of 15, far beyond max_delta 3. Not data to use.
  CHECK(rx.check(sent[1].data()) == E2EStatus::kLost);
  CHECK(rx.last_counter() == 1);
  // Resynchronised on the replayed counter: the live stream (3, a step of 2) is accepted again,
  // counted as one missed frame.
  CHECK(rx.check(sent[3].data()) == E2EStatus::kOk);
  CHECK(rx.counts().missed_frames == 1);
  // A replay further back than max_delta forwards (counter 0 after 3: a step of 13) too.
  CHECK(rx.check(sent[0].data()) == E2EStatus::kLost);
  CHECK(rx.counts().lost == 2);
  CHECK(rx.counts().missed_frames == 1);
}

TEST_CASE("E2E rejects a wrong data id and a first frame with a bad CRC", "[can][e2e]") {
  const MessageCodec c = safety_codec();
  E2EProtector tx(c, c.find("Counter"), c.find("Crc"),
                  E2EConfig{0x0100, DataIdMode::kBothBytes, 1});
  E2EChecker other(c, c.find("Counter"), c.find("Crc"),
                   E2EConfig{0x0200, DataIdMode::kBothBytes, 1});
  E2EChecker low_only(c, c.find("Counter"), c.find("Crc"),
                      E2EConfig{0x0200, DataIdMode::kLowByte, 1});
  Payload d{};
  tx.protect(d.data());
  CHECK(other.check(d.data()) == E2EStatus::kBadCrc);
  CHECK_FALSE(other.synchronised());
  // 0x0100 and 0x0200 share the low byte 0x00, but 0x0100 was protected with both bytes.
  CHECK(low_only.check(d.data()) == E2EStatus::kBadCrc);
}

TEST_CASE("E2E layout checks the CRC and counter signals", "[can][e2e]") {
  const MessageCodec c = safety_codec();
  const E2EConfig cfg{};
  // CRC must cover one whole byte: 'Unaligned' spans bytes 4 and 5.
  CHECK_THROWS_AS(E2ELayout(c, c.find("Counter"), c.find("Unaligned"), cfg), std::invalid_argument);
  // Counter must be 4 bits.
  CHECK_THROWS_AS(E2ELayout(c, c.find("Wide"), c.find("Crc"), cfg), std::invalid_argument);
  // Counter and CRC in the same byte.
  CHECK_THROWS_AS(E2ELayout(c, c.find("Crc"), c.find("Crc"), cfg), std::invalid_argument);
  CHECK_THROWS_AS(E2ELayout(c, 99, c.find("Crc"), cfg), std::invalid_argument);
  CHECK_THROWS_AS(
      E2ELayout(c, c.find("Counter"), c.find("Crc"), E2EConfig{0, DataIdMode::kLowByte, 0}),
      std::invalid_argument);
  CHECK_NOTHROW(E2ELayout(c, c.find("Counter"), c.find("Crc"), cfg));
}
