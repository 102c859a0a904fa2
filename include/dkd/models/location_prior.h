#pragma once
// LocationPrior (beyond the paper; model.distillator.prior = warped).
//
// Where a joint was in frame t-1 is the strongest cue for where it is in frame
// t, and the paper's matching, a translation-equivariant correlation, cannot
// use it. Here the previous heatmaps H(t-1) are mapped into frame t's heatmap
// crop through the two frames' known crop transforms (image -> heatmap pixels;
// each frame is cropped around its own box, so the crops differ), and a small
// head fuses them with the matching response R(t):
//
//   H(t) = R(t) + g * fuse([R(t), warp(H(t-1))])
//   fuse = conv (2J -> C) + ReLU + conv (C -> J), 3x3 or 1x1 (prior_fusion), or
//          grouped: per joint, 3x3 conv ([R_j, P_j] -> C/J) + ReLU + 3x3 conv (C/J -> 1)
//   g    = 1, or with prior_gate a per-joint gate in (0, 1) computed from how
//          well R(t) and the warped prior agree (see PriorGateImpl)
//
// The last layer starts at zero, so an untrained prior leaves the response
// unchanged. The head sees the response and the prior of every joint, so it can
// learn per joint when the prior is wrong; it is trained on the model's own
// rollouts (back-propagation through time over the clip) with the failure modes
// of train.prior_corruption injected into H(t-1).
#include <cstdint>
#include <string>

#include <torch/torch.h>

namespace dkd {

/// `from`, `to`: [B, 2, 3] affine maps image -> heatmap pixels of frame t-1 and
/// frame t (pixel-centre convention, data/transforms.h). Returns theta [B, 2, 3]
/// for torch::nn::functional::affine_grid with align_corners = false: the
/// normalised coordinates of frame t's h x w heatmap -> those of frame t-1's.
torch::Tensor crop_to_crop_theta(const torch::Tensor& from, const torch::Tensor& to, int64_t h, int64_t w);
/// The sampling grid [B, h, w, 2] (float, on from's device) that
/// affine_grid(crop_to_crop_theta(...), align_corners = false) would build,
/// computed on the host in double: one tensor instead of affine_grid's operators.
torch::Tensor crop_to_crop_grid(const torch::Tensor& from, const torch::Tensor& to, int64_t h, int64_t w);

/// Heatmaps [B, J, h, w] of frame t-1 resampled into frame t's crop (bilinear,
/// zero outside frame t-1's crop). Differentiable in `heatmaps`.
torch::Tensor warp_heatmaps(const torch::Tensor& heatmaps, const torch::Tensor& from, const torch::Tensor& to);

/// [2, 3] double affine of a horizontal mirror of a crop `width` pixels wide
/// composed after `crop` [2, 3] (x -> width - 1 - x): the crop of the flip-test stream.
torch::Tensor mirrored_crop(const torch::Tensor& crop, int64_t width);

/// Per-joint features of agreement between a response R and a prior P, both
/// [B, J, h, w]: [B, J, 4] = (expected P under softmax(beta R) over P's peak,
/// distance of the soft-argmax positions of R and P in heatmap widths, max R,
/// max P). beta sharpens the heatmaps (peak 1) into position distributions.
torch::Tensor prior_agreement(const torch::Tensor& response, const torch::Tensor& prior, double beta = 20.0);

/// The confidence gate: a two-layer perceptron shared by all joints, 4 -> 8 -> 1,
/// on prior_agreement, and a sigmoid. It starts open (g = 0.95, last layer zero),
/// so an untrained gate changes little; self-fed training with corrupted priors
/// (train.prior_corruption) teaches it when to close.
class PriorGateImpl : public torch::nn::Module {
 public:
  PriorGateImpl();
  /// -> [B, J, 1, 1] gate values in (0, 1).
  torch::Tensor forward(const torch::Tensor& response, const torch::Tensor& prior);
  torch::nn::Linear hidden{nullptr}, out{nullptr};
};
TORCH_MODULE(PriorGate);

class LocationPriorImpl : public torch::nn::Module {
 public:
  /// fusion: conv3x3, pointwise or grouped (model.distillator.prior_fusion; grouped: channels a
  /// multiple of num_joints, no features); feature_channels > 0:
  /// the head also takes the frame's features (model.distillator.prior_features).
  LocationPriorImpl(int64_t num_joints, int64_t channels, PriorFusion fusion = PriorFusion::conv3x3, bool gate = false,
                    int64_t feature_channels = 0);

  /// response [B, J, h, w] (the matching output), prior [B, J, h, w] (H(t-1)
  /// already in frame t's crop), features [B, C, h, w] of frame t (only when the
  /// head was built with feature_channels > 0) -> heatmaps [B, J, h, w].
  torch::Tensor forward(const torch::Tensor& response, const torch::Tensor& prior, const torch::Tensor& features = {});
  int64_t feature_channels() const { return feature_channels_; }

  torch::nn::Conv2d fuse1{nullptr}, fuse2{nullptr};
  PriorGate gate{nullptr};  ///< null unless prior_gate

 private:
  int64_t num_joints_;
  int64_t feature_channels_;
  bool grouped_ = false;
};
TORCH_MODULE(LocationPrior);

}  // namespace dkd
