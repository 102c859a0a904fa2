#pragma once
// An eval-mode batch norm as a per-channel affine map y = scale * x + shift,
// the formula both batch-norm folding (infer/bn_fold.h) and packed inference
// (models/packed_conv.h) fold into the convolution before it.
#include <torch/torch.h>

namespace dkd {

struct BatchNormAffine {
  torch::Tensor scale;  ///< [C] double: gamma / sqrt(running_var + eps)
  torch::Tensor shift;  ///< [C] double: beta - running_mean * scale
};

/// The affine map of `bn` with its running statistics, in double (a batch norm
/// without affine parameters has gamma 1 and beta 0).
BatchNormAffine batch_norm_affine(const torch::nn::BatchNorm2dImpl& bn);

}  // namespace dkd
