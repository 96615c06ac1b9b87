// Thermal network against the exponential solution, conservation, and a dense solve.
#include <Eigen/Dense>
#include <catch2/catch.hpp>
#include <cmath>

#include "packsim/model/thermal.hpp"

using namespace packsim::model;

TEST_CASE("Single node relaxes like the exponential solution", "[thermal]") {
  // C = 45 J/K, hA = 0.45 W/K -> tau = 100 s; heated with 2 W from 25 degC in a 25 degC ambient:
  // T(t) = T_amb + q/hA (1 - exp(-t/tau)). Backward Euler's error is bounded by
  // (dt/tau)/2 * max_t (t/tau) exp(-t/tau) * q/hA = (dt/tau) * q/hA / (2e), checked with that
  // bound.
  ThermalNetwork net;
  net.capacity_j_per_k = {45.0};
  net.g_ambient_w_per_k = {0.45};
  for (double dt : {0.001, 0.1, 1.0}) {
    ThermalSolver solver;
    REQUIRE(solver.setup(net, dt));
    double temp = 298.15;
    const double q = 2.0, tau = 100.0, rise = q / 0.45;
    const double bound = (dt / tau) * rise / (2.0 * std::exp(1.0)) * 1.01;
    const int steps = static_cast<int>(600.0 / dt);
    double worst = 0.0;
    for (int k = 1; k <= steps; ++k) {
      solver.step(&temp, &q, 298.15);
      const double t = k * dt;
      const double exact = 298.15 + rise * (1.0 - std::exp(-t / tau));
      worst = std::max(worst, std::fabs(temp - exact));
      // And exactly the backward-Euler recursion.
      const double be = 298.15 + rise * (1.0 - std::pow(1.0 + dt / tau, -k));
      REQUIRE(temp == Approx(be).margin(1e-9));
    }
    CHECK(worst <= bound);
  }
}

TEST_CASE("Two nodes conduct heat and conserve it", "[thermal]") {
  ThermalNetwork net;
  net.capacity_j_per_k = {40.0, 90.0};
  net.g_ambient_w_per_k = {0.0, 0.0};  // insulated pair
  net.edges = {{0, 1, 0.8}};
  ThermalSolver solver;
  REQUIRE(solver.setup(net, 0.5));
  double temp[2] = {350.0, 300.0};
  const double heat[2] = {3.0, 0.0};
  const double h0 = 40.0 * 350.0 + 90.0 * 300.0;
  for (int k = 1; k <= 10000; ++k) {
    solver.step(temp, heat, 298.15);
    const double energy = 40.0 * temp[0] + 90.0 * temp[1];
    REQUIRE(energy == Approx(h0 + 3.0 * 0.5 * k).epsilon(1e-12));
  }
  // Both nodes end up warming at the common rate q/(C0+C1); the link carries what node 1 needs for
  // that: dT = q C1/(C0+C1) / g.
  CHECK(temp[0] - temp[1] == Approx(3.0 * 90.0 / 130.0 / 0.8).epsilon(1e-9));
}

TEST_CASE("Both solver paths equal a dense solve on a grid with barriers", "[thermal]") {
  const int rows = 9, cols = 13, n = rows * cols;
  ThermalNetwork net;
  net.capacity_j_per_k.assign(n, 50.0);
  net.g_ambient_w_per_k.assign(n, 0.02);
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) {
      const int k = r * cols + c;
      if (c + 1 < cols) net.edges.push_back({k, k + 1, c == 6 ? 0.01 : 0.7});
      if (r + 1 < rows) net.edges.push_back({k, k + cols, 0.4});
    }
  // Strong coupling against C/dt (2 s steps) factorises; weak coupling (10 ms) iterates.
  const double dt = GENERATE(2.0, 0.01);
  ThermalSolver solver;
  REQUIRE(solver.setup(net, dt));
  CHECK(solver.iterative() == (dt < 1.0));
  Eigen::MatrixXd a = Eigen::MatrixXd::Zero(n, n);
  for (int k = 0; k < n; ++k) a(k, k) = 50.0 / dt + 0.02;
  for (const auto& e : net.edges) {
    a(e.a, e.a) += e.g_w_per_k;
    a(e.b, e.b) += e.g_w_per_k;
    a(e.a, e.b) -= e.g_w_per_k;
    a(e.b, e.a) -= e.g_w_per_k;
  }
  std::vector<double> temp(n), heat(n);
  Eigen::VectorXd rhs(n);
  for (int k = 0; k < n; ++k) {
    temp[static_cast<std::size_t>(k)] = 290.0 + 0.1 * k;
    heat[static_cast<std::size_t>(k)] = (k % 5) * 0.3;
    rhs(k) = 50.0 / dt * temp[static_cast<std::size_t>(k)] + 0.02 * 300.0 +
             heat[static_cast<std::size_t>(k)];
  }
  const Eigen::VectorXd ref = a.ldlt().solve(rhs);
  solver.step(temp.data(), heat.data(), 300.0);
  for (int k = 0; k < n; ++k)
    CHECK(temp[static_cast<std::size_t>(k)] == Approx(ref(k)).margin(1e-11));
}

TEST_CASE("Backward Euler is stable for any step", "[thermal]") {
  ThermalNetwork net;
  net.capacity_j_per_k = {1.0, 1000.0, 1.0};
  net.g_ambient_w_per_k = {5.0, 0.0, 0.0};
  net.edges = {{0, 1, 50.0}, {1, 2, 50.0}};
  for (double dt : {1e-4, 1.0, 1e3, 1e6}) {
    ThermalSolver solver;
    REQUIRE(solver.setup(net, dt));
    double temp[3] = {400.0, 300.0, 200.0};
    const double heat[3] = {0.0, 0.0, 0.0};
    for (int k = 0; k < 1000; ++k) {
      solver.step(temp, heat, 300.0);
      for (double t : temp) REQUIRE((t >= 199.999 && t <= 400.001));  // maximum principle
    }
  }
}
