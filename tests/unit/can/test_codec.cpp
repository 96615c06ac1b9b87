// Codec tests. Golden bytes are derived by hand from the DBC bit numbering in the comments
// (bit = 8 * byte + bit_in_byte, bit_in_byte 0 = LSB); none is produced by the code under test.

#include <array>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "can_test_util.hpp"
#include "packsim/can/codec.hpp"

using namespace packsim::can;
using packsim::can::test::make_message;
using packsim::can::test::make_signal;

namespace {

using Bytes = std::array<std::uint8_t, 64>;

// Encodes the raw value of a one-signal message into a zeroed payload.
Bytes raw_frame(const Signal& s, std::uint32_t size, std::uint64_t raw) {
  MessageCodec c(make_message(size, {s}));
  Bytes d{};
  c.set_raw(0, raw, d.data());
  return d;
}

}  // namespace

TEST_CASE("Intel signals: start bit is the LSB, bits count upwards", "[can][codec]") {
  const auto LE = ByteOrder::kLittleEndian;
  // 8 bits at 0: the whole of byte 0.
  CHECK(raw_frame(make_signal("s", 0, 8, LE), 8, 0xA5)[0] == 0xA5);

  // 12 bits at 4: value bits 0..3 -> byte 0 bits 4..7, bits 4..11 -> byte 1.
  // 0xABC: low nibble 0xC -> byte0 = 0xC0; 0xAB -> byte1.
  auto d = raw_frame(make_signal("s", 4, 12, LE), 8, 0xABC);
  CHECK(d[0] == 0xC0);
  CHECK(d[1] == 0xAB);

  // 10 bits at 5, all ones: bits 5..14 -> byte0 bits 5..7 = 0xE0, byte1 bits 0..6 = 0x7F.
  d = raw_frame(make_signal("s", 5, 10, LE), 8, 0x3FF);
  CHECK(d[0] == 0xE0);
  CHECK(d[1] == 0x7F);
  CHECK(d[2] == 0x00);

  // 1 bit at 63: byte 7 bit 7.
  d = raw_frame(make_signal("s", 63, 1, LE), 8, 1);
  CHECK(d[7] == 0x80);
  CHECK(d[6] == 0x00);

  // 64 bits at 0: little-endian integer, least significant byte first.
  d = raw_frame(make_signal("s", 0, 64, LE), 8, 0x0123456789ABCDEFull);
  const std::uint8_t le64[8] = {0xEF, 0xCD, 0xAB, 0x89, 0x67, 0x45, 0x23, 0x01};
  CHECK(std::memcmp(d.data(), le64, 8) == 0);
}

TEST_CASE("Motorola signals: start bit is the MSB in sawtooth numbering", "[can][codec]") {
  const auto BE = ByteOrder::kBigEndian;
  // 12 bits, MSB at bit 7 (byte 0 bit 7): value bits 11..4 -> byte 0, bits 3..0 -> byte 1
  // bits 7..4. 0xABC -> AB C0.
  auto d = raw_frame(make_signal("s", 7, 12, BE), 8, 0xABC);
  CHECK(d[0] == 0xAB);
  CHECK(d[1] == 0xC0);

  // 12 bits, MSB at bit 3 (byte 0 bit 3): bits 11..8 -> byte 0 bits 3..0, bits 7..0 -> byte 1.
  // 0xABC -> 0A BC.
  d = raw_frame(make_signal("s", 3, 12, BE), 8, 0xABC);
  CHECK(d[0] == 0x0A);
  CHECK(d[1] == 0xBC);

  // 16 bits, MSB at bit 2: 3 bits in byte 0 (2..0), 8 in byte 1, 5 in byte 2 (bits 7..3).
  // 0x8001 = 100 | 00000000 | 00001 -> byte0 = 0x04, byte1 = 0x00, byte2 = 0b00001000 = 0x08.
  d = raw_frame(make_signal("s", 2, 16, BE), 8, 0x8001);
  CHECK(d[0] == 0x04);
  CHECK(d[1] == 0x00);
  CHECK(d[2] == 0x08);
  // 0xFFFF -> 0x07 0xFF 0xF8.
  d = raw_frame(make_signal("s", 2, 16, BE), 8, 0xFFFF);
  CHECK(d[0] == 0x07);
  CHECK(d[1] == 0xFF);
  CHECK(d[2] == 0xF8);

  // 1 bit at 0: byte 0 bit 0. 1 bit at 63: byte 7 bit 7. 1 bit at 56: byte 7 bit 0.
  CHECK(raw_frame(make_signal("s", 0, 1, BE), 8, 1)[0] == 0x01);
  CHECK(raw_frame(make_signal("s", 63, 1, BE), 8, 1)[7] == 0x80);
  CHECK(raw_frame(make_signal("s", 56, 1, BE), 8, 1)[7] == 0x01);

  // 64 bits with MSB at bit 7: big-endian integer, most significant byte first.
  d = raw_frame(make_signal("s", 7, 64, BE), 8, 0x0123456789ABCDEFull);
  const std::uint8_t be64[8] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF};
  CHECK(std::memcmp(d.data(), be64, 8) == 0);

  // A signal in the last byte of a 64-byte CAN FD payload: MSB at bit 511 (byte 63 bit 7).
  d = raw_frame(make_signal("s", 511, 8, BE), 64, 0x5A);
  CHECK(d[63] == 0x5A);
}

TEST_CASE("signed values are two's complement of the signal length", "[can][codec]") {
  const Signal s8 = make_signal("s", 0, 8, ByteOrder::kLittleEndian, true);
  MessageCodec c(make_message(8, {s8}));
  Bytes d{};
  CHECK(c.encode(0, -1.0, d.data()) == EncodeStatus::kOk);
  CHECK(d[0] == 0xFF);
  CHECK(c.encode(0, -128.0, d.data()) == EncodeStatus::kOk);
  CHECK(d[0] == 0x80);
  CHECK(c.decode(0, d.data()) == -128.0);
  d[0] = 0x7F;
  CHECK(c.decode(0, d.data()) == 127.0);
  CHECK(c.get_raw(0, d.data()) == 0x7F);

  // 13-bit Motorola at bit 11: -1 sets all 13 bits: byte1 bits 3..0, byte2, byte3 bit 7.
  const Signal s13 = make_signal("s", 11, 13, ByteOrder::kBigEndian, true);
  MessageCodec c13(make_message(8, {s13}));
  Bytes e{};
  c13.encode(0, -1.0, e.data());
  CHECK(e[1] == 0x0F);
  CHECK(e[2] == 0xFF);
  CHECK(e[3] == 0x80);
  CHECK(c13.get_raw(0, e.data()) == 0x1FFF);
  CHECK(c13.get_raw_signed(0, e.data()) == -1);
  // -4096 = 1 0000 0000 0000: only the MSB (byte1 bit 3) set.
  Bytes f{};
  c13.encode(0, -4096.0, f.data());
  CHECK(f[1] == 0x08);
  CHECK(f[2] == 0x00);
  CHECK(f[3] == 0x00);
  CHECK(c13.decode(0, f.data()) == -4096.0);

  // 64-bit signed: raw -2 is 0xFFFFFFFFFFFFFFFE.
  MessageCodec c64(make_message(8, {make_signal("s", 0, 64, ByteOrder::kLittleEndian, true)}));
  Bytes g{};
  c64.encode(0, -2.0, g.data());
  CHECK(g[0] == 0xFE);
  CHECK(g[7] == 0xFF);
  CHECK(c64.get_raw_signed(0, g.data()) == -2);
}

TEST_CASE("physical encode uses factor and offset, rounding ties to even", "[can][codec]") {
  // 16-bit unsigned, 0.1 per bit, offset -40: 25.0 -> (25 + 40) / 0.1 = 650 = 0x028A.
  MessageCodec c(
      make_message(8, {make_signal("t", 0, 16, ByteOrder::kLittleEndian, false, 0.1, -40.0)}));
  Bytes d{};
  CHECK(c.encode(0, 25.0, d.data()) == EncodeStatus::kOk);
  CHECK(d[0] == 0x8A);
  CHECK(d[1] == 0x02);
  CHECK(c.decode(0, d.data()) == Approx(25.0).margin(1e-12));
  // 0.3 / 0.1 is 2.9999999999999996 in binary floating point: rounds to 3, not 2.
  MessageCodec c01(make_message(8, {make_signal("u", 0, 8, ByteOrder::kLittleEndian, false, 0.1)}));
  c01.encode(0, 0.3, d.data());
  CHECK(d[0] == 3);

  // Ties to even, like Python's round() used by cantools: 2.5 -> 2, 3.5 -> 4, -2.5 -> -2.
  MessageCodec r(make_message(8, {make_signal("r", 0, 8, ByteOrder::kLittleEndian, true)}));
  r.encode(0, 2.5, d.data());
  CHECK(d[0] == 2);
  r.encode(0, 3.5, d.data());
  CHECK(d[0] == 4);
  r.encode(0, -2.5, d.data());
  CHECK(d[0] == 0xFE);  // -2
  r.encode(0, 2.4999, d.data());
  CHECK(d[0] == 2);
  r.encode(0, 2.5001, d.data());
  CHECK(d[0] == 3);
  // factor 0.5: 1.25 -> 2.5 -> 2.
  MessageCodec h(make_message(8, {make_signal("h", 0, 8, ByteOrder::kLittleEndian, false, 0.5)}));
  h.encode(0, 1.25, d.data());
  CHECK(d[0] == 2);
  CHECK(round_half_even(0.5) == 0.0);
  CHECK(round_half_even(1.5) == 2.0);
  CHECK(round_half_even(-1.5) == -2.0);
  CHECK(round_half_even(4503599627370497.0) == 4503599627370497.0);  // 2^52 + 1, integral
}

TEST_CASE("encode saturates to the raw range and reports it", "[can][codec]") {
  Bytes d{};
  MessageCodec u8(make_message(8, {make_signal("u", 0, 8, ByteOrder::kLittleEndian)}));
  CHECK(u8.encode(0, 300.0, d.data()) == EncodeStatus::kClampedHigh);
  CHECK(d[0] == 255);
  CHECK(u8.encode(0, -5.0, d.data()) == EncodeStatus::kClampedLow);
  CHECK(d[0] == 0);
  CHECK(u8.encode(0, 255.4, d.data()) == EncodeStatus::kOk);  // rounds to 255: in range
  CHECK(d[0] == 255);
  CHECK(u8.encode(0, 255.5, d.data()) == EncodeStatus::kClampedHigh);  // rounds to 256

  MessageCodec s8(make_message(8, {make_signal("s", 0, 8, ByteOrder::kLittleEndian, true)}));
  CHECK(s8.encode(0, 200.0, d.data()) == EncodeStatus::kClampedHigh);
  CHECK(d[0] == 0x7F);
  CHECK(s8.encode(0, -200.0, d.data()) == EncodeStatus::kClampedLow);
  CHECK(d[0] == 0x80);
  CHECK(s8.encode(0, std::numeric_limits<double>::infinity(), d.data()) ==
        EncodeStatus::kClampedHigh);
  CHECK(d[0] == 0x7F);

  // Negative factor: a large physical value maps to the low end of the raw range.
  MessageCodec neg(make_message(8, {make_signal("n", 0, 8, ByteOrder::kLittleEndian, false, -1)}));
  CHECK(neg.encode(0, 10.0, d.data()) == EncodeStatus::kClampedLow);
  CHECK(d[0] == 0);

  // 64-bit extremes: no undefined conversions, exact limits.
  Bytes e{};
  MessageCodec u64(make_message(8, {make_signal("u", 0, 64, ByteOrder::kLittleEndian)}));
  CHECK(u64.encode(0, 1e30, e.data()) == EncodeStatus::kClampedHigh);
  CHECK(u64.get_raw(0, e.data()) == std::numeric_limits<std::uint64_t>::max());
  CHECK(u64.encode(0, 18446744073709551616.0, e.data()) == EncodeStatus::kClampedHigh);  // 2^64
  MessageCodec s64(make_message(8, {make_signal("s", 0, 64, ByteOrder::kLittleEndian, true)}));
  CHECK(s64.encode(0, -1e30, e.data()) == EncodeStatus::kClampedLow);
  CHECK(s64.get_raw_signed(0, e.data()) == std::numeric_limits<std::int64_t>::min());
  CHECK(s64.encode(0, 9223372036854775808.0, e.data()) == EncodeStatus::kClampedHigh);  // 2^63
  CHECK(s64.get_raw_signed(0, e.data()) == std::numeric_limits<std::int64_t>::max());
  CHECK(s64.encode(0, -9223372036854775808.0, e.data()) == EncodeStatus::kOk);  // -2^63 fits

  // NaN is not encodable for an integer signal: the payload stays as it was.
  Bytes n{};
  n[0] = 0x42;
  CHECK(u8.encode(0, std::nan(""), n.data()) == EncodeStatus::kNotANumber);
  CHECK(n[0] == 0x42);
}

TEST_CASE("raw range of signals", "[can][codec]") {
  MessageCodec c(make_message(8, {make_signal("u", 0, 12, ByteOrder::kLittleEndian),
                                  make_signal("s", 12, 12, ByteOrder::kLittleEndian, true)}));
  CHECK(c.raw_min(0) == 0.0);
  CHECK(c.raw_max(0) == 4095.0);
  CHECK(c.raw_min(1) == -2048.0);
  CHECK(c.raw_max(1) == 2047.0);
}

TEST_CASE("float and double signals store IEEE 754 bit patterns", "[can][codec]") {
  Signal f = make_signal("f", 0, 32, ByteOrder::kLittleEndian);
  f.value_type = ValueType::kFloat32;
  Signal fm = make_signal("fm", 39, 32, ByteOrder::kBigEndian);  // bytes 4..7
  fm.value_type = ValueType::kFloat32;
  MessageCodec c(make_message(8, {f, fm}));
  Bytes d{};
  // 1.0f = 0x3F800000; Intel stores it least significant byte first.
  c.encode(0, 1.0, d.data());
  CHECK(d[0] == 0x00);
  CHECK(d[1] == 0x00);
  CHECK(d[2] == 0x80);
  CHECK(d[3] == 0x3F);
  // -2.5f = 0xC0200000; Motorola stores it most significant byte first.
  c.encode(1, -2.5, d.data());
  CHECK(d[4] == 0xC0);
  CHECK(d[5] == 0x20);
  CHECK(d[6] == 0x00);
  CHECK(d[7] == 0x00);
  CHECK(c.decode(0, d.data()) == 1.0);
  CHECK(c.decode(1, d.data()) == -2.5);
  // Above FLT_MAX the float is clamped.
  CHECK(c.encode(0, 1e300, d.data()) == EncodeStatus::kClampedHigh);
  CHECK(c.decode(0, d.data()) == static_cast<double>(std::numeric_limits<float>::max()));

  // Double with factor 2, offset 0.5: phys 3.0 -> raw 1.25 = 0x3FF4000000000000.
  Signal g = make_signal("g", 0, 64, ByteOrder::kLittleEndian, false, 2.0, 0.5);
  g.value_type = ValueType::kFloat64;
  MessageCodec cd(make_message(8, {g}));
  Bytes e{};
  CHECK(cd.encode(0, 3.0, e.data()) == EncodeStatus::kOk);
  CHECK(e[7] == 0x3F);
  CHECK(e[6] == 0xF4);
  for (int i = 0; i < 6; ++i) CHECK(e[static_cast<std::size_t>(i)] == 0);
  CHECK(cd.decode(0, e.data()) == 3.0);
}

TEST_CASE("multiplexed signals: encode sets the multiplexor, decode checks it", "[can][codec]") {
  Signal mux = make_signal("Sel", 0, 8, ByteOrder::kLittleEndian);
  mux.mux_role = MuxRole::kMultiplexor;
  Signal a = make_signal("A", 8, 16, ByteOrder::kLittleEndian);
  a.mux_role = MuxRole::kMultiplexed;
  a.mux_value = 1;
  Signal b = make_signal("B", 8, 16, ByteOrder::kLittleEndian);
  b.mux_role = MuxRole::kMultiplexed;
  b.mux_value = 2;
  Signal plain = make_signal("P", 56, 8, ByteOrder::kLittleEndian);
  Message m = make_message(8, {a, mux, b, plain});
  MessageCodec c(m);
  REQUIRE(c.multiplexor() == 1);

  CanFrame f;
  c.prepare_frame(f);
  CHECK(f.id == 0x100);
  CHECK(f.len == 8);
  // A = 0x0305 with selector 1: bytes 01 05 03.
  CHECK(c.encode(c.find("A"), 0x0305, f) == EncodeStatus::kOk);
  CHECK(f.data[0] == 0x01);
  CHECK(f.data[1] == 0x05);
  CHECK(f.data[2] == 0x03);
  CHECK(c.is_active(c.find("A"), f.data.data()));
  CHECK_FALSE(c.is_active(c.find("B"), f.data.data()));
  CHECK(c.is_active(c.find("P"), f.data.data()));
  CHECK(c.decode(c.find("A"), f).status == DecodeStatus::kOk);
  CHECK(c.decode(c.find("A"), f).value == 0x0305);
  CHECK(c.decode(c.find("B"), f).status == DecodeStatus::kInactive);
  // Encoding B switches the selector to 2 and overwrites the shared bits.
  c.encode(c.find("B"), 7, f);
  CHECK(f.data[0] == 0x02);
  CHECK(c.decode(c.find("A"), f).status == DecodeStatus::kInactive);
  CHECK(c.decode(c.find("B"), f).value == 7);
  // A frame too short for the signal is reported, not read past its end.
  f.len = 2;
  CHECK(c.decode(c.find("B"), f).status == DecodeStatus::kShortFrame);
  CHECK(c.decode(c.find("Sel"), f).status == DecodeStatus::kOk);

  // SG_MUL_VAL_ ranges: selected by 3..4 and 9.
  m.extended_mux.push_back(ExtendedMux{"B", "Sel", {MuxRange{3, 4}, MuxRange{9, 9}}});
  MessageCodec x(m);
  Bytes d{};
  for (std::uint64_t sel = 0; sel < 12; ++sel) {
    x.set_raw(x.multiplexor(), sel, d.data());
    CHECK(x.is_active(x.find("B"), d.data()) == (sel == 3 || sel == 4 || sel == 9));
  }
  x.encode(x.find("B"), 1, d.data());
  CHECK(d[0] == 3);  // encode selects the lowest value of the first range
}

TEST_CASE("codec rejects messages it cannot code", "[can][codec]") {
  CHECK_THROWS_AS(MessageCodec(make_message(1, {make_signal("s", 7, 9, ByteOrder::kBigEndian)})),
                  std::invalid_argument);  // needs byte 1 of a 1-byte message
  CHECK_THROWS_AS(MessageCodec(make_message(8, {make_signal("s", 0, 0, ByteOrder::kBigEndian)})),
                  std::invalid_argument);
  Signal m = make_signal("m", 0, 4, ByteOrder::kLittleEndian);
  m.mux_role = MuxRole::kMultiplexed;
  CHECK_THROWS_AS(MessageCodec(make_message(8, {m})), std::invalid_argument);
  Signal f = make_signal("f", 0, 16, ByteOrder::kLittleEndian);
  f.value_type = ValueType::kFloat32;
  CHECK_THROWS_AS(MessageCodec(make_message(8, {f})), std::invalid_argument);
}

TEST_CASE("raw round trips agree with an independent bit-walk model", "[can][codec]") {
  // For every length 1..64, both byte orders, both signednesses and many start bits in an 8-byte
  // and a 64-byte payload: set_raw must write exactly the bits the sawtooth walk names, leave
  // all other bits alone, and get_raw must read them back.
  std::mt19937_64 rng(20240611);
  int checked = 0;
  for (std::uint32_t size : {8u, 64u}) {
    for (ByteOrder order : {ByteOrder::kLittleEndian, ByteOrder::kBigEndian}) {
      for (int len = 1; len <= 64; ++len) {
        for (int trial = 0; trial < 6; ++trial) {
          const int span = static_cast<int>(size) * 8 - len;
          const int first = static_cast<int>(rng() % static_cast<std::uint64_t>(span + 1));
          // Intel: first = LSB position. Motorola: first = MSB in transmission order.
          const int start =
              order == ByteOrder::kLittleEndian ? first : 8 * (first / 8) + 7 - first % 8;
          const bool is_signed = (trial % 2) == 1;
          const Signal s = make_signal("s", start, len, order, is_signed);
          MessageCodec c(make_message(size, {s}));
          const std::uint64_t mask = len == 64 ? ~0ull : ((1ull << len) - 1);
          for (int v = 0; v < 8; ++v) {
            Bytes background{};
            for (auto& b : background) b = static_cast<std::uint8_t>(rng());
            const std::uint64_t raw = rng() & mask;
            Bytes got = background;
            c.set_raw(0, raw, got.data());
            Bytes want = background;
            test::reference_set(s, raw, want.data());
            REQUIRE(got == want);
            REQUIRE(c.get_raw(0, got.data()) == raw);
            REQUIRE(test::reference_get(s, got.data()) == raw);
            if (is_signed && ((raw >> (len - 1)) & 1u)) {
              // Negative: all bits above the signal length are ones.
              const std::uint64_t extended = raw | ~mask;
              std::int64_t expected;
              std::memcpy(&expected, &extended, sizeof expected);
              REQUIRE(c.get_raw_signed(0, got.data()) == expected);
              REQUIRE(expected < 0);
            }
            ++checked;
          }
        }
      }
    }
  }
  CHECK(checked == 2 * 2 * 64 * 6 * 8);
}

TEST_CASE("physical round trips over many layouts and scalings", "[can][codec]") {
  std::mt19937_64 rng(7);
  const double factors[] = {1.0, 0.1, 0.25, 2.0, -0.5, 0.001};
  const double offsets[] = {0.0, -40.0, 1000.5};
  for (double factor : factors) {
    for (double offset : offsets) {
      for (int len : {1, 7, 13, 16, 24, 32, 40}) {  // exact in doubles
        for (bool is_signed : {false, true}) {
          for (ByteOrder order : {ByteOrder::kLittleEndian, ByteOrder::kBigEndian}) {
            const int start = order == ByteOrder::kLittleEndian ? 3 : 4;  // not byte aligned
            const Signal s = make_signal("s", start, len, order, is_signed, factor, offset);
            MessageCodec c(make_message(8, {s}));
            const double lo = c.raw_min(0);
            const double hi = c.raw_max(0);
            for (int i = 0; i < 20; ++i) {
              const double u = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
              const double raw = std::floor(lo + u * (hi - lo + 1.0));
              const double raw_in = std::min(hi, std::max(lo, raw));
              const double phys = raw_in * factor + offset;
              Bytes d{};
              REQUIRE(c.encode(0, phys, d.data()) == EncodeStatus::kOk);
              REQUIRE(static_cast<double>(
                          is_signed ? c.get_raw_signed(0, d.data())
                                    : static_cast<std::int64_t>(c.get_raw(0, d.data()))) == raw_in);
              REQUIRE(c.decode(0, d.data()) == phys);
            }
          }
        }
      }
    }
  }
}
