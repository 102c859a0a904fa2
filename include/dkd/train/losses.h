#pragma once
// Training losses and the BEGAN balance.
#include <torch/types.h>

namespace dkd {

/// Visibility-weighted heatmap MSE (SimpleBaseline's JointsMSELoss):
/// pred/target [..., J, h, w], weight [..., J]; mean over every element.
torch::Tensor heatmap_mse(const torch::Tensor& pred, const torch::Tensor& target, const torch::Tensor& weight);

/// BEGAN's equilibrium variable k and convergence measure.
struct BeganBalance {
  double k = 0.0;
  double gamma = 0.5;
  double lambda_k = 0.001;

  /// k <- clip(k + lambda_k * (gamma * L(real) - L(fake)), 0, 1).
  void update(double loss_real, double loss_fake);
  /// M = L(real) + |gamma * L(real) - L(fake)|.
  double convergence(double loss_real, double loss_fake) const;
};

}  // namespace dkd
