#pragma once
// Electrical network solves, as pure functions over plain arrays so each is testable against a
// hand-solved circuit.
//
// A parallel group is Np cells, each a Thevenin source (e_j, r_j) with a leak conductance g_j
// across its terminals, on a busbar ladder: segment resistance r_seg between neighbouring cells,
// the group current I leaving at cell 0's end. Node voltages are affine in I: u = x - I y. Solving
// for x and y costs one tridiagonal (Thomas) sweep with two right-hand sides, O(Np), and happens in
// the same tick as the cells (no one-step current lag).

#include <cstddef>

namespace packsim::model {

// The group's terminal voltage as a function of its current: v_group = alpha - beta * I.
struct GroupThevenin {
  double alpha = 0.0;
  double beta = 0.0;
};

// Solves the ladder. `x` and `y` (size np) receive the node-voltage coefficients; `scratch` (size
// np) is workspace. With r_seg == 0 all nodes coincide and the closed form is used.
GroupThevenin solve_group(std::size_t np, const double* e, const double* r, const double* g,
                          double r_seg, double* x, double* y, double* scratch);

// Two groups of the same size at once: the same arithmetic as solve_group, interleaved so that the
// two serial recurrences (a division per cell each) overlap in the CPU. Results are bit-identical
// to two solve_group calls.
void solve_group_pair(std::size_t np, const double* e0, const double* r0, const double* g0,
                      double* x0, double* y0, double* s0, const double* e1, const double* r1,
                      const double* g1, double* x1, double* y1, double* s1, double r_seg,
                      GroupThevenin& out0, GroupThevenin& out1);

// A ladder whose segments differ (a loose busbar): r_seg[k] (np - 1 values, each >= 0) between
// positions k and k + 1. Positions joined by a zero-resistance segment are one node (their
// conductances and sources add), so a single loose segment on an otherwise ideal busbar is solved
// exactly. A cell with r = +inf is disconnected (an open cell): it adds nothing to its node. The
// caller guarantees that some cell of the group is connected. Same x, y, scratch as solve_group;
// agrees with it (to rounding) when every segment equals r_seg.
GroupThevenin solve_group_segments(std::size_t np, const double* e, const double* r,
                                   const double* g, const double* r_seg, double* x, double* y,
                                   double* scratch);

// Node voltages and cell currents once the group current is known: u_j = x_j - I y_j,
// i_j = (e_j - u_j) / r_j (the electrochemical current of cell j, leak current included).
void group_currents(std::size_t np, const double* e, const double* r, const double* x,
                    const double* y, double group_current, double* u, double* i);

// --- The pack terminals, contactors, DC link and load
// ---------------------------------------------

enum class LoadMode : int { kNone = 0, kCurrent, kPower, kResistance, kCcCv };

// What the load asks for this tick. Discharge is positive for current and power.
struct LoadCommand {
  LoadMode mode = LoadMode::kNone;
  double current_a = 0.0;         // kCurrent
  double power_w = 0.0;           // kPower
  double resistance_ohm = 0.0;    // kResistance
  double charge_current_a = 0.0;  // kCcCv: constant-current phase, > 0 charges the pack
  double cv_voltage_v = 0.0;      // kCcCv: voltage limit at the charger terminals
};

struct ContactorState {
  bool main_pos = false;
  bool main_neg = false;
  bool precharge = false;
};

struct LinkParams {
  double contactor_ohm = 0.0;
  double precharge_ohm = 0.0;
  double dc_link_f = 0.0;
};

struct LinkResult {
  double pack_current_a = 0.0;  // out of the battery, discharge positive
  double link_voltage_v = 0.0;  // across the DC link after the contactors
  double load_current_a = 0.0;  // drawn by the load from the link (negative: a charger feeding it)
  double path_ohm = 0.0;        // contactor/precharge path resistance (0 when open)
  bool path_closed = false;
  bool power_limited = false;  // the power demand exceeded what the pack can deliver
  bool cv_limited = false;     // the charger is in its constant-voltage phase
};

// Solves the battery (open-circuit `a`, internal resistance `b`) against the contactor path, the
// DC-link capacitor (backward Euler, voltage `v_link` before the tick) and the load over one tick.
// Current, power and charger loads only draw with both main contactors closed (an inverter or
// charger is enabled after precharge); a resistive load is always across the link.
LinkResult solve_link(double a, double b, const LinkParams& link, const ContactorState& contactors,
                      const LoadCommand& load, double v_link, double dt_s);

}  // namespace packsim::model
