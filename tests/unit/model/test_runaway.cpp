// Thermal runaway: the Arrhenius chain's onset, self-heating to runaway, the energy calibration
// against the Battery Failure Databank, propagation with and without a barrier, determinism, and
// the cost of a cold pack (the active-cell count, not time).
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <vector>

#include "packsim/model/pack.hpp"
#include "support/synthetic_cell.hpp"

using namespace packsim::model;
using packsim::test::make_cell;
using packsim::test::SyntheticCellSpec;

namespace {

constexpr double kC = kZeroCelsiusK;
constexpr double kPi = 3.14159265358979323846;
double secs(std::int64_t ns) { return static_cast<double>(ns) * 1e-9; }

// The KULR 21700-K500 as models/kulr_21700_k500.toml describes it (databank row "KULR
// 21700-K500", 100 % SOC, n = 30): total heat 88.88 kJ, body 31.47 %, mass 72.21 g of which
// 36.96 g ejected.
RunawayParams kulr_runaway(ReactionSet set = ReactionSet::kKim2007) {
  RunawayParams p = with_reaction_set(RunawayParams{}, set);
  p.total_heat_soc = {1.0};
  p.total_heat_j = {88.88e3};
  p.body_fraction = 0.3147;
  p.ejected_mass_kg = 36.96e-3;
  p.vent_mass_kg = 2e-3;
  p.vent_k = 150.0 + kC;
  p.vent_cooling_j = 100.0;
  p.impingement_share = 0.1;
  return p;
}

CellType kulr_cell(ReactionSet set = ReactionSet::kKim2007) {
  SyntheticCellSpec cs;
  cs.capacity_ah = 5.0;
  cs.ocv = [](double z) { return 3.0 + 1.2 * z; };
  cs.r0_discharge = cs.r0_charge = 0.015;
  cs.mass_kg = 0.07221;
  cs.cp = 1100.0;
  cs.area = 0.00529;  // 21700 can: pi d h + 2 pi r^2
  cs.h = 10.0;
  CellType c = make_cell(cs);
  c.runaway = kulr_runaway(set);
  return c;
}

PackSpec row_spec(int ns, double g_w_per_k) {
  PackSpec s;
  s.name = "kulr-row";
  s.series = ns;
  s.parallel = 1;
  s.link.contactor_ohm = 0.0;
  s.thermal.grid_cols = ns;  // one row
  s.thermal.cell_to_cell_w_per_k = g_w_per_k;
  s.thermal.cooling_w_per_k = 0.0;
  s.thermal.step_s = 0.1;
  return s;
}

// Runs until `until_s` or until cell `watch` runs away; returns the time (s) it ran away, or -1.
double run_until(const PackModel& m, PackData& d, double until_s, int watch) {
  const auto w = static_cast<std::size_t>(watch);
  while (static_cast<double>(d.time_ns) * 1e-9 < until_s) {
    step(m, d);
    if (d.runaway_time_ns[w] >= 0) return static_cast<double>(d.runaway_time_ns[w]) * 1e-9;
  }
  return -1.0;
}

// Drains the model's event queue: exactly a vent, a runaway and the cell's opening, in order.
void check_vent_runaway_opened(PackData& d) {
  ModelEvent e;
  std::vector<ModelEventKind> kinds;
  while (d.events.pop(e)) kinds.push_back(e.kind);
  REQUIRE(kinds.size() == 3);
  CHECK(kinds[0] == ModelEventKind::kVent);
  CHECK(kinds[1] == ModelEventKind::kRunaway);
  CHECK(kinds[2] == ModelEventKind::kCellOpened);
}
}  // namespace

TEST_CASE("Chain heat at full conversion is the sum of the reactions' H W Delta", "[runaway]") {
  const RunawayParams p = kulr_runaway();
  // Kim 2007 Table 1: 2.57e5*610.4*0.15 + 1.714e6*610.4*0.75 + 3.14e5*1221*0.96 + 1.55e5*406.9.
  const double expected =
      2.57e5 * 610.4 * 0.15 + 1.714e6 * 610.4 * 0.75 + 3.14e5 * 1221.0 * 0.96 + 1.55e5 * 406.9;
  CHECK(chain_full_heat_j_per_m3(p) == Approx(expected).epsilon(1e-12));
  // Full conversion by advance_chain releases the same (exact updates: conservation to rounding).
  ChainState s = initial_chain(p);
  double q = 0.0;
  for (int k = 0; k < 200; ++k) q += advance_chain(p, s, 900.0, 10.0);
  CHECK(q == Approx(expected).epsilon(1e-6));
}

namespace {

// The ARC's detection threshold of self-heating, 0.02 K/min (the usual heat-wait-seek setting).
constexpr double kArcThresholdKPerS = 0.02 / 60.0;

// The lowest temperature (K, 0.01 K steps) at which a fresh chain self-heats adiabatically at
// `rate_k_per_s` when one J/m^3 of chain heat is `scale` joules in a cell of heat capacity `cap`.
double onset_k(const RunawayParams& p, double scale, double cap, double rate_k_per_s) {
  const ChainState s = initial_chain(p);
  for (double t = 300.0; t < 500.0; t += 0.01) {
    if (chain_heat_rate(p, s, t) * scale / cap >= rate_k_per_s) return t;
  }
  return 0.0;
}

// The calibrated KULR cell's onset (K): the databank's 88.88 kJ at full conversion.
double calibrated_onset_k(ReactionSet set) {
  const RunawayParams p = kulr_runaway(set);
  return onset_k(p, 88.88e3 / chain_full_heat_j_per_m3(p), 0.07221 * 1100.0, kArcThresholdKPerS);
}

}  // namespace

TEST_CASE("Onset of self-heating is in the published range for each reaction set", "[runaway]") {
  // Onset: the adiabatic self-heating rate reaching the ARC's 0.02 K/min. At that point the SEI
  // reaction carries 84 % of the chain's heat (the anode the rest, same activation energy;
  // cathode 0.4 %), so the onset is the SEI reaction's. Published for it: self-heating of
  // lithiated graphite in electrolyte is detected by ARC from about 80 degC (Richard and Dahn,
  // JES 146 (1999) 2068, the measurements Hatchard et al., JES 148 (2001) A755 fitted this SEI
  // reaction to, and Kim et al. 2007 took from them), and the SEI's decomposition onset is
  // commonly given as 80-90 degC (e.g. Feng et al., Energy Storage Mater. 10 (2018) 246, T1).
  // (The figures as the literature quotes them; the papers were not re-read for this test.)
  //
  // 1. Kim's (and Hu's) own reactant contents per volume in a real 21700 can (21 x 70 mm,
  //    2.424e-5 m^3; the synthetic KULR cell's 72.21 g x 1100 J/kg/K) must start in 80-90 degC.
  // 2. The shipped calibration scales every reaction's heat so that full conversion releases the
  //    databank's 88.88 kJ instead of the 30.0 kJ Kim's densities hold in that can: a factor k of
  //    2.96 (Kim) or more (Hu, whose cathode holds less heat), which moves the onset down by
  //    (R T^2 / Ea) ln k, about 8.5 K at Ea = 135 kJ/mol. That shift is a consequence of taking
  //    the energy from the databank and the kinetics from Kim, not an error of either: so the
  //    calibrated onset must lie in the published range shifted down by exactly that much. 0.5 K
  //    of tolerance covers the linearisation of 1/T over the shift (0.2 K here).
  const double can_m3 = kPi * 0.0105 * 0.0105 * 0.070;
  const double cap = 0.07221 * 1100.0;
  for (ReactionSet set : {ReactionSet::kKim2007, ReactionSet::kHu2020}) {
    const RunawayParams p = kulr_runaway(set);
    const double native = onset_k(p, can_m3, cap, kArcThresholdKPerS);
    const double calibrated = calibrated_onset_k(set);
    const double k = 88.88e3 / chain_full_heat_j_per_m3(p) / can_m3;
    const double shift = kGasConstant * native * native / p.sei.ea_j_per_mol * std::log(k);
    INFO(reaction_set_name(set) << ": onset with Kim's densities " << native - kC
                                << " degC; calibrated (x" << k << ") " << calibrated - kC
                                << " degC; predicted shift " << shift << " K");
    CHECK(native - kC >= 80.0);
    CHECK(native - kC <= 90.0);
    CHECK(calibrated == Approx(native - shift).margin(0.5));
    CHECK(calibrated - kC >= 80.0 - shift - 0.5);
    CHECK(calibrated - kC <= 90.0);
    // The chain is integrated from the activity temperature on: the onset must lie above it.
    CHECK(calibrated > p.activity_k + 10.0);
  }
}

TEST_CASE("An adiabatic cell held at its onset temperature self-heats to runaway", "[runaway]") {
  // The cell starts exactly at its calibrated onset (0.02 K/min), adiabatic: nothing but its own
  // chain heats it, as in an ARC's exotherm tracking. It must run away on its own.
  //
  // Kim 2007 (the shipped KULR model's set) reaches the 1 K/s runaway rate. Hu 2020 does not
  // from this start: heated this slowly, its SEI and anode and then its gated cathode and
  // electrolyte are consumed one after the other, the self-heating peaks at 0.29 K/s near
  // 283 degC and the cell creeps on past 500 degC without ever being declared in runaway (seen
  // when this test was written). A cell that hot has long lost its separator: for Hu the test
  // gives the model the separator's collapse temperature, `separator_collapse` = 165 degC, the
  // melting point of the polypropylene layer of the usual PP/PE/PP separators (e.g. Arora and
  // Zhang, Chem. Rev. 104 (2004) 4419, as commonly quoted); docs/faults.md says to set it for
  // hu2020.
  for (ReactionSet set : {ReactionSet::kKim2007, ReactionSet::kHu2020}) {
    const double onset = calibrated_onset_k(set);
    CellType cell = kulr_cell(set);
    if (set == ReactionSet::kHu2020) cell.runaway->separator_collapse_k = 165.0 + kC;
    PackSpec spec = row_spec(1, 0.0);
    const PackModel m = build_pack_model(spec, cell, 100'000'000, {1.0, onset, 1});
    PackData d = make_data(m);
    // The first minute: it self-heats at the onset rate, 0.02 K/min; 2 % covers the rate's rise
    // over the 0.02 K it climbs (Ea/(R T^2) x 0.02 K = 0.3 %) and the onset search's 0.01 K step
    // (0.1 %).
    for (int k = 0; k < 600; ++k) step(m, d);
    CHECK(d.temp_k[0] - onset == Approx(0.02).epsilon(0.02));
    // From then on it only warms, except by the vent's cooling (100 J at the vent, once).
    double last = d.temp_k[0];
    int drops = 0;
    const double t_run = [&] {
      while (secs(d.time_ns) < 48.0 * 3600.0) {
        step(m, d);
        if (d.temp_k[0] < last) ++drops;
        last = d.temp_k[0];
        if (d.runaway_time_ns[0] >= 0) return secs(d.runaway_time_ns[0]);
      }
      return -1.0;
    }();
    INFO(reaction_set_name(set) << ": held at " << onset - kC << " degC, vents at "
                                << secs(d.vent_time_ns[0]) << " s, runs away at " << t_run
                                << " s at " << d.temp_k[0] - kC << " degC");
    REQUIRE(t_run > 0.0);
    CHECK(drops <= 1);
    CHECK(d.vent_time_ns[0] >= 0);
    CHECK(d.vent_time_ns[0] <= d.runaway_time_ns[0]);
    CHECK(d.runaway_cells == 1);
  }
}

TEST_CASE("An adiabatic cell started at 130 degC runs away, releasing the databank energy",
          "[runaway]") {
  for (ReactionSet set : {ReactionSet::kKim2007, ReactionSet::kHu2020}) {
    PackSpec spec = row_spec(1, 0.0);
    InitialConditions init{1.0, 130.0 + kC, 1};
    const PackModel m = build_pack_model(spec, kulr_cell(set), 100'000'000, init);
    PackData d = make_data(m);
    const double t_run = run_until(m, d, 4.0 * 3600.0, 0);
    INFO(reaction_set_name(set) << ": runaway at " << t_run << " s, vent at "
                                << static_cast<double>(d.vent_time_ns[0]) * 1e-9 << " s");
    REQUIRE(t_run > 0.0);
    CHECK(d.vent_time_ns[0] >= 0);
    CHECK(d.vent_time_ns[0] <= d.runaway_time_ns[0]);
    // Let the chain finish (the electrolyte decomposes last) and the short end.
    for (int k = 0; k < 600; ++k) step(m, d);
    const EnergyBooks& b = d.energy;
    const double released = b.runaway_body_j + b.runaway_ejecta_j;
    INFO("released " << released << " J, body " << b.runaway_body_j << " J, max T "
                     << d.t_max_k - kC << " degC");
    // Calibrated to 88.88 kJ at full conversion: what remains unreacted is the only gap; 5 %.
    CHECK(std::fabs(released - 88.88e3) / 88.88e3 < 0.05);
    CHECK(b.runaway_body_j / released == Approx(0.3147).margin(0.005));
    // The ejected mass left the cell; the cell opened in its group after the short.
    CHECK(d.runaway.mass_kg[0] == Approx(0.07221 - 0.03696).margin(1e-4));
    CHECK(d.open[0] == 1);
    CHECK(d.vented_cells == 1);
    CHECK(d.runaway_cells == 1);
    // Events: vent, runaway, cell opened, in that order.
    check_vent_runaway_opened(d);
  }
}

namespace {

// A row of three KULR cells, 1 W/K between neighbours, still-air cooling; a 60 W heater on cell 0
// until it runs away. With `barrier`, cells 0 and 1 are separated by a 0.02 W/K barrier that also
// blocks the ejecta.
struct PropagationRun {
  std::vector<std::int64_t> vent_ns, runaway_ns;
  int active_max = 0;
  std::vector<double> temp_k;
};

PropagationRun propagate(bool barrier, double until_s) {
  PackSpec spec = row_spec(3, 1.0);
  spec.thermal.cooling_w_per_k = 10.0 * 0.00529;  // h A of still air on a 21700 can
  if (barrier) spec.thermal.barriers.push_back({0, 1, 0.02, false, true});
  const PackModel m = build_pack_model(spec, kulr_cell(), 100'000'000, {1.0, 298.15, 1});
  PackData d = make_data(m);
  d.heater_w[0] = 60.0;
  PropagationRun out;
  while (static_cast<double>(d.time_ns) * 1e-9 < until_s) {
    if (d.runaway_time_ns[0] >= 0) d.heater_w[0] = 0.0;
    step(m, d);
    out.active_max = std::max(out.active_max, d.runaway.n_active);
    if (d.runaway_time_ns[1] >= 0 && d.runaway_time_ns[2] >= 0) break;
  }
  out.vent_ns = d.vent_time_ns;
  out.runaway_ns = d.runaway_time_ns;
  out.temp_k = d.temp_k;
  return out;
}

}  // namespace

TEST_CASE("Propagation: without a barrier the neighbour runs away, with it not", "[runaway]") {
  const double horizon_s = 3600.0;
  const PropagationRun open = propagate(false, horizon_s);
  const PropagationRun shielded = propagate(true, horizon_s);
  INFO("no barrier: runaway 0 at " << secs(open.runaway_ns[0]) << " s, 1 at "
                                   << secs(open.runaway_ns[1]) << " s, 2 at "
                                   << secs(open.runaway_ns[2]) << " s");
  INFO("barrier: runaway 0 at " << secs(shielded.runaway_ns[0]) << " s, 1 at "
                                << secs(shielded.runaway_ns[1]) << " s; T1 at the end "
                                << shielded.temp_k[1] - kC << " degC");
  REQUIRE(open.runaway_ns[0] >= 0);
  CHECK(open.runaway_ns[1] > open.runaway_ns[0]);
  CHECK(open.vent_ns[1] >= 0);
  REQUIRE(shielded.runaway_ns[0] >= 0);
  CHECK(shielded.runaway_ns[1] < 0);
  CHECK(shielded.runaway_ns[2] < 0);
}

TEST_CASE("Impingement heats only the cell's unblocked neighbours, in the configured share",
          "[runaway]") {
  // A 3 x 3 grid (cells 0..8, row by row), adiabatic; cell 4 in the middle runs away. Its
  // thermal neighbours are 1, 3, 5 and 7; a barrier between 4 and 5 blocks the ejecta, so the
  // impingement targets are 1, 3 and 7, a third of the share each. The conduction is made
  // negligible (1e-9 W/K: over the run it moves less than 1e-5 K), so a cell's rise times its
  // heat capacity is the heat that landed on it.
  PackSpec spec = row_spec(9, 1e-9);
  spec.thermal.grid_cols = 3;
  spec.thermal.barriers.push_back({4, 5, 1e-9, false, true});
  const PackModel m = build_pack_model(spec, kulr_cell(), 100'000'000, {1.0, 298.15, 1});
  PackData d = make_data(m);
  d.temp_k[4] = 130.0 + kC;  // the chain starts at once (activity 60 degC)
  while (d.runaway_cells == 0 && secs(d.time_ns) < 3600.0) step(m, d);
  REQUIRE(d.runaway_time_ns[4] >= 0);
  for (int k = 0; k < 600; ++k) step(m, d);  // the burn (5 s) and the short (1 s) end
  const EnergyBooks& b = d.energy;
  INFO("ejecta " << b.runaway_ejecta_j << " J, impinged " << b.runaway_impinged_j << " J");
  // The ejecta carry 1 - 31.47 % of the databank's 88.88 kJ; 10 % of it lands.
  CHECK(b.runaway_ejecta_j == Approx((1.0 - 0.3147) * 88.88e3).epsilon(1e-3));
  CHECK(b.runaway_impinged_j == Approx(0.1 * b.runaway_ejecta_j).epsilon(1e-12));
  const double cap = 0.07221 * 1100.0;
  const double each = b.runaway_impinged_j / 3.0;
  for (std::size_t c = 0; c < 9; ++c) {
    if (c == 4) continue;
    const bool target = c == 1 || c == 3 || c == 7;
    const double got = cap * (d.temp_k[c] - 298.15);
    INFO("cell " << c << ": " << got << " J (rise " << d.temp_k[c] - 298.15 << " K)");
    // A target is not warmed into its own chain (below the 60 degC activity threshold), so its
    // whole rise is the impinged heat: to 1e-6 (the conduction's 1e-5 K of 26 K and rounding).
    if (target) {
      CHECK(d.temp_k[c] < 60.0 + kC);
      CHECK(got == Approx(each).epsilon(1e-6));
    } else {
      CHECK(std::fabs(got) < 1e-3);  // 1 mJ: the conduction at 1e-9 W/K, nothing else
    }
  }
}

TEST_CASE("Named impingement targets take the ejecta instead of the neighbours, in their share",
          "[runaway]") {
  // The same grid, cell 4 in runaway; the pack names cells 0 and 8 (the corners its vent faces,
  // not thermal neighbours) with a 2 % share, and a barrier between 4 and 8 blocks the ejecta:
  // all of the 2 % (1.2 kJ, +15 K: below the chain's activity) lands on cell 0, nothing on the
  // neighbours 1, 3, 5, 7 or on 8.
  PackSpec spec = row_spec(9, 1e-9);
  spec.thermal.grid_cols = 3;
  spec.thermal.barriers.push_back({4, 8, 1e-9, false, true});
  spec.thermal.impingement.push_back({4, {0, 8}, 0.02});
  const PackModel m = build_pack_model(spec, kulr_cell(), 100'000'000, {1.0, 298.15, 1});
  PackData d = make_data(m);
  d.temp_k[4] = 130.0 + kC;
  while (d.runaway_cells == 0 && secs(d.time_ns) < 3600.0) step(m, d);
  REQUIRE(d.runaway_time_ns[4] >= 0);
  for (int k = 0; k < 600; ++k) step(m, d);
  const EnergyBooks& b = d.energy;
  CHECK(b.runaway_impinged_j == Approx(0.02 * b.runaway_ejecta_j).epsilon(1e-12));
  const double cap = 0.07221 * 1100.0;
  for (std::size_t c = 0; c < 9; ++c) {
    if (c == 4) continue;
    const double got = cap * (d.temp_k[c] - 298.15);
    INFO("cell " << c << ": " << got << " J");
    if (c == 0) {
      CHECK(d.temp_k[c] < 60.0 + kC);
      CHECK(got == Approx(b.runaway_impinged_j).epsilon(1e-6));
    } else {
      CHECK(std::fabs(got) < 1e-3);
    }
  }
}

TEST_CASE(
    "A hard internal short (nail) triggers runaway: the cell shorts to ~0 V, opens, stays dead",
    "[runaway]") {
  // 1s2p of KULR cells on a 50 mOhm busbar segment (a cell's fuse link), thermally isolated and
  // adiabatic, 5 A (1C) discharge. A 5 mOhm nail in cell 0 (what the internal_short fault
  // writes: leak_s = 1/R): the cell heats by i^2 (r + R), about 0.9 kW, and runs away within
  // seconds; its sibling feeds the nail through 50 mOhm only (about 50 A: 35 W in it), so it
  // stays far below its chain's activity temperature.
  PackSpec spec = row_spec(1, 0.0);
  spec.parallel = 2;
  spec.thermal.grid_cols = 2;
  spec.busbar_segment_ohm = 0.05;
  const PackModel m = build_pack_model(spec, kulr_cell(), 10'000'000, {1.0, 298.15, 1});
  PackData d = make_data(m);
  d.input.contactors = {true, true, false};
  d.input.load.mode = LoadMode::kCurrent;
  d.input.load.current_a = 5.0;
  for (int k = 0; k < 100; ++k) step(m, d);  // 1 s
  // The ladder: cell 1 is 50 mOhm further from the terminal, so cell 0 carries more; together 5 A.
  CHECK(d.i[0] > d.i[1]);
  CHECK(d.i[0] + d.i[1] == Approx(5.0).epsilon(1e-9));
  d.leak_s[0] = 1.0 / 5e-3;
  while (d.runaway_time_ns[0] < 0 && secs(d.time_ns) < 120.0) step(m, d);
  const double t_nail = 1.0, t_run = secs(d.runaway_time_ns[0]);
  INFO("runaway " << t_run - t_nail << " s after the nail, at " << d.temp_k[0] - kC << " degC");
  REQUIRE(d.runaway_time_ns[0] >= 0);
  CHECK(t_run - t_nail < 60.0);
  // The runaway short (1 mOhm, 1 s) in parallel with the nail: the cell's terminals at its EMF
  // times (R_short || R_nail) / (r0 + r_rc + R_short || R_nail) = 0.83 / 35.8 of ~4.2 V, about
  // 0.1 V; its sibling through 50 mOhm barely lifts it. "~0 V": below 0.25 V.
  step(m, d);
  INFO("during the runaway short: v0 " << d.v[0] << " V, group " << d.v_group[0] << " V");
  CHECK(d.open[0] == 0);
  CHECK(std::fabs(d.v[0]) < 0.25);
  CHECK(d.v_group[0] < 0.25);
  // After short_duration the cell opens in its group: the sibling carries the whole 5 A, the
  // opened cell only its own nail's current (inside its can), and the group's terminal (at cell
  // 0's end of the ladder) is the sibling's voltage less the 5 A drop over the 50 mOhm segment.
  while (d.open[0] == 0 && secs(d.time_ns) < t_run + 5.0) step(m, d);
  REQUIRE(d.open[0] == 1);
  CHECK(secs(d.time_ns) - t_run == Approx(1.0).margin(0.1 + 1e-9));  // a thermal step
  for (int k = 0; k < 100; ++k) step(m, d);
  CHECK(d.pack_current_a == Approx(5.0).epsilon(1e-9));
  CHECK(d.i[1] == Approx(5.0).epsilon(1e-6));
  const double u_sibling = d.v[1];
  CHECK(d.v_group[0] == Approx(u_sibling - 5.0 * 0.05).epsilon(1e-6));
  CHECK(u_sibling > 3.5);
  // The opened cell has burnt out: no EMF is left, so it reads 0 V and its nail (still
  // scripted) carries nothing and adds no heat: the databank total already holds the energy.
  CHECK(d.v[0] == 0.0);
  CHECK(d.i[0] == 0.0);
  CHECK(d.v_min == 0.0);  // the pack's aggregates see it too
  const double leak_after_open = d.energy.leak_j;
  for (int k = 0; k < 1000; ++k) step(m, d);  // 10 s
  CHECK(d.energy.leak_j == leak_after_open);
  CHECK(d.v[0] == 0.0);
  CHECK(d.i[1] == Approx(5.0).epsilon(1e-6));
  CHECK(d.temp_k[1] < 60.0 + kC);
  CHECK(d.runaway_cells == 1);
  check_vent_runaway_opened(d);
}

TEST_CASE("Runaway runs are byte-identical", "[runaway]") {
  const PropagationRun a = propagate(false, 1800.0);
  const PropagationRun b = propagate(false, 1800.0);
  CHECK(a.runaway_ns == b.runaway_ns);
  CHECK(a.vent_ns == b.vent_ns);
  REQUIRE(a.temp_k.size() == b.temp_k.size());
  CHECK(std::memcmp(a.temp_k.data(), b.temp_k.data(), a.temp_k.size() * sizeof(double)) == 0);
}

TEST_CASE("A cold pack's step skips the chain", "[runaway]") {
  PackSpec spec = row_spec(8, 1.0);
  const PackModel m = build_pack_model(spec, kulr_cell(), 10'000'000, {0.5, 298.15, 1});
  PackData d = make_data(m);
  d.input.contactors = {true, true, false};
  d.input.load.mode = LoadMode::kCurrent;
  d.input.load.current_a = 5.0;
  for (int k = 0; k < 2000; ++k) step(m, d);
  CHECK(d.runaway.n_active == 0);
  CHECK(d.runaway.substeps == 0);
  CHECK(d.energy.runaway_body_j == 0.0);
  // One hot cell: only it is integrated.
  d.temp_k[3] = 90.0 + kC;
  for (int k = 0; k < 10; ++k) step(m, d);
  CHECK(d.runaway.n_active == 1);
  CHECK(d.runaway.substeps > 0);
}

TEST_CASE("A heater heats an adiabatic cell by P t / C, below the chain", "[runaway]") {
  PackSpec spec = row_spec(1, 0.0);
  const PackModel m = build_pack_model(spec, kulr_cell(), 100'000'000, {0.5, 298.15, 1});
  PackData d = make_data(m);
  d.heater_w[0] = 10.0;
  for (int k = 0; k < 1000; ++k) step(m, d);  // 100 s, 1 kJ
  CHECK(d.energy.heater_j == Approx(1000.0).epsilon(1e-9));
  // Backward Euler with no conductance is exact for a constant heat: 1000 J / (72.21 g * 1100).
  CHECK(d.temp_k[0] - 298.15 == Approx(1000.0 / (0.07221 * 1100.0)).epsilon(1e-9));
}

TEST_CASE("Heat books balance the nodes' stored heat through a propagation", "[runaway]") {
  // Adiabatic row (no convection), no mass loss (so C stays C0): backward Euler conserves
  // sum C T exactly when nothing leaves, so the nodes' stored heat must equal every heat put in:
  // the cells' own heat (the runaway short's included), heater, runaway body heat, impinged
  // ejecta and over-charge heat, less the vent cooling; to rounding.
  CellType cell = kulr_cell();
  cell.runaway->ejected_mass_kg = 0.0;
  cell.runaway->vent_mass_kg = 0.0;
  PackSpec spec = row_spec(3, 1.0);
  const PackModel m = build_pack_model(spec, cell, 100'000'000, {1.0, 298.15, 1});
  PackData d = make_data(m);
  d.heater_w[0] = 60.0;
  for (int k = 0; k < 20000 && d.runaway_cells < 3; ++k) {
    if (d.runaway_time_ns[0] >= 0) d.heater_w[0] = 0.0;
    step(m, d);
  }
  for (int k = 0; k < 200; ++k) step(m, d);  // the burns and shorts end
  REQUIRE(d.runaway_cells == 3);
  double stored = 0.0;
  for (std::size_t c = 0; c < 3; ++c) stored += 0.07221 * 1100.0 * (d.temp_k[c] - 298.15);
  const EnergyBooks& b = d.energy;
  const double in = b.cell_heat_j + b.heater_j + b.runaway_body_j + b.runaway_impinged_j +
                    b.overcharge_j - b.vent_cooling_j;
  INFO("stored " << stored << " J, books " << in << " J (body " << b.runaway_body_j << ", impinged "
                 << b.runaway_impinged_j << ", cell " << b.cell_heat_j << ")");
  // The last thermal step's heat not yet applied: at most one thermal step of the cells' heat.
  CHECK(stored == Approx(in).epsilon(1e-6));
  CHECK(b.runaway_impinged_j == Approx(0.1 * b.runaway_ejecta_j).epsilon(1e-9));
}

TEST_CASE("Over-charge: past SOC 1 the charge's energy at the OCV is heat", "[runaway]") {
  PackSpec spec = row_spec(1, 0.0);
  const PackModel m = build_pack_model(spec, kulr_cell(), 100'000'000, {0.99, 298.15, 1});
  PackData d = make_data(m);
  d.input.contactors = {true, true, false};
  d.input.load.mode = LoadMode::kCurrent;
  d.input.load.current_a = -5.0;  // 1C charge
  double expected = 0.0;
  for (int k = 0; k < 1800; ++k) {  // 180 s: from 99 % to about 104 %
    step(m, d);
    // OCV = 3 + 1.2 z, the table clamped at z = 1: 4.2 V.
    if (d.z[0] > 1.0) expected += 5.0 * 4.2 * m.dt_s;
  }
  REQUIRE(d.z[0] > 1.03);
  // The tick that crosses SOC 1 uses the OCV looked up just below it: one tick's 2.1 J at most.
  CHECK(d.energy.overcharge_j == Approx(expected).margin(2.2));
  CHECK(d.energy.overcharge_j > 0.0);
}
