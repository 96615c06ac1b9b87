// Pack files (configs/*.toml, with the cell model they name) through load_pack.
#include "loader_support.hpp"
#include "packsim/config/loaders.hpp"

using namespace packsim;

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) { return 0; }

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path =
      fuzz::Workspace::get().write("configs", "fuzz-input.toml", fuzz::as_text(data, size));
  Diagnostics diags;
  const auto pack = config::load_pack(path, diags);
  fuzz::check_loaded(pack.has_value(), diags, "load_pack");
  return 0;
}
