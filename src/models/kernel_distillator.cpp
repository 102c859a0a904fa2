#include "dkd/models/kernel_distillator.h"

#include <numeric>

#include "dkd/util/error.h"

namespace dkd {

int64_t distillator_stages(int64_t heatmap_side, int64_t kernel_size) {
  int64_t stages = 0;
  for (int64_t side = heatmap_side; side / 2 >= kernel_size; side /= 2) ++stages;
  return stages;
}

KernelDistillatorImpl::KernelDistillatorImpl(const DistillatorConfig& cfg, int64_t feature_channels, int64_t num_joints,
                                             int64_t heatmap_side, const std::string& key)
    : feature_channels_(feature_channels),
      num_joints_(num_joints),
      kernel_size_(cfg.kernel_size),
      groups_(cfg.matching == MatchingKind::per_joint ? num_joints : 1) {
  if (cfg.kernel_size < 1 || cfg.kernel_size % 2 == 0) {
    throw ConfigError(key + ".kernel_size = " + std::to_string(cfg.kernel_size) +
                      ": must be odd so that matching keeps the heatmap size");
  }
  if (cfg.channels < 1) {
    throw ConfigError(key + ".channels = " + std::to_string(cfg.channels) + ": must be at least 1");
  }
  if (heatmap_side < 1) {
    throw ConfigError(key + ": heatmap size " + std::to_string(heatmap_side) + " is not positive");
  }
  switch (cfg.kernels) {
    case KernelSource::pooled:
      build_pooled(cfg, feature_channels, num_joints, heatmap_side);
      return;
    case KernelSource::joint_centred:
      build_joint_centred(cfg, feature_channels, key);
      return;
  }
}

void KernelDistillatorImpl::build_joint_centred(const DistillatorConfig& cfg, int64_t feature_channels,
                                                const std::string& key) {
  {
    if (cfg.matching != MatchingKind::per_joint)
      throw ConfigError(key + ".kernels = joint_centred builds one kernel per joint: needs " + key +
                        ".matching = per_joint, not '" + name_of(cfg.matching) + "'");
    num_stages_ = 0;
    adjust = register_module(
        "adjust", torch::nn::Conv2d(torch::nn::Conv2dOptions(feature_channels, feature_channels, 1).bias(false)));
    torch::NoGradGuard no_grad;
    adjust->weight.copy_(torch::eye(feature_channels).view({feature_channels, feature_channels, 1, 1}));
  }
}

void KernelDistillatorImpl::build_pooled(const DistillatorConfig& cfg, int64_t feature_channels, int64_t num_joints,
                                         int64_t heatmap_side) {
  const int64_t hidden = cfg.channels;
  // Batch norm (the paper), group norm (statistics per sample: no mixing of the
  // clips of a batch), or none (then the convolutions carry a bias).
  const bool with_bias = cfg.norm == NormKind::none;
  const auto norm_layer = [&]() -> torch::nn::AnyModule {
    switch (cfg.norm) {
      case NormKind::batch:
        return torch::nn::AnyModule(torch::nn::BatchNorm2d(hidden));
      case NormKind::group:
        return torch::nn::AnyModule(
            torch::nn::GroupNorm(torch::nn::GroupNormOptions(std::gcd<int64_t>(hidden, 8), hidden)));
      case NormKind::none:
        break;
    }
    return torch::nn::AnyModule(torch::nn::Identity());
  };
  reduce = torch::nn::Sequential();
  reduce->push_back(
      torch::nn::Conv2d(torch::nn::Conv2dOptions(feature_channels + num_joints, hidden, 1).bias(with_bias)));
  reduce->push_back(norm_layer());
  reduce->push_back(torch::nn::ReLU(torch::nn::ReLUOptions(true)));
  register_module("reduce", reduce);
  num_stages_ = distillator_stages(heatmap_side, cfg.kernel_size);
  stages = torch::nn::Sequential();
  for (int64_t i = 0; i < num_stages_; ++i) {
    // pool_first runs each 3x3 convolution on the pooled (4x smaller) map.
    if (cfg.pool_first) stages->push_back(torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(2).stride(2)));
    stages->push_back(torch::nn::Conv2d(torch::nn::Conv2dOptions(hidden, hidden, 3).padding(1).bias(with_bias)));
    stages->push_back(norm_layer());
    stages->push_back(torch::nn::ReLU(torch::nn::ReLUOptions(true)));
    if (!cfg.pool_first) stages->push_back(torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(2).stride(2)));
  }
  register_module("stages", stages);
  head = register_module("head", torch::nn::Conv2d(torch::nn::Conv2dOptions(hidden, groups_ * feature_channels, 1)));
}

torch::Tensor KernelDistillatorImpl::joint_centred_kernels(const torch::Tensor& features,
                                                           const torch::Tensor& heatmaps) {
  const int64_t b = features.size(0), c = feature_channels_, k = kernel_size_, j = num_joints_;
  // Where each joint was: relu(H) normalised over positions (a lost joint's flat
  // map gives the frame average instead of a division by zero).
  auto weights = torch::relu(heatmaps.to(features.dtype())).flatten(2);  // [B, J, hw]
  weights = weights / (weights.sum(-1, true) + 1e-6);
  namespace F = torch::nn::functional;
  const auto patches = F::unfold(features, F::UnfoldFuncOptions({k, k}).padding(k / 2));  // [B, C*k*k, hw]
  auto kernels = torch::bmm(patches, weights.transpose(1, 2));                            // [B, C*k*k, J]
  kernels = kernels.view({b, c, k, k, j}).permute({0, 4, 1, 2, 3}).reshape({b * j, c, k, k});
  return adjust(kernels).view({b, j, c, k, k});
}

torch::Tensor KernelDistillatorImpl::forward(const torch::Tensor& features, const torch::Tensor& heatmaps) {
  TORCH_CHECK(features.dim() == 4 && features.size(1) == feature_channels_, "KernelDistillator: features must be [B, ",
              feature_channels_, ", h, w], got ", features.sizes());
  TORCH_CHECK(heatmaps.dim() == 4 && heatmaps.size(1) == num_joints_ && heatmaps.size(0) == features.size(0) &&
                  heatmaps.size(2) == features.size(2) && heatmaps.size(3) == features.size(3),
              "KernelDistillator: heatmaps must be [B, ", num_joints_, ", h, w] like the features ", features.sizes(),
              ", got ", heatmaps.sizes());
  if (adjust) return joint_centred_kernels(features, heatmaps);
  auto x = torch::cat({features, heatmaps.to(features.dtype())}, 1);
  if (!is_training() && !torch::GradMode::is_enabled()) {
    // Inference: each conv + batch norm as one convolution (4 operators fewer per step).
    x = forward_folded(reduce, folded_reduce_, x);
    if (num_stages_ > 0) x = forward_folded(stages, folded_stages_, x);
  } else {
    x = reduce->forward(x);
    if (num_stages_ > 0) x = stages->forward(x);
  }
  x = torch::adaptive_avg_pool2d(x, {kernel_size_, kernel_size_});
  return head(x).view({features.size(0), groups_, feature_channels_, kernel_size_, kernel_size_});
}

}  // namespace dkd
