#include "packsim/model/thermal.hpp"

#include <Eigen/SparseCholesky>
#include <Eigen/SparseCore>
#include <algorithm>
#include <cmath>

namespace packsim::model {

bool ThermalSolver::setup(const ThermalNetwork& net, double dt_s) {
  *this = ThermalSolver{};
  const auto n = net.size();
  const auto ni = static_cast<Eigen::Index>(n);
  std::vector<Eigen::Triplet<double>> triplets;
  triplets.reserve(n + 4 * net.edges.size());
  std::vector<double> diag(n);
  for (std::size_t k = 0; k < n; ++k) {
    diag[k] = net.capacity_j_per_k[k] / dt_s + net.g_ambient_w_per_k[k];
  }
  for (const auto& e : net.edges) {
    diag[static_cast<std::size_t>(e.a)] += e.g_w_per_k;
    diag[static_cast<std::size_t>(e.b)] += e.g_w_per_k;
    triplets.emplace_back(e.a, e.b, -e.g_w_per_k);
    triplets.emplace_back(e.b, e.a, -e.g_w_per_k);
  }
  for (std::size_t k = 0; k < n; ++k) {
    triplets.emplace_back(static_cast<int>(k), static_cast<int>(k), diag[k]);
  }
  n_ = n;
  dt_s_ = dt_s;
  c_over_dt_.resize(n);
  g_amb_ = net.g_ambient_w_per_k;
  for (std::size_t k = 0; k < n; ++k) c_over_dt_[k] = net.capacity_j_per_k[k] / dt_s;
  work_.resize(n);

  // Weak coupling: Jacobi sweeps. rho = the largest share of a row's diagonal its neighbours take.
  double rho = 0.0;
  std::vector<double> coupling(n, 0.0);
  for (const auto& e : net.edges) {
    coupling[static_cast<std::size_t>(e.a)] += e.g_w_per_k;
    coupling[static_cast<std::size_t>(e.b)] += e.g_w_per_k;
  }
  for (std::size_t k = 0; k < n; ++k) {
    if (!(diag[k] > 0.0)) return false;
    rho = std::max(rho, coupling[k] / diag[k]);
  }
  constexpr double kMaxRho = 0.02;  // 10 sweeps or fewer reach 1e-17
  if (rho <= kMaxRho) {
    sweeps_ =
        rho > 0.0 ? std::max(1, static_cast<int>(std::ceil(std::log(1e-17) / std::log(rho)))) : 1;
    nb_start_.assign(n + 1, 0);
    for (const auto& e : net.edges) {
      ++nb_start_[static_cast<std::size_t>(e.a) + 1];
      ++nb_start_[static_cast<std::size_t>(e.b) + 1];
    }
    for (std::size_t k = 0; k < n; ++k) nb_start_[k + 1] += nb_start_[k];
    nb_index_.assign(static_cast<std::size_t>(nb_start_[n]), 0);
    nb_g_.assign(static_cast<std::size_t>(nb_start_[n]), 0.0);
    std::vector<int> fill(nb_start_.begin(), nb_start_.end() - 1);
    for (const auto& e : net.edges) {
      const auto a = static_cast<std::size_t>(e.a), b = static_cast<std::size_t>(e.b);
      nb_index_[static_cast<std::size_t>(fill[a])] = e.b;
      nb_g_[static_cast<std::size_t>(fill[a]++)] = e.g_w_per_k;
      nb_index_[static_cast<std::size_t>(fill[b])] = e.a;
      nb_g_[static_cast<std::size_t>(fill[b]++)] = e.g_w_per_k;
    }
    inv_diag_.resize(n);
    for (std::size_t k = 0; k < n; ++k) inv_diag_[k] = 1.0 / diag[k];
    rhs_.resize(n);
    return true;
  }

  Eigen::SparseMatrix<double> m(ni, ni);
  m.setFromTriplets(triplets.begin(), triplets.end());
  Eigen::SimplicialLDLT<Eigen::SparseMatrix<double>, Eigen::Lower> ldlt(m);
  if (ldlt.info() != Eigen::Success) return false;
  const auto& d = ldlt.vectorD();
  for (Eigen::Index k = 0; k < d.size(); ++k) {
    if (!(d[k] > 0.0)) return false;
  }

  const Eigen::SparseMatrix<double>& l = ldlt.matrixL().nestedExpression();
  l_col_start_.assign(n + 1, 0);
  for (Eigen::Index col = 0; col < ni; ++col) {
    for (Eigen::SparseMatrix<double>::InnerIterator it(l, col); it; ++it) {
      if (it.row() > col) {
        l_rows_.push_back(static_cast<int>(it.row()));
        l_values_.push_back(it.value());
      }
    }
    l_col_start_[static_cast<std::size_t>(col) + 1] = static_cast<int>(l_rows_.size());
  }
  d_.assign(d.data(), d.data() + d.size());
  const auto& p = ldlt.permutationP().indices();
  perm_.assign(p.data(), p.data() + p.size());
  return true;
}

void ThermalSolver::step(double* temp_k, const double* heat_w, double ambient_k) {
  if (sweeps_ > 0) {
    // Jacobi from the previous temperatures: x <- (b + sum_j g_ij x_j) / d_i, a fixed number of
    // sweeps (deterministic), alternating between the two buffers.
    for (std::size_t i = 0; i < n_; ++i) {
      rhs_[i] = c_over_dt_[i] * temp_k[i] + g_amb_[i] * ambient_k + heat_w[i];
      work_[i] = temp_k[i];
    }
    double* from = work_.data();
    double* to = temp_k;
    for (int sweep = 0; sweep < sweeps_; ++sweep) {
      for (std::size_t i = 0; i < n_; ++i) {
        double acc = rhs_[i];
        for (int k = nb_start_[i]; k < nb_start_[i + 1]; ++k) {
          acc += nb_g_[static_cast<std::size_t>(k)] * from[nb_index_[static_cast<std::size_t>(k)]];
        }
        to[i] = acc * inv_diag_[i];
      }
      std::swap(from, to);
    }
    if (from != temp_k) {
      for (std::size_t i = 0; i < n_; ++i) temp_k[i] = from[i];
    }
    return;
  }
  // Right-hand side, permuted: w[perm[i]] = b[i].
  for (std::size_t i = 0; i < n_; ++i) {
    work_[static_cast<std::size_t>(perm_[i])] =
        c_over_dt_[i] * temp_k[i] + g_amb_[i] * ambient_k + heat_w[i];
  }
  // L z = w (unit lower, column oriented).
  for (std::size_t col = 0; col < n_; ++col) {
    const double zc = work_[col];
    for (int k = l_col_start_[col]; k < l_col_start_[col + 1]; ++k) {
      work_[static_cast<std::size_t>(l_rows_[static_cast<std::size_t>(k)])] -=
          l_values_[static_cast<std::size_t>(k)] * zc;
    }
  }
  for (std::size_t i = 0; i < n_; ++i) work_[i] /= d_[i];
  // L^T x = z.
  for (std::size_t col = n_; col-- > 0;) {
    double acc = work_[col];
    for (int k = l_col_start_[col]; k < l_col_start_[col + 1]; ++k) {
      acc -= l_values_[static_cast<std::size_t>(k)] *
             work_[static_cast<std::size_t>(l_rows_[static_cast<std::size_t>(k)])];
    }
    work_[col] = acc;
  }
  for (std::size_t i = 0; i < n_; ++i) temp_k[i] = work_[static_cast<std::size_t>(perm_[i])];
}

}  // namespace packsim::model
