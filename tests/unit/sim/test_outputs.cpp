// Output formats: exact time printing, JSON writing.
#include <catch2/catch.hpp>

#include "packsim/sim/json.hpp"
#include "packsim/sim/recorder.hpp"

using namespace packsim::sim;

TEST_CASE("Times print exactly from integer nanoseconds", "[outputs]") {
  CHECK(time_decimals_for(1'000'000) == 3);
  CHECK(time_decimals_for(100'000) == 4);
  CHECK(time_decimals_for(1'000'000'000) == 3);
  CHECK(time_decimals_for(1'234) == 9);
  std::string s;
  append_time(s, 3'151'660'000'000, 3);
  CHECK(s == "3151.660");
  s.clear();
  append_time(s, 1'000'100'000, 4);
  CHECK(s == "1.0001");
  s.clear();
  append_time(s, 999'999'999, 9);
  CHECK(s == "0.999999999");
}

TEST_CASE("JSON writer escapes and nests", "[outputs]") {
  JsonWriter j;
  j.begin_object();
  j.field("a", 1.5).field("b", "x\"y\n");
  j.key("c").begin_array().value(1).value(true).null().end_array();
  j.field("nan", std::nan(""));
  j.key("empty").begin_object().end_object();
  j.end_object();
  CHECK(j.str() ==
        "{\n  \"a\": 1.5,\n  \"b\": \"x\\\"y\\n\",\n  \"c\": [\n    1,\n    true,\n    null\n  ],\n"
        "  \"nan\": null,\n  \"empty\": {}\n}\n");
}
