#include "packsim/model/runaway.hpp"

#include <algorithm>
#include <cmath>

#include "packsim/model/pack.hpp"

namespace packsim::model {

RunawayParams with_reaction_set(RunawayParams p, ReactionSet set) {
  // Kim, Pesaran, Spotnitz, J. Power Sources 170 (2007) 476, Table 1 (after Hatchard et al. 2001):
  // data/thermal_runaway/arrhenius_tr_reactions.csv.
  p.reactions = set;
  p.sei = {1.667e15, 1.3508e5, 2.57e5, 610.4, 0.0};
  p.anode = {2.5e13, 1.3508e5, 1.714e6, 610.4, 0.0};
  p.cathode = {6.667e13, 1.396e5, 3.14e5, 1221.0, 0.0};
  p.cathode2 = {};
  p.electrolyte = {5.14e25, 2.74e5, 1.55e5, 406.9, 0.0};
  p.c_sei0 = 0.15;
  p.c_neg0 = 0.75;
  p.t_sei0 = 0.033;
  p.t_sei_ref = 0.033;
  p.alpha0 = 0.04;
  p.c_e0 = 1.0;
  p.anode_gate_c_sei = 0.0;
  if (set == ReactionSet::kHu2020) {
    // Hu et al., ACS Omega 2020 (10.1021/acsomega.0c01862): two NCM cathode channels sharing
    // alpha, active from 120 degC; electrolyte from 200 degC; the anode once c_sei < 0.10.
    p.cathode = {1.75e9, 1.1495e5, 7.7e4, 1221.0, 393.15};
    p.cathode2 = {1.077e12, 1.5888e5, 8.4e4, 1221.0, 393.15};
    p.electrolyte.gate_k = 473.15;
    p.anode_gate_c_sei = 0.10;
  }
  return p;
}

ReactionSet reaction_set_from_name(const std::string& name, bool& ok) {
  ok = true;
  if (name == "kim2007") return ReactionSet::kKim2007;
  if (name == "hu2020") return ReactionSet::kHu2020;
  ok = false;
  return ReactionSet::kKim2007;
}

const char* reaction_set_name(ReactionSet set) {
  return set == ReactionSet::kHu2020 ? "hu2020" : "kim2007";
}

namespace {

inline bool two_cathode_channels(const RunawayParams& p) { return p.cathode2.a_per_s > 0.0; }

// Heat per unit cathode conversion: with two channels sharing alpha, their mean (the channels'
// heats differ by 9 %, the cathode holds under a tenth of the chain's heat: under 0.5 % of the
// total either way).
inline double cathode_h_mean(const RunawayParams& p) {
  return two_cathode_channels(p) ? 0.5 * (p.cathode.h_j_per_kg + p.cathode2.h_j_per_kg)
                                 : p.cathode.h_j_per_kg;
}

inline double arrhenius(const ArrheniusReaction& r, double temp_k) {
  if (temp_k < r.gate_k) return 0.0;
  return r.a_per_s * std::exp(-r.ea_j_per_mol / (kGasConstant * temp_k));
}

inline bool anode_on(const RunawayParams& p, const ChainState& s) {
  return p.anode_gate_c_sei <= 0.0 || s.c_sei < p.anode_gate_c_sei;
}

}  // namespace

double chain_full_heat_j_per_m3(const RunawayParams& p) {
  return p.sei.h_j_per_kg * p.sei.w_kg_per_m3 * p.c_sei0 +
         p.anode.h_j_per_kg * p.anode.w_kg_per_m3 * p.c_neg0 +
         cathode_h_mean(p) * p.cathode.w_kg_per_m3 * (1.0 - p.alpha0) +
         p.electrolyte.h_j_per_kg * p.electrolyte.w_kg_per_m3 * p.c_e0;
}

double total_heat_at_soc(const RunawayParams& p, double z) {
  const auto& x = p.total_heat_soc;
  const auto& y = p.total_heat_j;
  if (x.empty() || y.size() != x.size()) return 0.0;
  if (z <= x.front()) return y.front();
  if (z >= x.back()) return y.back();
  std::size_t k = 1;
  while (k + 1 < x.size() && x[k] < z) ++k;
  const double f = (z - x[k - 1]) / (x[k] - x[k - 1]);
  return y[k - 1] + f * (y[k] - y[k - 1]);
}

ChainState initial_chain(const RunawayParams& p) {
  ChainState s;
  s.c_sei = p.c_sei0;
  s.c_neg = p.c_neg0;
  s.t_sei = p.t_sei0;
  s.alpha = p.alpha0;
  s.c_e = p.c_e0;
  return s;
}

double chain_heat_rate(const RunawayParams& p, const ChainState& s, double temp_k) {
  double q = p.sei.h_j_per_kg * p.sei.w_kg_per_m3 * arrhenius(p.sei, temp_k) * s.c_sei;
  if (anode_on(p, s))
    q += p.anode.h_j_per_kg * p.anode.w_kg_per_m3 * arrhenius(p.anode, temp_k) *
         std::exp(-s.t_sei / p.t_sei_ref) * s.c_neg;
  const double k1 = arrhenius(p.cathode, temp_k);
  const double k2 = two_cathode_channels(p) ? arrhenius(p.cathode2, temp_k) : 0.0;
  q += (p.cathode.h_j_per_kg * k1 + p.cathode2.h_j_per_kg * k2) * p.cathode.w_kg_per_m3 * s.alpha *
       (1.0 - s.alpha);
  q += p.electrolyte.h_j_per_kg * p.electrolyte.w_kg_per_m3 * arrhenius(p.electrolyte, temp_k) *
       s.c_e;
  return q;
}

double advance_chain(const RunawayParams& p, ChainState& s, double temp_k, double h) {
  double q = 0.0;
  // First-order decays: c' = c exp(-k h), exact at frozen temperature.
  {
    const double c1 = s.c_sei * std::exp(-arrhenius(p.sei, temp_k) * h);
    q += p.sei.h_j_per_kg * p.sei.w_kg_per_m3 * (s.c_sei - c1);
    s.c_sei = c1;
  }
  if (anode_on(p, s)) {
    // The SEI thickness grows by what reacts (Kim 2007); frozen over the sub-step.
    const double k = arrhenius(p.anode, temp_k) * std::exp(-s.t_sei / p.t_sei_ref);
    const double c1 = s.c_neg * std::exp(-k * h);
    const double dc = s.c_neg - c1;
    q += p.anode.h_j_per_kg * p.anode.w_kg_per_m3 * dc;
    s.c_neg = c1;
    s.t_sei += dc;
  }
  {
    // Autocatalytic alpha (1 - alpha): the logistic solution.
    const double k1 = arrhenius(p.cathode, temp_k);
    const double k2 = two_cathode_channels(p) ? arrhenius(p.cathode2, temp_k) : 0.0;
    const double k = k1 + k2;
    if (k > 0.0 && s.alpha > 0.0 && s.alpha < 1.0) {
      const double a1 = 1.0 / (1.0 + (1.0 / s.alpha - 1.0) * std::exp(-k * h));
      // Heat: the two channels' shares of the conversion.
      const double h_mix = (p.cathode.h_j_per_kg * k1 + p.cathode2.h_j_per_kg * k2) / k;
      q += h_mix * p.cathode.w_kg_per_m3 * (a1 - s.alpha);
      s.alpha = a1;
    }
  }
  {
    const double c1 = s.c_e * std::exp(-arrhenius(p.electrolyte, temp_k) * h);
    q += p.electrolyte.h_j_per_kg * p.electrolyte.w_kg_per_m3 * (s.c_e - c1);
    s.c_e = c1;
  }
  return q;
}

void build_runaway(const PackSpec& spec, PackModel& m) {
  RunawayModel& r = m.runaway;
  r.enabled = m.cell_type.runaway.has_value();
  if (!r.enabled) return;
  r.params = *m.cell_type.runaway;
  r.cp_j_per_kg_k = m.cell_type.specific_heat;
  r.q_full_j_per_m3 = chain_full_heat_j_per_m3(r.params);
  const auto n = static_cast<std::size_t>(m.n_cells);
  r.mass0_kg.assign(n, m.cell_type.mass_kg);
  // Impingement targets: thermal neighbours, unless a barrier that blocks ejecta separates them.
  auto blocked = [&](int a, int b) {
    for (const auto& bar : spec.thermal.barriers) {
      if (!bar.blocks_impingement) continue;
      if (bar.modules) {
        const int ma = m.module_of_cell[static_cast<std::size_t>(a)];
        const int mb = m.module_of_cell[static_cast<std::size_t>(b)];
        if ((ma == bar.cell_a && mb == bar.cell_b) || (ma == bar.cell_b && mb == bar.cell_a))
          return true;
      } else if ((a == bar.cell_a && b == bar.cell_b) || (a == bar.cell_b && b == bar.cell_a)) {
        return true;
      }
    }
    return false;
  };
  std::vector<std::vector<int>> nb(n);
  for (const auto& e : m.thermal.edges) {
    if (blocked(e.a, e.b)) continue;
    nb[static_cast<std::size_t>(e.a)].push_back(e.b);
    nb[static_cast<std::size_t>(e.b)].push_back(e.a);
  }
  r.impingement_share.assign(n, r.params.impingement_share);
  for (const auto& imp : spec.thermal.impingement) {
    // Named targets replace the neighbours (the loader checked the indices).
    auto& list = nb[static_cast<std::size_t>(imp.cell)];
    list.clear();
    for (int c : imp.onto) {
      if (!blocked(imp.cell, c)) list.push_back(c);
    }
    if (imp.share) r.impingement_share[static_cast<std::size_t>(imp.cell)] = *imp.share;
  }
  r.target_start.assign(n + 1, 0);
  r.targets.clear();
  for (std::size_t c = 0; c < n; ++c) {
    std::sort(nb[c].begin(), nb[c].end());
    nb[c].erase(std::unique(nb[c].begin(), nb[c].end()), nb[c].end());
    r.targets.insert(r.targets.end(), nb[c].begin(), nb[c].end());
    r.target_start[c + 1] = static_cast<int>(r.targets.size());
  }
}

void make_runaway_data(const PackModel& m, PackData& d) {
  RunawayData& r = d.runaway;
  const auto n = static_cast<std::size_t>(m.n_cells);
  const ChainState s0 = m.runaway.enabled ? initial_chain(m.runaway.params) : ChainState{};
  r.chain.assign(n, s0);
  r.mass_kg = m.runaway.enabled ? m.runaway.mass0_kg : std::vector<double>(n, m.cell_type.mass_kg);
  r.body_share.assign(n, 1.0);
  r.released_j.assign(n, 0.0);
  r.ejecta_j.assign(n, 0.0);
  r.temp_prev_k = d.temp_k;
  r.short_s.assign(n, 0.0);
  r.short_end_ns.assign(n, -1);
  r.vent_end_ns.assign(n, -1);
  r.active.assign(n, 0);
  r.vented.assign(n, 0);
  r.ran_away.assign(n, 0);
  r.opened.assign(n, 0);
  r.active_list.assign(n, 0);
  r.n_active = 0;
  r.heat_scale.assign(n, 0.0);
  r.budget_j.assign(n, 0.0);
  r.burn_left_j.assign(n, 0.0);
  r.burn_rate_w.assign(n, 0.0);
  r.substeps = 0;
}

namespace {

// Sub-step bounds: at most this temperature rise per sub-step (accuracy of the frozen-T exact
// updates; stability does not depend on it), and at most this many sub-steps per thermal step (the
// last takes what remains: still exact per rate law, so still bounded and positive).
constexpr double kMaxSubstepRiseK = 2.0;
constexpr int kMaxSubsteps = 4000;
// A cell leaves the active list once this far below the activity temperature (hysteresis).
constexpr double kDeactivateBelowK = 5.0;

}  // namespace

void runaway_step(const PackModel& m, PackData& d, double* heat_w) {
  const RunawayModel& rm = m.runaway;
  if (!rm.enabled) return;
  const RunawayParams& p = rm.params;
  RunawayData& r = d.runaway;
  EnergyBooks& books = d.energy;
  const auto n = static_cast<std::size_t>(m.n_cells);
  const double dt = m.thermal_dt_s;
  const double inv_dt = 1.0 / dt;
  const std::int64_t now = d.time_ns;

  // 1. A cold pack pays one compare per cell here.
  for (std::size_t c = 0; c < n; ++c) {
    if (d.temp_k[c] >= p.activity_k && r.active[c] == 0) {
      r.active[c] = 1;
      r.active_list[static_cast<std::size_t>(r.n_active++)] = static_cast<int>(c);
      r.temp_prev_k[c] = d.temp_k[c];
      if (r.budget_j[c] == 0.0) {
        // Calibrated at the SOC the cell has when it first heats up.
        r.budget_j[c] = total_heat_at_soc(p, std::clamp(d.z[c], 0.0, 1.0));
        r.heat_scale[c] = rm.q_full_j_per_m3 > 0.0 ? r.budget_j[c] / rm.q_full_j_per_m3 : 0.0;
      }
    }
  }

  double gas_kg_per_s = 0.0;
  const double c0_cp = rm.cp_j_per_kg_k;
  for (int k = 0; k < r.n_active;) {
    const auto c = static_cast<std::size_t>(r.active_list[static_cast<std::size_t>(k)]);
    const double temp0 = d.temp_k[c];
    const double cap = r.mass_kg[c] * c0_cp;
    const double scale = r.heat_scale[c];
    double temp = temp0, remaining = dt, body_j = 0.0, ejecta_j = 0.0;
    for (int sub = 0; sub < kMaxSubsteps && remaining > 0.0 && r.ran_away[c] == 0; ++sub) {
      const double rate_w = chain_heat_rate(p, r.chain[c], temp) * scale;
      const double body_rate_k_per_s = rate_w * r.body_share[c] / cap;
      const bool runaway_now = body_rate_k_per_s >= p.runaway_rate_k_per_s ||
                               (p.separator_collapse_k > 0.0 && temp >= p.separator_collapse_k);
      if (r.vented[c] == 0 && (temp >= p.vent_k || (runaway_now && r.ran_away[c] == 0))) {
        r.vented[c] = 1;
        d.vent_time_ns[c] = now;
        ++d.vented_cells;
        r.vent_end_ns[c] = now + static_cast<std::int64_t>(std::llround(p.vent_duration_s * 1e9));
        d.events.push({now, ModelEventKind::kVent, static_cast<int>(c), p.vent_mass_kg * 1e3});
        heat_w[c] -= p.vent_cooling_j * inv_dt;
        books.vent_cooling_j += p.vent_cooling_j;
        // Nothing left the can before the vent: what follows carries the ejecta share, so that
        // the cell's whole release splits as the databank's body fraction.
        const double e = r.budget_j[c], pre = r.released_j[c] + body_j;
        r.body_share[c] = e > pre ? std::clamp((p.body_fraction * e - pre) / (e - pre), 0.0, 1.0)
                                  : p.body_fraction;
      }
      if (runaway_now && r.ran_away[c] == 0) {
        r.ran_away[c] = 1;
        d.runaway_time_ns[c] = now;
        ++d.runaway_cells;
        r.short_s[c] = 1.0 / p.short_ohm;
        r.short_end_ns[c] = now + static_cast<std::int64_t>(std::llround(p.short_duration_s * 1e9));
        d.events.push({now, ModelEventKind::kRunaway, static_cast<int>(c), temp});
        r.burn_left_j[c] = std::max(0.0, r.budget_j[c] - r.released_j[c] - body_j - ejecta_j);
        r.burn_rate_w[c] = r.burn_left_j[c] / std::max(p.burn_duration_s, 1e-9);
        break;
      }
      double h = remaining;
      const double body_w = rate_w * r.body_share[c];
      if (body_w > 0.0 && sub + 1 < kMaxSubsteps) h = std::min(h, kMaxSubstepRiseK * cap / body_w);
      const double q = advance_chain(p, r.chain[c], temp, h) * scale;
      const double qb = q * r.body_share[c];
      body_j += qb;
      ejecta_j += q - qb;
      temp += qb / cap;
      remaining -= h;
      ++r.substeps;
    }
    if (r.ran_away[c] != 0 && r.burn_left_j[c] > 0.0) {
      const double q = std::min(r.burn_left_j[c], r.burn_rate_w[c] * remaining);
      r.burn_left_j[c] -= q;
      const double qb = q * r.body_share[c];
      body_j += qb;
      ejecta_j += q - qb;
    }
    r.released_j[c] += body_j + ejecta_j;
    r.ejecta_j[c] += ejecta_j;
    heat_w[c] += body_j * inv_dt;
    books.runaway_body_j += body_j;
    books.runaway_ejecta_j += ejecta_j;
    // Impingement: a share of the ejecta heat on the targets (unblocked neighbours or the named
    // cells), evenly.
    const int t0 = rm.target_start[c], t1 = rm.target_start[c + 1];
    const double share = rm.impingement_share[c];
    if (ejecta_j > 0.0 && share > 0.0 && t1 > t0) {
      const double each = ejecta_j * share / (t1 - t0);
      for (int t = t0; t < t1; ++t)
        heat_w[static_cast<std::size_t>(rm.targets[static_cast<std::size_t>(t)])] += each * inv_dt;
      books.runaway_impinged_j += ejecta_j * share;
    }
    // Mass: the vent's vapour over the vent duration, then the rest of the ejected mass in step
    // with the ejecta heat (their whole when the cell has released its whole ejecta share).
    if (r.vented[c] != 0) {
      const double m0 = rm.mass0_kg[c];
      const double vent_span = static_cast<double>(r.vent_end_ns[c] - d.vent_time_ns[c]);
      const double vent_f =
          vent_span > 0.0
              ? std::clamp(static_cast<double>(now - d.vent_time_ns[c]) / vent_span, 0.0, 1.0)
              : 1.0;
      const double ej_budget = (1.0 - p.body_fraction) * r.budget_j[c];
      const double ej_f = ej_budget > 0.0 ? std::min(1.0, r.ejecta_j[c] / ej_budget) : 0.0;
      const double rest = std::max(0.0, p.ejected_mass_kg - p.vent_mass_kg);
      const double lost = p.vent_mass_kg * vent_f + rest * ej_f;
      const double mass = std::max(m0 - lost, p.min_mass_fraction * m0);
      if (mass < r.mass_kg[c]) gas_kg_per_s += (r.mass_kg[c] - mass) * inv_dt;
      r.mass_kg[c] = mass;
    }
    // The solver keeps the intact heat capacity C0 (factorised once); the node holds C < C0. The
    // difference enters as an explicit heat (C0 - C) dT/dt with last step's dT/dt: its gain
    // (C0 - C)/C0 <= 1 - min_mass_fraction < 1, so the lag converges (geometrically, to C0/C
    // times the rise, the right answer) instead of growing.
    const double c_full = rm.mass0_kg[c] * c0_cp;
    const double c_now = r.mass_kg[c] * c0_cp;
    heat_w[c] += (c_full - c_now) * (temp0 - r.temp_prev_k[c]) * inv_dt;
    r.temp_prev_k[c] = temp0;
    // The runaway short ends, and the cell opens in its group.
    if (r.short_end_ns[c] >= 0 && now >= r.short_end_ns[c]) {
      r.short_s[c] = 0.0;
      r.short_end_ns[c] = -1;
      r.opened[c] = 1;
      d.open[c] = 1;
      d.events.push({now, ModelEventKind::kCellOpened, static_cast<int>(c), 0.0});
    }
    const bool busy = r.short_end_ns[c] >= 0 || (r.vented[c] != 0 && now < r.vent_end_ns[c]) ||
                      (r.ran_away[c] != 0 && r.burn_left_j[c] > 0.0);
    if (temp0 < p.activity_k - kDeactivateBelowK && !busy) {
      r.active[c] = 0;
      r.active_list[static_cast<std::size_t>(k)] =
          r.active_list[static_cast<std::size_t>(--r.n_active)];
      continue;  // the swapped-in cell is visited at the same k
    }
    ++k;
  }
  d.vent_gas_g_per_s = gas_kg_per_s * 1e3;
}

}  // namespace packsim::model
