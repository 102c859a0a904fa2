#include "dkd/train/mixed_precision.h"

#include <ATen/autocast_mode.h>

#include "dkd/models/packed_conv.h"

namespace dkd {

AutocastGuard::AutocastGuard(const c10::Device& device, bool enabled) {
  if (!enabled) return;
  active_ = true;
  cuda_ = device.is_cuda();
  if (cuda_) {
    previous_enabled_ = at::autocast::is_enabled();
    previous_dtype_ = at::autocast::get_autocast_gpu_dtype();
    at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
    at::autocast::set_enabled(true);
  } else {
    previous_enabled_ = at::autocast::is_cpu_enabled();
    previous_dtype_ = at::autocast::get_autocast_cpu_dtype();
    at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
    at::autocast::set_cpu_enabled(true);
  }
  at::autocast::increment_nesting();
}

AutocastGuard::~AutocastGuard() {
  if (!active_) return;
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  if (cuda_) {
    at::autocast::set_enabled(previous_enabled_);
    at::autocast::set_autocast_gpu_dtype(previous_dtype_);
  } else {
    at::autocast::set_cpu_enabled(previous_enabled_);
    at::autocast::set_autocast_cpu_dtype(previous_dtype_);
  }
}

void check_training_precision(const std::string& key, Precision precision, const c10::Device& device) {
  if (precision == Precision::bfloat16 && device.is_cpu()) require_packed_bfloat16(key);
}

}  // namespace dkd
