#pragma once
// The pack as an immutable model and mutable data, after MuJoCo's mjModel/mjData:
//  - PackSpec: what a config file describes (plain values, filled by packsim_config);
//  - PackModel: built once from the spec, a cell type, the tick and the seed; per-cell parameters
//  in
//    struct-of-arrays form with the spread already drawn;
//  - PackData: every state, input, output, counter and workspace array, sized once by make_data;
//  - step(model, data): one tick, a pure function of the two: no I/O, no clock, no allocation.
// Cell c belongs to series group c / np, parallel position c % np.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "packsim/model/cell.hpp"
#include "packsim/model/events.hpp"
#include "packsim/model/network.hpp"
#include "packsim/model/runaway.hpp"
#include "packsim/model/thermal.hpp"

namespace packsim::model {

// ---------------------------------------------------------------------------------------------------
// Spec (from config)

struct SpreadSpec {
  double capacity_rel_sigma = 0.0;  // relative standard deviation of capacity
  double r0_rel_sigma = 0.0;        // relative standard deviation of R0
  double soc_sigma = 0.0;           // absolute standard deviation of the initial SOC
  double truncate_sigma = 3.0;      // draws are truncated at this many sigma
};

struct CellOverride {
  int cell = 0;
  std::optional<double> capacity_scale;
  std::optional<double> r0_scale;
  std::optional<double> soc;
  std::optional<double> temp_k;
};

// Replaces the conductance between two cells (adding a link if they were not neighbours), or, with
// `modules` set, of every link between two modules (a fire barrier between modules).
struct ThermalBarrier {
  int cell_a = 0;
  int cell_b = 0;
  double g_w_per_k = 0.0;
  bool modules = false;            // cell_a/cell_b are module indices
  bool blocks_impingement = true;  // runaway ejecta do not cross it
};

// Where a cell's runaway ejecta land, when not on its thermal neighbours: the cells its vent faces
// (named, any cells of the pack), and optionally its own share of the ejecta heat instead of the
// cell model's `impingement`. A barrier that blocks impingement still shields a named cell.
struct ImpingementSpec {
  int cell = 0;
  std::vector<int> onto;        // distinct, not the cell itself
  std::optional<double> share;  // 0 … 1
};

struct ThermalSpec {
  int grid_cols = 0;                      // cells per row within a module (0: np)
  double cell_to_cell_w_per_k = 0.0;      // between grid neighbours in a module
  double module_to_module_w_per_k = 0.0;  // between facing cells of adjacent modules
  std::optional<double> cooling_w_per_k;  // per cell; default: cell h_conv * surface area
  double step_s = 0.01;  // thermal network step (a multiple of the tick; at least one tick)
  std::vector<ThermalBarrier> barriers;
  std::vector<ImpingementSpec> impingement;  // at most one per cell
};

struct PackSpec {
  std::string name;
  int series = 1;
  int parallel = 1;
  int groups_per_module = 0;  // 0: one module holds every group
  SpreadSpec spread;
  std::vector<CellOverride> overrides;
  double busbar_segment_ohm = 0.0;  // between neighbouring cells of a parallel group
  double group_link_ohm = 0.0;      // between consecutive series groups
  double lead_ohm = 0.0;            // pack leads, in series with the battery
  // Insulation of the whole HV system to the chassis when healthy, split evenly between the two
  // rails (an IMD reads the parallel combination); see docs/faults.md for the default's source.
  double insulation_ohm = 10e6;
  LinkParams link;
  ThermalSpec thermal;
  double extra_mass_kg = 0.0;  // enclosure, busbars, electronics (for `info`)
};

struct InitialConditions {
  double soc = 0.5;
  double temp_k = 298.15;
  std::uint64_t seed = 0;
};

// ---------------------------------------------------------------------------------------------------
// Model (immutable after build)

struct PackModel {
  // sizes
  int ns = 0;       // series groups
  int np = 0;       // cells per group
  int n_cells = 0;  // ns * np
  int n_modules = 0;
  int groups_per_module = 0;
  int rc_pairs = 0;

  // time
  std::int64_t tick_ns = 0;
  double dt_s = 0.0;
  int thermal_every = 1;  // thermal network steps every this many ticks
  double thermal_dt_s = 0.0;
  std::uint64_t seed = 0;

  std::string name;
  CellType cell_type;  // as read (for reports)
  CellTables cell;     // compiled for dt_s

  // per cell [n_cells]
  std::vector<double> capacity_as;
  std::vector<double> inv_capacity_as;
  std::vector<double> r0_scale;
  std::vector<double> soc0;
  std::vector<double> temp0_k;
  std::vector<int> module_of_cell;

  // Largest difference a cell's Thevenin resistance can have between a charge and a discharge sign
  // guess (R0 tables, efficiency, hysteresis): decides whether a sign change needs another pass.
  double sign_r_bound = 0.0;

  // electrical network
  double busbar_segment_ohm = 0.0;
  double series_ohm = 0.0;       // all group links + leads, in series with the groups
  double insulation_ohm = 10e6;  // healthy, HV system to chassis (both rails together)
  LinkParams link;

  // thermal
  ThermalNetwork thermal;
  double extra_mass_kg = 0.0;

  RunawayModel runaway;
};

// Builds the model; the per-cell spread is drawn from the counter-based generator keyed by seed.
PackModel build_pack_model(const PackSpec& spec, const CellType& cell, std::int64_t tick_ns,
                           const InitialConditions& init);

// ---------------------------------------------------------------------------------------------------
// Data (mutable; sized once)

struct PackInput {
  LoadCommand load;
  ContactorState contactors;
  double ambient_k = 298.15;  // ambient / coolant temperature
  // Faults on the power path (issue 10): a welded contactor stays closed whatever the command, a
  // stuck-open one never closes; an open precharge resistor carries no current.
  ContactorState contactor_welded;
  ContactorState contactor_stuck_open;
  bool precharge_open = false;
  // Insulation fault: a conductance (S) from the positive terminal of cell `iso_fault_cell` to the
  // chassis; -1: none. The pack's own insulation is PackSpec-independent, see insulation_ohm.
  int iso_fault_cell = -1;
  double iso_fault_s = 0.0;
};

// Energy books of the whole run (J); see docs/cell-model.md for the cell terms.
struct EnergyBooks {
  double battery_out_j =
      0.0;  // net, at the battery terminals (before contactors), discharge positive
  double discharged_j = 0.0;  // sum over discharging ticks of the terminal energy
  double charged_j = 0.0;     // sum over charging ticks (positive)
  double load_j = 0.0;        // delivered to the load (negative when a charger feeds the pack)
  double cell_heat_j = 0.0;   // total heat released inside the cells (leak heat included)
  double ohmic_j = 0.0;
  double rc_j = 0.0;
  double reversible_j = 0.0;
  double hysteresis_j = 0.0;
  double side_j = 0.0;
  double leak_j = 0.0;              // internal shorts (inside the cells)
  double bleed_j = 0.0;             // balancing resistors (outside the cells)
  double interconnect_j = 0.0;      // busbars and leads
  double heater_j = 0.0;            // external heaters on cells (a heat input, not from the pack)
  double runaway_body_j = 0.0;      // runaway reaction heat that stayed in the cell bodies
  double runaway_ejecta_j = 0.0;    // runaway reaction heat carried out by the ejecta
  double runaway_impinged_j = 0.0;  // the part of runaway_ejecta_j that landed on neighbours
  double vent_cooling_j = 0.0;      // heat carried off by the vented vapour at the vents
  double overcharge_j = 0.0;        // over-charge side reaction (SOC above 1), in the cells
  double path_j = 0.0;              // contactors and precharge resistor
  double rc_stored_j = 0.0;         // net energy put into the RC capacitors
  double charge_out_as = 0.0;       // net pack charge, discharge positive
  double discharged_as = 0.0;
  double charged_as = 0.0;
};

struct PackData {
  std::uint64_t tick = 0;
  std::int64_t time_ns = 0;
  PackInput input;

  // cell state [n_cells]; v_rc is [rc_pairs][n_cells]
  std::vector<double> z;
  std::vector<double> h;
  std::vector<double> s;
  std::vector<double> v_rc;
  std::vector<double> temp_k;

  // per-cell inputs [n_cells] (faults, balancing)
  std::vector<double> leak_s;   // internal short conductance (heat into the cell)
  std::vector<double> bleed_s;  // balancing bleed conductance across the cell
  double bleed_heat_to_cell =
      0.0;  // share of the bleed heat released in the cell (rest: the board)
  // Faults (issue 10), all sized once by make_data; 1 / 0 / empty mean "no fault".
  std::vector<std::uint8_t> open;            // [n_cells] cell disconnected inside its group
  std::vector<double> capacity_fault_scale;  // [n_cells] on top of the spread (aged, weak)
  std::vector<double> r0_fault_scale;        // [n_cells] on top of the spread
  std::vector<double> heater_w;              // [n_cells] external heat source on the cell
  std::vector<double> busbar_extra_ohm;      // [ns*(np-1)] segment j..j+1 of group g: g*(np-1)+j
  std::vector<double> group_link_extra_ohm;  // [ns+1] 0: negative lead, k: groups k-1..k, ns: +
  std::vector<double> module_cooling_scale;  // [n_modules] convection to the coolant, 1 = intact

  // per-cell outputs [n_cells]
  std::vector<double> v;              // terminal voltage
  std::vector<double> i;              // electrochemical current (discharge positive), leak included
  std::vector<double> heat_w;         // heat released in the cell during the last tick
  std::vector<std::uint32_t> clamps;  // table lookups that clamped an input, per cell

  // fault ground truth [n_cells]: time of the cell's vent / runaway, -1 while it has not
  std::vector<std::int64_t> vent_time_ns;
  std::vector<std::int64_t> runaway_time_ns;
  int vented_cells = 0;
  int runaway_cells = 0;
  double vent_gas_g_per_s = 0.0;  // gas the vented cells release now (all cells)
  double insulation_ohm = 0.0;    // pack to chassis, as an insulation monitor would measure it
  // Where the chassis sits in the string's voltage, 0 at the negative terminal, 1 at the positive:
  // 0.5 for symmetric healthy insulation; a fault at a cell pulls it towards that cell's potential
  // (what an IMD's fault-location estimate gives).
  double insulation_location = 0.5;
  double chassis_v = 0.0;  // chassis potential above the string's negative terminal
  ModelEventQueue events;  // physical events of the last ticks; the session drains it
  RunawayData runaway;     // the Arrhenius chain's state per cell

  // group outputs [ns]
  std::vector<double> v_group;

  // pack outputs
  double pack_current_a = 0.0;
  double pack_voltage_v = 0.0;  // at the battery terminals
  double link_voltage_v = 0.0;
  double load_current_a = 0.0;
  ContactorState contactors;
  bool power_limited = false;
  bool cv_limited = false;

  // aggregates of the last tick
  double v_min = 0.0, v_max = 0.0, v_mean = 0.0;
  double t_min_k = 0.0, t_max_k = 0.0, t_mean_k = 0.0;
  double soc_min = 0.0, soc_max = 0.0, soc_mean = 0.0;
  double heat_total_w = 0.0;

  EnergyBooks energy;

  // counters
  std::uint64_t clamp_total = 0;
  ClampStats clamp_stats;  // the same lookups by table and axis, with the span they needed
  std::uint64_t sign_iterations = 0;  // extra network solves after a current-sign change
  std::uint64_t power_limited_ticks = 0;

  // workspace [n_cells] unless noted
  std::vector<CellLookup> lookup;
  std::vector<double> e;
  std::vector<double> r_th;
  std::vector<double> g_leak;  // leak_s + bleed_s
  std::vector<double> sign_guess;
  std::vector<double> x;
  std::vector<double> y;
  std::vector<double> scratch;
  std::vector<double> u;
  std::vector<double> alpha;       // [ns]
  std::vector<double> beta;        // [ns]
  std::vector<double> heat_acc_j;  // heat accumulated since the last thermal step
  std::vector<double> heat_mean_w;
  // fault workspace: a cell's own Thevenin resistance and terminal voltage while it is open
  // [n_cells]; per-segment ladder resistance [ns*(np-1)]; per-group flags [ns] (kGroup*); the
  // link/lead extra resistance in series; the last command (for stuck-contactor events).
  std::vector<double> open_r;
  std::vector<double> inv_capacity_fault;  // [n_cells] 1 / capacity with the fault scales
  std::vector<double> r0_scale_fault;      // [n_cells] spread x fault R0 scale
  std::vector<double> open_v;
  std::vector<double> seg_ohm;
  std::vector<std::uint8_t> group_flags;
  bool any_open = false;
  bool string_open = false;  // a whole group is open: the series string carries no current
  double series_extra_ohm = 0.0;
  ContactorState contactors_commanded;
  ThermalSolver thermal;
};

// Sizes every array for the model and sets the initial state (SOC, temperature, relaxed RC pairs).
PackData make_data(const PackModel& model);

// One tick: solve the network with the pack current, advance every cell, and (every thermal_every
// ticks) the thermal network. No allocation.
void step(const PackModel& model, PackData& data);

// A table axis on which a run's lookups clamped for more than a small share of its cell-ticks:
// the results there use the table's edge, not what the cell would do.
struct TableClampWarning {
  const char* table = "";   // "ocv" or "dynamic"
  const char* fields = "";  // what the table holds: "OCV, entropic" or "R0, RC pairs"
  const char* axis = "";    // "soc" or "temperature"
  bool temperature = false;
  double axis_lo = 0.0, axis_hi = 0.0;      // the table's axis (SOC, or K)
  double needed_lo = 0.0, needed_hi = 0.0;  // the span of the clamped queries (SOC, or K)
  double share = 0.0;                       // clamped lookups per cell-tick
};

// The axes of data.clamp_stats that clamped for more than `min_share` of the cell-ticks stepped.
std::vector<TableClampWarning> table_clamp_warnings(const PackModel& model, const PackData& data,
                                                    double min_share = 0.01);

}  // namespace packsim::model
