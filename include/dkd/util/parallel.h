#pragma once
// One small parallel-for for the tools' coarse work (a video per task: synthesis,
// data checks). Tensor work uses LibTorch's own intra-op threads instead.
#include <cstddef>
#include <functional>

namespace dkd {

/// Calls `task(i)` for every i in [0, count) on up to `threads` threads (0 = all
/// cores; the calling thread is one of them), each taking the next index. The
/// first exception stops the hand-out of new indices and is rethrown here after
/// every thread has finished its current task.
void parallel_for(std::size_t count, int threads, const std::function<void(std::size_t)>& task);

}  // namespace dkd
