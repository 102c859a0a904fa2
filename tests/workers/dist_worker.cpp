// dkd_dist_worker: one rank of a multi-rank test in tests/test_dist.cpp. Started by
// the test with DKD_DIST_WORKER=<mode>, DKD_DIST_DIR and the torchrun variables.
#include <cstdio>
#include <cstdlib>

#include "../dist_common.h"

int main() {
  const char* mode = std::getenv("DKD_DIST_WORKER");
  if (mode == nullptr) {
    std::fprintf(stderr, "dkd_dist_worker: started by tests/test_dist.cpp (DKD_DIST_WORKER=<mode> not set)\n");
    return 2;
  }
  const int rc = dkd_dist_test::run_worker(mode);
  std::fflush(stdout);
  std::fflush(stderr);
  std::_Exit(rc);
}
