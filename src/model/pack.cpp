#include "packsim/model/pack.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>

#include "packsim/model/rng.hpp"

namespace packsim::model {
namespace {

// A normal draw truncated at `limit` sigma by redrawing (deterministic: the redraws use the next
// counters), falling back to clamping after a few attempts.
double truncated_normal(std::uint64_t seed, RngStream stream, int cell, double limit) {
  for (std::uint64_t k = 0; k < 16; ++k) {
    const double x = standard_normal(seed, stream, static_cast<std::uint32_t>(cell), k);
    if (std::fabs(x) <= limit) return x;
  }
  return std::clamp(standard_normal(seed, stream, static_cast<std::uint32_t>(cell), 0), -limit,
                    limit);
}

void build_thermal(const PackSpec& spec, const CellType& cell, PackModel& m) {
  ThermalNetwork& net = m.thermal;
  const auto n = static_cast<std::size_t>(m.n_cells);
  const double c = cell.mass_kg * cell.specific_heat;
  const double cooling = spec.thermal.cooling_w_per_k.value_or(cell.h_conv * cell.surface_area_m2);
  net.capacity_j_per_k.assign(n, c);
  net.g_ambient_w_per_k.assign(n, cooling);

  // Cells of a module fill a grid row by row in cell order; `cols` cells per row.
  const int cols = spec.thermal.grid_cols > 0 ? spec.thermal.grid_cols : m.np;
  const int per_module = m.groups_per_module * m.np;
  auto add = [&](int a, int b, double g) {
    if (g > 0.0) net.edges.push_back({a, b, g});
  };
  for (int mod = 0; mod < m.n_modules; ++mod) {
    const int first = mod * per_module;
    // The last module holds what is left when the series count is not a whole number of modules.
    const int count = std::min(per_module, m.n_cells - first);
    for (int k = 0; k < count; ++k) {
      const int col = k % cols;
      if (col + 1 < cols && k + 1 < count)
        add(first + k, first + k + 1, spec.thermal.cell_to_cell_w_per_k);
      if (k + cols < count) add(first + k, first + k + cols, spec.thermal.cell_to_cell_w_per_k);
    }
    // The last row of this module faces the first row of the next one, through a module barrier
    // when one is configured (the loader allows them only between neighbours), else with the
    // default module-to-module conductance.
    if (mod + 1 < m.n_modules) {
      double g = spec.thermal.module_to_module_w_per_k;
      for (const auto& b : spec.thermal.barriers) {
        if (b.modules && std::min(b.cell_a, b.cell_b) == mod &&
            std::max(b.cell_a, b.cell_b) == mod + 1)
          g = b.g_w_per_k;
      }
      const int last_row_start = ((count - 1) / cols) * cols;
      for (int col = 0;
           col < cols && last_row_start + col < count && first + per_module + col < m.n_cells;
           ++col) {
        add(first + last_row_start + col, first + per_module + col, g);
      }
    }
  }
  // Cell barriers replace the conductance of a pair (or add one where there was none).
  for (const auto& b : spec.thermal.barriers) {
    if (b.modules) continue;
    bool found = false;
    for (auto& e : net.edges) {
      if ((e.a == b.cell_a && e.b == b.cell_b) || (e.a == b.cell_b && e.b == b.cell_a)) {
        e.g_w_per_k = b.g_w_per_k;
        found = true;
      }
    }
    if (!found) net.edges.push_back({b.cell_a, b.cell_b, b.g_w_per_k});
  }
  // Zero-conductance edges add nothing to the matrix.
  net.edges.erase(std::remove_if(net.edges.begin(), net.edges.end(),
                                 [](const ThermalEdge& e) { return !(e.g_w_per_k > 0.0); }),
                  net.edges.end());
}

}  // namespace

PackModel build_pack_model(const PackSpec& spec, const CellType& cell, std::int64_t tick_ns,
                           const InitialConditions& init) {
  PackModel m;
  m.name = spec.name;
  m.ns = spec.series;
  m.np = spec.parallel;
  m.n_cells = m.ns * m.np;
  m.groups_per_module = spec.groups_per_module > 0 ? spec.groups_per_module : m.ns;
  m.n_modules = (m.ns + m.groups_per_module - 1) / m.groups_per_module;
  m.rc_pairs = cell.rc_pairs;
  m.tick_ns = tick_ns;
  m.dt_s = static_cast<double>(tick_ns) * 1e-9;
  m.thermal_every = std::max(1, static_cast<int>(std::llround(spec.thermal.step_s / m.dt_s)));
  m.thermal_dt_s = m.thermal_every * m.dt_s;
  m.seed = init.seed;
  m.cell_type = cell;
  m.cell = compile_cell(cell, m.dt_s);

  const auto n = static_cast<std::size_t>(m.n_cells);
  m.capacity_as.resize(n);
  m.inv_capacity_as.resize(n);
  m.r0_scale.resize(n);
  m.soc0.resize(n);
  m.temp0_k.assign(n, init.temp_k);
  m.module_of_cell.resize(n);
  const SpreadSpec& sp = spec.spread;
  for (int c = 0; c < m.n_cells; ++c) {
    const auto k = static_cast<std::size_t>(c);
    double cap_scale = 1.0, r0_scale = 1.0, soc = init.soc;
    if (sp.capacity_rel_sigma > 0.0) {
      cap_scale += sp.capacity_rel_sigma *
                   truncated_normal(init.seed, RngStream::kCapacitySpread, c, sp.truncate_sigma);
    }
    if (sp.r0_rel_sigma > 0.0) {
      r0_scale += sp.r0_rel_sigma *
                  truncated_normal(init.seed, RngStream::kResistanceSpread, c, sp.truncate_sigma);
    }
    if (sp.soc_sigma > 0.0) {
      soc +=
          sp.soc_sigma * truncated_normal(init.seed, RngStream::kSocSpread, c, sp.truncate_sigma);
    }
    m.capacity_as[k] = cell.capacity_as * cap_scale;
    m.r0_scale[k] = r0_scale;
    m.soc0[k] = std::clamp(soc, 0.0, 1.0);
    m.module_of_cell[k] = (c / m.np) / m.groups_per_module;
  }
  for (const auto& o : spec.overrides) {
    const auto k = static_cast<std::size_t>(o.cell);
    if (o.capacity_scale) m.capacity_as[k] = cell.capacity_as * *o.capacity_scale;
    if (o.r0_scale) m.r0_scale[k] = *o.r0_scale;
    if (o.soc) m.soc0[k] = *o.soc;
    if (o.temp_k) m.temp0_k[k] = *o.temp_k;
  }
  for (std::size_t k = 0; k < n; ++k) m.inv_capacity_as[k] = 1.0 / m.capacity_as[k];

  // The most a cell's Thevenin resistance can differ between a charge and a discharge guess.
  {
    const CellTables& t = m.cell;
    double r0_gap = 0.0, slope = 0.0;
    for (int iy = 0; iy < t.dyn.y().count; ++iy)
      for (int ix = 0; ix < t.dyn.x().count; ++ix)
        r0_gap = std::max(r0_gap,
                          std::fabs(t.dyn.at(ix, iy, kR0Charge) - t.dyn.at(ix, iy, kR0Discharge)));
    for (int iy = 0; iy < t.ocv.y().count; ++iy)
      for (int ix = 0; ix + 1 < t.ocv.x().count; ++ix)
        slope = std::max(
            slope, std::fabs(t.ocv.at(ix + 1, iy, kOcv) - t.ocv.at(ix, iy, kOcv)) / t.ocv.x().step);
    const double scale = *std::max_element(m.r0_scale.begin(), m.r0_scale.end());
    const double q_min = *std::min_element(m.capacity_as.begin(), m.capacity_as.end());
    const double dq = m.dt_s / q_min;
    m.sign_r_bound = r0_gap * scale + slope * dq * (1.0 - t.coulombic_efficiency) +
                     2.0 * t.hyst_m * t.hyst_gamma * dq;
  }
  m.busbar_segment_ohm = spec.busbar_segment_ohm;
  m.series_ohm = spec.group_link_ohm * (m.ns - 1) + spec.lead_ohm;
  m.link = spec.link;
  m.insulation_ohm = spec.insulation_ohm;
  m.extra_mass_kg = spec.extra_mass_kg;
  build_thermal(spec, cell, m);
  build_runaway(spec, m);
  return m;
}

PackData make_data(const PackModel& m) {
  PackData d;
  const auto n = static_cast<std::size_t>(m.n_cells);
  const auto ns = static_cast<std::size_t>(m.ns);
  d.z = m.soc0;
  d.h.assign(n, 0.0);
  d.s.assign(n, 0.0);
  d.v_rc.assign(n * static_cast<std::size_t>(std::max(1, m.rc_pairs)), 0.0);
  d.temp_k = m.temp0_k;
  d.leak_s.assign(n, 0.0);
  d.bleed_s.assign(n, 0.0);
  d.open.assign(n, 0);
  d.capacity_fault_scale.assign(n, 1.0);
  d.r0_fault_scale.assign(n, 1.0);
  d.heater_w.assign(n, 0.0);
  d.busbar_extra_ohm.assign(static_cast<std::size_t>(m.ns) * static_cast<std::size_t>(m.np - 1),
                            0.0);
  d.group_link_extra_ohm.assign(static_cast<std::size_t>(m.ns) + 1, 0.0);
  d.module_cooling_scale.assign(static_cast<std::size_t>(m.n_modules), 1.0);
  d.vent_time_ns.assign(n, -1);
  d.runaway_time_ns.assign(n, -1);
  d.v.assign(n, 0.0);
  d.i.assign(n, 0.0);
  d.heat_w.assign(n, 0.0);
  d.clamps.assign(n, 0);
  d.v_group.assign(ns, 0.0);
  d.lookup.resize(n);
  d.e.assign(n, 0.0);
  d.r_th.assign(n, 0.0);
  d.g_leak.assign(n, 0.0);
  d.sign_guess.assign(n, 0.0);
  d.x.assign(n, 0.0);
  d.y.assign(n, 0.0);
  d.scratch.assign(n, 0.0);
  d.u.assign(n, 0.0);
  d.alpha.assign(ns, 0.0);
  d.beta.assign(ns, 0.0);
  d.heat_acc_j.assign(n, 0.0);
  d.heat_mean_w.assign(n, 0.0);
  d.open_r.assign(n, 0.0);
  d.inv_capacity_fault.assign(n, 0.0);
  d.r0_scale_fault.assign(n, 0.0);
  d.open_v.assign(n, 0.0);
  d.seg_ohm.assign(d.busbar_extra_ohm.size(), 0.0);
  d.group_flags.assign(ns, 0);
  d.insulation_ohm = m.insulation_ohm;
  if (!d.thermal.setup(m.thermal, m.thermal_dt_s)) {
    // Loaders bound the conductances so that this cannot happen from a file; a model built in
    // code with absurd values must not step through an empty factorisation.
    throw std::invalid_argument("thermal network of '" + m.name +
                                "': its matrix cannot be factorised (a conductance or heat "
                                "capacity far out of range?)");
  }
  // Relaxed initial voltages, so that the first recorded sample is meaningful.
  for (std::size_t c = 0; c < n; ++c) {
    const CellLookup p = lookup_cell(m.cell, d.z[c], d.temp_k[c]);
    d.v[c] = p.ocv;
  }
  make_runaway_data(m, d);
  for (std::size_t g = 0; g < ns; ++g) d.v_group[g] = d.v[g * static_cast<std::size_t>(m.np)];
  double sum = 0.0;
  for (double v : d.v_group) sum += v;
  d.pack_voltage_v = sum;
  const auto [v_lo, v_hi] = std::minmax_element(d.v.begin(), d.v.end());
  const auto [z_lo, z_hi] = std::minmax_element(d.z.begin(), d.z.end());
  const auto [t_lo, t_hi] = std::minmax_element(d.temp_k.begin(), d.temp_k.end());
  const double inv_n = 1.0 / static_cast<double>(n);
  d.v_min = *v_lo;
  d.v_max = *v_hi;
  d.soc_min = *z_lo;
  d.soc_max = *z_hi;
  d.t_min_k = *t_lo;
  d.t_max_k = *t_hi;
  d.v_mean = d.soc_mean = d.t_mean_k = 0.0;
  for (std::size_t c = 0; c < n; ++c) {
    d.v_mean += d.v[c] * inv_n;
    d.soc_mean += d.z[c] * inv_n;
    d.t_mean_k += d.temp_k[c] * inv_n;
  }
  return d;
}

namespace {

// Whether any of `count` doubles differs bitwise from `value`: an integer OR reduction, which
// vectorises (a floating-point compare-and-or did not, at the baseline x86-64 target).
inline bool any_differs(const double* x, std::size_t count, double value) {
  std::uint64_t ref = 0, acc = 0;
  std::memcpy(&ref, &value, sizeof ref);
  for (std::size_t k = 0; k < count; ++k) {
    std::uint64_t bits = 0;
    std::memcpy(&bits, &x[k], sizeof bits);
    acc |= bits ^ ref;
  }
  return acc != 0;
}

enum : std::uint8_t {
  kGroupLoose = 1,    // a busbar segment of the group has extra resistance
  kGroupAllOpen = 2,  // every cell of the group is open: the group is an open circuit
};

// 1 / capacity per cell this tick: the model's, or with a capacity fault the workspace holding it
// divided by the fault scales (so the per-cell loops pay nothing without one).
// The R0 scale per cell this tick: the spread's, or with an R0 fault the product, likewise.
inline const double* r0_scales(const PackModel& m, PackData& d) {
  if (!any_differs(d.r0_fault_scale.data(), d.r0_fault_scale.size(), 1.0)) return m.r0_scale.data();
  for (std::size_t c = 0; c < d.r0_scale_fault.size(); ++c)
    d.r0_scale_fault[c] = m.r0_scale[c] * d.r0_fault_scale[c];
  return d.r0_scale_fault.data();
}

inline const double* inv_capacity(const PackModel& m, PackData& d) {
  if (!any_differs(d.capacity_fault_scale.data(), d.capacity_fault_scale.size(), 1.0))
    return m.inv_capacity_as.data();
  for (std::size_t c = 0; c < d.inv_capacity_fault.size(); ++c)
    d.inv_capacity_fault[c] = m.inv_capacity_as[c] / d.capacity_fault_scale[c];
  return d.inv_capacity_fault.data();
}

// The faults that change the network's shape this tick: open cells, loose busbar segments, link
// and lead resistances. A scan of the fault arrays (no allocation); with no fault the solve below
// takes exactly the paths it takes without this faults.
void prepare_network_faults(const PackModel& m, PackData& d) {
  const auto np = static_cast<std::size_t>(m.np);
  const auto ns = static_cast<std::size_t>(m.ns);
  d.any_open = false;
  d.string_open = false;
  for (std::size_t g = 0; g < ns; ++g) {
    std::uint8_t flags = 0;
    std::size_t open = 0;
    for (std::size_t j = 0; j < np; ++j) open += d.open[g * np + j] != 0 ? 1u : 0u;

    if (open > 0) d.any_open = true;
    if (open == np) {
      flags |= kGroupAllOpen;
      d.string_open = true;
    }
    const std::size_t s0 = g * (np - 1);
    if (np > 1 && any_differs(&d.busbar_extra_ohm[s0], np - 1, 0.0)) {
      flags |= kGroupLoose;
      for (std::size_t k = 0; k + 1 < np; ++k)
        d.seg_ohm[s0 + k] = m.busbar_segment_ohm + d.busbar_extra_ohm[s0 + k];
    }
    d.group_flags[g] = flags;
  }
  double extra = 0.0;
  for (double r : d.group_link_extra_ohm) extra += r;
  d.series_extra_ohm = extra;
}

// The current of an open cell: only its own internal short (inside the can) loads it. A cell the
// runaway module opened has burnt out: no EMF is left to drive its terminals or a short on it
// (the databank's total already holds the electrical energy its contents released).
void open_cell_currents(const PackModel& m, PackData& d) {
  for (std::size_t c = 0; c < static_cast<std::size_t>(m.n_cells); ++c) {
    if (d.open[c] == 0) continue;
    if (d.runaway.opened[c] != 0) {
      d.i[c] = 0.0;
      d.open_v[c] = 0.0;
      continue;
    }
    const double gl = d.leak_s[c] + d.runaway.short_s[c];
    const double i = d.e[c] * gl / (1.0 + d.open_r[c] * gl);
    d.i[c] = i;
    d.open_v[c] = d.e[c] - d.open_r[c] * i;
  }
}

inline CellState load_state(const PackModel& m, const PackData& d, std::size_t c, std::size_t n) {
  CellState st;
  st.z = d.z[c];
  st.h = d.h[c];
  st.s = d.s[c];
  for (int j = 0; j < m.rc_pairs; ++j)
    st.v_rc[static_cast<std::size_t>(j)] = d.v_rc[static_cast<std::size_t>(j) * n + c];
  return st;
}

// A lookup that clamped: per cell, in all, and by table and axis. Out of line and cold, so that the
// lookup sweep, where nothing clamps in a run inside the tables, keeps its registers.
[[gnu::noinline, gnu::cold]] void count_clamps(PackData& d, std::size_t c, const CellLookup& p,
                                               double z) {
  const int n = clamped_lookups(p);
  d.clamps[c] += static_cast<std::uint32_t>(n);
  d.clamp_total += static_cast<std::uint64_t>(n);
  d.clamp_stats.add(p.clamped_axes, z, d.temp_k[c]);
}

// Thevenin sources of every cell and of every group, and the battery's (a - b I) as a whole.
// On the first pass (fresh = true) the parameters are looked up here, cell by cell, and kept for
// later passes and the advance: one sweep over the cells instead of a lookup sweep and a solve
// sweep.
void network_sources(const PackModel& m, PackData& d, const double* inv_q, const double* r0_scale,
                     double m0_pack_sign, double& a, double& b, bool fresh) {
  const bool any_open = d.any_open;
  const auto n = static_cast<std::size_t>(m.n_cells);
  const auto np = static_cast<std::size_t>(m.np);
  a = 0.0;
  b = m.series_ohm + d.series_extra_ohm;  // + 0.0 exactly without a loose link
  const auto ns = static_cast<std::size_t>(m.ns);
  // Thevenin sources of one group's cells.
  auto sources = [&](std::size_t g) {
    const std::size_t c0 = g * np;
    // One instantaneous-hysteresis sign per group: the pack current's, or at zero current the
    // group's mean sign memory. Per-cell signs would let M0 drive a circulating current between
    // parallel cells, which the ESC model's M0 (an overpotential of the current through the cell)
    // cannot do.
    double m0_sign = m0_pack_sign;
    if (m0_sign == 0.0) {
      double sum = 0.0;
      for (std::size_t j = 0; j < np; ++j) sum += d.s[c0 + j];
      m0_sign = sum / static_cast<double>(np);
    }
    for (std::size_t j = 0; j < np; ++j) {
      const std::size_t c = c0 + j;
      const CellState st = load_state(m, d, c, n);
      CellLookup& p = d.lookup[c];
      if (fresh) {
        p = lookup_cell(m.cell, st.z, d.temp_k[c]);
        p.r0_discharge *= r0_scale[c];
        p.r0_charge *= r0_scale[c];
        if (p.clamped_axes != 0) count_clamps(d, c, p, st.z);
      }
      const Thevenin th = thevenin(m.cell, p, st, inv_q[c], d.sign_guess[c], m0_sign);
      d.e[c] = th.e;
      d.r_th[c] = th.r;
      if (any_open && d.open[c] != 0) {
        // Disconnected from its node: an infinite resistance adds nothing to the ladder.
        d.open_r[c] = th.r;
        d.r_th[c] = std::numeric_limits<double>::infinity();
      }
    }
  };
  auto accumulate = [&](std::size_t g, const GroupThevenin& gt) {
    d.alpha[g] = gt.alpha;
    d.beta[g] = gt.beta;
    a += gt.alpha;
    b += gt.beta;
  };
  // A group on its own: an open group adds nothing (the string is open, see step), a loose busbar
  // takes the per-segment ladder.
  auto single = [&](std::size_t g1) {
    const std::size_t c0 = g1 * np;
    const std::uint8_t flags = d.group_flags[g1];
    if (flags & kGroupAllOpen) {
      for (std::size_t j = 0; j < np; ++j) d.x[c0 + j] = d.y[c0 + j] = 0.0;
      d.alpha[g1] = d.beta[g1] = 0.0;
      return;
    }
    if (flags & kGroupLoose) {
      accumulate(
          g1, solve_group_segments(np, &d.e[c0], &d.r_th[c0], &d.g_leak[c0],
                                   &d.seg_ohm[g1 * (np - 1)], &d.x[c0], &d.y[c0], &d.scratch[c0]));
    } else {
      accumulate(g1, solve_group(np, &d.e[c0], &d.r_th[c0], &d.g_leak[c0], m.busbar_segment_ohm,
                                 &d.x[c0], &d.y[c0], &d.scratch[c0]));
    }
  };
  std::size_t g = 0;
  for (; g + 1 < ns; g += 2) {
    sources(g);
    sources(g + 1);
    if ((d.group_flags[g] | d.group_flags[g + 1]) != 0) {
      single(g);
      single(g + 1);
      continue;
    }
    const std::size_t c0 = g * np, c1 = c0 + np;
    GroupThevenin t0, t1;
    solve_group_pair(np, &d.e[c0], &d.r_th[c0], &d.g_leak[c0], &d.x[c0], &d.y[c0], &d.scratch[c0],
                     &d.e[c1], &d.r_th[c1], &d.g_leak[c1], &d.x[c1], &d.y[c1], &d.scratch[c1],
                     m.busbar_segment_ohm, t0, t1);
    accumulate(g, t0);
    accumulate(g + 1, t1);
  }
  for (; g < ns; ++g) {
    sources(g);
    single(g);
  }
}

// The sign the pack current will have, when the load alone decides it (0 when it does not).
double expected_current_sign(const LoadCommand& load, const ContactorState& k) {
  if (!(k.main_pos && k.main_neg)) return 0.0;
  switch (load.mode) {
    case LoadMode::kCurrent:
      return sign_of(load.current_a);
    case LoadMode::kPower:
      return sign_of(load.power_w);
    case LoadMode::kResistance:
      return load.resistance_ohm > 0.0 ? 1.0 : 0.0;
    case LoadMode::kCcCv:
      return load.charge_current_a > 0.0 ? -1.0 : 0.0;
    case LoadMode::kNone:
      return 0.0;
  }
  return 0.0;
}

}  // namespace

void step(const PackModel& m, PackData& d) {
  const auto n = static_cast<std::size_t>(m.n_cells);
  const auto np = static_cast<std::size_t>(m.np);
  const auto ns = static_cast<std::size_t>(m.ns);
  const CellTables& t = m.cell;
  const double dt = m.dt_s;

  // 1. Leaks, and sign guesses: the load's if it decides the sign of the pack current (so that a
  //    drive cycle's change from traction to regeneration does not cost a second pass), otherwise
  //    each cell's last current.
  prepare_network_faults(m, d);
  const double* inv_q = inv_capacity(m, d);
  const double* r0_scale = r0_scales(m, d);
  const bool any_open = d.any_open;
  // Contactors as they are: a welded one conducts whatever the command, a stuck-open one never
  // closes (welded wins if both are set). `net` is what the current sees: no precharge branch with
  // an open precharge resistor, nothing at all with an open series string.
  const ContactorState cmd = d.input.contactors;
  const ContactorState before = d.contactors;
  {
    const ContactorState& w = d.input.contactor_welded;
    const ContactorState& so = d.input.contactor_stuck_open;
    auto eff = [](bool c, bool welded, bool stuck) { return welded || (c && !stuck); };
    d.contactors = {eff(cmd.main_pos, w.main_pos, so.main_pos),
                    eff(cmd.main_neg, w.main_neg, so.main_neg),
                    eff(cmd.precharge, w.precharge, so.precharge)};
    const ContactorState& prev = d.contactors_commanded;
    const bool was[] = {prev.main_pos, prev.main_neg, prev.precharge};
    const bool now[] = {cmd.main_pos, cmd.main_neg, cmd.precharge};
    const bool welded[] = {w.main_pos, w.main_neg, w.precharge};
    const bool stuck[] = {so.main_pos, so.main_neg, so.precharge};
    for (int k = 0; k < 3; ++k) {
      if (was[k] && !now[k] && welded[k])  // commanded open, stays closed
        d.events.push({d.time_ns, ModelEventKind::kContactorStuck, k, 1.0});
      else if (!was[k] && now[k] && stuck[k] && !welded[k])  // commanded closed, stays open
        d.events.push({d.time_ns, ModelEventKind::kContactorStuck, k, 0.0});
    }
    d.contactors_commanded = cmd;
    // The precharge window ends when the precharge path (precharge + main-, main+ open) stops
    // being the only path: with its resistor open the link never charged.
    const bool precharging_before = before.precharge && before.main_neg && !before.main_pos;
    const bool precharging_now =
        d.contactors.precharge && d.contactors.main_neg && !d.contactors.main_pos;
    if (d.input.precharge_open && precharging_before && !precharging_now)
      d.events.push({d.time_ns, ModelEventKind::kPrechargeFailed, 0, d.link_voltage_v});
  }
  ContactorState net = d.contactors;
  if (d.input.precharge_open) net.precharge = false;
  if (d.string_open) net = ContactorState{};
  const double load_sign = expected_current_sign(d.input.load, net);
  for (std::size_t c = 0; c < n; ++c) {
    // An open cell's own short stays inside it; the bleed resistor is across the group's node.
    d.g_leak[c] = any_open && d.open[c] != 0 ? d.bleed_s[c]
                                             : d.leak_s[c] + d.runaway.short_s[c] + d.bleed_s[c];
    const double last = sign_of(d.i[c]) != 0.0 ? sign_of(d.i[c]) : d.s[c];
    d.sign_guess[c] = load_sign != 0.0 ? load_sign : last;
  }

  // 2. Network solve in the same tick, repeated while a current changes sign (R0, efficiency and
  //    hysteresis depend on it). Converges in one or two passes; capped.
  double m0_pack_sign = load_sign != 0.0 ? load_sign : sign_of(d.pack_current_a);
  LinkResult link;
  double a = 0.0, b = 0.0;
  constexpr int kMaxPasses = 4;
  for (int pass = 0; pass < kMaxPasses; ++pass) {
    network_sources(m, d, inv_q, r0_scale, m0_pack_sign, a, b, pass == 0);
    link = solve_link(a, b, m.link, net, d.input.load, d.link_voltage_v, dt);
    const double current = link.pack_current_a;
    // The pack's sign only matters through the instantaneous hysteresis M0.
    bool changed = sign_of(current) != m0_pack_sign && sign_of(current) != 0.0;
    if (changed) m0_pack_sign = sign_of(current);
    changed = changed && t.hyst_m0 != 0.0;
    for (std::size_t g = 0; g < ns; ++g) {
      const std::size_t c0 = g * np;
      group_currents(np, &d.e[c0], &d.r_th[c0], &d.x[c0], &d.y[c0], current, &d.u[c0], &d.i[c0]);
    }
    if (d.any_open) open_cell_currents(m, d);
    for (std::size_t c = 0; c < n; ++c) {
      const double sg = sign_of(d.i[c]);
      // Another pass only if the wrong sign's Thevenin resistance could move the cell's voltage by
      // more than 0.1 uV this tick (a cell carrying a few mA of circulating current, or a model
      // whose parameters do not depend on the sign, never needs one).
      // (A faulted cell's R0 and capacity widen the bound by their scales.)
      if (sg != 0.0 && sg != d.sign_guess[c] &&
          std::fabs(d.i[c]) * m.sign_r_bound *
                  std::max(d.r0_fault_scale[c], 1.0 / d.capacity_fault_scale[c]) >
              1e-7) {
        d.sign_guess[c] = sg;
        changed = true;
      }
    }
    if (!changed) break;
    if (pass + 1 < kMaxPasses) ++d.sign_iterations;
  }
  const double current = link.pack_current_a;
  d.pack_current_a = current;
  d.link_voltage_v = link.link_voltage_v;
  d.load_current_a = link.load_current_a;
  d.power_limited = link.power_limited;
  d.cv_limited = link.cv_limited;
  if (link.power_limited) ++d.power_limited_ticks;
  d.pack_voltage_v = a - b * current;
  if (d.string_open) {
    // A broken string: the terminals see the DC link if the contactors connect it, else nothing
    // (the HV measurement's divider pulls them together); the open group(s) take the rest of the
    // string's voltage, shared evenly (KVL round the loop), as their sense wires would see it.
    const ContactorState& k = d.contactors;
    d.pack_voltage_v = k.main_neg && (k.main_pos || k.precharge) ? d.link_voltage_v : 0.0;
  }

  // 3. Advance every cell with its solved current; aggregates and books on the way.
  EnergyBooks& books = d.energy;
  double v_min = std::numeric_limits<double>::infinity(), v_max = -v_min, v_sum = 0.0;
  double z_min = v_min, z_max = -v_min, z_sum = 0.0;
  double heat_sum = 0.0;
  CellHeat heat_parts;
  double leak_w = 0.0, bleed_w = 0.0, rc_stored = 0.0, busbar_w = 0.0;
  double heater_w = 0.0, overcharge_w = 0.0;
  const bool overcharge_heat = m.runaway.enabled && m.runaway.params.overcharge_heat;
  for (std::size_t c = 0; c < n; ++c) {
    CellState st = load_state(m, d, c, n);
    const double i = d.i[c];
    const CellStepResult r = advance_cell(t, d.lookup[c], st, inv_q[c], i, d.temp_k[c]);
    d.z[c] = st.z;
    d.h[c] = st.h;
    d.s[c] = st.s;
    for (int j = 0; j < m.rc_pairs; ++j)
      d.v_rc[static_cast<std::size_t>(j) * n + c] = st.v_rc[static_cast<std::size_t>(j)];
    const double u = d.u[c];
    // An open cell's short sees the cell's own terminals, not the busbar node.
    const double u_cell = any_open && d.open[c] != 0 ? d.open_v[c] : u;
    const double q_leak = (d.leak_s[c] + d.runaway.short_s[c]) * u_cell * u_cell;
    const double q_bleed = d.bleed_s[c] * u * u;
    const double q = r.heat.total() + q_leak + d.bleed_heat_to_cell * q_bleed;
    const double v = any_open && d.runaway.opened[c] != 0 ? 0.0 : r.v;  // burnt out: 0 V
    d.v[c] = v;
    d.heat_w[c] = q;
    // Heaters and the over-charge side reaction heat the node, outside the cell's own books.
    double q_extra = d.heater_w[c];
    if (overcharge_heat && st.z > 1.0 && i < 0.0) {
      // Past full charge the charge no longer stores: its energy at the OCV is reaction heat.
      const double q_oc = -i * d.lookup[c].ocv;
      q_extra += q_oc;
      overcharge_w += q_oc;
    }
    heater_w += d.heater_w[c];
    d.heat_acc_j[c] += (q + q_extra) * dt;
    heat_sum += q;
    heat_parts.ohmic += r.heat.ohmic;
    heat_parts.rc += r.heat.rc;
    heat_parts.reversible += r.heat.reversible;
    heat_parts.hysteresis += r.heat.hysteresis;
    heat_parts.side += r.heat.side;
    leak_w += q_leak;
    bleed_w += q_bleed;
    rc_stored += r.rc_energy_change;
    v_min = std::min(v_min, v);
    v_max = std::max(v_max, v);
    v_sum += v;
    z_min = std::min(z_min, st.z);
    z_max = std::max(z_max, st.z);
    z_sum += st.z;
  }
  double open_groups = 0.0, healthy_v = 0.0;
  for (std::size_t g = 0; g < ns; ++g) {
    const std::size_t c0 = g * np;
    d.v_group[g] = d.u[c0];
    if (d.group_flags[g] != 0) {
      if (d.group_flags[g] & kGroupAllOpen) {
        open_groups += 1.0;
        continue;
      }
      healthy_v += d.u[c0];
      if (d.group_flags[g] & kGroupLoose) {
        // Segment current du / (r + r_extra); the extra part's I^2 R heats the two cells beside
        // it, half each (the base busbar's heat stays outside the cells, as without a fault).
        const double* seg = &d.seg_ohm[g * (np - 1)];
        const double* extra = &d.busbar_extra_ohm[g * (np - 1)];
        for (std::size_t j = 1; j < np; ++j) {
          if (!(seg[j - 1] > 0.0)) continue;
          const double i_seg = (d.u[c0 + j] - d.u[c0 + j - 1]) / seg[j - 1];
          busbar_w += i_seg * i_seg * seg[j - 1];
          const double half_j = 0.5 * i_seg * i_seg * extra[j - 1] * dt;
          d.heat_acc_j[c0 + j - 1] += half_j;
          d.heat_acc_j[c0 + j] += half_j;
        }
        continue;
      }
    } else {
      healthy_v += d.u[c0];
    }
    if (m.busbar_segment_ohm > 0.0) {
      for (std::size_t j = 1; j < np; ++j) {
        const double du = d.u[c0 + j] - d.u[c0 + j - 1];
        busbar_w += du * du / m.busbar_segment_ohm;
      }
    }
  }
  if (d.string_open) {
    const double gap = (healthy_v - d.pack_voltage_v) / open_groups;
    for (std::size_t g = 0; g < ns; ++g)
      if (d.group_flags[g] & kGroupAllOpen) d.v_group[g] = gap;
  }
  if (d.series_extra_ohm != 0.0) {
    // A loose link's or lead's I^2 R: a link heats the two groups beside it, half each, shared
    // evenly by their cells; a lead heats the end group it connects.
    const double inv_np = 1.0 / static_cast<double>(np);
    for (std::size_t k = 0; k <= ns; ++k) {
      const double r_x = d.group_link_extra_ohm[k];
      if (r_x == 0.0) continue;
      const double e_j = current * current * r_x * dt;
      const bool end = k == 0 || k == ns;
      const std::size_t below = k == 0 ? 0 : k - 1, above = k == ns ? ns - 1 : k;
      const double share = (end ? 1.0 : 0.5) * e_j * inv_np;
      for (std::size_t j = 0; j < np; ++j) {
        if (end) {
          d.heat_acc_j[below * np + j] += share;
        } else {
          d.heat_acc_j[below * np + j] += share;
          d.heat_acc_j[above * np + j] += share;
        }
      }
    }
  }
  // Insulation: the healthy resistance split evenly between the rails, in parallel with the fault
  // conductance at the positive terminal of cell iso_fault_cell. The chassis settles where the
  // currents through the three paths cancel (static charge balance).
  {
    const double g_rail = 0.5 / m.insulation_ohm;
    // The string's voltage as the sense wires see it (a broken string's gap included).
    double v_string = healthy_v;
    if (d.string_open) {
      v_string = 0.0;
      for (std::size_t g = 0; g < ns; ++g) v_string += d.v_group[g];
    }
    double g_f = 0.0, v_f = 0.0;
    const int fc = d.input.iso_fault_cell;
    if (fc >= 0 && fc < m.n_cells && d.input.iso_fault_s > 0.0) {
      g_f = d.input.iso_fault_s;
      const std::size_t fg = static_cast<std::size_t>(fc) / np;
      for (std::size_t g = 0; g <= fg; ++g) v_f += d.v_group[g];
    }
    const double g_sum = 2.0 * g_rail + g_f;
    d.insulation_ohm = 1.0 / g_sum;
    d.chassis_v = (g_rail * v_string + g_f * v_f) / g_sum;
    d.insulation_location = v_string > 0.0 ? d.chassis_v / v_string : 0.5;
  }
  const double inv_n = 1.0 / static_cast<double>(n);
  d.v_min = v_min;
  d.v_max = v_max;
  d.v_mean = v_sum * inv_n;
  d.soc_min = z_min;
  d.soc_max = z_max;
  d.soc_mean = z_sum * inv_n;
  d.heat_total_w = heat_sum;

  const double terminal_j = d.pack_voltage_v * current * dt;
  books.battery_out_j += terminal_j;
  if (current > 0.0) {
    books.discharged_j += terminal_j;
    books.discharged_as += current * dt;
  } else {
    books.charged_j -= terminal_j;
    books.charged_as -= current * dt;
  }
  books.load_j += d.link_voltage_v * d.load_current_a * dt;
  books.cell_heat_j += heat_sum * dt;
  books.ohmic_j += heat_parts.ohmic * dt;
  books.rc_j += heat_parts.rc * dt;
  books.reversible_j += heat_parts.reversible * dt;
  books.hysteresis_j += heat_parts.hysteresis * dt;
  books.side_j += heat_parts.side * dt;
  books.leak_j += leak_w * dt;
  books.heater_j += heater_w * dt;
  books.overcharge_j += overcharge_w * dt;
  books.bleed_j += bleed_w * dt;
  books.interconnect_j += (busbar_w + (m.series_ohm + d.series_extra_ohm) * current * current) * dt;
  books.path_j += link.path_ohm * current * current * dt;
  books.rc_stored_j += rc_stored;
  books.charge_out_as += current * dt;

  // 4. Thermal network every thermal_every ticks, with the mean heat since its last step.
  ++d.tick;
  d.time_ns += m.tick_ns;
  if (d.tick % static_cast<std::uint64_t>(m.thermal_every) == 0) {
    const double inv_dt = 1.0 / m.thermal_dt_s;
    for (std::size_t c = 0; c < n; ++c) {
      d.heat_mean_w[c] = d.heat_acc_j[c] * inv_dt;
      d.heat_acc_j[c] = 0.0;
    }
    // Cooling loss: the matrix was factorised with full convection, so the convection that no
    // longer happens is given back as an explicit heat (1 - scale) g_amb (T - T_amb) at the
    // step's start temperature. Per step the excess over ambient decays by
    // (C/dt + (1 - s) g) / (C/dt + g), in (0, 1] for any dt and s in [0, 1]: stable and monotone,
    // with the exact steady state q / (s g); its time constant differs from a refactorised
    // backward Euler's by a relative (1 - s) g dt / C (docs/faults.md, test_pack_faults.cpp).
    for (std::size_t mod = 0; mod < d.module_cooling_scale.size(); ++mod) {
      const double lost = 1.0 - d.module_cooling_scale[mod];
      if (lost == 0.0) continue;
      const auto per = static_cast<std::size_t>(m.groups_per_module) * np;
      const std::size_t first = mod * per, last = std::min(n, first + per);
      for (std::size_t c = first; c < last; ++c)
        d.heat_mean_w[c] +=
            lost * m.thermal.g_ambient_w_per_k[c] * (d.temp_k[c] - d.input.ambient_k);
    }
    runaway_step(m, d, d.heat_mean_w.data());
    d.thermal.step(d.temp_k.data(), d.heat_mean_w.data(), d.input.ambient_k);
  }
  double t_min = std::numeric_limits<double>::infinity(), t_max = -t_min, t_sum = 0.0;
  for (std::size_t c = 0; c < n; ++c) {
    t_min = std::min(t_min, d.temp_k[c]);
    t_max = std::max(t_max, d.temp_k[c]);
    t_sum += d.temp_k[c];
  }
  d.t_min_k = t_min;
  d.t_max_k = t_max;
  d.t_mean_k = t_sum * inv_n;
}

std::vector<TableClampWarning> table_clamp_warnings(const PackModel& m, const PackData& d,
                                                    double min_share) {
  std::vector<TableClampWarning> out;
  const double cell_ticks = static_cast<double>(d.tick) * m.n_cells;
  if (!(cell_ticks > 0.0)) return out;
  for (int a = 0; a < kClampAxes; ++a) {
    const auto k = static_cast<std::size_t>(a);
    const double share = static_cast<double>(d.clamp_stats.count[k]) / cell_ticks;
    if (!(share > min_share)) continue;
    const bool ocv = a == kOcvSoc || a == kOcvTemp;
    const bool temperature = a == kOcvTemp || a == kDynTemp;
    const GridTable& table = ocv ? m.cell.ocv : m.cell.dyn;
    const UniformAxis& axis = temperature ? table.y() : table.x();
    TableClampWarning w;
    w.table = ocv ? "ocv" : "dynamic";
    w.fields = ocv ? "OCV, entropic" : "R0, RC pairs";
    w.axis = temperature ? "temperature" : "soc";
    w.temperature = temperature;
    w.axis_lo = axis.start;
    w.axis_hi = axis.end();
    w.needed_lo = d.clamp_stats.lo[k];
    w.needed_hi = d.clamp_stats.hi[k];
    w.share = share;
    out.push_back(w);
  }
  return out;
}

}  // namespace packsim::model
