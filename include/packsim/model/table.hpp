#pragma once
// Tables on uniform grids with bilinear interpolation. Several fields share one grid, stored
// interleaved per grid point ([y][x][field]), so one set of weights serves every field and the
// four corners of a lookup sit in at most two cache lines.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

namespace packsim::model {

struct UniformAxis {
  double start = 0.0;
  double step = 1.0;  // > 0; ignored when count == 1
  int count = 1;      // >= 1

  double end() const { return start + step * (count - 1); }
  double at(int i) const { return start + step * i; }
};

// Where a query falls in a table: the base index of the lower-left corner, the strides to the
// other corners (0 on a single-point axis) and the bilinear weights.
struct GridPoint {
  std::size_t base = 0;
  std::size_t dx = 0;  // stride to x+1 (in doubles)
  std::size_t dy = 0;  // stride to y+1
  double fx = 0.0;     // fraction along x in [0, 1]
  double fy = 0.0;
  bool clamped = false;  // a query coordinate was outside its axis and was clamped
  bool x_clamped = false;
  bool y_clamped = false;
};

// One axis: index of the lower node and the fraction, clamped to the axis.
struct AxisPosition {
  int index = 0;
  double frac = 0.0;
  bool clamped = false;
};

inline AxisPosition locate(const UniformAxis& axis, double value, double inv_step) {
  AxisPosition p;
  if (axis.count == 1) return p;  // a single point: no dependence on this input, not a clamp
  double u = (value - axis.start) * inv_step;
  if (!(u >= 0.0)) {  // also catches NaN, so a NaN input lands on the edge, never propagates
    p.clamped = true;
    return p;
  }
  const double last = static_cast<double>(axis.count - 1);
  if (u >= last) {
    p.clamped = u > last;
    p.index = axis.count - 2;
    p.frac = 1.0;
    return p;
  }
  p.index = static_cast<int>(u);
  p.frac = u - p.index;
  return p;
}

class GridTable {
 public:
  GridTable() = default;
  GridTable(UniformAxis x, UniformAxis y, int fields)
      : x_(x),
        y_(y),
        fields_(fields),
        values_(static_cast<std::size_t>(x.count * y.count * fields)) {
    inv_x_ = x.count > 1 ? 1.0 / x.step : 0.0;
    inv_y_ = y.count > 1 ? 1.0 / y.step : 0.0;
  }

  const UniformAxis& x() const { return x_; }
  const UniformAxis& y() const { return y_; }
  int fields() const { return fields_; }
  bool empty() const { return values_.empty(); }

  double& at(int ix, int iy, int field) { return values_[index(ix, iy, field)]; }
  double at(int ix, int iy, int field) const { return values_[index(ix, iy, field)]; }

  GridPoint locate(double xv, double yv) const {
    const AxisPosition px = packsim::model::locate(x_, xv, inv_x_);
    const AxisPosition py = packsim::model::locate(y_, yv, inv_y_);
    GridPoint g;
    g.base = index(px.index, py.index, 0);
    g.dx = x_.count > 1 ? static_cast<std::size_t>(fields_) : 0;
    g.dy = y_.count > 1 ? static_cast<std::size_t>(fields_ * x_.count) : 0;
    g.fx = px.frac;
    g.fy = py.frac;
    g.clamped = px.clamped || py.clamped;
    g.x_clamped = px.clamped;
    g.y_clamped = py.clamped;
    return g;
  }

  double value(const GridPoint& g, int field) const {
    const double* p = values_.data() + g.base + static_cast<std::size_t>(field);
    const double lo = p[0] + g.fx * (p[g.dx] - p[0]);
    const double hi = p[g.dy] + g.fx * (p[g.dy + g.dx] - p[g.dy]);
    return lo + g.fy * (hi - lo);
  }

  // Derivative of the interpolant along x at g (0 on a single-point axis and where x clamped,
  // since the clamped interpolant is flat there).
  double slope_x(const GridPoint& g, int field) const {
    if (g.dx == 0 || g.x_clamped) return 0.0;
    const double* p = values_.data() + g.base + static_cast<std::size_t>(field);
    const double lo = p[g.dx] - p[0];
    const double hi = p[g.dy + g.dx] - p[g.dy];
    return (lo + g.fy * (hi - lo)) * inv_x_;
  }

 private:
  std::size_t index(int ix, int iy, int field) const {
    return (static_cast<std::size_t>(iy) * static_cast<std::size_t>(x_.count) +
            static_cast<std::size_t>(ix)) *
               static_cast<std::size_t>(fields_) +
           static_cast<std::size_t>(field);
  }

  UniformAxis x_;
  UniformAxis y_;
  int fields_ = 0;
  double inv_x_ = 0.0;
  double inv_y_ = 0.0;
  std::vector<double> values_;
};

}  // namespace packsim::model
