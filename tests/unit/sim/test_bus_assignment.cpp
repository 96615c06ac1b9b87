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

TEST_CASE("Logical buses resolve to interfaces, explicit beats plain, typos are errors",
          "[sim][can]") {
  const std::vector<std::string> logical{"afe", "sensor"};
  InterfacePlan plan;
  auto per_bus = [&plan]() {  // each logical bus's interface name
    std::vector<std::string> names;
    for (const std::size_t i : plan.of_bus) names.push_back(plan.interfaces[i]);
    return names;
  };
  CHECK(resolve_interfaces(logical, {{"", "can0"}}, plan).ok);
  CHECK(per_bus() == std::vector<std::string>{"can0", "can0"});
  CHECK(plan.interfaces == std::vector<std::string>{"can0"});  // one socket for both buses
  CHECK(resolve_interfaces(logical, {{"sensor", "can1"}, {"", "can0"}}, plan).ok);
  CHECK(per_bus() == std::vector<std::string>{"can0", "can1"});
  const auto missing = resolve_interfaces(logical, {{"afe", "can0"}}, plan);
  CHECK_FALSE(missing.ok);
  CHECK(missing.message.find("bus 'sensor'") != std::string::npos);
  const auto typo = resolve_interfaces(logical, {{"", "can0"}, {"sensnor", "can1"}}, plan);
  CHECK_FALSE(typo.ok);
  CHECK(typo.message.find("no bus 'sensnor' (its buses: afe, sensor)") != std::string::npos);
}
