// The fitted models on their held-out measurements: the C++ replay must stay within the figures the
// README reports ([case.bound]), and agree with the Python reference of the contract.
#include <toml++/toml.h>

#include <catch2/catch.hpp>

#include "packsim/config/validation.hpp"

using namespace packsim;

TEST_CASE("Held-out model errors stay within the README figures", "[validation]") {
  const std::filesystem::path root = PACKSIM_SOURCE_DIR;
  const auto manifest = root / "data/measured/validation.toml";
  Diagnostics diags;
  const auto cases = config::load_validation_manifest(manifest, diags);
  INFO(diags.format());
  REQUIRE(diags.empty());
  REQUIRE(cases.size() >= 5);
  const toml::table raw = toml::parse_file(manifest.string());
  const toml::array& raw_cases = *raw["case"].as_array();
  for (std::size_t k = 0; k < cases.size(); ++k) {
    const auto& c = cases[k];
    INFO("case " << c.id);
    const auto r = config::run_validation_case(c, root, diags);
    INFO(diags.format());
    REQUIRE(r);
    REQUIRE(c.bound_rms_mv);  // every case carries what packsim promises
    CHECK(r->rms_mv <= *c.bound_rms_mv);
    if (c.bound_p999_mv) CHECK(r->p999_mv <= *c.bound_p999_mv);
    if (c.bound_rise_rms_k) CHECK(r->rise_error_rms_k <= *c.bound_rise_rms_k);
    CHECK(r->rows_scored > 100);
    // The C++ model and the Python reference implement one contract (docs/cell-model.md): their
    // figures agree to far below a millivolt (rounding in the table interpolation only).
    const auto& py = *raw_cases[k].as_table()->get_as<toml::table>("python");
    CHECK(r->rms_mv == Approx(py["rms_mv"].value_or(0.0)).margin(0.02));
    CHECK(r->p999_mv == Approx(py["p999_mv"].value_or(0.0)).margin(0.1));
    CHECK(static_cast<std::int64_t>(r->rows_scored) == py["rows_scored"].value_or(std::int64_t{0}));
  }
}
