#pragma once
// Batch-norm folding for inference: y = BN(conv(x)) with frozen (eval-mode)
// statistics equals conv'(x) with
//   W' = W * s,   b' = (b - mean) * s + beta,   s = gamma / sqrt(var + eps)
// per output channel. fold_batch_norm walks a module tree and, inside every
// module, folds each BatchNorm2d into the Conv2d / ConvTranspose2d registered
// just before it (registration order is the order the models apply them:
// conv1 -> bn1, Sequential(conv, bn, relu), downsample.0 -> downsample.1,
// deconv_layers.{0,1}). A conv without a bias gets one (registered as the
// parameter "bias", so state_dict and .to(device) see it).
//
// The C++ frontend calls BatchNorm2d::forward non-virtually from the models'
// forward(), so a folded BN cannot be removed from the graph; it is set to the
// exact identity instead (gamma 1, beta 0, mean 0, var 1 - eps). Outputs agree
// with the unfolded model to float rounding (tests check 1e-4).
#include <string>
#include <vector>

#include <torch/nn/module.h>

namespace dkd {

struct BnFoldReport {
  int folded = 0;                      ///< conv -> BN pairs folded
  std::vector<std::string> folded_bn;  ///< their BN names ("backbone.layer1.0.bn1", ...)
  /// BatchNorm2d modules with no convolution right before them (left as they are).
  std::vector<std::string> not_folded;
};

/// Folds every conv -> BatchNorm2d pair of `module` (which must be in eval mode:
/// a training-mode BN uses batch statistics, so Error). Changes the weights in
/// place; idempotent in effect (a folded BN is the identity). Gradients off.
BnFoldReport fold_batch_norm(torch::nn::Module& module);

}  // namespace dkd
