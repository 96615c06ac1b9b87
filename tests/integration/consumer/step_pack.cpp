// Loads a shipped pack through packsim::config and steps it with packsim::model: 10 ticks at
// rest, then 1C discharge for 2 s at 1 ms. Prints the figures the test checks, one per line.
#include <cstdio>
#include <string>

#include "packsim/config/loaders.hpp"
#include "packsim/model/pack.hpp"

int main(int argc, char** argv) {
  const std::string path =
      argc > 1 ? argv[1] : std::string(STEP_PACK_DATA_DIR) + "/configs/ev_96s2p_nmc.toml";
  packsim::Diagnostics diags;
  const auto pack = packsim::config::load_pack(path, diags);
  if (!pack) {
    std::fputs(diags.format().c_str(), stderr);
    return 2;
  }
  const auto model =
      packsim::model::build_pack_model(pack->spec, pack->cell, 1'000'000, {0.9, 298.15, 1});
  auto data = packsim::model::make_data(model);
  data.input.contactors = {true, true, false};
  data.input.load.mode = packsim::model::LoadMode::kCurrent;
  for (int k = 0; k < 10; ++k) packsim::model::step(model, data);
  const double v_rest = data.pack_voltage_v;
  const double soc_start = data.soc_mean;
  const double one_c_a = pack->cell.capacity_as / 3600.0 * model.np;
  data.input.load.current_a = one_c_a;
  for (int k = 0; k < 2000; ++k) packsim::model::step(model, data);
  std::printf("cells %d\nv_rest %.6f\nv_load %.6f\ncurrent %.6f\none_c %.6f\n", model.n_cells,
              v_rest, data.pack_voltage_v, data.pack_current_a, one_c_a);
  std::printf("soc_drop %.9f\n", soc_start - data.soc_mean);
  return 0;
}
