#pragma once
// DkdStream: videos through DKD frame by frame, with the keyframe rule that
// dkd_eval and dkd_infer share (infer.reinit_every, infer.reinit_confidence):
// frame k after the start (k = 1, 2, ...) of a stream runs the initializer
// instead of the distilled kernels when k is a multiple of reinit_every, or
// when the distilled heatmaps' mean peak (over joints and the stream's rows)
// falls below reinit_confidence.
//
// One stream is one video: a row of the batch, or several consecutive rows that
// share every decision (with the flip test, a frame and its mirror). Several
// streams step together in one batch (dkd_eval's batched videos); each takes its
// own keyframe decisions, so a stream gets the heatmaps it would get alone.
//
// Batch sizes and CPUs: batch 1 and batch N (and two CPUs' convolution kernels)
// give the same heatmaps up to float rounding, not bit for bit, so the mean peak
// a decision compares differs in its last bits. The decision is the same for
// every batch size and CPU whenever the mean peak lies further than
// kKeyframeTolerance (relative) from reinit_confidence; within that band it may
// go either way. (Any rule on a measured value has such a band; the tests pick
// thresholds with no mean peak in it, and check that batching moves mean peaks by
// less than it.)
#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "dkd/config/config.h"
#include "dkd/models/dkd_model.h"

namespace dkd {

/// Relative distance from infer.reinit_confidence beyond which a keyframe
/// decision does not depend on the batch size or the CPU (rounding moves a mean
/// peak by ~1e-6 relative).
inline constexpr double kKeyframeTolerance = 1e-4;

class DkdStream {
 public:
  explicit DkdStream(DkdModel model = nullptr) : model_(std::move(model)) {}

  /// First frame [S*R, 3, H, W] (the initializer) of S streams of R =
  /// `rows_per_stream` consecutive rows each (0: all rows are one stream);
  /// `crops` [S*R, 2, 3] for the location prior.
  torch::Tensor start(const torch::Tensor& frame, const torch::Tensor& crops = {}, int64_t rows_per_stream = 0);
  /// The next frame of every stream: H(t) [S*R, J, h, w]. `initializer_ran`
  /// (one per stream) says which streams took a keyframe.
  torch::Tensor next(const torch::Tensor& frame, const torch::Tensor& crops, const InferConfig& rules,
                     std::vector<bool>* initializer_ran);
  /// One stream: `*initializer_ran` says whether it was a keyframe.
  torch::Tensor next(const torch::Tensor& frame, const torch::Tensor& crops, const InferConfig& rules,
                     bool* initializer_ran = nullptr);
  /// Keeps only `streams` (indices of the current streams, in the order given),
  /// e.g. to drop the videos that ended.
  void keep(const std::vector<int64_t>& streams);

  bool started() const { return state_.features.defined(); }
  int64_t streams() const { return static_cast<int64_t>(index_.size()); }
  int64_t rows_per_stream() const { return rows_; }
  /// Frames of `stream` since start() (0 right after it).
  int64_t index(int64_t stream = 0) const { return index_.at(static_cast<std::size_t>(stream)); }
  const DkdState& state() const { return state_; }

 private:
  /// The batch rows of `streams`.
  torch::Tensor rows_of(const std::vector<int64_t>& streams) const;

  DkdModel model_;
  DkdState state_;
  int64_t rows_ = 1;
  std::vector<int64_t> index_;
};

}  // namespace dkd
