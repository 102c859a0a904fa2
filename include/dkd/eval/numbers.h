#pragma once
// Numbers shared by the metrics and their tables: a joint, column or split with
// no valid instance is NaN, is left out of every mean above it, and is shown as "-".
#include <cmath>
#include <cstddef>
#include <iomanip>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

namespace dkd {

inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

/// Mean of the values that are not NaN; NaN when there are none.
inline double nan_mean(const std::vector<double>& values) {
  double s = 0.0;
  int n = 0;
  for (double x : values)
    if (!std::isnan(x)) {
      s += x;
      ++n;
    }
  return n > 0 ? s / n : kNaN;
}

/// Element-wise nan_mean of vectors, as long as the first (a shorter vector is
/// NaN where it ends); empty when there are no vectors.
inline std::vector<double> nan_mean_elementwise(const std::vector<const std::vector<double>*>& vectors) {
  if (vectors.empty()) return {};
  std::vector<double> out(vectors[0]->size());
  for (std::size_t i = 0; i < out.size(); ++i) {
    std::vector<double> column;
    for (const auto* v : vectors) column.push_back(i < v->size() ? (*v)[i] : kNaN);
    out[i] = nan_mean(column);
  }
  return out;
}

/// `v` with `decimals` digits after the point ("12.35"), as printf's %.*f; "-"
/// when it is not finite (a table cell without data).
inline std::string fixed(double v, int decimals) {
  if (!std::isfinite(v)) return "-";
  std::ostringstream os;
  os << std::fixed << std::setprecision(decimals) << v;
  return os.str();
}

}  // namespace dkd
