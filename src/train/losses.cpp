#include "dkd/train/losses.h"

#include <algorithm>
#include <cmath>

namespace dkd {

torch::Tensor heatmap_mse(const torch::Tensor& pred, const torch::Tensor& target, const torch::Tensor& weight) {
  // The 0.5 factor follows SimpleBaseline, so losses are comparable with its logs.
  const auto w = weight.to(pred.dtype()).unsqueeze(-1).unsqueeze(-1);
  return 0.5 * ((pred - target) * w).pow(2).mean();
}

void BeganBalance::update(double loss_real, double loss_fake) {
  k = std::clamp(k + lambda_k * (gamma * loss_real - loss_fake), 0.0, 1.0);
}

double BeganBalance::convergence(double loss_real, double loss_fake) const {
  return loss_real + std::fabs(gamma * loss_real - loss_fake);
}

}  // namespace dkd
