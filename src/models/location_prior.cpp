#include "dkd/models/location_prior.h"

namespace dkd {

namespace location_prior_detail {

/// [B, 2, 3] affines -> [B, 3, 3] homogeneous matrices (double).
torch::Tensor homogeneous(const torch::Tensor& a) {
  auto bottom = torch::zeros({a.size(0), 1, 3}, a.options().dtype(torch::kDouble));
  bottom.select(2, 2).fill_(1.0);
  return torch::cat({a.to(torch::kDouble), bottom}, 1);
}

/// Inverse of [B, 3, 3] affine matrices (last row 0 0 1), in closed form.
torch::Tensor affine_inverse(const torch::Tensor& m) {
  const auto a = m.select(1, 0).select(1, 0), b = m.select(1, 0).select(1, 1), c = m.select(1, 0).select(1, 2);
  const auto d = m.select(1, 1).select(1, 0), e = m.select(1, 1).select(1, 1), f = m.select(1, 1).select(1, 2);
  const auto det = a * e - b * d;
  TORCH_CHECK((det.abs() > 1e-12).all().item<bool>(), "LocationPrior: a crop transform is singular");
  const auto row0 = torch::stack({e / det, -b / det, (b * f - e * c) / det}, 1);
  const auto row1 = torch::stack({-d / det, a / det, (d * c - a * f) / det}, 1);
  const auto row2 = torch::zeros_like(row0);
  row2.select(1, 2).fill_(1.0);
  return torch::stack({row0, row1, row2}, 1);
}

/// Pixel index -> normalised coordinate (align_corners = false) of an h x w grid.
torch::Tensor to_normalised(int64_t h, int64_t w, const torch::TensorOptions& options) {
  return torch::tensor({2.0 / w, 0.0, 1.0 / w - 1.0, 0.0, 2.0 / h, 1.0 / h - 1.0, 0.0, 0.0, 1.0}, options)
      .view({1, 3, 3});
}

}  // namespace location_prior_detail

torch::Tensor crop_to_crop_theta(const torch::Tensor& from, const torch::Tensor& to, int64_t h, int64_t w) {
  using namespace location_prior_detail;
  TORCH_CHECK(from.dim() == 3 && from.size(1) == 2 && from.size(2) == 3 && to.sizes() == from.sizes(),
              "crop_to_crop_theta: crops must be [B, 2, 3], got ", from.sizes(), " and ", to.sizes());
  const auto options = from.options().dtype(torch::kDouble);
  // Frame t heatmap pixel -> image -> frame t-1 heatmap pixel, in normalised coordinates.
  const auto pixels = torch::matmul(homogeneous(from), affine_inverse(homogeneous(to)));
  const auto n = to_normalised(h, w, options);
  const auto n_inv = affine_inverse(n);
  return torch::matmul(torch::matmul(n, pixels), n_inv).narrow(1, 0, 2);
}

torch::Tensor warp_heatmaps(const torch::Tensor& heatmaps, const torch::Tensor& from, const torch::Tensor& to) {
  TORCH_CHECK(heatmaps.dim() == 4 && heatmaps.size(0) == from.size(0),
              "warp_heatmaps: heatmaps must be [B, J, h, w] with B = ", from.size(0), ", got ", heatmaps.sizes());
  const int64_t h = heatmaps.size(2), w = heatmaps.size(3);
  const auto theta = crop_to_crop_theta(from, to, h, w).to(heatmaps.options());
  namespace F = torch::nn::functional;
  const auto grid = F::affine_grid(theta, {heatmaps.size(0), heatmaps.size(1), h, w}, /*align_corners=*/false);
  return F::grid_sample(heatmaps, grid,
                        F::GridSampleFuncOptions().mode(torch::kBilinear).padding_mode(torch::kZeros).align_corners(false));
}

torch::Tensor mirrored_crop(const torch::Tensor& crop, int64_t width) {
  TORCH_CHECK(crop.dim() == 2 && crop.size(0) == 2 && crop.size(1) == 3, "mirrored_crop: crop must be [2, 3]");
  auto out = crop.to(torch::kDouble).clone();
  out.select(0, 0).mul_(-1.0);
  out.select(0, 0).select(0, 2).add_(static_cast<double>(width - 1));
  return out;
}

LocationPriorImpl::LocationPriorImpl(int64_t num_joints, int64_t channels) : num_joints_(num_joints) {
  fuse1 = register_module(
      "fuse1", torch::nn::Conv2d(torch::nn::Conv2dOptions(2 * num_joints, channels, 3).padding(1)));
  fuse2 = register_module("fuse2", torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, num_joints, 3).padding(1)));
  // Zero output layer: an untrained prior is the identity on the response.
  torch::NoGradGuard no_grad;
  fuse2->weight.zero_();
  fuse2->bias.zero_();
}

torch::Tensor LocationPriorImpl::forward(const torch::Tensor& response, const torch::Tensor& prior) {
  TORCH_CHECK(response.dim() == 4 && response.size(1) == num_joints_ && prior.sizes() == response.sizes(),
              "LocationPrior: response and prior must both be [B, ", num_joints_, ", h, w], got ",
              response.sizes(), " and ", prior.sizes());
  return response + fuse2(torch::relu(fuse1(torch::cat({response, prior}, 1))));
}

}  // namespace dkd
