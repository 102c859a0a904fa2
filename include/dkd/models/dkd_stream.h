#pragma once
// DkdStream: one video through DKD frame by frame, with the keyframe rule that
// dkd_eval and dkd_infer share (infer.reinit_every, infer.reinit_confidence):
// frame k after the start (k = 1, 2, ...) runs the initializer instead of the
// distilled kernels when k is a multiple of reinit_every, or when the distilled
// heatmaps' mean peak (over joints and the batch) falls below reinit_confidence.
#include <cstdint>

#include <torch/torch.h>

#include "dkd/config/config.h"
#include "dkd/models/dkd_model.h"

namespace dkd {

class DkdStream {
 public:
  explicit DkdStream(DkdModel model = nullptr) : model_(std::move(model)) {}

  /// First frame [B, 3, H, W] (the initializer); `crops` [B, 2, 3] for the location prior.
  torch::Tensor start(const torch::Tensor& frame, const torch::Tensor& crops = {});
  /// The next frame: H(t) [B, J, h, w]; `*initializer_ran` says whether it was a keyframe.
  torch::Tensor next(const torch::Tensor& frame, const torch::Tensor& crops, const InferConfig& rules,
                     bool* initializer_ran = nullptr);

  bool started() const { return state_.features.defined(); }
  /// Frames since start() (0 right after it).
  int64_t index() const { return index_; }
  const DkdState& state() const { return state_; }

 private:
  DkdModel model_;
  DkdState state_;
  int64_t index_ = 0;
};

}  // namespace dkd
