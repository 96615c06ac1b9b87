// Golden frames for the foxBMS 2 debug-CAN-AFE messages and the Isabellenhuette IVT-S messages,
// read from the excerpt of foxBMS 2's tools/dbc/foxbms.dbc (tests/data/dbc/foxbms_excerpt.dbc).
// Every expected byte is derived by hand in the comments from the DBC bit layout.

#include <array>
#include <catch2/catch.hpp>
#include <cstdio>
#include <string>

#include "can_test_util.hpp"
#include "packsim/can/codec.hpp"
#include "packsim/can/dbc.hpp"

using namespace packsim::can;

namespace {

const Database& foxbms() {
  static const Database db = [] {
    auto r = load_dbc_file(test::data_path("foxbms_excerpt.dbc"));
    INFO(r.diagnostics.format());
    REQUIRE(r.ok());
    return r.database;
  }();
  return db;
}

std::string cell(const char* prefix, int n, const char* suffix = "") {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s%03d%s", prefix, n, suffix);
  return buf;
}

std::array<std::uint8_t, 8> bytes_of(const CanFrame& f) {
  std::array<std::uint8_t, 8> a{};
  for (std::size_t i = 0; i < 8; ++i) a[i] = f.data[i];
  return a;
}

}  // namespace

TEST_CASE("foxBMS 0x270 AFE_CellVoltages layout matches the DBC facts", "[can][golden]") {
  const Message* m = foxbms().find_message(0x270, false);
  REQUIRE(m != nullptr);
  CHECK(m->name == "AFE_CellVoltages");
  CHECK(m->size == 8);
  CHECK(m->cycle_time_ms == 5400);  // BA_ "GenMsgCycleTime" BO_ 624 5400
  CHECK_FALSE(m->is_fd);
  // 1 multiplexor + 54 mux values x (4 flags + 4 voltages).
  CHECK(m->signals.size() == 1 + 54 * 8);

  const Signal* mux = m->find_signal("AFE_CellVoltages_Mux");
  REQUIRE(mux != nullptr);
  CHECK(mux->mux_role == MuxRole::kMultiplexor);
  CHECK(mux->start_bit == 7);  // byte 0, Motorola, 8 bits
  CHECK(mux->length == 8);
  CHECK(mux->byte_order == ByteOrder::kBigEndian);
  REQUIRE(mux->value_descriptions.size() == 54);
  CHECK(mux->value_descriptions[0].text == "CellVoltages_000_003");
  CHECK(mux->value_descriptions[53].value == 53);
  CHECK(mux->value_descriptions[53].text == "CellVoltages_212_215");

  const int starts[4] = {11, 30, 33, 52};
  for (int mv = 0; mv <= 53; ++mv) {
    for (int j = 0; j < 4; ++j) {
      const int c = 4 * mv + j;
      const Signal* v = m->find_signal(cell("CellVoltage_", c));
      const Signal* f = m->find_signal(cell("CellVoltage_", c, "_invalidFlag"));
      REQUIRE(v != nullptr);
      REQUIRE(f != nullptr);
      CHECK(v->mux_role == MuxRole::kMultiplexed);
      CHECK(v->mux_value == static_cast<std::uint64_t>(mv));
      CHECK(v->start_bit == starts[j]);
      CHECK(v->length == 13);
      CHECK(v->byte_order == ByteOrder::kBigEndian);
      CHECK_FALSE(v->is_signed);
      CHECK(v->factor == 1.0);
      CHECK(v->unit == "mV");
      CHECK(f->mux_value == static_cast<std::uint64_t>(mv));
      CHECK(f->start_bit == 12 + j);  // byte 1 bits 4..7
      CHECK(f->length == 1);
      // Named "invalidFlag", but the DBC's VAL_ says 1 = "Valid".
      REQUIRE(f->value_descriptions.size() == 2);
      CHECK(f->value_descriptions[1].value == 1);
      CHECK(f->value_descriptions[1].text == "Valid");
      CHECK(f->value_descriptions[0].text == "Invalid");
    }
  }
}

TEST_CASE("foxBMS 0x270 golden frame", "[can][golden]") {
  const Message* m = foxbms().find_message(0x270, false);
  REQUIRE(m != nullptr);
  MessageCodec c(*m);
  CanFrame f;
  c.prepare_frame(f);
  // Mux 5 carries cells 20..23. Voltages 3700, 3650, 4100, 2800 mV; validity 1, 1, 0, 1.
  // 13-bit big-endian signals (bit numbers of the value, b12 = MSB):
  //   cell 20 (start 11): byte1[3:0] = b12..b9, byte2 = b8..b1, byte3[7] = b0
  //   cell 21 (start 30): byte3[6:0] = b12..b6, byte4[7:2] = b5..b0
  //   cell 22 (start 33): byte4[1:0] = b12..b11, byte5 = b10..b3, byte6[7:5] = b2..b0
  //   cell 23 (start 52): byte6[4:0] = b12..b8, byte7 = b7..b0
  // 3700 = 0 1110 0111 0100: byte1 low nibble 0111, byte2 0011 1010 = 0x3A, byte3 bit7 0
  // 3650 = 0 1110 0100 0010: byte3[6:0] 0111001 = 0x39, byte4[7:2] 000010 -> 0x08
  // 4100 = 1 0000 0000 0100: byte4[1:0] 10 -> 0x02, byte5 0x00, byte6[7:5] 100 -> 0x80
  // 2800 = 0 1010 1111 0000: byte6[4:0] 01010 -> 0x0A, byte7 1111 0000 = 0xF0
  // Flags: byte1 bit4 (cell 20) = 1, bit5 = 1, bit6 = 0, bit7 = 1 -> 0xB0; with 0x07: 0xB7.
  // Frame: 05 B7 3A 39 0A 00 8A F0.
  const int volts[4] = {3700, 3650, 4100, 2800};
  const int valid[4] = {1, 1, 0, 1};
  for (int j = 0; j < 4; ++j) {
    CHECK(c.encode(c.find(cell("CellVoltage_", 20 + j)), volts[j], f) == EncodeStatus::kOk);
    CHECK(c.encode(c.find(cell("CellVoltage_", 20 + j, "_invalidFlag")), valid[j], f) ==
          EncodeStatus::kOk);
  }
  CHECK(f.id == 0x270);
  CHECK_FALSE(f.extended);
  CHECK(f.len == 8);
  const std::array<std::uint8_t, 8> want = {0x05, 0xB7, 0x3A, 0x39, 0x0A, 0x00, 0x8A, 0xF0};
  CHECK(bytes_of(f) == want);

  // Decoding the same bytes gives the values back; cells of other mux values are inactive.
  for (int j = 0; j < 4; ++j) {
    const auto d = c.decode(c.find(cell("CellVoltage_", 20 + j)), f);
    CHECK(d.status == DecodeStatus::kOk);
    CHECK(d.value == volts[j]);
  }
  CHECK(c.decode(c.find(cell("CellVoltage_", 0)), f).status == DecodeStatus::kInactive);

  // Mux 53 (cells 212..215), every voltage 8191 mV and every flag valid: all 56 bits set.
  CanFrame g;
  c.prepare_frame(g);
  for (int j = 0; j < 4; ++j) {
    c.encode(c.find(cell("CellVoltage_", 212 + j)), 8191, g);
    c.encode(c.find(cell("CellVoltage_", 212 + j, "_invalidFlag")), 1, g);
  }
  const std::array<std::uint8_t, 8> all = {0x35, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
  CHECK(bytes_of(g) == all);
  // 8192 mV does not fit 13 bits: clamped and reported.
  CHECK(c.encode(c.find(cell("CellVoltage_", 212)), 8192, g) == EncodeStatus::kClampedHigh);
}

TEST_CASE("foxBMS 0x280 AFE_CellTemperatures layout and golden frame", "[can][golden]") {
  const Message* m = foxbms().find_message(0x280, false);
  REQUIRE(m != nullptr);
  CHECK(m->name == "AFE_CellTemperatures");
  CHECK(m->cycle_time_ms == 4500);
  CHECK(m->signals.size() == 1 + 30 * 12);
  for (int mv = 0; mv < 30; ++mv) {
    for (int j = 0; j < 6; ++j) {
      const Signal* t = m->find_signal(cell("CellTemperature_", 6 * mv + j));
      const Signal* f = m->find_signal(cell("CellTemperature_", 6 * mv + j, "_invalidFlag"));
      REQUIRE(t != nullptr);
      REQUIRE(f != nullptr);
      CHECK(t->mux_value == static_cast<std::uint64_t>(mv));
      CHECK(t->start_bit == 23 + 8 * j);  // byte 2 + j, whole byte, Motorola
      CHECK(t->length == 8);
      CHECK(t->is_signed);
      CHECK(t->unit == "degC");
      CHECK(f->start_bit == 8 + j);  // byte 1 bit j
      CHECK(f->value_descriptions.at(1).text == "Valid");
    }
  }
  MessageCodec c(*m);
  CanFrame f;
  c.prepare_frame(f);
  // Mux 29 = 0x1D carries sensors 174..179: 25, -10, 0, 127, -128, -1 degC as int8:
  // 0x19, 0xF6, 0x00, 0x7F, 0x80, 0xFF. Validity 1,0,1,1,0,1 in byte 1 bits 0..5 = 0b101101.
  const int temps[6] = {25, -10, 0, 127, -128, -1};
  const int valid[6] = {1, 0, 1, 1, 0, 1};
  for (int j = 0; j < 6; ++j) {
    CHECK(c.encode(c.find(cell("CellTemperature_", 174 + j)), temps[j], f) == EncodeStatus::kOk);
    c.encode(c.find(cell("CellTemperature_", 174 + j, "_invalidFlag")), valid[j], f);
  }
  const std::array<std::uint8_t, 8> want = {0x1D, 0x2D, 0x19, 0xF6, 0x00, 0x7F, 0x80, 0xFF};
  CHECK(bytes_of(f) == want);
  for (int j = 0; j < 6; ++j) {
    CHECK(c.decode(c.find(cell("CellTemperature_", 174 + j)), f).value == temps[j]);
  }
  CHECK(c.encode(c.find(cell("CellTemperature_", 174)), -129, f) == EncodeStatus::kClampedLow);
  CHECK(f.data[2] == 0x80);
}

namespace {

struct IvtCase {
  std::uint32_t id;
  const char* suffix;  // signal name suffix: I, U1, ..., Wh
  int mux_id;
  const char* unit;
  double factor;
};

const IvtCase kIvt[] = {
    {0x521, "I", 0, "mA", 1.0},  {0x522, "U1", 1, "mV", 1.0},  {0x523, "U2", 2, "mV", 1.0},
    {0x524, "U3", 3, "mV", 1.0}, {0x525, "T", 4, "degC", 0.1}, {0x526, "W", 5, "W", 1.0},
    {0x527, "As", 6, "As", 1.0}, {0x528, "Wh", 7, "Wh", 1.0},
};

}  // namespace

TEST_CASE("IVT-S 0x521..0x528 layout matches the DBC facts", "[can][golden]") {
  for (const auto& k : kIvt) {
    INFO("IVT message 0x" << std::hex << k.id);
    const Message* m = foxbms().find_message(k.id, false);
    REQUIRE(m != nullptr);
    CHECK(m->size == 6);
    const std::string s = k.suffix;
    const Signal* id = m->find_signal("IVT_ID_Result_" + s);
    const Signal* count = m->find_signal("IVT_MsgCount_Result_" + s);
    const Signal* value = m->find_signal("IVT_Result_" + s);
    const Signal* sys = m->find_signal("IVT_Result_" + s + "_System_Error");
    const Signal* meas = m->find_signal("IVT_Result_" + s + "_Measurement_Error");
    const Signal* chan = m->find_signal("IVT_Result_" + s + "_Channel_Error");
    const Signal* ocs = m->find_signal("IVT_Result_" + s + "_OCS");
    REQUIRE((id && count && value && sys && meas && chan && ocs));
    CHECK(id->start_bit == 7);  // byte 0
    CHECK(id->length == 8);
    REQUIRE(id->value_descriptions.size() == 1);  // VAL_ names the one id of this message
    CHECK(id->value_descriptions[0].value == k.mux_id);
    CHECK(sys->start_bit == 15);    // byte 1 bit 7
    CHECK(meas->start_bit == 14);   // byte 1 bit 6
    CHECK(chan->start_bit == 13);   // byte 1 bit 5
    CHECK(ocs->start_bit == 12);    // byte 1 bit 4
    CHECK(count->start_bit == 11);  // byte 1 bits 3..0
    CHECK(count->length == 4);
    CHECK(value->start_bit == 23);  // bytes 2..5, big-endian
    CHECK(value->length == 32);
    CHECK(value->byte_order == ByteOrder::kBigEndian);
    CHECK(value->is_signed);
    CHECK(value->factor == k.factor);
    CHECK(value->unit == k.unit);
  }
}

TEST_CASE("IVT-S golden frames", "[can][golden]") {
  struct Golden {
    std::uint32_t id;
    const char* suffix;
    double value;
    int counter;
    int errors;  // bit 3 system, bit 2 measurement, bit 1 channel, bit 0 OCS (= byte 1 bits 7..4)
    std::array<std::uint8_t, 6> bytes;
  };
  const Golden cases[] = {
      // -1500 mA = 0xFFFFFA24 (2^32 - 1500); OCS (byte1 bit 4) and counter 9: byte1 = 0x19.
      {0x521, "I", -1500, 9, 0b0001, {0x00, 0x19, 0xFF, 0xFF, 0xFA, 0x24}},
      // 400123 mV = 6 * 65536 + 6907 = 0x00061AFB; system error (bit 7), counter 15: 0x8F.
      {0x522, "U1", 400123, 15, 0b1000, {0x01, 0x8F, 0x00, 0x06, 0x1A, 0xFB}},
      // 12000 mV = 0x2EE0; measurement error (bit 6), counter 1: 0x41.
      {0x523, "U2", 12000, 1, 0b0100, {0x02, 0x41, 0x00, 0x00, 0x2E, 0xE0}},
      // -5 mV = 0xFFFFFFFB; channel error (bit 5), counter 2: 0x22.
      {0x524, "U3", -5, 2, 0b0010, {0x03, 0x22, 0xFF, 0xFF, 0xFF, 0xFB}},
      // 23.7 degC at 0.1 degC/bit = 237 = 0xED.
      {0x525, "T", 23.7, 0, 0, {0x04, 0x00, 0x00, 0x00, 0x00, 0xED}},
      // -250000 W = 2^32 - 0x3D090 = 0xFFFC2F70; all four error bits, counter 3: 0xF3.
      {0x526, "W", -250000, 3, 0b1111, {0x05, 0xF3, 0xFF, 0xFC, 0x2F, 0x70}},
      // int32 maximum and minimum.
      {0x527, "As", 2147483647, 0, 0, {0x06, 0x00, 0x7F, 0xFF, 0xFF, 0xFF}},
      {0x528, "Wh", -2147483648.0, 0, 0, {0x07, 0x00, 0x80, 0x00, 0x00, 0x00}},
  };
  const char* flags[4] = {"_OCS", "_Channel_Error", "_Measurement_Error", "_System_Error"};
  for (const auto& g : cases) {
    INFO("IVT message 0x" << std::hex << g.id);
    const Message* m = foxbms().find_message(g.id, false);
    REQUIRE(m != nullptr);
    MessageCodec c(*m);
    CanFrame f;
    c.prepare_frame(f);
    CHECK(f.len == 6);
    const std::string s = g.suffix;
    const int id = static_cast<int>(g.bytes[0]);
    CHECK(c.encode(c.find("IVT_ID_Result_" + s), id, f) == EncodeStatus::kOk);
    CHECK(c.encode(c.find("IVT_MsgCount_Result_" + s), g.counter, f) == EncodeStatus::kOk);
    for (int b = 0; b < 4; ++b) {
      REQUIRE(c.find("IVT_Result_" + s + flags[b]) != MessageCodec::npos);
      c.encode(c.find("IVT_Result_" + s + flags[b]), (g.errors >> b) & 1, f);
    }
    CHECK(c.encode(c.find("IVT_Result_" + s), g.value, f) == EncodeStatus::kOk);
    for (std::size_t i = 0; i < 6; ++i) {
      INFO("byte " << i);
      CHECK(f.data[i] == g.bytes[i]);
    }
    CHECK(c.decode(c.find("IVT_Result_" + s), f).value == Approx(g.value).margin(1e-9));
    CHECK(c.decode(c.find("IVT_MsgCount_Result_" + s), f).value == g.counter);
  }
  // Charge beyond int32: clamped to 0x7FFFFFFF and reported.
  MessageCodec as(*foxbms().find_message(0x527, false));
  CanFrame f;
  as.prepare_frame(f);
  CHECK(as.encode(as.find("IVT_Result_As"), 2147483648.0, f) == EncodeStatus::kClampedHigh);
  CHECK(f.data[2] == 0x7F);
  CHECK(f.data[5] == 0xFF);
}
