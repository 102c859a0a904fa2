#include "dkd/models/kernel_matching.h"

#include <cmath>

#include "dkd/util/error.h"

namespace dkd {

KernelMatchingImpl::KernelMatchingImpl(const DistillatorConfig& cfg, int64_t feature_channels, int64_t num_joints,
                                       const std::string& key)
    : feature_channels_(feature_channels),
      num_joints_(num_joints),
      kernel_size_(cfg.kernel_size),
      matching_(cfg.matching),
      normalize_(cfg.normalize) {
  if (cfg.kernel_size < 1 || cfg.kernel_size % 2 == 0) {
    throw ConfigError(key + ".kernel_size = " + std::to_string(cfg.kernel_size) +
                      ": must be odd so that matching keeps the heatmap size");
  }
  // A correlation sums C*k*k products (k*k when depthwise; "project" has its
  // own fan-in scaled init); starting the scale at 1/sqrt(fan-in) keeps the
  // initial heatmap magnitude near that of a single product.
  int64_t fan_in = feature_channels * kernel_size_ * kernel_size_;
  switch (matching_) {
    case MatchingKind::per_joint:
      break;
    case MatchingKind::depthwise:
      fan_in = kernel_size_ * kernel_size_;
      break;
  }
  // Normalised matching sums k*k cosines: of order 1 already.
  scale = register_parameter("scale", torch::full({num_joints}, normalize_ ? 1.0 : 1.0 / std::sqrt(double(fan_in))));
  bias = register_parameter("bias", torch::zeros({num_joints}));
  if (depthwise()) {
    project = register_module("project",
                              torch::nn::Conv2d(torch::nn::Conv2dOptions(feature_channels, num_joints, 1).bias(false)));
  }
  if (cfg.static_head) {
    static_head =
        register_module("static_head", torch::nn::Conv2d(torch::nn::Conv2dOptions(feature_channels, num_joints, 1)));
  }
}

int64_t KernelMatchingImpl::kernel_groups() const {
  switch (matching_) {
    case MatchingKind::per_joint:
      return num_joints_;
    case MatchingKind::depthwise:
      break;
  }
  return 1;
}

torch::Tensor KernelMatchingImpl::forward(const torch::Tensor& kernels, const torch::Tensor& features) {
  const int64_t groups = kernel_groups();
  TORCH_CHECK(features.dim() == 4 && features.size(1) == feature_channels_, "KernelMatching: features must be [B, ",
              feature_channels_, ", h, w], got ", features.sizes());
  const int64_t b = features.size(0), c = feature_channels_, h = features.size(2), w = features.size(3),
                k = kernel_size_;
  TORCH_CHECK(kernels.sizes() == torch::IntArrayRef({b, groups, c, k, k}), "KernelMatching: kernels must be [", b, ", ",
              groups, ", ", c, ", ", k, ", ", k, "], got ", kernels.sizes());
  if (matching_ == MatchingKind::per_joint && !normalize_ && !is_training() && !torch::GradMode::is_enabled())
    return forward_folded(kernels, features);
  torch::Tensor matched = features, kernel = kernels;
  if (normalize_) {
    matched = features / (features.norm(2, 1, true) + 1e-6);
    kernel = kernels / (kernels.flatten(2).norm(2, -1).view({b, groups, 1, 1, 1}) + 1e-6);
  }
  const auto input = matched.reshape({1, b * c, h, w});
  torch::Tensor out;
  switch (matching_) {
    case MatchingKind::per_joint:
      out = torch::conv2d(input, kernel.reshape({b * num_joints_, c, k, k}), {}, {1, 1}, {k / 2, k / 2}, {1, 1}, b)
                .view({b, num_joints_, h, w});
      break;
    case MatchingKind::depthwise:
      out = torch::conv2d(input, kernel.reshape({b * c, 1, k, k}), {}, {1, 1}, {k / 2, k / 2}, {1, 1}, b * c)
                .view({b, c, h, w});
      out = project(out);
      break;
  }
  out = out * scale.view({1, -1, 1, 1}) + bias.view({1, -1, 1, 1});
  if (static_head) out = out + static_head(features);
  return out;
}

torch::Tensor KernelMatchingImpl::forward_folded(const torch::Tensor& kernels, const torch::Tensor& features) {
  // out_j = s_j (K_j * f) + b_j + (W_j . f + c_j) = (s_j K_j + W_j at the centre tap) * f + (b_j + c_j):
  // one grouped convolution with a bias instead of a convolution, a multiply, an
  // add, the static head's convolution and another add.
  const int64_t b = features.size(0), c = feature_channels_, h = features.size(2), w = features.size(3),
                k = kernel_size_, j = num_joints_;
  const TensorVersions key =
      static_head ? TensorVersions::of({scale, bias, static_head->weight, static_head->bias}, kernels.scalar_type())
                  : TensorVersions::of({scale, bias}, kernels.scalar_type());
  if (!folded_scale_.defined() || !(key == folded_key_) || folded_scale_.device() != kernels.device()) {
    folded_scale_ = scale.detach().to(kernels.options()).view({1, j, 1, 1, 1});
    folded_centre_ = torch::zeros({1, j, c, k, k}, kernels.options());
    folded_bias_ = bias.detach().to(kernels.options());
    if (static_head) {
      folded_centre_.select(3, k / 2).select(3, k / 2).copy_(static_head->weight.detach().view({1, j, c}));
      if (static_head->bias.defined()) folded_bias_ = folded_bias_ + static_head->bias.detach().to(kernels.options());
    }
    folded_key_ = key;
  }
  const auto weight = torch::addcmul(folded_centre_, kernels, folded_scale_).reshape({b * j, c, k, k});
  const auto bias_b = b == 1 ? folded_bias_ : folded_bias_.repeat({b});
  return torch::conv2d(features.reshape({1, b * c, h, w}), weight, bias_b, {1, 1}, {k / 2, k / 2}, {1, 1}, b)
      .view({b, j, h, w});
}

}  // namespace dkd
