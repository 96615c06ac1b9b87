#pragma once
// Equivalent-circuit cell: OCV(z,T), R0(z,T,sign i), 1-3 RC pairs, Plett ESC hysteresis,
// coulombic efficiency, entropic heat. docs/cell-model.md is the contract these functions follow.
// Current is positive on discharge. The functions are inline: the pack step calls them per cell
// per tick, and the single-cell tests and validation call the very same code.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>

#include "packsim/model/runaway.hpp"
#include "packsim/model/table.hpp"

namespace packsim::model {

inline constexpr int kMaxRcPairs = 3;
inline constexpr double kZeroCelsiusK = 273.15;

// Field layout of the tables.
enum OcvField : int { kOcv = 0, kDocvDt = 1, kOcvFields = 2 };
enum DynField : int { kR0Discharge = 0, kR0Charge = 1, kRcBase = 2 };
// Source (dt-independent) RC fields per pair: r, tau. Compiled fields per pair: a = exp(-dt/tau),
// r, and t1 = tau (1 - a), the integral of exp(-t/tau) over the tick that the energy terms need.
inline constexpr int kRcSourceFields = 2;
inline constexpr int kRcCompiledFields = 3;

// A cell type as read from a model file: no dependence on the tick length.
struct CellType {
  std::string name;
  std::string chemistry;
  std::string format;
  std::string source;
  double capacity_as = 0.0;  // A*s
  double coulombic_efficiency = 1.0;
  double v_min = 0.0;
  double v_max = 0.0;
  double v_nominal = 0.0;
  double mass_kg = 0.0;
  double specific_heat = 0.0;  // J/(kg K)
  double surface_area_m2 = 0.0;
  double h_conv = 0.0;  // W/(m^2 K)
  GridTable ocv;        // x = SOC, y = temperature [K]; fields OcvField
  GridTable dynamic;    // x = SOC, y = temperature [K]; r0 dis/chg, then (r, tau) per pair
  int rc_pairs = 0;
  double hyst_gamma = 0.0;
  double hyst_m = 0.0;   // V
  double hyst_m0 = 0.0;  // V
  // [runaway]: without it the cell never runs away (no chain, no over-charge heat).
  std::optional<RunawayParams> runaway;
};

// A cell type compiled for one tick length: RC factors a = exp(-dt/tau) at every grid point.
struct CellTables {
  GridTable ocv;
  GridTable dyn;  // r0 dis/chg, then (a, r, tau) per pair
  int rc_pairs = 0;
  double dt_s = 0.0;
  double inv_dt_s = 0.0;
  double coulombic_efficiency = 1.0;
  double hyst_gamma = 0.0;
  double hyst_m = 0.0;
  double hyst_m0 = 0.0;
};

CellTables compile_cell(const CellType& type, double dt_s);

// The axes a cell's two lookups can clamp on: the OCV table's (OCV, dOCV/dT) and the dynamic
// table's (R0, RC pairs), each over SOC and temperature.
enum ClampAxis : int { kOcvSoc = 0, kOcvTemp = 1, kDynSoc = 2, kDynTemp = 3, kClampAxes = 4 };

// Parameters at one (z, T), read once per tick.
struct CellLookup {
  double ocv = 0.0;
  double docv_dt = 0.0;
  double ocv_slope = 0.0;  // dOCV/dz of the interpolant
  double r0_discharge = 0.0;
  double r0_charge = 0.0;
  std::array<double, kMaxRcPairs> a{};
  std::array<double, kMaxRcPairs> r{};
  std::array<double, kMaxRcPairs> t1{};  // s, integral of exp(-t/tau) over the tick
  // Bit (1 << ClampAxis) for each axis whose input was clamped: the pack step tests this alone
  // and counts (clamped_lookups) only when it is set.
  unsigned clamped_axes = 0;
};

// How many of the two lookups (OCV, dynamic) clamped an input.
inline int clamped_lookups(const CellLookup& p) {
  return ((p.clamped_axes & ((1u << kOcvSoc) | (1u << kOcvTemp))) != 0 ? 1 : 0) +
         ((p.clamped_axes & ((1u << kDynSoc) | (1u << kDynTemp))) != 0 ? 1 : 0);
}

// Lookups that clamped, per table and axis, and the span of the query coordinate among them (SOC,
// or kelvin): what a run needed beyond its tables, counted for the whole pack rather than per cell.
struct ClampStats {
  std::array<std::uint64_t, kClampAxes> count{};
  std::array<double, kClampAxes> lo{kInf, kInf, kInf, kInf};
  std::array<double, kClampAxes> hi{-kInf, -kInf, -kInf, -kInf};

  // Only for lookups that clamped (axes != 0): the common case pays for the test alone.
  void add(unsigned axes, double z, double temp_k) {
    for (int a = 0; a < kClampAxes; ++a) {
      if ((axes & (1u << a)) == 0) continue;
      const auto k = static_cast<std::size_t>(a);
      const double v = (a == kOcvTemp || a == kDynTemp) ? temp_k : z;
      ++count[k];
      lo[k] = std::min(lo[k], v);  // a NaN query leaves lo/hi as they were
      hi[k] = std::max(hi[k], v);
    }
  }

 private:
  static constexpr double kInf = std::numeric_limits<double>::infinity();
};

// The state one cell carries from tick to tick.
struct CellState {
  double z = 0.5;
  double h = 0.0;  // hysteresis state in [-1, 1]
  double s = 0.0;  // sign of the last non-zero current
  std::array<double, kMaxRcPairs> v_rc{};
};

inline CellLookup lookup_cell(const CellTables& t, double z, double temp_k) {
  CellLookup p;
  const GridPoint go = t.ocv.locate(z, temp_k);
  p.ocv = t.ocv.value(go, kOcv);
  p.docv_dt = t.ocv.value(go, kDocvDt);
  p.ocv_slope = t.ocv.slope_x(go, kOcv);
  const GridPoint gd = t.dyn.locate(z, temp_k);
  p.r0_discharge = t.dyn.value(gd, kR0Discharge);
  p.r0_charge = t.dyn.value(gd, kR0Charge);
  for (int j = 0; j < t.rc_pairs; ++j) {
    const int f = kRcBase + kRcCompiledFields * j;
    p.a[static_cast<std::size_t>(j)] = t.dyn.value(gd, f);
    p.r[static_cast<std::size_t>(j)] = t.dyn.value(gd, f + 1);
    p.t1[static_cast<std::size_t>(j)] = t.dyn.value(gd, f + 2);
  }
  p.clamped_axes = (go.x_clamped ? 1u << kOcvSoc : 0u) | (go.y_clamped ? 1u << kOcvTemp : 0u) |
                   (gd.x_clamped ? 1u << kDynSoc : 0u) | (gd.y_clamped ? 1u << kDynTemp : 0u);
  return p;
}

// exp(-x) for x >= 0. A tick's hysteresis step is tiny (|i| gamma dt / Q ~ 1e-5 at 1 ms), where a
// four-term series is exact to double precision (x^4/24 < 1e-17 for x < 1e-4) and far cheaper than
// exp(), which would otherwise run for every cell on every tick.
inline double exp_neg(double x) {
  if (x < 1e-4) return 1.0 - x * (1.0 - x * (0.5 - x * (1.0 / 6.0)));
  return std::exp(-x);
}

inline double sign_of(double x) { return x > 0.0 ? 1.0 : (x < 0.0 ? -1.0 : 0.0); }

// The cell seen from its terminals over the coming tick, linearised around a guessed current sign:
// v ~= e - r * i. Exact in the RC pairs and R0; first-order in the SOC and hysteresis changes.
// `m0_sign` is the sign the instantaneous hysteresis M0*s takes (the cell's own for a single cell;
// the pack solve passes one sign per parallel group, see step()).
struct Thevenin {
  double e = 0.0;
  double r = 0.0;
};

inline Thevenin thevenin(const CellTables& t, const CellLookup& p, const CellState& st,
                         double inv_capacity_as, double sign_guess, double m0_sign) {
  const bool charging = sign_guess < 0.0;
  const double eta = charging ? t.coulombic_efficiency : 1.0;
  Thevenin th;
  th.e = p.ocv + t.hyst_m0 * m0_sign + t.hyst_m * st.h;
  th.r = charging ? p.r0_charge : p.r0_discharge;
  for (int j = 0; j < t.rc_pairs; ++j) {
    const auto k = static_cast<std::size_t>(j);
    th.e -= p.a[k] * st.v_rc[k];
    th.r += p.r[k] * (1.0 - p.a[k]);
  }
  const double dq = eta * t.dt_s * inv_capacity_as;  // SOC change per ampere over the tick
  th.r += p.ocv_slope * dq;
  th.r += t.hyst_m * t.hyst_gamma * dq * (1.0 + sign_guess * st.h);
  return th;
}

// Heat released in the cell during one tick, in watts, by origin.
struct CellHeat {
  double ohmic = 0.0;
  double rc = 0.0;
  double reversible = 0.0;
  double hysteresis = 0.0;
  double side = 0.0;  // charge inefficiency
  double total() const { return ohmic + rc + reversible + hysteresis + side; }
};

struct CellStepResult {
  double v = 0.0;  // terminal voltage at the end of the tick
  CellHeat heat;
  double rc_energy_change = 0.0;  // J stored in the RC capacitors during the tick
};

// Advance one cell by one tick with current i (discharge positive) held over the tick.
inline CellStepResult advance_cell(const CellTables& t, const CellLookup& p, CellState& st,
                                   double inv_capacity_as, double i, double temp_k) {
  const double dt = t.dt_s;
  const bool charging = i < 0.0;
  const double eta = charging ? t.coulombic_efficiency : 1.0;
  const double r0 = charging ? p.r0_charge : p.r0_discharge;
  CellStepResult out;
  double v_rc_sum = 0.0;
  double rc_energy = 0.0;  // J dissipated in the RC resistors over the tick
  for (int j = 0; j < t.rc_pairs; ++j) {
    const auto k = static_cast<std::size_t>(j);
    const double a = p.a[k];
    const double r = p.r[k];
    const double v0 = st.v_rc[k];
    const double v1 = a * v0 + r * (1.0 - a) * i;
    // Exact energies of the tick under zero-order-hold current, with d = v0 - r i the distance
    // from the steady state: dissipated in r, r i^2 dt + 2 i d t1 + d^2 t2 with
    // t2 = tau (1 - a^2) / (2 r) = t1 (1 + a) / (2 r), and drawn from the current,
    // i (r i dt + d t1); the capacitor keeps the difference. The dissipation is a quadratic form
    // in (i, d), positive semi-definite iff t1 <= dt (1 + a) / 2: true at the grid points (it is
    // tanh(x/2) <= x/2) and, being linear in the interpolated t1 and a, true between them. So RC
    // heat is never negative, however r and tau vary across the table.
    const double d = v0 - r * i;
    const double t1 = p.t1[k];
    const double t2 = r > 0.0 ? t1 * (1.0 + a) / (2.0 * r) : 0.0;
    const double heat = r * i * i * dt + 2.0 * i * d * t1 + d * d * t2;
    const double e_cap = i * (r * i * dt + d * t1) - heat;
    rc_energy += heat;
    out.rc_energy_change += e_cap;
    st.v_rc[k] = v1;
    v_rc_sum += v1;
  }
  out.heat.rc = rc_energy * t.inv_dt_s;
  const double dq = eta * i * dt * inv_capacity_as;
  st.z -= dq;
  const double ah = exp_neg(std::fabs(dq * t.hyst_gamma));
  const double sgn = sign_of(i);
  st.h = ah * st.h - (1.0 - ah) * sgn;
  if (i != 0.0) st.s = sgn;
  const double ocv_end = t.ocv.value(t.ocv.locate(st.z, temp_k), kOcv);
  const double v_hyst = t.hyst_m0 * st.s + t.hyst_m * st.h;
  out.v = ocv_end + v_hyst - v_rc_sum - r0 * i;
  out.heat.ohmic = i * i * r0;
  out.heat.reversible = -i * temp_k * p.docv_dt;
  out.heat.hysteresis = -i * v_hyst;
  out.heat.side = charging ? (1.0 - eta) * (-i) * p.ocv : 0.0;
  return out;
}

}  // namespace packsim::model
