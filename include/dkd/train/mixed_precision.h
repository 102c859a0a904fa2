#pragma once
// bfloat16 mixed precision for a training stage (train.<stage>.precision).
//
// Inside an AutocastGuard, LibTorch's autocast runs convolutions and matrix
// products in bfloat16 (on the CPU through oneDNN's bfloat16 kernels, on CUDA
// through cuDNN/cuBLAS) while the parameters, their gradients and the optimizer
// state stay float. bfloat16 keeps float's exponent range, so no loss scaling is
// needed. The guard restores the previous autocast state however the scope ends
// and clears autocast's cache of cast weights, which would otherwise go stale at
// the next optimizer step.
#include <string>

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include "dkd/config/kinds.h"

namespace dkd {

class AutocastGuard {
 public:
  /// Turns bfloat16 autocast on for `device` when `enabled`; does nothing otherwise.
  AutocastGuard(const c10::Device& device, bool enabled);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  bool active_ = false;
  bool cuda_ = false;
  bool previous_enabled_ = false;
  c10::ScalarType previous_dtype_ = c10::ScalarType::Float;
};

/// Throws dkd::Error naming `key` when `precision` is "bfloat16" and `device`
/// cannot train in it (a CPU without oneDNN bfloat16 convolutions).
void check_training_precision(const std::string& key, Precision precision, const c10::Device& device);

}  // namespace dkd
