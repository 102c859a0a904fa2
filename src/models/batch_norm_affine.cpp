#include "dkd/models/batch_norm_affine.h"

namespace dkd {

BatchNormAffine batch_norm_affine(const torch::nn::BatchNorm2dImpl& bn) {
  torch::NoGradGuard no_grad;
  const auto var = bn.running_var.to(torch::kDouble);
  const auto mean = bn.running_mean.to(torch::kDouble);
  auto scale = torch::rsqrt(var + bn.options.eps());
  auto shift = -mean * scale;
  if (bn.weight.defined()) {
    const auto gamma = bn.weight.detach().to(torch::kDouble);
    scale = scale * gamma;
    shift = shift * gamma;
  }
  if (bn.bias.defined()) shift = shift + bn.bias.detach().to(torch::kDouble);
  return {scale, shift};
}

}  // namespace dkd
