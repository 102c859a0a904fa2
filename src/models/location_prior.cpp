#include "dkd/models/location_prior.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace dkd {

namespace {

/// A 2-D affine map x' = a x + b y + c, y' = d x + e y + f.
struct Affine {
  double a, b, c, d, e, f;
  /// this after other: x -> this(other(x)).
  Affine after(const Affine& o) const {
    return {a * o.a + b * o.d, a * o.b + b * o.e, a * o.c + b * o.f + c,
            d * o.a + e * o.d, d * o.b + e * o.e, d * o.c + e * o.f + f};
  }
  Affine inverse() const {
    const double det = a * e - b * d;
    TORCH_CHECK(std::abs(det) > 1e-12, "LocationPrior: a crop transform is singular (determinant ", det, ")");
    return {e / det, -b / det, (b * f - e * c) / det, -d / det, a / det, (d * c - a * f) / det};
  }
};

}  // namespace

namespace {

/// Per batch item, the affine of crop_to_crop_theta in double, on the host.
std::vector<Affine> crop_to_crop_affines(const torch::Tensor& from, const torch::Tensor& to, int64_t h, int64_t w) {
  TORCH_CHECK(from.dim() == 3 && from.size(1) == 2 && from.size(2) == 3 && to.sizes() == from.sizes(),
              "crop_to_crop_theta: crops must be [B, 2, 3], got ", from.sizes(), " and ", to.sizes());
  // A handful of 2x3 matrices per step: plain double arithmetic on the host, one
  // copy each way, instead of a dozen tiny tensor operators (a tenth of a
  // streaming step at the lean design's size).
  const auto from_h = from.to(torch::kCPU, torch::kDouble).contiguous();
  const auto to_h = to.to(torch::kCPU, torch::kDouble).contiguous();
  const double* pf = from_h.data_ptr<double>();
  const double* pt = to_h.data_ptr<double>();
  // Pixel index -> normalised coordinate (align_corners = false) of an h x w grid.
  const Affine n{2.0 / w, 0.0, 1.0 / w - 1.0, 0.0, 2.0 / h, 1.0 / h - 1.0};
  const Affine n_inv = n.inverse();
  std::vector<Affine> out;
  for (int64_t i = 0; i < from.size(0); ++i) {
    const double* f = pf + 6 * i;
    const double* t = pt + 6 * i;
    const Affine a_from{f[0], f[1], f[2], f[3], f[4], f[5]};
    const Affine a_to{t[0], t[1], t[2], t[3], t[4], t[5]};
    // Frame t heatmap pixel -> image -> frame t-1 heatmap pixel, in normalised coordinates.
    out.push_back(n.after(a_from.after(a_to.inverse())).after(n_inv));
  }
  return out;
}

}  // namespace

torch::Tensor crop_to_crop_theta(const torch::Tensor& from, const torch::Tensor& to, int64_t h, int64_t w) {
  const auto affines = crop_to_crop_affines(from, to, h, w);
  auto theta = torch::empty({static_cast<int64_t>(affines.size()), 2, 3}, torch::kDouble);
  double* out = theta.data_ptr<double>();
  for (const Affine& m : affines) {
    const double v[6] = {m.a, m.b, m.c, m.d, m.e, m.f};
    out = std::copy(v, v + 6, out);
  }
  return theta.to(from.device());
}

torch::Tensor crop_to_crop_grid(const torch::Tensor& from, const torch::Tensor& to, int64_t h, int64_t w) {
  const auto affines = crop_to_crop_affines(from, to, h, w);
  // What affine_grid(theta, align_corners = false) computes, in double, in one
  // pass: output pixel (i, j) sits at normalised ((2j + 1) / w - 1, (2i + 1) / h - 1).
  auto grid = torch::empty({static_cast<int64_t>(affines.size()), h, w, 2}, torch::kFloat);
  float* g = grid.data_ptr<float>();
  for (const Affine& m : affines) {
    for (int64_t i = 0; i < h; ++i) {
      const double y = (2.0 * i + 1.0) / h - 1.0;
      for (int64_t j = 0; j < w; ++j) {
        const double x = (2.0 * j + 1.0) / w - 1.0;
        *g++ = static_cast<float>(m.a * x + m.b * y + m.c);
        *g++ = static_cast<float>(m.d * x + m.e * y + m.f);
      }
    }
  }
  return grid.to(from.device());
}

torch::Tensor warp_heatmaps(const torch::Tensor& heatmaps, const torch::Tensor& from, const torch::Tensor& to) {
  TORCH_CHECK(heatmaps.dim() == 4 && heatmaps.size(0) == from.size(0),
              "warp_heatmaps: heatmaps must be [B, J, h, w] with B = ", from.size(0), ", got ", heatmaps.sizes());
  const int64_t h = heatmaps.size(2), w = heatmaps.size(3);
  const auto grid = crop_to_crop_grid(from, to, h, w).to(heatmaps.scalar_type());
  namespace F = torch::nn::functional;
  return F::grid_sample(
      heatmaps, grid,
      F::GridSampleFuncOptions().mode(torch::kBilinear).padding_mode(torch::kZeros).align_corners(false));
}

torch::Tensor mirrored_crop(const torch::Tensor& crop, int64_t width) {
  TORCH_CHECK(crop.dim() == 2 && crop.size(0) == 2 && crop.size(1) == 3, "mirrored_crop: crop must be [2, 3]");
  auto out = crop.to(torch::kDouble).clone();
  out.select(0, 0).mul_(-1.0);
  out.select(0, 0).select(0, 2).add_(static_cast<double>(width - 1));
  return out;
}

torch::Tensor prior_agreement(const torch::Tensor& response, const torch::Tensor& prior, double beta) {
  TORCH_CHECK(response.dim() == 4 && prior.sizes() == response.sizes(),
              "prior_agreement: response and prior must be [B, J, h, w] alike, got ", response.sizes(), " and ",
              prior.sizes());
  const int64_t h = response.size(2), w = response.size(3);
  const auto r = response.flatten(2), p = prior.flatten(2);  // [B, J, hw]
  const auto q_r = torch::softmax(r * beta, -1), q_p = torch::softmax(p * beta, -1);
  const auto p_max = std::get<0>(p.max(-1));
  const auto r_max = std::get<0>(r.max(-1));
  // Expected prior where the response puts the joint, relative to the prior's own peak:
  // ~1 when both agree, ~0 when the prior points elsewhere (or is empty).
  const auto expected = (q_r * p).sum(-1) / p_max.abs().clamp_min(1e-3);
  // Soft-argmax positions (heatmap widths) and their distance.
  const auto opts = response.options();
  const auto xs = torch::arange(w, opts).repeat({h}) / static_cast<double>(w);
  const auto ys = torch::arange(h, opts).repeat_interleave(w) / static_cast<double>(w);
  const auto dx = (q_r * xs).sum(-1) - (q_p * xs).sum(-1);
  const auto dy = (q_r * ys).sum(-1) - (q_p * ys).sum(-1);
  const auto distance = (dx * dx + dy * dy + 1e-8).sqrt();
  return torch::stack({expected, distance, r_max, p_max}, -1);
}

PriorGateImpl::PriorGateImpl() {
  hidden = register_module("hidden", torch::nn::Linear(4, 8));
  out = register_module("out", torch::nn::Linear(8, 1));
  torch::NoGradGuard no_grad;
  out->weight.zero_();
  out->bias.fill_(3.0);  // sigmoid(3) = 0.95: open
}

torch::Tensor PriorGateImpl::forward(const torch::Tensor& response, const torch::Tensor& prior) {
  const auto features = prior_agreement(response, prior);
  const auto g = torch::sigmoid(out(torch::relu(hidden(features))));  // [B, J, 1]
  return g.unsqueeze(-1);
}

LocationPriorImpl::LocationPriorImpl(int64_t num_joints, int64_t channels, PriorFusion fusion, bool gate_on,
                                     int64_t feature_channels)
    : num_joints_(num_joints), feature_channels_(feature_channels) {
  int64_t k = 3;
  switch (fusion) {
    case PriorFusion::conv3x3:
      break;
    case PriorFusion::pointwise:
      k = 1;
      break;
    case PriorFusion::grouped:
      grouped_ = true;
      break;
  }
  TORCH_CHECK(!grouped_ || (channels % num_joints == 0 && feature_channels == 0),
              "LocationPrior: grouped fusion needs channels a multiple of the joints (", num_joints, "), got ",
              channels, ", and no features");
  const int64_t groups = grouped_ ? num_joints : 1;
  fuse1 = register_module(
      "fuse1",
      torch::nn::Conv2d(
          torch::nn::Conv2dOptions(2 * num_joints + feature_channels, channels, k).padding(k / 2).groups(groups)));
  fuse2 = register_module(
      "fuse2", torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, num_joints, k).padding(k / 2).groups(groups)));
  if (gate_on) gate = register_module("gate", PriorGate());
  // Zero output layer: an untrained prior is the identity on the response.
  torch::NoGradGuard no_grad;
  fuse2->weight.zero_();
  fuse2->bias.zero_();
}

torch::Tensor LocationPriorImpl::forward(const torch::Tensor& response, const torch::Tensor& prior,
                                         const torch::Tensor& features) {
  TORCH_CHECK(response.dim() == 4 && response.size(1) == num_joints_ && prior.sizes() == response.sizes(),
              "LocationPrior: response and prior must both be [B, ", num_joints_, ", h, w], got ", response.sizes(),
              " and ", prior.sizes());
  torch::Tensor input;
  if (feature_channels_ > 0) {
    TORCH_CHECK(features.defined() && features.dim() == 4 && features.size(0) == response.size(0) &&
                    features.size(1) == feature_channels_ && features.size(2) == response.size(2) &&
                    features.size(3) == response.size(3),
                "LocationPrior: features must be [B, ", feature_channels_, ", h, w] like the response, got ",
                features.defined() ? features.sizes() : c10::IntArrayRef{});
    input = torch::cat({response, prior, features}, 1);
  } else if (grouped_) {
    // Joint j's group sees [R_j, P_j]: interleave the two stacks of maps.
    input = torch::stack({response, prior}, 2).flatten(1, 2);
  } else {
    input = torch::cat({response, prior}, 1);
  }
  const auto correction = fuse2(torch::relu(fuse1(input)));
  if (!gate) return response + correction;
  return response + gate->forward(response, prior) * correction;
}

}  // namespace dkd
