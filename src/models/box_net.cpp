#include "dkd/models/box_net.h"

#include <torch/torch.h>

#include "dkd/util/error.h"

namespace dkd {

namespace {

constexpr int kStride = 8;  // three stride-2 convolutions: the grid is input_size / 8

torch::nn::Conv2d conv3x3(int in, int out, int stride, int dilation) {
  return torch::nn::Conv2d(
      torch::nn::Conv2dOptions(in, out, 3).stride(stride).padding(dilation).dilation(dilation).bias(false));
}

}  // namespace

torch::Tensor box_codes_to_edges(const torch::Tensor& codes) {
  const auto cx = codes.select(1, 0) + 0.5, cy = codes.select(1, 1) + 0.5;
  const auto w = codes.select(1, 2).exp(), h = codes.select(1, 3).exp();
  return torch::stack({cx - 0.5 * w, cy - 0.5 * h, cx + 0.5 * w, cy + 0.5 * h}, 1);
}

torch::Tensor box_edge_loss(const BoxNetOutput& out, const torch::Tensor& target_edges) {
  const auto weighted = (out.edges - target_edges).abs().mean();
  const auto cells = ((out.cell_edges - target_edges.unsqueeze(-1)).abs().mean(1) * out.weights).sum(-1).mean();
  return weighted + cells;
}

BoxNetImpl::BoxNetImpl(const BoxNetConfig& config, const std::string& key) : config_(config) {
  if (config.input_size % kStride != 0)
    throw ConfigError(key + ".input_size: expected a multiple of " + std::to_string(kStride) + ", got " +
                      std::to_string(config.input_size));
  if (config.channels < 1) throw ConfigError(key + ".channels: expected at least 1");
  const int c = config.channels;
  trunk = torch::nn::Sequential();
  const std::array<std::array<int, 4>, 5> layers{{// in, out, stride, dilation
                                                  {3, c, 2, 1},
                                                  {c, 2 * c, 2, 1},
                                                  {2 * c, 2 * c, 2, 1},
                                                  {2 * c, 2 * c, 1, 2},
                                                  {2 * c, 2 * c, 1, 2}}};
  for (const auto& l : layers) {
    trunk->push_back(conv3x3(l[0], l[1], l[2], l[3]));
    trunk->push_back(torch::nn::BatchNorm2d(l[1]));
    trunk->push_back(torch::nn::ReLU(torch::nn::ReLUOptions(true)));
  }
  register_module("trunk", trunk);
  head = register_module("head", torch::nn::Conv2d(torch::nn::Conv2dOptions(2 * c, 5, 1)));
  const int g = config.input_size / kStride;
  auto centres = (torch::arange(g, torch::kFloat) + 0.5) / g;
  cells_ = register_buffer("cells", torch::stack({centres.repeat({g}), centres.repeat_interleave(g)}));
}

BoxNetOutput BoxNetImpl::forward(const torch::Tensor& crops) {
  if (crops.dim() != 4 || crops.size(1) != 3)
    throw Error("BoxNet: expected crops [N, 3, H, W], got " + std::to_string(crops.dim()) + " dimensions");
  const int64_t s = config_.input_size;
  const auto x = crops.size(2) == s && crops.size(3) == s ? crops : torch::adaptive_avg_pool2d(crops, {s, s});
  const bool folded = !is_training() && !torch::GradMode::is_enabled();
  const auto features = folded ? forward_folded(trunk, folded_, x) : trunk->forward(x);
  const auto y = head->forward(features).flatten(2);  // [N, 5, G]
  const auto distances = y.narrow(1, 0, 4);           // crop sides from the cell to each edge
  const auto cx = cells_[0].view({1, -1}), cy = cells_[1].view({1, -1});
  BoxNetOutput out;
  out.cell_edges = torch::stack({cx - distances.select(1, 0), cy - distances.select(1, 1), cx + distances.select(1, 2),
                                 cy + distances.select(1, 3)},
                                1);
  out.weights = torch::softmax(y.select(1, 4), -1);
  out.edges = (out.cell_edges * out.weights.unsqueeze(1)).sum(-1);
  const auto l = out.edges.select(1, 0), t = out.edges.select(1, 1);
  const auto r = out.edges.select(1, 2), b = out.edges.select(1, 3);
  // A box whose edges cross (a bad guess) keeps a size of one grid cell.
  const double min_side = 1.0 / static_cast<double>(s / kStride);
  out.codes = torch::stack(
      {0.5 * (l + r) - 0.5, 0.5 * (t + b) - 0.5, (r - l).clamp_min(min_side).log(), (b - t).clamp_min(min_side).log()},
      1);
  return out;
}

torch::Tensor BoxNetImpl::find(const torch::Tensor& crops, bool flip) {
  if (!flip) return forward(crops).codes;
  const int64_t n = crops.size(0);
  const auto both = forward(torch::cat({crops, crops.flip({3})})).codes;
  // A mirrored crop's code has its horizontal centre offset negated (codes are
  // centred on the crop), its vertical offset and sizes unchanged.
  const auto mirrored = both.narrow(0, n, n) * torch::tensor({-1.f, 1.f, 1.f, 1.f}, both.options());
  return 0.5 * (both.narrow(0, 0, n) + mirrored);
}

int64_t BoxNetImpl::macs() const {
  const int64_t c = config_.channels, s = config_.input_size;
  const int64_t s2 = s / 2, s4 = s / 4, g = s / kStride;
  return s2 * s2 * c * 3 * 9 + s4 * s4 * 2 * c * c * 9 + g * g * 2 * c * 2 * c * 9 * 3 + g * g * 2 * c * 5;
}

}  // namespace dkd
