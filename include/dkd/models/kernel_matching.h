#pragma once
// KernelMatching: heatmaps of frame t as the per-sample dynamic convolution
// (cross-correlation) of the distilled kernels with the frame's features,
// computed for the whole batch as ONE grouped convolution (input reshaped to
// 1 x (B*C) x h x w, weight (B*J) x C x k x k, groups = B), padding k/2, then a
// learnable per-joint scale and bias.
// Variant depthwise: one C x k x k kernel per sample applied depthwise
// (groups = B*C), then a learnable 1x1 convolution to J ("project"), scale, bias.
#include <cstdint>
#include <string>

#include <torch/torch.h>

#include "dkd/config/config.h"

namespace dkd {

class KernelMatchingImpl : public torch::nn::Module {
 public:
  KernelMatchingImpl(const DistillatorConfig& cfg, int64_t feature_channels, int64_t num_joints,
                     const std::string& key = "model.distillator");

  /// kernels [B, G, C, k, k] (G = J per_joint, 1 depthwise), features [B, C, h, w]
  /// -> heatmaps [B, J, h, w].
  torch::Tensor forward(const torch::Tensor& kernels, const torch::Tensor& features);

  bool depthwise() const { return depthwise_; }
  torch::Tensor scale, bias;
  torch::nn::Conv2d project{nullptr};  // depthwise only

 private:
  int64_t feature_channels_;
  int64_t num_joints_;
  int64_t kernel_size_;
  bool depthwise_;
};
TORCH_MODULE(KernelMatching);

}  // namespace dkd
