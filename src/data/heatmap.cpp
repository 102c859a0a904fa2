#include "dkd/data/heatmap.h"

#include <cmath>

#include "dkd/util/error.h"

namespace dkd {

torch::Tensor render_heatmaps(const std::vector<Point2>& joints, const std::vector<uint8_t>& visible, int width,
                              int height, double sigma, std::vector<float>* weights) {
  const int64_t J = static_cast<int64_t>(joints.size());
  auto hm = torch::zeros({J, height, width}, torch::kFloat);
  if (weights) weights->assign(static_cast<std::size_t>(J), 0.f);
  auto acc = hm.accessor<float, 3>();
  const double inv = 1.0 / (2.0 * sigma * sigma);
  const int radius = static_cast<int>(std::ceil(3.0 * sigma));
  for (int64_t j = 0; j < J; ++j) {
    const Point2& p = joints[static_cast<std::size_t>(j)];
    const bool vis = visible.empty() || visible[static_cast<std::size_t>(j)] != 0;
    const bool inside = is_finite(p) && p.x >= -0.5f && p.y >= -0.5f && p.x < width - 0.5f && p.y < height - 0.5f;
    if (!vis || !inside) continue;
    if (weights) (*weights)[static_cast<std::size_t>(j)] = 1.f;
    const int cx = static_cast<int>(std::lround(p.x)), cy = static_cast<int>(std::lround(p.y));
    for (int y = std::max(0, cy - radius); y <= std::min(height - 1, cy + radius); ++y)
      for (int x = std::max(0, cx - radius); x <= std::min(width - 1, cx + radius); ++x) {
        const double dx = x - p.x, dy = y - p.y;
        acc[j][y][x] = static_cast<float>(std::exp(-(dx * dx + dy * dy) * inv));
      }
  }
  return hm;
}

namespace {

HeatmapPeaks decode_argmax(const torch::Tensor& heatmaps) {
  const int64_t h = heatmaps.size(-2), w = heatmaps.size(-1);
  auto flat = heatmaps.detach().to(torch::kFloat).flatten(-2);  // [..., J, h*w]
  auto [maxvals, idx] = flat.max(-1);
  auto x = (idx % w);
  auto y = torch::div(idx, w, "floor");
  // Neighbour values (clamped at the border; no shift there).
  auto get = [&](const torch::Tensor& xx, const torch::Tensor& yy) {
    auto lin = (yy.clamp(0, h - 1) * w + xx.clamp(0, w - 1)).unsqueeze(-1);
    return flat.gather(-1, lin).squeeze(-1);
  };
  auto fx = x.to(torch::kFloat), fy = y.to(torch::kFloat);
  auto interior_x = (x > 0) & (x < w - 1);
  auto interior_y = (y > 0) & (y < h - 1);
  auto dx = get(x + 1, y) - get(x - 1, y);
  auto dy = get(x, y + 1) - get(x, y - 1);
  fx = fx + torch::where(interior_x, torch::sign(dx) * 0.25f, torch::zeros_like(fx));
  fy = fy + torch::where(interior_y, torch::sign(dy) * 0.25f, torch::zeros_like(fy));
  HeatmapPeaks out;
  out.coords = torch::stack({fx, fy}, -1);
  out.maxvals = maxvals;
  return out;
}

/// Gaussian blur of maps [N, 1, h, w] with replicated borders, each map's maximum kept.
torch::Tensor modulate(const torch::Tensor& maps, double sigma) {
  const int64_t r = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(3.0 * sigma)));
  auto x = torch::arange(-r, r + 1, maps.options()).pow(2).mul(-1.0 / (2.0 * sigma * sigma)).exp();
  x = x / x.sum();
  const auto kernel = (x.view({-1, 1}) * x.view({1, -1})).view({1, 1, 2 * r + 1, 2 * r + 1});
  namespace F = torch::nn::functional;
  const auto padded = F::pad(maps, F::PadFuncOptions({r, r, r, r}).mode(torch::kReplicate));
  auto blurred = torch::conv2d(padded, kernel);
  const auto old_max = maps.amax({2, 3}, true), new_max = blurred.amax({2, 3}, true);
  return blurred * torch::where(new_max > 0, old_max / new_max.clamp_min(1e-12), torch::ones_like(new_max));
}

HeatmapPeaks decode_dark(const torch::Tensor& heatmaps, double sigma) {
  HeatmapPeaks coarse = decode_argmax(heatmaps);
  const int64_t h = heatmaps.size(-2), w = heatmaps.size(-1);
  const auto lead = heatmaps.sizes().slice(0, heatmaps.dim() - 2).vec();
  const auto maps = heatmaps.detach().to(torch::kFloat).reshape({-1, 1, h, w});
  const auto logmap = modulate(maps, sigma).clamp_min(1e-10).log().view({maps.size(0), h * w});
  // Integer argmax of the original heatmap (the coarse decoder's unshifted peak).
  const auto idx = maps.view({maps.size(0), h * w}).argmax(-1);
  const auto px = idx % w, py = torch::div(idx, w, "floor");
  const auto at = [&](int dx, int dy) {
    const auto lin = ((py + dy).clamp(0, h - 1) * w + (px + dx).clamp(0, w - 1)).unsqueeze(-1);
    return logmap.gather(-1, lin).squeeze(-1);
  };
  const auto c = at(0, 0);
  const auto gx = 0.5 * (at(1, 0) - at(-1, 0));
  const auto gy = 0.5 * (at(0, 1) - at(0, -1));
  const auto hxx = 0.25 * (at(2, 0) - 2 * c + at(-2, 0));
  const auto hyy = 0.25 * (at(0, 2) - 2 * c + at(0, -2));
  const auto hxy = 0.25 * (at(1, 1) - at(-1, 1) - at(1, -1) + at(-1, -1));
  const auto det = hxx * hyy - hxy * hxy;
  const auto safe_det = torch::where(det.abs() > 1e-12, det, torch::ones_like(det));
  const auto ox = -(hyy * gx - hxy * gy) / safe_det;
  const auto oy = -(hxx * gy - hxy * gx) / safe_det;
  // A maximum (negative-definite Hessian), away from the border, with a step
  // inside the pixel's neighbourhood; elsewhere the argmax decoder's answer.
  const auto ok = (px > 1) & (px < w - 2) & (py > 1) & (py < h - 2) & (det > 1e-12) & (hxx < 0) & (ox.abs() <= 1.0) &
                  (oy.abs() <= 1.0);
  const auto fine = torch::stack({px.to(torch::kFloat) + ox, py.to(torch::kFloat) + oy}, -1);
  auto lead_j2 = lead;
  lead_j2.push_back(2);
  const auto refined = fine.view(lead_j2);
  coarse.coords = torch::where(ok.view(lead).unsqueeze(-1), refined, coarse.coords);
  return coarse;
}

}  // namespace

HeatmapPeaks decode_heatmaps(const torch::Tensor& heatmaps, HeatmapDecoder decoder, double sigma) {
  if (heatmaps.dim() < 3) throw Error("decode_heatmaps: expected [..., J, h, w]");
  if (decoder == HeatmapDecoder::dark) return decode_dark(heatmaps, sigma);
  return decode_argmax(heatmaps);
}

Point2 heatmap_to_image(Point2 p, const CropTransform& t) { return t.apply_inverse(p); }

torch::Tensor heatmap_coords_to_image(const torch::Tensor& coords, const std::vector<CropTransform>& transforms) {
  if (coords.dim() != 3 || coords.size(2) != 2 || coords.size(0) != static_cast<int64_t>(transforms.size()))
    throw Error("heatmap_coords_to_image: expected coords [T, J, 2] with one transform per frame");
  auto c = coords.detach().to(torch::kCPU, torch::kFloat).contiguous();
  auto out = torch::empty_like(c);
  auto a = c.accessor<float, 3>();
  auto o = out.accessor<float, 3>();
  for (int64_t t = 0; t < c.size(0); ++t)
    for (int64_t j = 0; j < c.size(1); ++j) {
      Point2 p = transforms[static_cast<std::size_t>(t)].apply_inverse({a[t][j][0], a[t][j][1]});
      o[t][j][0] = p.x;
      o[t][j][1] = p.y;
    }
  return out;
}

}  // namespace dkd
