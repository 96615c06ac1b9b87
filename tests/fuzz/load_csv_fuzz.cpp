// CSV load profiles (scenarios/profiles/*.csv) through load_profile_csv, with the column names of
// the shipped one and of a two-column file (the fuzzer finds others through the dictionary). A
// profile it returns is what sim::Profile promises: times strictly increasing from 0, a finite
// value for each.
#include <cmath>

#include "loader_support.hpp"
#include "packsim/config/loaders.hpp"
#include "packsim/sim/scenario.hpp"

using namespace packsim;

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) { return 0; }

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = fuzz::Workspace::get().write("scenarios/profiles", "fuzz-input.csv",
                                                 fuzz::as_text(data, size));
  for (const auto& [t, v] : {std::pair<const char*, const char*>{"time_s", "c_rate"}, {"t", "v"}}) {
    Diagnostics diags;
    const auto p = config::load_profile_csv(path, t, v, 2.5, diags);
    fuzz::check_loaded(p.has_value(), diags, "load_profile_csv");
    if (!p) continue;
    fuzz::check(p->t_ns.size() == p->value.size() && p->t_ns.size() >= 2 && p->t_ns[0] == 0,
                "a load profile without its first row at 0 or with too few rows");
    for (std::size_t k = 0; k < p->t_ns.size(); ++k) {
      fuzz::check(k == 0 || p->t_ns[k] > p->t_ns[k - 1], "load profile times do not increase");
      fuzz::check(std::isfinite(p->value[k]),
                  "a load profile value is not finite: row " + std::to_string(k));
    }
  }
  return 0;
}
