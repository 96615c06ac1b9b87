#pragma once
// The sim tests' scenarios, from tests/data/scenarios.
#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <utility>

#include "packsim/config/loaders.hpp"

namespace packsim::test {

// tests/data/scenarios/NAME, loaded; the test case fails, with the loader's messages, when it
// does not load.
inline sim::Scenario load_test_scenario(const std::string& name) {
  Diagnostics diags;
  auto sc = config::load_scenario(
      std::filesystem::path(PACKSIM_SOURCE_DIR) / "tests/data/scenarios" / name, diags);
  INFO(diags.format());
  REQUIRE(sc);
  return std::move(*sc);
}

}  // namespace packsim::test
