#pragma once
// The timing the benchmarks share (dkd_data loader-bench, dkd_infer --bench,
// dkd_eval --bench and --speed): a stopwatch, untimed warm-up runs before the
// timed ones, and one summary of the times. Times are milliseconds; the median
// is the upper one of an even count (the element at size/2 once sorted), as
// every benchmark here has always reported it.
#include <chrono>
#include <functional>
#include <vector>

namespace dkd {

/// Wall-clock time since construction (or the last restart()).
class Stopwatch {
 public:
  Stopwatch() : start_(Clock::now()) {}
  void restart() { start_ = Clock::now(); }
  double elapsed_ms() const { return std::chrono::duration<double, std::milli>(Clock::now() - start_).count(); }
  double elapsed_s() const { return elapsed_ms() * 1e-3; }

 private:
  using Clock = std::chrono::steady_clock;
  Clock::time_point start_;
};

/// Milliseconds of one call of `fn`. Work `fn` leaves queued on an accelerator is
/// not waited for: a caller that times device work synchronises inside `fn`.
template <class F>
double time_ms(F&& fn) {
  const Stopwatch watch;
  fn();
  return watch.elapsed_ms();
}

/// The times of several runs of one thing, in the order they ran.
struct Timings {
  std::vector<double> ms;

  /// Upper median (see the top of this file); 0 when there are no runs.
  double median() const;
  double mean() const;
  double min() const;
};

/// `fn` run `warmup` times untimed, then `runs` times timed.
Timings time_runs(int warmup, int runs, const std::function<void()>& fn);

/// Several things timed round-robin (each round runs every function once, in
/// order), so a change in machine load during the run hits them all alike:
/// `warmup` untimed rounds, then `runs` timed ones. One Timings per function.
std::vector<Timings> time_round_robin(int warmup, int runs, const std::vector<std::function<void()>>& fns);

}  // namespace dkd
