#pragma once
// DkdModel: the full Dynamic Kernel Distillation estimator (method.md).
//   t = 0: H(0) = initializer(frame 0)            (large network, once)
//   t > 0: K(t) = distillator(F(t-1), H(t-1));  H(t) = matching(K(t), F(t)),
//          with F(t) = encoder(frame t)            (small network, every frame)
// Training runs forward() on whole clips with back-propagation through time
// (H(t-1) is not detached). Streaming inference uses start() then step().
#include <cstdint>
#include <optional>

#include <torch/torch.h>

#include "dkd/models/frame_encoder.h"
#include "dkd/models/kernel_distillator.h"
#include "dkd/models/kernel_matching.h"
#include "dkd/models/per_frame_model.h"

namespace dkd {

/// Optional teacher forcing: feed ground-truth H(t-1) to the distillator.
struct DkdForwardOptions {
  /// Ground-truth heatmaps [B, T, J, h, w]; needed when teacher forcing is used.
  torch::Tensor gt_heatmaps;
  /// [B, T] bool: where mask[b, t] is true, frame t+1 of sample b is predicted
  /// from gt_heatmaps[b, t] instead of the model's own H(t). Takes precedence
  /// over teacher_forcing.
  torch::Tensor teacher_mask;
  /// Probability of teacher forcing per (sample, step), used when teacher_mask is
  /// undefined. Draws from the global generator (seeded by runtime.seed).
  double teacher_forcing = 0.0;
};

struct DkdOutput {
  torch::Tensor heatmaps;  // [B, T, J, h, w]; frame 0 from the initializer
  torch::Tensor features;  // [B, T, C, h, w] encoder features
};

/// What streaming inference carries from one frame to the next.
struct DkdState {
  torch::Tensor features;  // F(t) [B, C, h, w]
  torch::Tensor heatmaps;  // H(t) [B, J, h, w]
};

class DkdModelImpl : public torch::nn::Module {
 public:
  DkdModelImpl(PoseInitializer initializer, FrameEncoder encoder, KernelDistillator distillator,
               KernelMatching matching);

  /// clip [B, T, 3, H, W] -> heatmaps of every frame.
  DkdOutput forward(const torch::Tensor& clip, const DkdForwardOptions& options = {});

  /// Streaming: first frame [B, 3, H, W] (initializer + encoder). Returns the state;
  /// its heatmaps are the first frame's output.
  DkdState start(const torch::Tensor& frame);
  /// Next frame: heatmaps [B, J, h, w]; `state` moves to this frame.
  torch::Tensor step(DkdState& state, const torch::Tensor& frame);

  /// Frozen initializer: no gradients, kept in eval mode (BN statistics fixed)
  /// even when the model is put in training mode, and run under NoGradGuard.
  void set_initializer_frozen(bool frozen);
  bool initializer_frozen() const { return initializer_frozen_; }
  void train(bool on = true) override;

  PoseInitializer initializer{nullptr};
  FrameEncoder encoder{nullptr};
  KernelDistillator distillator{nullptr};
  KernelMatching matching{nullptr};

 private:
  torch::Tensor run_initializer(const torch::Tensor& frames);
  bool initializer_frozen_ = false;
};
TORCH_MODULE(DkdModel);

}  // namespace dkd
