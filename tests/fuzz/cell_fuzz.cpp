// Cell model files (models/*.toml) through load_cell_type, and detect_kind on the same file.
#include "loader_support.hpp"
#include "packsim/config/loaders.hpp"

using namespace packsim;

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) { return 0; }

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path =
      fuzz::Workspace::get().write("models", "fuzz-input.toml", fuzz::as_text(data, size));
  Diagnostics kind_diags;
  config::detect_kind(path, kind_diags);
  Diagnostics diags;
  const auto cell = config::load_cell_type(path, diags);
  fuzz::check_loaded(cell.has_value(), diags, "load_cell_type");
  return 0;
}
