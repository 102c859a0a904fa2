#include "dkd/util/blas.h"

#include <ATen/Context.h>
#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <mutex>
#include <vector>

#include <link.h>
#include <spdlog/spdlog.h>

#include "dkd/util/bench_timer.h"
#include "dkd/util/strings.h"

namespace dkd {

// Named (not anonymous): the unity build merges this file with others.
namespace blas_detail {

int collect_library(struct dl_phdr_info* info, size_t, void* data) {
  auto* found = static_cast<std::vector<std::string>*>(data);
  if (info->dlpi_name && *info->dlpi_name) {
    const std::string name = std::filesystem::path(info->dlpi_name).filename().string();
    if (contains(name, "libblas.so") || contains(name, "libopenblas") || contains(name, "libblis") ||
        contains(name, "libmkl_rt"))
      found->emplace_back(info->dlpi_name);
  }
  return 0;
}

}  // namespace blas_detail

using namespace blas_detail;

BlasInfo classify_blas_library(const std::string& path) {
  BlasInfo b;
  b.library = path;
  const auto threading = [&](const std::string& base) {
    if (contains(path, "-pthread")) return base + " (pthreads)";
    if (contains(path, "-openmp")) return base + " (OpenMP)";
    if (contains(path, "-serial")) return base + " (serial)";
    return base;
  };
  if (contains(path, "openblas"))
    b.name = threading("OpenBLAS");
  else if (contains(path, "blis"))
    b.name = threading("BLIS");
  else if (contains(path, "mkl"))
    b.name = "MKL";
  else if (contains(path, "atlas"))
    b.name = "ATLAS";
  else if (contains(path, "/blas/libblas.so") || contains(path, "libblas.so")) {
    b.name = "reference BLAS";
    b.reference = true;
  } else {
    b.name = "unknown BLAS";
  }
  return b;
}

BlasInfo loaded_blas() {
  std::vector<std::string> found;
  dl_iterate_phdr(collect_library, &found);
  if (found.empty()) {
    BlasInfo b;
    b.name = at::hasMKL() ? "MKL (linked into LibTorch)" : "none loaded";
    return b;
  }
  std::error_code ec;
  const auto resolved = std::filesystem::canonical(found.front(), ec);
  return classify_blas_library(ec ? found.front() : resolved.string());
}

void log_blas_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    const BlasInfo b = loaded_blas();
    if (b.reference) {
      spdlog::warn(
          "BLAS: {} ({}): matrix products and transposed convolutions run ~50x slower than with "
          "OpenBLAS. Fix: sudo apt-get install libopenblas0-pthread (Debian switches libblas.so.3 "
          "to it; no rebuild), or run tools/setup.sh",
          b.name, b.library);
    } else {
      spdlog::info("BLAS: {}{}", b.name, b.library.empty() ? "" : " (" + b.library + ")");
    }
  });
}

std::string onednn_state() { return at::hasMKLDNN() ? "oneDNN enabled" : "oneDNN not available"; }

MachineRates measure_machine_rates(const c10::Device& device) {
  torch::NoGradGuard no_grad;
  const auto opts = torch::TensorOptions().device(device);
  const auto sync = [&] {
    if (device.is_cuda()) torch::cuda::synchronize(device.index());
  };
  // Best of a few repetitions after one warm-up: the rate the hardware can reach.
  const auto rate = [&](double flops, auto&& fn) {
    const Timings t = time_runs(1, 5, [&] {
      fn();
      sync();
    });
    return flops / (t.min() * 1e-3) * 1e-9;
  };
  torch::manual_seed(0);
  MachineRates r;
  {
    const auto a = torch::randn({1024, 1024}, opts), b = torch::randn({1024, 1024}, opts);
    r.matmul_gflops = rate(2.0 * 1024 * 1024 * 1024, [&] { (void)torch::mm(a, b); });
  }
  {
    const auto x = torch::randn({1, 64, 64, 64}, opts), w = torch::randn({64, 64, 3, 3}, opts);
    r.conv_gflops = rate(2.0 * 64 * 64 * 64 * 64 * 9, [&] { (void)torch::conv2d(x, w, {}, 1, 1); });
    if (device.is_cpu()) {
      // The rate infer.precision=bfloat16 is measured against (oneDNN; refused on CPUs without AVX-512).
      try {
        const auto xb = x.to(torch::kBFloat16), wb = w.to(torch::kBFloat16);
        r.conv_bf16_gflops = rate(2.0 * 64 * 64 * 64 * 64 * 9, [&] { (void)torch::conv2d(xb, wb, {}, 1, 1); });
      } catch (const std::exception&) {
        r.conv_bf16_gflops = 0;
      }
    }
  }
  {
    const auto x = torch::randn({1, 256, 16, 16}, opts), w = torch::randn({256, 256, 4, 4}, opts);
    // MACs counted on the input size (docs: FLOPs as pose papers count them).
    r.deconv_gflops = rate(2.0 * 256 * 16 * 16 * 256 * 16, [&] { (void)torch::conv_transpose2d(x, w, {}, 2, 1); });
  }
  return r;
}

}  // namespace dkd
