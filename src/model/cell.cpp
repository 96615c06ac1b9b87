#include "packsim/model/cell.hpp"

namespace packsim::model {

CellTables compile_cell(const CellType& type, double dt_s) {
  CellTables t;
  t.ocv = type.ocv;
  t.rc_pairs = type.rc_pairs;
  t.dt_s = dt_s;
  t.inv_dt_s = 1.0 / dt_s;
  t.coulombic_efficiency = type.coulombic_efficiency;
  t.hyst_gamma = type.hyst_gamma;
  t.hyst_m = type.hyst_m;
  t.hyst_m0 = type.hyst_m0;
  const GridTable& src = type.dynamic;
  t.dyn = GridTable(src.x(), src.y(), kRcBase + kRcCompiledFields * type.rc_pairs);
  for (int iy = 0; iy < src.y().count; ++iy) {
    for (int ix = 0; ix < src.x().count; ++ix) {
      t.dyn.at(ix, iy, kR0Discharge) = src.at(ix, iy, kR0Discharge);
      t.dyn.at(ix, iy, kR0Charge) = src.at(ix, iy, kR0Charge);
      for (int j = 0; j < type.rc_pairs; ++j) {
        const double r = src.at(ix, iy, kRcBase + kRcSourceFields * j);
        const double tau = src.at(ix, iy, kRcBase + kRcSourceFields * j + 1);
        const int f = kRcBase + kRcCompiledFields * j;
        // The contract: a = exp(-dt/tau) at the grid points, interpolated like any other field.
        const double a = std::exp(-dt_s / tau);
        t.dyn.at(ix, iy, f) = a;
        t.dyn.at(ix, iy, f + 1) = r;
        t.dyn.at(ix, iy, f + 2) = tau * (1.0 - a);
      }
    }
  }
  return t;
}

}  // namespace packsim::model
