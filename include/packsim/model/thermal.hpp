#pragma once
// Lumped thermal network: one node per cell (heat capacity C), convection to the ambient/coolant
// (conductance g_amb), conduction along edges. Backward Euler, which is unconditionally stable for
// any step:  (C/dt + G_amb + L) T' = C/dt T + G_amb T_amb + q.
// The matrix is symmetric positive definite and strictly diagonally dominant. When the coupling is
// weak against the heat capacities (the usual case: a cell's neighbours conduct a fraction of a W/K
// against C/dt of thousands of W/K), Jacobi iterations converge by a factor rho (the largest
// off-diagonal share of a row) per sweep: a fixed number of sweeps, chosen at set-up to reach
// rounding level, gives the backward-Euler solution at O(edges) cost. Otherwise the matrix is
// factorised once (Eigen's sparse LDL^T with AMD ordering) and the factor copied into plain arrays:
// a step is then two sparse triangular sweeps. Neither path allocates.

#include <cstddef>
#include <vector>

namespace packsim::model {

struct ThermalEdge {
  int a = 0;
  int b = 0;
  double g_w_per_k = 0.0;
};

struct ThermalNetwork {
  std::vector<double> capacity_j_per_k;   // [n]
  std::vector<double> g_ambient_w_per_k;  // [n]
  std::vector<ThermalEdge> edges;
  std::size_t size() const { return capacity_j_per_k.size(); }
};

class ThermalSolver {
 public:
  ThermalSolver() = default;
  // Factorises the system for step dt_s. Returns false (and leaves the solver empty) if the matrix
  // is not positive definite (a node with no capacity and no conductance).
  bool setup(const ThermalNetwork& net, double dt_s);

  // One step: temp_k (in/out, size n) advanced with mean heat heat_w over the step.
  void step(double* temp_k, const double* heat_w, double ambient_k);

  std::size_t size() const { return n_; }
  std::size_t factor_nonzeros() const { return l_values_.size(); }
  bool iterative() const { return sweeps_ > 0; }
  int sweeps() const { return sweeps_; }

 private:
  std::size_t n_ = 0;
  double dt_s_ = 0.0;
  std::vector<double> c_over_dt_;
  std::vector<double> g_amb_;
  // L (unit lower triangular, compressed columns, diagonal not stored), D, and the permutation.
  std::vector<int> l_col_start_;
  std::vector<int> l_rows_;
  std::vector<double> l_values_;
  std::vector<double> d_;
  std::vector<int> perm_;  // permuted[perm_[i]] = original[i]
  std::vector<double> work_;
  // Iterative path: neighbours in compressed rows, 1/diagonal, sweep count.
  int sweeps_ = 0;
  std::vector<int> nb_start_;
  std::vector<int> nb_index_;
  std::vector<double> nb_g_;
  std::vector<double> inv_diag_;
  std::vector<double> rhs_;
};

}  // namespace packsim::model
