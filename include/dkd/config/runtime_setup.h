#pragma once
// Applies the runtime.* section of a config to this process: threads (Debian's
// LibTorch starts with 1), device, seeds and deterministic mode.
#include <c10/core/Device.h>

#include "dkd/config/config.h"

namespace dkd {

/// Sets threads (0 = all cores), seeds (seed + rank) and determinism, logs the
/// BLAS once on CPU. Returns the device (ConfigError for an unusable one).
c10::Device apply_runtime(const RuntimeConfig& runtime, int rank = 0);

}  // namespace dkd
