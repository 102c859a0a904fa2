// parallel_for: every index once, errors surface, 0 threads = all cores.
#include <atomic>
#include <stdexcept>
#include <vector>

#include <gtest/gtest.h>

#include "dkd/util/parallel.h"

TEST(ParallelFor, RunsEveryIndexOnce) {
  for (int threads : {0, 1, 3, 64}) {
    std::vector<std::atomic<int>> hits(100);
    dkd::parallel_for(hits.size(), threads, [&](std::size_t i) { hits[i]++; });
    for (std::size_t i = 0; i < hits.size(); ++i)
      EXPECT_EQ(hits[i].load(), 1) << "index " << i << ", threads " << threads;
  }
  dkd::parallel_for(0, 4, [](std::size_t) { FAIL() << "no task for count 0"; });
}

TEST(ParallelFor, RethrowsTheFirstErrorAndStopsHandingOut) {
  // One thread: indices are handed out in order, and none after the failing one.
  std::atomic<int> ran{0};
  auto task = [&](std::size_t i) {
    ++ran;
    if (i == 3) throw std::runtime_error("video 3 is broken");
  };
  EXPECT_THROW(dkd::parallel_for(1000, 1, task), std::runtime_error);
  EXPECT_EQ(ran.load(), 4);
  // Several threads: the error still reaches the caller.
  EXPECT_THROW(dkd::parallel_for(1000, 3, task), std::runtime_error);
}
