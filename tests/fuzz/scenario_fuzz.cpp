// Scenario files (scenarios/*.toml, with the pack, cell, profile and load profiles they name)
// through load_scenario, then what `packsim check` does next: assemble the session and check the
// reference BMS's configuration against the cell.
#include "loader_support.hpp"
#include "packsim/config/loaders.hpp"
#include "packsim/sim/session.hpp"

using namespace packsim;

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) { return 0; }

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path =
      fuzz::Workspace::get().write("scenarios", "fuzz-input.toml", fuzz::as_text(data, size));
  Diagnostics diags;
  const auto sc = config::load_scenario(path, diags);
  fuzz::check_loaded(sc.has_value(), diags, "load_scenario");
  // A session allocates the whole pack: beyond the largest shipped pack (7,104 cells) that is
  // time and memory the fuzzer would report as a timeout, not a finding.
  if (sc && sc->pack.series * sc->pack.parallel <= 8'000) {
    sim::Session(*sc).validate_bms();
  }
  return 0;
}
