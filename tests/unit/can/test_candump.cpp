#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>
#include <random>
#include <string>

#include "packsim/can/candump.hpp"

using namespace packsim::can;

namespace {

std::string line_of(std::int64_t t_ns, std::string_view iface, const CanFrame& f) {
  char buf[kCandumpLineMax];
  return std::string(buf, format_candump(buf, t_ns, iface, f));
}

CanFrame frame(std::uint32_t id, std::initializer_list<std::uint8_t> bytes) {
  CanFrame f;
  f.id = id;
  f.len = static_cast<std::uint8_t>(bytes.size());
  std::size_t i = 0;
  for (auto b : bytes) f.data[i++] = b;
  return f;
}

CandumpRecord parse_ok(const std::string& line) {
  CandumpRecord r;
  CandumpError e;
  INFO(line);
  const bool ok = parse_candump_line(line, r, e);
  INFO(e.column << ": " << e.message);
  REQUIRE(ok);
  return r;
}

CandumpError parse_bad(const std::string& line) {
  CandumpRecord r;
  CandumpError e;
  INFO(line);
  REQUIRE_FALSE(parse_candump_line(line, r, e));
  return e;
}

}  // namespace

TEST_CASE("candump -l lines as can-utils prints them", "[can][candump]") {
  CanFrame sff = frame(0x123, {0xDE, 0xAD, 0xBE, 0xEF});
  CHECK(line_of(1'712'345'678'123'456'789, "can0", sff) ==
        "(1712345678.123456) can0 123#DEADBEEF\n");
  CanFrame eff = frame(0x18DAF110, {0x01});
  eff.extended = true;
  CHECK(line_of(5'000'000, "vcan1", eff) == "(0000000000.005000) vcan1 18DAF110#01\n");
  CanFrame fd = frame(0x270, {});
  fd.fd = true;
  fd.brs = true;
  fd.len = 12;
  fd.data[11] = 0xAA;
  CHECK(line_of(0, "can0", fd) == "(0000000000.000000) can0 270##10000000000000000000000AA\n");
  CanFrame rtr = frame(0x7FF, {});
  rtr.rtr = true;
  rtr.len = 3;
  CHECK(line_of(0, "can0", rtr) == "(0000000000.000000) can0 7FF#R3\n");
  CanFrame err = frame(0x040, {0, 0, 0, 0, 0, 0, 0, 0});
  err.error = true;
  CHECK(line_of(0, "can0", err) == "(0000000000.000000) can0 20000040#0000000000000000\n");
  char buf[kCandumpLineMax];
  CHECK(format_frame(buf, sff) == 12);
  CHECK(std::string(buf) == "123#DEADBEEF");
}

TEST_CASE("candump lines parse back to the frame, timestamp and interface", "[can][candump]") {
  const CandumpRecord r = parse_ok("(1712345678.123456) can0 123#DEADBEEF");
  CHECK(r.has_timestamp);
  CHECK(r.timestamp_ns == 1'712'345'678'123'456'000);
  CHECK(r.iface == "can0");
  CHECK(r.frame == frame(0x123, {0xDE, 0xAD, 0xBE, 0xEF}));

  // Random frames of every kind survive format -> parse unchanged (timestamps to the microsecond).
  std::mt19937_64 rng(42);
  for (int n = 0; n < 5000; ++n) {
    CanFrame f;
    const unsigned kind = static_cast<unsigned>(rng() % 5);
    f.extended = kind == 1;
    f.fd = kind == 2;
    f.rtr = kind == 3;
    f.error = kind == 4;
    f.id = static_cast<std::uint32_t>(rng()) & (f.extended || f.error ? 0x1FFFFFFFu : 0x7FFu);
    if (f.error) f.id &= ~kCanErrorFlag;
    if (f.fd) {
      f.brs = (rng() & 1) != 0;
      f.esi = (rng() & 1) != 0;
      f.len = dlc_to_len(static_cast<std::uint8_t>(rng() % 16), true);
    } else {
      f.len = static_cast<std::uint8_t>(rng() % 9);
    }
    if (!f.rtr) {
      for (std::size_t i = 0; i < f.len; ++i) f.data[i] = static_cast<std::uint8_t>(rng());
    }
    const auto t_us = static_cast<std::int64_t>(rng() % 4'000'000'000'000'000ULL);
    std::string line = line_of(t_us * 1000, "vcan0", f);
    line.pop_back();  // newline
    const CandumpRecord back = parse_ok(line);
    CHECK(back.timestamp_ns == t_us * 1000);
    CHECK(back.iface == "vcan0");
    REQUIRE(back.frame == f);
  }
}

TEST_CASE("cansend syntax: bare frames, separators, FD padding, len8_dlc", "[can][candump]") {
  CandumpRecord r = parse_ok("123#11.22.33");
  CHECK_FALSE(r.has_timestamp);
  CHECK(r.iface.empty());
  CHECK(r.frame == frame(0x123, {0x11, 0x22, 0x33}));
  CHECK(parse_ok("00000123#").frame.extended);
  CHECK(parse_ok("00000123#").frame.len == 0);
  r = parse_ok("123##2112233445566778899");  // 9 bytes -> a 12-byte FD frame, ESI set
  CHECK(r.frame.fd);
  CHECK(r.frame.esi);
  CHECK_FALSE(r.frame.brs);
  CHECK(r.frame.len == 12);
  CHECK(r.frame.data[8] == 0x99);
  CHECK(r.frame.data[11] == 0);
  r = parse_ok("123##5AA");  // as candump prints a frame of a newer kernel: BRS | FDF
  CHECK(r.frame.fd);
  CHECK(r.frame.brs);
  CHECK_FALSE(r.frame.esi);
  r = parse_ok("123#1122334455667788_C");
  CHECK(r.frame.len == 8);
  r = parse_ok("  (0.5) can0 123#R T");
  CHECK(r.timestamp_ns == 500'000'000);
  CHECK(r.frame.rtr);
  CHECK(r.frame.len == 0);
}

TEST_CASE("malformed candump lines are rejected at the offending column", "[can][candump]") {
  struct Case {
    const char* line;
    int column;
    const char* says;
  };
  const Case cases[] = {
      {"", 1, "empty line"},
      {"12#11", 1, "3 hex digits"},
      {"1234#11", 1, "3 hex digits"},
      {"12G#11", 3, "not hexadecimal"},
      {"800#11", 1, "above 0x7FF"},
      {"4FFFFFFF#11", 1, "above 0x1FFFFFFF"},
      {"123#1", 5, "two hex digits"},
      {"123#112233445566778899", 21, "longer than 8"},
      {"123##G", 6, "FD flags"},
      {"123##", 6, "FD flags"},
      {"123#R9", 6, "remote frame length"},
      {"123#1122334455667788_3", 21, "two hex digits"},
      {"(12) can0 123#11", 4, "malformed timestamp"},
      {"(12.) can0 123#11", 5, "malformed timestamp"},
      {"(12.5 can0 123#11", 6, "malformed timestamp"},
      {"(1.0123456789) can0 123#11", 13, "more than 9"},
      {"(1.5) 123#11", 7, "interface name"},
      {"(1.5) can0", 11, "expected a frame"},
      {"(1.5) can0 123", 12, "expected a frame ID#DATA"},
      {"(1.5) can0 123#11 X", 19, "unexpected text"},
      {"(1.5) can0 123#11 T more", 19, "unexpected text"},
  };
  for (const auto& c : cases) {
    const CandumpError e = parse_bad(c.line);
    INFO(c.line << " -> " << e.column << ": " << e.message);
    CHECK(e.column == c.column);
    CHECK(e.message.find(c.says) != std::string::npos);
  }
}

TEST_CASE("candump times must fit int64 nanoseconds", "[can][candump]") {
  // 9999999999.9 s is 1e19 ns: it used to wrap and print as (-8446744074.-709551).
  for (const char* line : {"(9999999999.9) can0 123#11", "(9223372036.854775808) can0 123#11",
                           "(99999999999999999999999999.0) can0 123#11"}) {
    const CandumpError e = parse_bad(line);
    INFO(line << " -> " << e.column << ": " << e.message);
    CHECK(e.column == 1);
    CHECK(e.message.find("timestamp out of range") != std::string::npos);
  }
  const CandumpRecord last = parse_ok("(9223372036.854775807) can0 123#11");
  CHECK(last.timestamp_ns == std::numeric_limits<std::int64_t>::max());
  const std::string line = line_of(last.timestamp_ns, "can0", last.frame);
  CHECK(line == "(9223372036.854775) can0 123#11\n");
  // Before the epoch cannot be written; the formatter writes 0 rather than a line nobody reads.
  CHECK(line_of(-1, "can0", last.frame) == "(0000000000.000000) can0 123#11\n");
}

TEST_CASE("interface names: one rule for the parser and the formatter", "[can][candump]") {
  CHECK(is_valid_interface_name("can0"));
  CHECK(is_valid_interface_name("vcan-test_1.x@2"));
  CHECK(is_valid_interface_name(std::string(15, 'a')));
  CHECK_FALSE(is_valid_interface_name(""));
  CHECK_FALSE(is_valid_interface_name(std::string(16, 'a')));  // IFNAMSIZ is 16 with the NUL
  CHECK_FALSE(is_valid_interface_name(std::string("ca\0n", 4)));
  for (const char* bad : {"can/0", "can:0", "can#0", "can\x01", "can\x7f", "can\xc3\xa4"}) {
    INFO(bad);
    CHECK_FALSE(is_valid_interface_name(bad));
  }
  // A 44-byte name made `dbc decode` stop with "basic_string::_M_replace"; a NUL was kept by the
  // parser and cut by the formatter.
  for (const std::string& name : {std::string(44, 'a'), std::string(16, 'a'),
                                  std::string("ca\0n", 4), std::string("can/0")}) {
    const std::string line = "(1.0) " + name + " 123#11";
    const CandumpError e = parse_bad(line);
    INFO(e.column << ": " << e.message);
    CHECK(e.column == 7);
    CHECK(e.message.find("interface name") != std::string::npos);
  }
  CHECK(parse_ok("(1.0) " + std::string(15, 'a') + " 123#11").iface == std::string(15, 'a'));
  // The formatter never writes a name the parser refuses: cut to 15 bytes, others become '_'.
  const CanFrame f = frame(0x123, {0x11});
  CHECK(line_of(0, std::string(44, 'a').c_str(), f) ==
        "(0000000000.000000) " + std::string(15, 'a') + " 123#11\n");
  char buf[kCandumpLineMax];
  const std::size_t n = format_candump(buf, 0, std::string_view("ca\0n/0", 6), f);
  CHECK(std::string(buf, n) == "(0000000000.000000) ca_n_0 123#11\n");
  CHECK(line_of(0, "", f) == "(0000000000.000000) - 123#11\n");
  for (const std::string& name : {std::string(44, 'x'), std::string("a b"), std::string("\n")}) {
    const std::size_t k = format_candump(buf, 5'000, name, f);
    CHECK(parse_ok(std::string(buf, k - 1)).frame == f);
  }
}
