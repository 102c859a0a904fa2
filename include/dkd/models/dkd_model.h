#pragma once
// DkdModel: the full Dynamic Kernel Distillation estimator (method.md).
//   t = 0: H(0) = initializer(frame 0)            (large network, once)
//   t > 0: K(t) = distillator(F(t-1), H(t-1));  H(t) = matching(K(t), F(t)),
//          with F(t) = encoder(frame t)            (small network, every frame)
// With a location prior (model.distillator.prior = warped), H(t-1) mapped into
// frame t's crop is fused with the matching response (location_prior.h); the
// crops come as image -> heatmap affines (options.crops, start/step `crops`).
// Training runs forward() on whole clips with back-propagation through time
// (H(t-1) is not detached). Streaming inference uses start() then step().
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <optional>

#include <torch/torch.h>

#include "dkd/models/frame_encoder.h"
#include "dkd/models/kernel_distillator.h"
#include "dkd/models/kernel_matching.h"
#include "dkd/models/location_prior.h"
#include "dkd/models/per_frame_model.h"

namespace dkd {

/// Optional teacher forcing: feed ground-truth H(t-1) to the distillator.
struct DkdForwardOptions {
  /// Ground-truth heatmaps [B, T, J, h, w]; needed when teacher forcing is used.
  torch::Tensor gt_heatmaps;
  /// [B, T] bool: where mask[b, t] is true, frame t+1 of sample b is predicted
  /// from gt_heatmaps[b, t] instead of the model's own H(t). The trainer draws
  /// it from the teacher-forcing schedule and (seed, step), so a resumed run draws the same.
  torch::Tensor teacher_mask;
  /// [B, T, 2, 3] image -> heatmap-pixel affine of every frame's crop, for the
  /// location prior; undefined = every frame has the same crop (no warp).
  torch::Tensor crops;
  /// Applied to H(t-1) [B, J, h, w] (after teacher forcing) before it builds the
  /// kernels of frame t and serves as its prior; `t` is the frame being predicted.
  std::function<torch::Tensor(const torch::Tensor& previous, int64_t t)> corrupt_previous;
};

struct DkdOutput {
  torch::Tensor heatmaps;  // [B, T, J, h, w]; frame 0 from the initializer
  torch::Tensor features;  // [B, T, C, h, w] encoder features
};

/// What streaming inference carries from one frame to the next.
struct DkdState {
  torch::Tensor features;  // F(t) [B, C, h, w]
  torch::Tensor heatmaps;  // H(t) [B, J, h, w]
  torch::Tensor crops;     // [B, 2, 3] image -> heatmap affine of frame t's crop (may be undefined)
};

class DkdModelImpl : public torch::nn::Module {
 public:
  DkdModelImpl(PoseInitializer initializer, FrameEncoder encoder, KernelDistillator distillator,
               KernelMatching matching, LocationPrior prior = nullptr);

  /// clip [B, T, 3, H, W] -> heatmaps of every frame.
  DkdOutput forward(const torch::Tensor& clip, const DkdForwardOptions& options = {});

  /// Streaming: first frame [B, 3, H, W] (initializer + encoder). Returns the state;
  /// its heatmaps are the first frame's output.
  /// `crops` [B, 2, 3]: the frame's image -> heatmap affine (location prior only).
  DkdState start(const torch::Tensor& frame, const torch::Tensor& crops = {});
  /// Next frame: heatmaps [B, J, h, w]; `state` moves to this frame. Without
  /// `crops` (or without them in `state`) the prior is used unwarped.
  torch::Tensor step(DkdState& state, const torch::Tensor& frame, const torch::Tensor& crops = {});
  /// H(t) from the response of frame t, H(t-1) and F(t): the location prior when there is one.
  torch::Tensor fuse_prior(const torch::Tensor& response, const torch::Tensor& previous,
                           const torch::Tensor& previous_crops, const torch::Tensor& crops,
                           const torch::Tensor& features);

  /// Frozen initializer: no gradients, kept in eval mode (BN statistics fixed)
  /// even when the model is put in training mode, and run under NoGradGuard.
  void set_initializer_frozen(bool frozen);
  void train(bool on = true) override;

  /// The parts by their checkpoint names: initializer, encoder, distillator,
  /// matching, and prior when there is one.
  std::map<std::string, torch::nn::Module*> parts();

  PoseInitializer initializer{nullptr};
  FrameEncoder encoder{nullptr};
  KernelDistillator distillator{nullptr};
  KernelMatching matching{nullptr};
  LocationPrior prior{nullptr};  // model.distillator.prior = warped only

 private:
  torch::Tensor run_initializer(const torch::Tensor& frames);
  bool initializer_frozen_ = false;
};
TORCH_MODULE(DkdModel);

}  // namespace dkd
