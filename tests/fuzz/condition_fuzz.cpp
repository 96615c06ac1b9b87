// The condition language (sim/condition.hpp): any text either compiles or fails with a column
// inside it; a compiled condition evaluates over a pack's data without reading out of bounds.
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "fuzz_support.hpp"
#include "packsim/model/pack.hpp"
#include "packsim/sim/condition.hpp"

using namespace packsim;

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) { return 0; }

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  sim::ConditionContext ctx;
  ctx.n_cells = 4;
  ctx.series = 2;
  ctx.c_rate_to_a = 10.0;
  sim::ConditionError err;
  const auto c = sim::parse_condition(text, ctx, err);
  if (!c) {
    if (err.column < 1 || static_cast<std::size_t>(err.column) > size + 1 || err.message.empty()) {
      std::fprintf(stderr, "error column %d outside the text (%zu bytes): %s\n", err.column, size,
                   err.message.c_str());
      std::abort();
    }
    return 0;
  }
  model::PackData d;
  d.v.assign(4, 3.7);
  d.temp_k.assign(4, 300.0);
  d.z.assign(4, 0.5);
  d.i.assign(4, 1.0);
  for (int state = -1; state < 7; ++state) (void)sim::evaluate(*c, {&d, 1'000'000'000, state});
  return 0;
}
