#include "dkd/models/kernel_distillator.h"

#include "dkd/util/error.h"

namespace dkd {

int64_t distillator_stages(int64_t heatmap_side, int64_t kernel_size) {
  int64_t stages = 0;
  for (int64_t side = heatmap_side; side / 2 >= kernel_size; side /= 2) ++stages;
  return stages;
}

KernelDistillatorImpl::KernelDistillatorImpl(const DistillatorConfig& cfg, int64_t feature_channels,
                                             int64_t num_joints, int64_t heatmap_side,
                                             const std::string& key)
    : feature_channels_(feature_channels),
      num_joints_(num_joints),
      kernel_size_(cfg.kernel_size),
      groups_(cfg.matching == "per_joint" ? num_joints : 1) {
  if (cfg.kernel_size < 1 || cfg.kernel_size % 2 == 0) {
    throw ConfigError(key + ".kernel_size = " + std::to_string(cfg.kernel_size) +
                      ": must be odd so that matching keeps the heatmap size");
  }
  if (cfg.matching != "per_joint" && cfg.matching != "depthwise") {
    throw ConfigError(key + ".matching = '" + cfg.matching + "': must be per_joint or depthwise");
  }
  if (cfg.channels < 1) {
    throw ConfigError(key + ".channels = " + std::to_string(cfg.channels) + ": must be at least 1");
  }
  if (heatmap_side < 1) {
    throw ConfigError(key + ": heatmap size " + std::to_string(heatmap_side) + " is not positive");
  }
  const int64_t hidden = cfg.channels;
  reduce = register_module(
      "reduce", torch::nn::Sequential(
                    torch::nn::Conv2d(torch::nn::Conv2dOptions(feature_channels + num_joints, hidden, 1)
                                          .bias(false)),
                    torch::nn::BatchNorm2d(hidden), torch::nn::ReLU(torch::nn::ReLUOptions(true))));
  num_stages_ = distillator_stages(heatmap_side, cfg.kernel_size);
  stages = torch::nn::Sequential();
  for (int64_t i = 0; i < num_stages_; ++i) {
    // pool_first runs each 3x3 convolution on the pooled (4x smaller) map.
    if (cfg.pool_first) stages->push_back(torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(2).stride(2)));
    stages->push_back(torch::nn::Conv2d(torch::nn::Conv2dOptions(hidden, hidden, 3).padding(1).bias(false)));
    stages->push_back(torch::nn::BatchNorm2d(hidden));
    stages->push_back(torch::nn::ReLU(torch::nn::ReLUOptions(true)));
    if (!cfg.pool_first) stages->push_back(torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(2).stride(2)));
  }
  register_module("stages", stages);
  head = register_module(
      "head", torch::nn::Conv2d(torch::nn::Conv2dOptions(hidden, groups_ * feature_channels, 1)));
}

torch::Tensor KernelDistillatorImpl::forward(const torch::Tensor& features,
                                             const torch::Tensor& heatmaps) {
  TORCH_CHECK(features.dim() == 4 && features.size(1) == feature_channels_,
              "KernelDistillator: features must be [B, ", feature_channels_, ", h, w], got ",
              features.sizes());
  TORCH_CHECK(heatmaps.dim() == 4 && heatmaps.size(1) == num_joints_ &&
                  heatmaps.size(0) == features.size(0) && heatmaps.size(2) == features.size(2) &&
                  heatmaps.size(3) == features.size(3),
              "KernelDistillator: heatmaps must be [B, ", num_joints_, ", h, w] like the features ",
              features.sizes(), ", got ", heatmaps.sizes());
  auto x = reduce->forward(torch::cat({features, heatmaps.to(features.dtype())}, 1));
  if (num_stages_ > 0) x = stages->forward(x);
  x = torch::adaptive_avg_pool2d(x, {kernel_size_, kernel_size_});
  return head(x).view({features.size(0), groups_, feature_channels_, kernel_size_, kernel_size_});
}

}  // namespace dkd
