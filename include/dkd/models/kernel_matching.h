#pragma once
// KernelMatching: heatmaps of frame t as the per-sample dynamic convolution
// (cross-correlation) of the distilled kernels with the frame's features,
// computed for the whole batch as ONE grouped convolution (input reshaped to
// 1 x (B*C) x h x w, weight (B*J) x C x k x k, groups = B), padding k/2, then a
// learnable per-joint scale and bias.
// Variant depthwise: one C x k x k kernel per sample applied depthwise
// (groups = B*C), then a learnable 1x1 convolution to J ("project"), scale, bias.
// Beyond the paper (each a config option):
//   distillator.normalize: features are L2-normalised over channels at each
//     position and each kernel over its C*k*k values before the correlation
//     (bounded by k; the scale starts at 1), so a bright, cluttered
//     region does not answer every kernel just by its feature energy;
//   distillator.static_head: a 1x1 heatmap head on F(t) ("static_head") is added
//     to the response: a static path that lets DKD at least reproduce the
//     per-frame small network (it starts from that network's trained head when
//     the encoder is warm-started from it).
#include <cstdint>
#include <string>

#include <torch/torch.h>

#include "dkd/models/packed_conv.h"

#include "dkd/config/config.h"

namespace dkd {

class KernelMatchingImpl : public torch::nn::Module {
 public:
  KernelMatchingImpl(const DistillatorConfig& cfg, int64_t feature_channels, int64_t num_joints,
                     const std::string& key = "model.distillator");

  /// kernels [B, G, C, k, k] (G = J per_joint, 1 depthwise), features [B, C, h, w]
  /// -> heatmaps [B, J, h, w].
  torch::Tensor forward(const torch::Tensor& kernels, const torch::Tensor& features);

  bool depthwise() const { return matching_ == MatchingKind::depthwise; }
  /// Kernels per sample: one per joint (per_joint) or one shared (depthwise).
  int64_t kernel_groups() const;
  bool normalized() const { return normalize_; }
  torch::Tensor scale, bias;
  torch::nn::Conv2d project{nullptr};      // depthwise only
  torch::nn::Conv2d static_head{nullptr};  // distillator.static_head only

 private:
  /// Inference with per-joint, unnormalised matching: scale, bias and the static
  /// head folded into one grouped convolution (see forward).
  torch::Tensor forward_folded(const torch::Tensor& kernels, const torch::Tensor& features);

  TensorVersions folded_key_;
  torch::Tensor folded_scale_, folded_centre_, folded_bias_;  ///< [1, J, 1, 1, 1], [1, J, C, k, k], [J]
  int64_t feature_channels_;
  int64_t num_joints_;
  int64_t kernel_size_;
  MatchingKind matching_;
  bool normalize_;
};
TORCH_MODULE(KernelMatching);

}  // namespace dkd
