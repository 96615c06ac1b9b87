#include <catch2/catch.hpp>

#include "packsim/config/quantity.hpp"

using namespace packsim::config;

TEST_CASE("Quantities convert to SI", "[config][quantity]") {
  CHECK(*parse_quantity("2.9 Ah", Dimension::kCharge).value == Approx(2.9 * 3600));
  CHECK(*parse_quantity("1 ms", Dimension::kTime).value == Approx(1e-3));
  CHECK(*parse_quantity("250us", Dimension::kTime).value == Approx(250e-6));
  CHECK(*parse_quantity("250 \xC2\xB5s", Dimension::kTime).value == Approx(250e-6));
  CHECK(*parse_quantity("2 h", Dimension::kTime).value == Approx(7200));
  CHECK(*parse_quantity("25 degC", Dimension::kTemperature).value == Approx(298.15));
  CHECK(*parse_quantity("300 K", Dimension::kTemperature).value == Approx(300));
  CHECK(*parse_quantity("5 degC", Dimension::kTemperatureDifference).value == Approx(5));
  CHECK(*parse_quantity("0.2 mOhm", Dimension::kResistance).value == Approx(2e-4));
  CHECK(*parse_quantity("47.5 g", Dimension::kMass).value == Approx(0.0475));
  CHECK(*parse_quantity("90 %", Dimension::kRatio).value == Approx(0.9));
  CHECK(*parse_quantity("0.9", Dimension::kRatio).value == Approx(0.9));
  CHECK(*parse_quantity("-1.5e3 W", Dimension::kPower).value == Approx(-1500));
  CHECK(*parse_quantity("10 W/m2/K", Dimension::kHeatTransfer).value == Approx(10));
}

TEST_CASE("Wrong, missing and unknown units are errors that say what was expected",
          "[config][quantity]") {
  auto e = parse_quantity("1 A", Dimension::kTime);
  CHECK_FALSE(e.value);
  CHECK(e.error == "unit 'A' is a current; expected a time in s, ms, us, \xC2\xB5s, ns, min, h");
  e = parse_quantity("3600", Dimension::kTime);
  CHECK_FALSE(e.value);
  CHECK(e.error.find("has no unit") != std::string::npos);
  e = parse_quantity("3 furlongs", Dimension::kLength);
  CHECK(e.error.find("unknown unit 'furlongs'") != std::string::npos);
  e = parse_quantity("fast", Dimension::kTime);
  CHECK(e.error.find("expected a number") != std::string::npos);
  e = parse_quantity("nan s", Dimension::kTime);
  CHECK_FALSE(e.value);
}

TEST_CASE("C-rates only where allowed", "[config][quantity]") {
  const auto c = parse_quantity("0.5 C", Dimension::kCurrent, true);
  REQUIRE(c.value);
  CHECK(c.is_c_rate);
  CHECK(*c.value == 0.5);
  CHECK_FALSE(parse_quantity("0.5 C", Dimension::kCurrent, false).value);
}

TEST_CASE("Sizes in bytes: decimal and binary units, whole bytes only", "[config][quantity]") {
  CHECK(*parse_byte_size("100 MB").value == 100'000'000u);
  CHECK(*parse_byte_size("1 GiB").value == 1'073'741'824u);
  CHECK(*parse_byte_size("4096").value == 4096u);
  CHECK(*parse_byte_size("4096 B").value == 4096u);
  CHECK(*parse_byte_size("1.5 KiB").value == 1536u);
  CHECK(*parse_byte_size("1.1 kB").value == 1100u);  // not 1100.0000000000002
  CHECK(*parse_byte_size("20KB").value == 20'000u);
  CHECK(*parse_byte_size(" 2 TiB ").value == 2'199'023'255'552u);
  auto e = parse_byte_size("10 mb");
  CHECK_FALSE(e.value);
  CHECK(e.error.find("unknown unit 'mb'") != std::string::npos);
  CHECK(e.error.find("KiB, MiB, GiB") != std::string::npos);
  CHECK_FALSE(parse_byte_size("1.5 B").value);
  CHECK(parse_byte_size("1.5 B").error.find("not a whole number of bytes") != std::string::npos);
  CHECK_FALSE(parse_byte_size("-1 MB").value);
  CHECK_FALSE(parse_byte_size("1e30 B").value);
  CHECK_FALSE(parse_byte_size("big").value);
  CHECK_FALSE(parse_byte_size("inf GB").value);
  CHECK_FALSE(parse_byte_size("").value);
}
