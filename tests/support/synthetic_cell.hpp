#pragma once
// Cell types built in code for tests whose expected values come from closed-form solutions.

#include <functional>

#include "packsim/model/cell.hpp"

namespace packsim::test {

struct SyntheticCellSpec {
  double capacity_ah = 2.0;
  std::function<double(double z)> ocv = [](double) { return 3.7; };
  std::function<double(double z)> docv_dt = [](double) { return 0.0; };
  double r0_discharge = 0.010;
  double r0_charge = 0.010;
  std::vector<std::pair<double, double>> rc = {{0.020, 30.0}};  // (r, tau) per pair
  double eta = 1.0;
  double gamma = 0.0, m = 0.0, m0 = 0.0;
  int soc_points = 101;
  double mass_kg = 0.045, cp = 1000.0, area = 0.004, h = 10.0;
};

inline model::CellType make_cell(const SyntheticCellSpec& s) {
  using namespace packsim::model;
  CellType c;
  c.name = "synthetic";
  c.capacity_as = s.capacity_ah * 3600.0;
  c.coulombic_efficiency = s.eta;
  c.v_min = 2.5;
  c.v_max = 4.2;
  c.v_nominal = 3.6;
  c.mass_kg = s.mass_kg;
  c.specific_heat = s.cp;
  c.surface_area_m2 = s.area;
  c.h_conv = s.h;
  const UniformAxis soc{0.0, 1.0 / (s.soc_points - 1), s.soc_points};
  const UniformAxis temp{298.15, 1.0, 1};
  c.ocv = GridTable(soc, temp, kOcvFields);
  for (int i = 0; i < soc.count; ++i) {
    c.ocv.at(i, 0, kOcv) = s.ocv(soc.at(i));
    c.ocv.at(i, 0, kDocvDt) = s.docv_dt(soc.at(i));
  }
  c.rc_pairs = static_cast<int>(s.rc.size());
  const UniformAxis dsoc{0.0, 0.5, 3};
  c.dynamic = GridTable(dsoc, temp, kRcBase + kRcSourceFields * c.rc_pairs);
  for (int i = 0; i < dsoc.count; ++i) {
    c.dynamic.at(i, 0, kR0Discharge) = s.r0_discharge;
    c.dynamic.at(i, 0, kR0Charge) = s.r0_charge;
    for (int j = 0; j < c.rc_pairs; ++j) {
      c.dynamic.at(i, 0, kRcBase + 2 * j) = s.rc[static_cast<std::size_t>(j)].first;
      c.dynamic.at(i, 0, kRcBase + 2 * j + 1) = s.rc[static_cast<std::size_t>(j)].second;
    }
  }
  c.hyst_gamma = s.gamma;
  c.hyst_m = s.m;
  c.hyst_m0 = s.m0;
  return c;
}

}  // namespace packsim::test
