#include "dkd/models/dkd_stream.h"

#include "dkd/util/error.h"

namespace dkd {

torch::Tensor DkdStream::start(const torch::Tensor& frame, const torch::Tensor& crops) {
  if (!model_) throw Error("DkdStream: no model");
  index_ = 0;
  state_ = model_->start(frame, crops);
  return state_.heatmaps;
}

torch::Tensor DkdStream::next(const torch::Tensor& frame, const torch::Tensor& crops, const InferConfig& rules,
                              bool* initializer_ran) {
  if (!started()) throw Error("DkdStream::next: call start() on the first frame");
  const int64_t index = ++index_;
  bool keyframe = rules.reinit_every > 0 && index % rules.reinit_every == 0;
  torch::Tensor heatmaps;
  if (!keyframe) {
    heatmaps = model_->step(state_, frame, crops);
    // A stream whose kernels lost the person: the mean peak of the distilled heatmaps.
    if (rules.reinit_confidence > 0.0)
      keyframe = heatmaps.flatten(2).amax(-1).mean().item<double>() < rules.reinit_confidence;
  }
  if (keyframe) {
    state_ = model_->start(frame, crops);
    heatmaps = state_.heatmaps;
  }
  if (initializer_ran) *initializer_ran = keyframe;
  return heatmaps;
}

}  // namespace dkd
