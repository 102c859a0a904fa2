#include "dkd/config/runtime_setup.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <torch/cuda.h>
#include <torch/utils.h>

#include <algorithm>
#include <thread>

#include "dkd/util/blas.h"
#include "dkd/util/runtime.h"

namespace dkd {

c10::Device apply_runtime(const RuntimeConfig& runtime, int rank) {
  const c10::Device device = resolve_device(runtime.device);
  int threads = runtime.threads;
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(threads);
  const uint64_t seed = static_cast<uint64_t>(runtime.seed) + static_cast<uint64_t>(rank);
  torch::manual_seed(seed);
  if (device.is_cuda()) torch::cuda::manual_seed_all(seed);
  auto& ctx = at::globalContext();
  ctx.setDeterministicAlgorithms(runtime.deterministic, /*warn_only=*/true);
  ctx.setDeterministicCuDNN(runtime.deterministic);
  ctx.setBenchmarkCuDNN(!runtime.deterministic);
  // Once per process: which BLAS does the matrix products (a warning with the fix for the reference one).
  if (!device.is_cuda()) log_blas_once();
  return device;
}

}  // namespace dkd
