// Network solves against hand-solved circuits and an independent dense solve.
#include <Eigen/Dense>
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <vector>

#include "packsim/model/network.hpp"
#include "packsim/model/rng.hpp"

using namespace packsim::model;

TEST_CASE("Parallel split: unequal R0 and an internal leak, hand-solved", "[network]") {
  // Three cells on one node, 10 A drawn, cell 3 with a 5-ohm internal short. By hand (exact
  // fractions): V = (sum E/R - I) / (sum 1/R + G) = (2575/3 - 10) / (650/3 + 1/5) = 3.911773747...
  const double e[] = {4.00, 3.90, 3.95}, r[] = {0.010, 0.020, 0.015}, g[] = {0.0, 0.0, 0.2};
  double x[3], y[3], s[3], u[3], i[3];
  const GroupThevenin th = solve_group(3, e, r, g, 0.0, x, y, s);
  group_currents(3, e, r, x, y, 10.0, u, i);
  CHECK(th.alpha - 10.0 * th.beta == Approx(3.9117737473101752).margin(1e-12));
  CHECK(i[0] == Approx(8.822625268982478).margin(1e-9));
  CHECK(i[1] == Approx(-0.5886873655087611).margin(1e-9));  // the weak cell is being charged
  CHECK(i[2] == Approx(2.5484168459883185).margin(1e-9));
  // Kirchhoff: the cells' currents feed the load and the leak.
  CHECK(i[0] + i[1] + i[2] == Approx(10.0 + 0.2 * u[2]).margin(1e-9));
}

TEST_CASE("Busbar ladder of two cells, hand-solved", "[network]") {
  // E = (4.0, 3.95) V, R = (10, 20) mOhm, 5 mOhm between the cells, 10 A out at cell 0.
  // Solving the two node equations by hand: u0 = 137/35 V, u1 = 549/140 V; i0 = 60/7 A, i1 = 10/7
  // A.
  const double e[] = {4.0, 3.95}, r[] = {0.010, 0.020}, g[] = {0.0, 0.0};
  double x[2], y[2], s[2], u[2], i[2];
  solve_group(2, e, r, g, 0.005, x, y, s);
  group_currents(2, e, r, x, y, 10.0, u, i);
  CHECK(u[0] == Approx(137.0 / 35.0).margin(1e-12));
  CHECK(u[1] == Approx(549.0 / 140.0).margin(1e-12));
  CHECK(i[0] == Approx(60.0 / 7.0).margin(1e-9));
  CHECK(i[1] == Approx(10.0 / 7.0).margin(1e-9));
}

TEST_CASE("Busbar ladder agrees with a dense nodal solve", "[network]") {
  for (std::size_t np : {1u, 2u, 3u, 7u, 74u}) {
    std::vector<double> e(np), r(np), g(np), x(np), y(np), s(np), u(np), i(np);
    for (std::size_t j = 0; j < np; ++j) {
      const auto b = random_block(5, RngStream::kFault, static_cast<std::uint32_t>(j), np);
      e[j] = 3.6 + 0.2 * uniform_open(b[0], b[1]);
      r[j] = 0.01 + 0.03 * uniform_open(b[2], b[3]);
      g[j] = (j % 3 == 1) ? 0.05 : 0.0;
    }
    const double r_seg = 0.0007, current = 37.0;
    solve_group(np, e.data(), r.data(), g.data(), r_seg, x.data(), y.data(), s.data());
    group_currents(np, e.data(), r.data(), x.data(), y.data(), current, u.data(), i.data());

    const auto n = static_cast<Eigen::Index>(np);
    Eigen::MatrixXd a = Eigen::MatrixXd::Zero(n, n);
    Eigen::VectorXd rhs(n);
    for (Eigen::Index j = 0; j < n; ++j) {
      const auto k = static_cast<std::size_t>(j);
      a(j, j) += 1.0 / r[k] + g[k];
      rhs(j) = e[k] / r[k] - (j == 0 ? current : 0.0);
      if (j + 1 < n) {
        a(j, j) += 1.0 / r_seg;
        a(j + 1, j + 1) += 1.0 / r_seg;
        a(j, j + 1) -= 1.0 / r_seg;
        a(j + 1, j) -= 1.0 / r_seg;
      }
    }
    const Eigen::VectorXd ref = a.fullPivLu().solve(rhs);
    for (Eigen::Index j = 0; j < n; ++j) {
      CHECK(u[static_cast<std::size_t>(j)] == Approx(ref(j)).margin(1e-10));
    }
  }
}

TEST_CASE("Link: contactors, loads and the DC-link capacitor", "[network]") {
  const double a = 400.0, b = 0.1, dt = 1e-3;
  LinkParams link;
  link.contactor_ohm = 0.001;
  link.precharge_ohm = 20.0;
  link.dc_link_f = 0.0;
  const ContactorState open{}, closed{true, true, false}, precharge{false, true, true};

  LoadCommand cur;
  cur.mode = LoadMode::kCurrent;
  cur.current_a = 50.0;
  SECTION("open contactors carry no current") {
    const LinkResult r = solve_link(a, b, link, open, cur, 0.0, dt);
    CHECK(r.pack_current_a == 0.0);
    CHECK_FALSE(r.path_closed);
  }
  SECTION("current load, closed") {
    const LinkResult r = solve_link(a, b, link, closed, cur, 0.0, dt);
    CHECK(r.pack_current_a == Approx(50.0));
    CHECK(r.link_voltage_v == Approx(400.0 - 50.0 * (0.1 + 0.002)));
  }
  SECTION("resistive load follows Ohm's law") {
    LoadCommand res;
    res.mode = LoadMode::kResistance;
    res.resistance_ohm = 7.898;
    const LinkResult r = solve_link(a, b, link, closed, res, 0.0, dt);
    CHECK(r.pack_current_a == Approx(400.0 / 8.0));
  }
  SECTION("power load: delivered power matches the demand") {
    LoadCommand p;
    p.mode = LoadMode::kPower;
    p.power_w = 20000.0;
    const LinkResult r = solve_link(a, b, link, closed, p, 0.0, dt);
    CHECK(r.link_voltage_v * r.pack_current_a == Approx(20000.0));
    CHECK_FALSE(r.power_limited);
    p.power_w = 1e6;  // more than a^2 / 4 rs can deliver
    const LinkResult lim = solve_link(a, b, link, closed, p, 0.0, dt);
    CHECK(lim.power_limited);
    CHECK(lim.link_voltage_v == Approx(200.0));
  }
  SECTION("CC-CV charger: constant current, then the voltage limit") {
    LoadCommand c;
    c.mode = LoadMode::kCcCv;
    c.charge_current_a = 30.0;
    c.cv_voltage_v = 410.0;
    const LinkResult cc = solve_link(a, b, link, closed, c, 0.0, dt);
    CHECK(cc.pack_current_a == Approx(-30.0));
    CHECK_FALSE(cc.cv_limited);
    c.cv_voltage_v = 401.0;  // 30 A would need 403.06 V
    const LinkResult cv = solve_link(a, b, link, closed, c, 0.0, dt);
    CHECK(cv.cv_limited);
    CHECK(cv.link_voltage_v == Approx(401.0));
    CHECK(cv.pack_current_a == Approx(-1.0 / 0.102));
    // Setpoint below the pack's voltage: a charger only sources current, so it idles (the link
    // floats at the pack voltage) instead of discharging the pack.
    c.cv_voltage_v = 390.0;
    const LinkResult idle = solve_link(a, b, link, closed, c, a, dt);
    CHECK(idle.pack_current_a == Approx(0.0).margin(1e-12));
    CHECK(idle.load_current_a == Approx(0.0).margin(1e-12));
    CHECK(idle.link_voltage_v == Approx(a));
  }
  SECTION("precharge charges the link with tau = R C (backward Euler)") {
    link.dc_link_f = 0.001;
    const double rs = b + link.precharge_ohm + 2.0 * link.contactor_ohm;
    double v = 0.0;
    for (int k = 1; k <= 200; ++k) {
      const LinkResult r = solve_link(a, b, link, precharge, cur, v, dt);  // inverter disabled
      v = r.link_voltage_v;
      const double expected = a * (1.0 - std::pow(1.0 / (1.0 + dt / (rs * 0.001)), k));
      REQUIRE(v == Approx(expected).epsilon(1e-12));
    }
    CHECK(v > 0.99 * a);
  }
}

TEST_CASE("Two ladders solved together equal two solved apart, bit for bit", "[network]") {
  const std::size_t np = 23;
  std::vector<double> e(2 * np), r(2 * np), g(2 * np, 0.0);
  for (std::size_t j = 0; j < 2 * np; ++j) {
    const auto b = random_block(11, RngStream::kFault, static_cast<std::uint32_t>(j), 0);
    e[j] = 3.5 + 0.4 * uniform_open(b[0], b[1]);
    r[j] = 0.02 + 0.02 * uniform_open(b[2], b[3]);
  }
  g[5] = 0.1;
  std::vector<double> xa(2 * np), ya(2 * np), sa(2 * np), xb(2 * np), yb(2 * np), sb(2 * np);
  const GroupThevenin a0 = solve_group(np, &e[0], &r[0], &g[0], 0.001, &xa[0], &ya[0], &sa[0]);
  const GroupThevenin a1 =
      solve_group(np, &e[np], &r[np], &g[np], 0.001, &xa[np], &ya[np], &sa[np]);
  GroupThevenin b0, b1;
  solve_group_pair(np, &e[0], &r[0], &g[0], &xb[0], &yb[0], &sb[0], &e[np], &r[np], &g[np], &xb[np],
                   &yb[np], &sb[np], 0.001, b0, b1);
  CHECK(a0.alpha == b0.alpha);
  CHECK(a0.beta == b0.beta);
  CHECK(a1.alpha == b1.alpha);
  CHECK(a1.beta == b1.beta);
  CHECK(xa == xb);
  CHECK(ya == yb);
}

TEST_CASE("Per-segment ladder: uniform segments agree with solve_group", "[network][faults]") {
  for (std::size_t np : {1u, 2u, 5u, 74u}) {
    std::vector<double> e(np), r(np), g(np), x(np), y(np), s(np), x2(np), y2(np), seg(np, 0.0007);
    for (std::size_t j = 0; j < np; ++j) {
      e[j] = 3.6 + 0.01 * static_cast<double>(j % 7);
      r[j] = 0.01 + 0.001 * static_cast<double>(j % 5);
      g[j] = j == 1 ? 0.05 : 0.0;
    }
    const GroupThevenin a =
        solve_group(np, e.data(), r.data(), g.data(), 0.0007, x.data(), y.data(), s.data());
    const GroupThevenin b = solve_group_segments(np, e.data(), r.data(), g.data(), seg.data(),
                                                 x2.data(), y2.data(), s.data());
    CHECK(b.alpha == Approx(a.alpha).epsilon(1e-13));  // the same recurrence, to rounding
    CHECK(b.beta == Approx(a.beta).epsilon(1e-13));
    for (std::size_t j = 0; j < np; ++j) {
      CHECK(x2[j] == Approx(x[j]).epsilon(1e-13));
      CHECK(y2[j] == Approx(y[j]).epsilon(1e-13));
    }
  }
}

TEST_CASE("Per-segment ladder: zero segments merge nodes, open cells drop out",
          "[network][faults]") {
  // Cells 0 and 1 on one node (segment 0 is ideal), 5 mOhm to cell 2. The merged node is the
  // Norton sum of cells 0 and 1: a two-cell ladder solve_group handles.
  const double e[] = {4.0, 3.9, 3.95}, r[] = {0.010, 0.020, 0.020}, g[] = {0.0, 0.0, 0.0};
  const double seg[] = {0.0, 0.005};
  double x[3], y[3], s[3], u[3], i[3];
  solve_group_segments(3, e, r, g, seg, x, y, s);
  group_currents(3, e, r, x, y, 10.0, u, i);
  const double g01 = 1.0 / 0.010 + 1.0 / 0.020;
  const double e2[] = {(4.0 / 0.010 + 3.9 / 0.020) / g01, 3.95}, r2[] = {1.0 / g01, 0.020};
  double x2[2], y2[2], s2[2], u2[2], i2[2];
  solve_group(2, e2, r2, g, 0.005, x2, y2, s2);
  group_currents(2, e2, r2, x2, y2, 10.0, u2, i2);
  CHECK(u[0] == Approx(u2[0]).epsilon(1e-13));
  CHECK(u[1] == Approx(u2[0]).epsilon(1e-13));
  CHECK(u[2] == Approx(u2[1]).epsilon(1e-13));
  CHECK(i[0] + i[1] + i[2] == Approx(10.0).margin(1e-9));
  // Cell 1 open (infinite resistance): it carries nothing, the others share the 10 A.
  const double r_open[] = {0.010, std::numeric_limits<double>::infinity(), 0.020};
  solve_group_segments(3, e, r_open, g, seg, x, y, s);
  group_currents(3, e, r_open, x, y, 10.0, u, i);
  CHECK(i[1] == 0.0);
  CHECK(i[0] + i[2] == Approx(10.0).margin(1e-9));
}
