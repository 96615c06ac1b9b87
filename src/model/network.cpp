#include "packsim/model/network.hpp"

#include <cmath>

namespace packsim::model {

GroupThevenin solve_group(std::size_t np, const double* e, const double* r, const double* g,
                          double r_seg, double* x, double* y, double* scratch) {
  GroupThevenin th;
  if (np == 1 || r_seg <= 0.0) {
    double sum_g = 0.0, sum_eg = 0.0;
    for (std::size_t j = 0; j < np; ++j) {
      const double inv_r = 1.0 / r[j];
      sum_g += inv_r + g[j];
      sum_eg += e[j] * inv_r;
    }
    th.alpha = sum_eg / sum_g;
    th.beta = 1.0 / sum_g;
    for (std::size_t j = 0; j < np; ++j) {
      x[j] = th.alpha;
      y[j] = th.beta;
    }
    return th;
  }
  // Tridiagonal system: (1/r_j + g_j + gs_left + gs_right) u_j - gs u_{j-1} - gs u_{j+1}
  //                     = e_j / r_j - I [j == 0].
  // Thomas algorithm with two right-hand sides: x for the e terms, y for a unit I at node 0.
  // Two divisions per cell (1/r and 1/denominator); everything else multiplies.
  const double gs = 1.0 / r_seg;
  double* c_prime = scratch;
  for (std::size_t j = 0; j < np; ++j) {
    const double inv_r = 1.0 / r[j];
    const double diag = inv_r + g[j] + (j > 0 ? gs : 0.0) + (j + 1 < np ? gs : 0.0);
    const double rhs_x = e[j] * inv_r;
    const double rhs_y = j == 0 ? 1.0 : 0.0;  // u = x - I*y, so the unit source enters with +1
    if (j == 0) {
      const double inv = 1.0 / diag;
      c_prime[j] = -gs * inv;
      x[j] = rhs_x * inv;
      y[j] = rhs_y * inv;
    } else {
      const double inv = 1.0 / (diag + gs * c_prime[j - 1]);  // diag - a_j c'_{j-1}, a_j = -gs
      c_prime[j] = (j + 1 < np) ? -gs * inv : 0.0;
      x[j] = (rhs_x + gs * x[j - 1]) * inv;
      y[j] = (rhs_y + gs * y[j - 1]) * inv;
    }
  }
  for (std::size_t k = np - 1; k-- > 0;) {
    x[k] -= c_prime[k] * x[k + 1];
    y[k] -= c_prime[k] * y[k + 1];
  }
  th.alpha = x[0];
  th.beta = y[0];
  return th;
}

void solve_group_pair(std::size_t np, const double* e0, const double* r0, const double* g0,
                      double* x0, double* y0, double* s0, const double* e1, const double* r1,
                      const double* g1, double* x1, double* y1, double* s1, double r_seg,
                      GroupThevenin& out0, GroupThevenin& out1) {
  if (np == 1 || r_seg <= 0.0) {
    out0 = solve_group(np, e0, r0, g0, r_seg, x0, y0, s0);
    out1 = solve_group(np, e1, r1, g1, r_seg, x1, y1, s1);
    return;
  }
  const double gs = 1.0 / r_seg;
  for (std::size_t j = 0; j < np; ++j) {
    const double inv_r0 = 1.0 / r0[j];
    const double inv_r1 = 1.0 / r1[j];
    const double left = j > 0 ? gs : 0.0, right = j + 1 < np ? gs : 0.0;
    const double diag0 = inv_r0 + g0[j] + left + right;  // the order of solve_group's sum
    const double diag1 = inv_r1 + g1[j] + left + right;
    const double rx0 = e0[j] * inv_r0;
    const double rx1 = e1[j] * inv_r1;
    const double ry = j == 0 ? 1.0 : 0.0;
    if (j == 0) {
      const double i0 = 1.0 / diag0;
      const double i1 = 1.0 / diag1;
      s0[j] = -gs * i0;
      s1[j] = -gs * i1;
      x0[j] = rx0 * i0;
      x1[j] = rx1 * i1;
      y0[j] = ry * i0;
      y1[j] = ry * i1;
    } else {
      const double i0 = 1.0 / (diag0 + gs * s0[j - 1]);
      const double i1 = 1.0 / (diag1 + gs * s1[j - 1]);
      s0[j] = (j + 1 < np) ? -gs * i0 : 0.0;
      s1[j] = (j + 1 < np) ? -gs * i1 : 0.0;
      x0[j] = (rx0 + gs * x0[j - 1]) * i0;
      x1[j] = (rx1 + gs * x1[j - 1]) * i1;
      y0[j] = (ry + gs * y0[j - 1]) * i0;
      y1[j] = (ry + gs * y1[j - 1]) * i1;
    }
  }
  for (std::size_t k = np - 1; k-- > 0;) {
    x0[k] -= s0[k] * x0[k + 1];
    x1[k] -= s1[k] * x1[k + 1];
    y0[k] -= s0[k] * y0[k + 1];
    y1[k] -= s1[k] * y1[k + 1];
  }
  out0 = {x0[0], y0[0]};
  out1 = {x1[0], y1[0]};
}

GroupThevenin solve_group_segments(std::size_t np, const double* e, const double* r,
                                   const double* g, const double* r_seg, double* x, double* y,
                                   double* scratch) {
  // Forward sweep over clusters (runs of positions joined by zero resistance): cluster k's values
  // go to x[k], y[k], its c' to scratch[k]; k <= the first position of cluster k, so expanding
  // from the last cluster backwards never overwrites a cluster still to be read.
  std::size_t k = 0;
  double gs_left = 0.0;  // conductance to the previous cluster
  double sum_g = 0.0, sum_eg = 0.0;
  for (std::size_t j = 0; j < np; ++j) {
    const double inv_r = 1.0 / r[j];
    sum_g += inv_r + g[j];
    sum_eg += e[j] * inv_r;
    const bool last = j + 1 == np;
    if (!last && !(r_seg[j] > 0.0)) continue;  // the next position joins this cluster
    const double gs_right = last ? 0.0 : 1.0 / r_seg[j];
    const double diag = sum_g + gs_left + gs_right;
    const double rhs_y = k == 0 ? 1.0 : 0.0;
    if (k == 0) {
      const double inv = 1.0 / diag;
      scratch[k] = -gs_right * inv;
      x[k] = sum_eg * inv;
      y[k] = rhs_y * inv;
    } else {
      const double inv = 1.0 / (diag + gs_left * scratch[k - 1]);
      scratch[k] = -gs_right * inv;
      x[k] = (sum_eg + gs_left * x[k - 1]) * inv;
      y[k] = (rhs_y + gs_left * y[k - 1]) * inv;
    }
    gs_left = gs_right;
    sum_g = sum_eg = 0.0;
    ++k;
  }
  const std::size_t clusters = k;
  for (std::size_t q = clusters - 1; q-- > 0;) {
    x[q] -= scratch[q] * x[q + 1];
    y[q] -= scratch[q] * y[q + 1];
  }
  const GroupThevenin th{x[0], y[0]};
  // Expand: every position takes its cluster's node voltage coefficients.
  std::size_t q = clusters - 1;
  double xq = x[q], yq = y[q];
  for (std::size_t j = np; j-- > 0;) {
    if (j + 1 < np && r_seg[j] > 0.0) {  // position j ends the previous cluster
      --q;
      xq = x[q];
      yq = y[q];
    }
    x[j] = xq;
    y[j] = yq;
  }
  return th;
}

void group_currents(std::size_t np, const double* e, const double* r, const double* x,
                    const double* y, double group_current, double* u, double* i) {
  for (std::size_t j = 0; j < np; ++j) {
    u[j] = x[j] - group_current * y[j];
    i[j] = (e[j] - u[j]) / r[j];
  }
}

LinkResult solve_link(double a, double b, const LinkParams& link, const ContactorState& k,
                      const LoadCommand& load, double v_link, double dt_s) {
  LinkResult out;
  const double cd = link.dc_link_f > 0.0 ? link.dc_link_f / dt_s : 0.0;  // capacitor as conductance
  const bool inverter_enabled = k.main_pos && k.main_neg;
  // Path resistance from the battery's + terminal to the link, through main- and main+/precharge.
  double path = 0.0;
  if (k.main_neg && (k.main_pos || k.precharge)) {
    double r_pos = 0.0;
    if (k.main_pos && k.precharge) {
      const double r_pre = link.precharge_ohm + link.contactor_ohm;
      r_pos = link.contactor_ohm * r_pre / (link.contactor_ohm + r_pre);
    } else if (k.main_pos) {
      r_pos = link.contactor_ohm;
    } else {
      r_pos = link.precharge_ohm + link.contactor_ohm;
    }
    path = r_pos + link.contactor_ohm;
    out.path_closed = true;
  }
  out.path_ohm = path;

  // Load as a conductance g_load plus a current sink i_sink (both evaluated at the new link
  // voltage).
  double g_load = 0.0;
  double i_sink = 0.0;
  if (load.mode == LoadMode::kResistance && load.resistance_ohm > 0.0) {
    g_load = 1.0 / load.resistance_ohm;
  } else if (inverter_enabled && load.mode == LoadMode::kCurrent) {
    i_sink = load.current_a;
  } else if (inverter_enabled && load.mode == LoadMode::kCcCv) {
    i_sink = -load.charge_current_a;
  }

  if (!out.path_closed) {
    // Battery disconnected: the link capacitor alone feeds a passive load.
    out.link_voltage_v = cd > 0.0 ? cd * v_link / (cd + g_load) : 0.0;
    out.load_current_a = out.link_voltage_v * g_load;
    return out;
  }

  const double rs = b + path;
  // Kirchhoff at the link node: (a - v)/rs = cd (v - v_link) + g_load v + i_sink.
  if (inverter_enabled && load.mode == LoadMode::kPower && load.power_w != 0.0) {
    // (a - v)/rs - cd (v - v_old) - P/v = 0  ->  k v^2 - m v + P = 0
    const double kq = 1.0 / rs + cd;
    const double m = a / rs + cd * v_link;
    const double disc = m * m - 4.0 * kq * load.power_w;
    double v = 0.0;
    if (disc >= 0.0) {
      v = (m + std::sqrt(disc)) / (2.0 * kq);  // the stable, high-voltage operating point
    } else {
      v = m / (2.0 * kq);  // maximum power transfer
      out.power_limited = true;
    }
    out.link_voltage_v = v;
    out.load_current_a = v > 0.0 ? (out.power_limited ? (m - kq * v) : load.power_w / v) : 0.0;
  } else {
    double v = (a / rs + cd * v_link - i_sink) / (1.0 / rs + cd + g_load);
    if (inverter_enabled && load.mode == LoadMode::kCcCv && v > load.cv_voltage_v) {
      v = load.cv_voltage_v;  // the charger regulates its output voltage
      out.cv_limited = true;
      i_sink = (a - v) / rs - cd * (v - v_link) - g_load * v;
      if (i_sink > 0.0) {
        // Holding the setpoint would mean sinking current: a charger only sources, so it idles
        // and the link floats above its setpoint.
        i_sink = 0.0;
        v = (a / rs + cd * v_link) / (1.0 / rs + cd + g_load);
      }
    }
    out.link_voltage_v = v;
    out.load_current_a = i_sink + g_load * v;
  }
  out.pack_current_a = (a - out.link_voltage_v) / rs;
  return out;
}

}  // namespace packsim::model
