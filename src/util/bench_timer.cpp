#include "dkd/util/bench_timer.h"

#include <algorithm>
#include <numeric>

namespace dkd {

double Timings::median() const {
  if (ms.empty()) return 0.0;
  std::vector<double> v = ms;
  const auto mid = v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2);
  std::nth_element(v.begin(), mid, v.end());
  return *mid;
}

double Timings::mean() const {
  return ms.empty() ? 0.0 : std::accumulate(ms.begin(), ms.end(), 0.0) / static_cast<double>(ms.size());
}

double Timings::min() const { return ms.empty() ? 0.0 : *std::min_element(ms.begin(), ms.end()); }

Timings time_runs(int warmup, int runs, const std::function<void()>& fn) {
  return time_round_robin(warmup, runs, {fn}).front();
}

std::vector<Timings> time_round_robin(int warmup, int runs, const std::vector<std::function<void()>>& fns) {
  std::vector<Timings> out(fns.size());
  for (int i = 0; i < warmup; ++i)
    for (const auto& fn : fns) fn();
  for (auto& t : out) t.ms.reserve(static_cast<std::size_t>(std::max(0, runs)));
  for (int i = 0; i < runs; ++i)
    for (std::size_t k = 0; k < fns.size(); ++k) out[k].ms.push_back(time_ms(fns[k]));
  return out;
}

}  // namespace dkd
