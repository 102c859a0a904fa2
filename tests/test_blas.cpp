// Which BLAS is loaded: classification of Debian's alternatives paths, and the
// loaded library of this process (Debian's LibTorch links libblas.so.3).
#include <gtest/gtest.h>

#include "dkd/util/blas.h"

using namespace dkd;

TEST(Blas, ClassifiesDebiansAlternatives) {
  EXPECT_EQ(classify_blas_library("/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3").name,
            "OpenBLAS (pthreads)");
  EXPECT_EQ(classify_blas_library("/usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3").name, "OpenBLAS (OpenMP)");
  EXPECT_EQ(classify_blas_library("/usr/lib/x86_64-linux-gnu/blis-pthread/libblas.so.3").name, "BLIS (pthreads)");
  const BlasInfo ref = classify_blas_library("/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0");
  EXPECT_EQ(ref.name, "reference BLAS");
  EXPECT_TRUE(ref.reference);
  EXPECT_FALSE(classify_blas_library("/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3").reference);
}

TEST(Blas, ReportsTheLoadedLibraryAndMeasuresRates) {
  const BlasInfo b = loaded_blas();
  EXPECT_FALSE(b.name.empty());
  // A library path when one is loaded (Debian's LibTorch), none with MKL linked in.
  if (b.name.find("MKL (linked") == std::string::npos) {
    EXPECT_FALSE(b.library.empty()) << b.name;
  }
  const MachineRates r = measure_machine_rates(c10::Device(c10::kCPU));
  EXPECT_GT(r.matmul_gflops, 0.0);
  EXPECT_GT(r.conv_gflops, 0.0);
  EXPECT_GT(r.deconv_gflops, 0.0);
}
