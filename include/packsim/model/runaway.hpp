#pragma once
// Thermal runaway of a cell: the lumped Arrhenius chain (SEI decomposition, anode-electrolyte,
// cathode-electrolyte, electrolyte decomposition; Kim, Pesaran, Spotnitz 2007 after Hatchard et
// al. 2001, or the Hu 2020 NCM variant), venting, runaway (separator collapse: a hard internal
// short, then the cell opens in its group), and the energy partition of fractional thermal-runaway
// calorimetry (Battery Failure Databank): only the body fraction heats the cell node, the ejecta
// fraction leaves it, a share of it landing on the neighbours.
//
// The chain's kinetics give the shape of the heat release; its magnitude is calibrated so that a
// cell that reacts to completion releases the databank's mean total heat at its SOC. Only cells at
// or above the activity temperature are integrated (a compact list, fixed capacity n_cells), each
// in sub-steps with the temperature frozen over a sub-step and the exact solution of each rate law
// (exponential decay, logistic growth): positive and stable whatever the sub-step, so the sub-step
// only bounds the temperature change per sub-step (accuracy), never stability.
// docs/faults.md "Thermal runaway" documents every constant and its source.

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace packsim::model {

inline constexpr double kGasConstant = 8.314462618;  // J/(mol K)

enum class ReactionSet : std::uint8_t { kKim2007, kHu2020 };

// One Arrhenius reaction: rate = A exp(-Ea / (R T)) f(state); heat H W per unit conversion.
struct ArrheniusReaction {
  double a_per_s = 0.0;
  double ea_j_per_mol = 0.0;
  double h_j_per_kg = 0.0;
  double w_kg_per_m3 = 0.0;  // reactant content per cell volume
  double gate_k = 0.0;       // active only at T >= gate_k (Hu 2020); 0: always
};

struct RunawayParams {
  ReactionSet reactions = ReactionSet::kKim2007;
  ArrheniusReaction sei, anode, cathode, cathode2, electrolyte;  // cathode2: Hu 2020 only
  double c_sei0 = 0.15;                                          // initial SEI fraction
  double c_neg0 = 0.75;           // initial intercalated lithium fraction in the anode
  double t_sei0 = 0.033;          // initial SEI thickness (dimensionless)
  double t_sei_ref = 0.033;       // reference SEI thickness
  double alpha0 = 0.04;           // initial cathode conversion
  double c_e0 = 1.0;              // initial electrolyte fraction
  double anode_gate_c_sei = 0.0;  // Hu 2020: the anode reacts only once c_sei < this; 0: always

  double activity_k = 333.15;         // below: the chain is frozen (not integrated)
  double vent_k = 423.15;             // the vent opens when the cell reaches this temperature
  double vent_mass_kg = 0.0;          // mass lost at the vent (electrolyte vapour)
  double vent_duration_s = 5.0;       // over which the vent mass is released (gas rate)
  double vent_cooling_j = 0.0;        // heat carried off by the vented vapour at the vent
  double runaway_rate_k_per_s = 1.0;  // runaway when the self-heating rate reaches this
  double separator_collapse_k = 0.0;  // or when the cell reaches this (0: rate criterion only)
  double short_ohm = 1e-3;            // the separator's collapse: a hard internal short ...
  double short_duration_s = 1.0;      // ... for this long, then the cell opens in its group
  // At runaway the cell's remaining contents react and leave within this time: what the chain has
  // not yet released of the databank total is released evenly over it (the chain stops). Kim's
  // anode reaction limits itself through the SEI term and never completes in a real event, so the
  // total is set here, not by full conversion.
  double burn_duration_s = 5.0;

  // Energy calibration (databank): total heat at SOC points (linear, clamped), body fraction,
  // total ejected mass (vent mass included).
  std::vector<double> total_heat_soc;
  std::vector<double> total_heat_j;
  double body_fraction = 0.3;
  double ejected_mass_kg = 0.0;
  double impingement_share = 0.0;  // share of the ejecta heat landing on the neighbours
  double min_mass_fraction = 0.1;  // floor of the remaining mass (keeps the node's C positive)

  // Over-charge side reaction: above SOC 1 the charge no longer stores; its electrical energy
  // (the current times the OCV at full) is heat of electrolyte oxidation / lithium plating.
  bool overcharge_heat = true;
};

// The reaction set's published constants (arrhenius_tr_reactions.csv); vent, calibration and
// impingement are left as in `base`.
RunawayParams with_reaction_set(RunawayParams base, ReactionSet set);
ReactionSet reaction_set_from_name(const std::string& name, bool& ok);
const char* reaction_set_name(ReactionSet set);

// Chain heat per cell volume (J/m^3) released by full conversion from the initial state.
double chain_full_heat_j_per_m3(const RunawayParams& p);
// Databank total heat (J) at SOC z.
double total_heat_at_soc(const RunawayParams& p, double z);

// The chain's state of one cell.
struct ChainState {
  double c_sei = 0.0, c_neg = 0.0, t_sei = 0.0, alpha = 0.0, c_e = 0.0;
};
ChainState initial_chain(const RunawayParams& p);

// Heat (per cell volume, J/m^3/s) the chain releases now at temperature temp_k.
double chain_heat_rate(const RunawayParams& p, const ChainState& s, double temp_k);
// Advances the chain by h seconds at frozen temperature temp_k (exact per rate law); returns the
// heat released per cell volume (J/m^3).
double advance_chain(const RunawayParams& p, ChainState& s, double temp_k, double h);

// Compiled per pack (built once by build_pack_model).
struct RunawayModel {
  bool enabled = false;  // the cell type has runaway parameters
  RunawayParams params;
  double cp_j_per_kg_k = 0.0;
  double q_full_j_per_m3 = 0.0;  // chain_full_heat_j_per_m3(params)
  std::vector<double> mass0_kg;  // [n_cells]
  // Impingement targets: the cells sharing a thermal edge, or the pack's named ones, without those
  // behind a barrier that blocks ejecta; CSR. And each cell's share of its ejecta heat landing.
  std::vector<int> target_start;  // [n_cells + 1]
  std::vector<int> targets;
  std::vector<double> impingement_share;  // [n_cells]
};

// Per-cell state of the runaway module (sized once by make_data).
struct RunawayData {
  std::vector<ChainState> chain;           // [n_cells]
  std::vector<double> mass_kg;             // [n_cells] remaining mass
  std::vector<double> body_share;          // [n_cells] share of new heat that stays in the body
  std::vector<double> released_j;          // [n_cells] chain heat released so far (J)
  std::vector<double> ejecta_j;            // [n_cells] of which carried out by the ejecta
  std::vector<double> temp_prev_k;         // [n_cells] at the last thermal step (mass correction)
  std::vector<double> short_s;             // [n_cells] runaway short conductance (S)
  std::vector<std::int64_t> short_end_ns;  // [n_cells] when the runaway short ends, -1 none
  std::vector<std::int64_t> vent_end_ns;   // [n_cells] end of the vent's gas release
  std::vector<std::uint8_t> active;        // [n_cells] in the active list
  std::vector<std::uint8_t> vented, ran_away, opened;  // [n_cells]
  std::vector<int> active_list;  // capacity n_cells; the first n_active are active
  int n_active = 0;
  std::vector<double> heat_scale;   // [n_cells] J per J/m^3 of chain heat (set at activation)
  std::vector<double> budget_j;     // [n_cells] databank total at the SOC at activation
  std::vector<double> burn_left_j;  // [n_cells] runaway heat still to release
  std::vector<double> burn_rate_w;  // [n_cells] its rate
  std::uint64_t substeps = 0;       // chain sub-steps taken in the run (a cost counter)
};

struct PackModel;
struct PackData;
struct PackSpec;
// Builds model.runaway (enabled only when the cell type has runaway parameters).
void build_runaway(const PackSpec& spec, PackModel& model);
// Sizes data.runaway.
void make_runaway_data(const PackModel& model, PackData& data);
// The chain of every active cell over one thermal step (model.thermal_dt_s), before the thermal
// solve: adds its heat (body, impinged ejecta, vent cooling, mass correction) to heat_w [n_cells],
// updates the ground truth, pushes events, books the energy. No allocation.
void runaway_step(const PackModel& model, PackData& data, double* heat_w);

}  // namespace packsim::model
