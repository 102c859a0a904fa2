#pragma once
// Which BLAS this process loaded, and what this machine's arithmetic achieves.
//
// Debian's LibTorch does matrix products (and so transposed convolutions and
// linear layers) through libblas.so.3, whichever library Debian's alternatives
// system points it at: the reference BLAS runs a 1024x1024 product ~50x slower
// than OpenBLAS. Ordinary convolutions go through oneDNN either way. Official
// LibTorch archives link MKL instead and load no libblas at all.
#include <string>

#include <c10/core/Device.h>

namespace dkd {

struct BlasInfo {
  std::string name;        ///< "OpenBLAS (pthreads)", "reference BLAS", "MKL (linked into LibTorch)", ...
  std::string library;     ///< resolved path of the loaded BLAS library; "" when none is loaded
  bool reference = false;  ///< the unoptimised reference implementation
};

/// The BLAS loaded into this process (resolved through its symlinks).
BlasInfo loaded_blas();

/// Classifies a resolved library path (exposed for tests).
BlasInfo classify_blas_library(const std::string& resolved_path);

/// Logs the loaded BLAS once per process (info), with a warning and the fix
/// when it is the reference implementation. Called by apply_runtime.
void log_blas_once();

/// oneDNN (mkldnn) state of this LibTorch build: "oneDNN enabled" or "oneDNN not available".
std::string onednn_state();

/// Measured rates of this machine with the current threads, in GFLOP/s
/// (2 FLOPs per multiply-add, as the rate of the hardware is usually given).
struct MachineRates {
  double matmul_gflops = 0;     ///< 1024x1024x1024 float matrix product
  double conv_gflops = 0;       ///< 3x3 convolution, 64->64 channels at 64x64, batch 1
  double deconv_gflops = 0;     ///< 4x4 stride-2 transposed convolution, 256->256 at 16x16, batch 1
  double conv_bf16_gflops = 0;  ///< the 3x3 convolution in bfloat16 (CPU; 0 where it does not run)
};
MachineRates measure_machine_rates(const c10::Device& device);

}  // namespace dkd
