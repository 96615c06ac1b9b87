#include <catch2/catch.hpp>

#include "packsim/sim/session.hpp"

using namespace packsim::sim;

TEST_CASE("The --can option parses into bus assignments", "[sim][can]") {
  std::vector<BusAssignment> a;
  std::string error;
  REQUIRE(parse_bus_assignments("can0", a, error));
  REQUIRE(a.size() == 1);
  CHECK(a[0].logical.empty());
  CHECK(a[0].interface == "can0");
  REQUIRE(parse_bus_assignments("afe=can0,sensor=can1", a, error));
  REQUIRE(a.size() == 2);
  CHECK(a[1].logical == "sensor");
  CHECK(a[1].interface == "can1");
  CHECK_FALSE(parse_bus_assignments("afe=", a, error));
  CHECK(error.find("empty interface") != std::string::npos);
  CHECK_FALSE(parse_bus_assignments("can0,", a, error));
  CHECK_FALSE(parse_bus_assignments("=can0", a, error));
  CHECK(error.find("empty bus name") != std::string::npos);
}

TEST_CASE("Logical buses resolve to interfaces; explicit beats plain; typos are errors",
          "[sim][can]") {
  const std::vector<std::string> logical{"afe", "sensor"};
  std::vector<std::string> iface;
  CHECK(resolve_interfaces(logical, {{"", "can0"}}, iface).ok);
  CHECK(iface == std::vector<std::string>{"can0", "can0"});
  CHECK(resolve_interfaces(logical, {{"sensor", "can1"}, {"", "can0"}}, iface).ok);
  CHECK(iface == std::vector<std::string>{"can0", "can1"});
  const auto missing = resolve_interfaces(logical, {{"afe", "can0"}}, iface);
  CHECK_FALSE(missing.ok);
  CHECK(missing.message.find("bus 'sensor'") != std::string::npos);
  const auto typo = resolve_interfaces(logical, {{"", "can0"}, {"sensnor", "can1"}}, iface);
  CHECK_FALSE(typo.ok);
  CHECK(typo.message.find("no bus 'sensnor' (its buses: afe, sensor)") != std::string::npos);
}
