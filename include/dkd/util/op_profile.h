#pragma once
// Where a small network's time goes: LibTorch's profiler around a function,
// summarised as the operators it dispatched (top-level calls only: conv2d, not
// the mkldnn_convolution inside it), the named parts the code marks with
// DKD_PROFILE_SCOPE, the tensor allocations, and the host time between
// operators (wall time minus the top-level operators' time). The tracker's
// step is overhead-bound at small sizes (dkd_infer --bench --profile): these are
// the numbers that say whether an operator or the host is worth removing.
//
// Times are measured with the profiler on, which adds a few microseconds to
// every operator; the counts are exact.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <ATen/record_function.h>

namespace dkd {

/// A named part of a step for profile_ops, open until the end of the enclosing
/// block; a flag test when no profiler runs. Use DKD_PROFILE_SCOPE("encoder").
class ProfileScope {
 public:
  explicit ProfileScope(const char* name) : guard_(at::RecordScope::USER_SCOPE) {
    if (guard_.isActive()) guard_.before(name);
  }

 private:
  at::RecordFunction guard_;
};

#define DKD_PROFILE_CONCAT_(a, b) a##b
#define DKD_PROFILE_VAR_(line) DKD_PROFILE_CONCAT_(dkd_profile_scope_, line)
#define DKD_PROFILE_SCOPE(name) ::dkd::ProfileScope DKD_PROFILE_VAR_(__LINE__)("dkd::" name)

struct OpStat {
  std::string name;
  std::string part;      ///< the innermost DKD_PROFILE_SCOPE around it ("" = none)
  double calls = 0.0;    ///< per run
  double time_us = 0.0;  ///< per run, inclusive of the operators it calls
};

struct PartStat {
  std::string name;         ///< the DKD_PROFILE_SCOPE name, without "dkd::"
  double time_us = 0.0;     ///< per run, inclusive
  double operators = 0.0;   ///< top-level operators inside the part, per run
  double dispatches = 0.0;  ///< every operator call inside (nested ones too), per run
};

struct OpProfile {
  int runs = 0;
  double wall_us = 0.0;         ///< per run
  double operator_us = 0.0;     ///< per run: the top-level operators' time
  double operators = 0.0;       ///< top-level operator calls per run
  double dispatches = 0.0;      ///< every operator call per run
  double allocations = 0.0;     ///< CPU tensor allocations per run
  std::vector<OpStat> ops;      ///< top-level operators by part and name, most time first
  std::vector<PartStat> parts;  ///< marked parts, in the order first seen
};

/// Runs `fn` `runs` times under the profiler (after `warmup` unprofiled runs).
OpProfile profile_ops(const std::function<void()>& fn, int runs, int warmup = 3);

/// Markdown: a summary line, the parts table and the `top` most expensive operators.
std::string format_op_profile(const std::string& title, const OpProfile& profile, int top = 15);

}  // namespace dkd
