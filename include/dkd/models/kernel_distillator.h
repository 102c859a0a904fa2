#pragma once
// KernelDistillator: one-shot feed-forward prediction of pose kernels from the
// previous frame (method.md): concat(F(t-1), H(t-1)) -> 1x1 conv to `channels`
// -> 3x3 conv + BN + ReLU + 2x2 max-pool stages (distillator.pool_first: the
// pool before the conv, so every conv runs on the smaller map) -> adaptive average pool to
// exactly k x k -> 1x1 conv to G*C channels -> kernels [B, G, C, k, k], where
// G = J (per_joint) or 1 (depthwise).
//
// The number of pooling stages is fixed at construction from the heatmap size
// the model is built for: pool while halving keeps the side >= k (64 -> 8 for
// k = 7, three stages). The final adaptive pool makes any other input size work.
// distillator.norm chooses batch (the paper), group or no normalisation.
//
// Variant kernels = joint_centred (beyond the paper): kernel j is the k x k
// neighbourhood of F(t-1) around joint j, averaged over positions with weights
// relu(H(t-1)_j) (normalised to sum 1), followed by a learned 1x1 "adjust"
// convolution over channels (identity at start), as SiamFC / SiamRPN++ build
// their exemplar from around the target. Each kernel then carries what its
// joint looked like; the pooled design sees the whole frame through one
// 1x1 convolution, so every kernel is a function of the same pooled vector.
#include <cstdint>
#include <string>

#include <torch/torch.h>

#include "dkd/models/packed_conv.h"

#include "dkd/config/config.h"

namespace dkd {

/// Pooling stages the distillator uses for a heatmap side length and kernel size.
int64_t distillator_stages(int64_t heatmap_side, int64_t kernel_size);

class KernelDistillatorImpl : public torch::nn::Module {
 public:
  /// heatmap_side: min(h, w) of the heatmaps/features it will see.
  KernelDistillatorImpl(const DistillatorConfig& cfg, int64_t feature_channels, int64_t num_joints,
                        int64_t heatmap_side, const std::string& key = "model.distillator");

  /// features [B, C, h, w] and heatmaps [B, J, h, w] of the previous frame
  /// -> kernels [B, G, C, k, k].
  torch::Tensor forward(const torch::Tensor& features, const torch::Tensor& heatmaps);

  int64_t kernel_size() const { return kernel_size_; }
  int64_t kernel_groups() const { return groups_; }
  int64_t num_stages() const { return num_stages_; }
  bool joint_centred() const { return static_cast<bool>(adjust); }

 private:
  /// kernels: pooled (the paper): 1x1 reduce, pooled 3x3 stages, 1x1 head.
  void build_pooled(const DistillatorConfig& cfg, int64_t feature_channels, int64_t num_joints, int64_t heatmap_side);
  /// kernels: joint_centred: the features around each joint through a 1x1 adjust layer.
  void build_joint_centred(const DistillatorConfig& cfg, int64_t feature_channels, const std::string& key);

  torch::Tensor joint_centred_kernels(const torch::Tensor& features, const torch::Tensor& heatmaps);

  torch::nn::Sequential reduce{nullptr};
  torch::nn::Sequential stages{nullptr};
  torch::nn::Conv2d head{nullptr};
  torch::nn::Conv2d adjust{nullptr};  // joint_centred only
  int64_t feature_channels_;
  int64_t num_joints_;
  int64_t kernel_size_;
  int64_t groups_;
  int64_t num_stages_;
  /// Inference (eval mode, gradients off): reduce and stages with their batch norms folded.
  std::vector<FoldedConv> folded_reduce_, folded_stages_;
};
TORCH_MODULE(KernelDistillator);

}  // namespace dkd
