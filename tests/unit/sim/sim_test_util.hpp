#pragma once
// The sim tests' scenarios, from tests/data/scenarios.
#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <utility>

#include "packsim/config/loaders.hpp"
#include "packsim/sim/session.hpp"

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

// Opens `session` on `out` and runs it tick by tick (headless, as fast as it goes) to its end.
inline void run_to_end(sim::Session& session, const std::filesystem::path& out) {
  sim::SessionOptions so;
  so.out_dir = out;
  REQUIRE(session.open(so).ok);
  while (!session.done()) {
    session.read(0);
    session.update();
    session.write(0);
  }
}

}  // namespace packsim::test
