// The shipped KULR 21700-K500 model and 3s1p module configs: the propagation the shipped
// scenarios script (a 120 W heater on cell 0 until it runs away), through the C++ API; and the
// [runaway] section's errors.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "packsim/config/loaders.hpp"
#include "packsim/model/pack.hpp"

using namespace packsim;
using namespace packsim::model;
namespace fs = std::filesystem;

namespace {

struct Run {
  std::vector<std::int64_t> runaway_ns;
};

Run heat_cell0(const std::string& config, double until_s) {
  Diagnostics diags;
  auto pack = config::load_pack(std::string(PACKSIM_SOURCE_DIR) + "/configs/" + config, diags);
  INFO(diags.format());
  REQUIRE(pack);
  REQUIRE(pack->cell.runaway);
  const PackModel m = build_pack_model(pack->spec, pack->cell, 100'000'000, {1.0, 298.15, 1});
  PackData d = make_data(m);
  d.heater_w[0] = 120.0;
  while (static_cast<double>(d.time_ns) * 1e-9 < until_s) {
    if (d.runaway_time_ns[0] >= 0) d.heater_w[0] = 0.0;
    step(m, d);
    if (d.runaway_time_ns[1] >= 0 && d.runaway_time_ns[2] >= 0) break;
  }
  return {d.runaway_time_ns};
}

}  // namespace

TEST_CASE("Shipped KULR module: a heated cell propagates without the barrier, not with it",
          "[runaway][config]") {
  // The scenarios' 15 minutes.
  const Run open = heat_cell0("kulr_3s1p_module.toml", 900.0);
  const Run shielded = heat_cell0("kulr_3s1p_module_barrier.toml", 900.0);
  INFO("open: " << open.runaway_ns[0] << " " << open.runaway_ns[1] << " " << open.runaway_ns[2]);
  INFO("barrier: " << shielded.runaway_ns[0] << " " << shielded.runaway_ns[1] << " "
                   << shielded.runaway_ns[2]);
  REQUIRE(open.runaway_ns[0] >= 0);
  CHECK(open.runaway_ns[1] > open.runaway_ns[0]);
  REQUIRE(shielded.runaway_ns[0] >= 0);
  CHECK(shielded.runaway_ns[1] < 0);
}

TEST_CASE("Cell model [runaway]: errors name the key and what was expected", "[runaway][config]") {
  const fs::path dir = fs::temp_directory_path() / ("packsim-rw-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::string text;
  {
    std::ifstream in(std::string(PACKSIM_SOURCE_DIR) + "/models/kulr_21700_k500.toml");
    std::stringstream ss;
    ss << in.rdbuf();
    text = ss.str();
  }
  auto replace = [&](const std::string& a, const std::string& b) {
    std::string t = text;
    const auto at = t.find(a);
    REQUIRE(at != std::string::npos);
    t.replace(at, a.size(), b);
    return t;
  };
  struct Broken {
    std::string from, to, expect;
  };
  const Broken cases[] = {
      {"reactions = \"kim2007\"", "reactions = \"kim2008\"", "reactions"},
      {"total_heat_kj = [88.88]", "total_heat_kj = [88.88, 90.0]", "total_heat_kj"},
      {"body_fraction = \"31.47 %\"", "body_fraction = \"131.47 %\"", "body_fraction"},
      {"vent_mass = \"2 g\"", "vent_mass = \"40 g\"", "vent_mass"},
      {"impingement = \"10 %\"", "impingment = \"10 %\"", "impingment"},
  };
  for (const auto& c : cases) {
    const fs::path p = dir / "cell.toml";
    std::ofstream(p) << replace(c.from, c.to);
    Diagnostics diags;
    const auto cell = config::load_cell_type(p, diags);
    INFO(c.to << " -> " << diags.format());
    CHECK_FALSE(cell);
    CHECK(diags.format().find(c.expect) != std::string::npos);
    CHECK(diags.format().find("cell.toml:") != std::string::npos);
  }
  fs::remove_all(dir);
}
