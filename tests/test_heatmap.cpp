// Gaussian heatmap targets and SimpleBaseline decoding.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <tuple>

#include <torch/torch.h>

#include "dkd/data/heatmap.h"

using namespace dkd;

TEST(Heatmap, PeakDecodesToItsJointWithinAQuarterPixel) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> ux(2.f, 45.f), uy(2.f, 61.f);
  for (double sigma : {1.0, 2.0, 3.0}) {
    std::vector<Point2> joints;
    for (int j = 0; j < 20; ++j) joints.push_back({ux(rng), uy(rng)});
    std::vector<float> w;
    auto hm = render_heatmaps(joints, {}, 48, 64, sigma, &w);
    ASSERT_EQ(hm.sizes(), (std::vector<int64_t>{20, 64, 48}));
    EXPECT_EQ(w, std::vector<float>(20, 1.f));
    auto peaks = decode_heatmaps(hm.unsqueeze(0));  // [1, J, h, w]
    ASSERT_EQ(peaks.coords.sizes(), (std::vector<int64_t>{1, 20, 2}));
    for (int j = 0; j < 20; ++j) {
      EXPECT_LE(std::abs(peaks.coords[0][j][0].item<float>() - joints[static_cast<std::size_t>(j)].x), 0.25f + 1e-5f);
      EXPECT_LE(std::abs(peaks.coords[0][j][1].item<float>() - joints[static_cast<std::size_t>(j)].y), 0.25f + 1e-5f);
      EXPECT_GT(peaks.maxvals[0][j].item<float>(), 0.6f);
    }
  }
}

TEST(Heatmap, InvisibleOrOutsideJointsGetZeroWeightAndEmptyMaps) {
  std::vector<Point2> joints = {{5.f, 5.f}, {-3.f, 4.f}, {10.f, 100.f}, {7.f, 7.f}};
  std::vector<uint8_t> vis = {1, 1, 1, 0};
  std::vector<float> w;
  auto hm = render_heatmaps(joints, vis, 16, 16, 2.0, &w);
  EXPECT_EQ(w, (std::vector<float>{1.f, 0.f, 0.f, 0.f}));
  EXPECT_FLOAT_EQ(hm[0].max().item<float>(), 1.f);
  for (int j = 1; j < 4; ++j) EXPECT_EQ(hm[j].abs().sum().item<float>(), 0.f);
  // An integer position gives the exact peak with no shift.
  auto p = decode_heatmaps(hm.slice(0, 0, 1));
  EXPECT_FLOAT_EQ(p.coords[0][0].item<float>(), 5.f);
  EXPECT_FLOAT_EQ(p.coords[0][1].item<float>(), 5.f);
}

TEST(Heatmap, DecodedCoordsMapBackToImagePixels) {
  // image -> crop -> heatmap target -> decode -> image: within a quarter heatmap pixel.
  const CropTransform t = CropTransform::make({160.f, 120.f}, 150.0, 200.0, 20.0, true, 192, 256);
  const CropTransform h = t.downscaled(4);
  std::vector<Point2> img_pts = {{150.f, 100.f}, {170.5f, 140.25f}, {120.f, 60.f}};
  std::vector<Point2> hm_pts;
  for (auto p : img_pts) hm_pts.push_back(h.apply(p));
  auto hm = render_heatmaps(hm_pts, {}, 48, 64, 2.0);
  auto peaks = decode_heatmaps(hm.unsqueeze(0));
  auto back = heatmap_coords_to_image(peaks.coords, {h});
  const double px_per_hm = 4.0 * 150.0 / 192.0;  // image pixels per heatmap pixel
  for (std::size_t j = 0; j < img_pts.size(); ++j) {
    const double dx = back[0][static_cast<int64_t>(j)][0].item<float>() - img_pts[j].x;
    const double dy = back[0][static_cast<int64_t>(j)][1].item<float>() - img_pts[j].y;
    EXPECT_LE(std::hypot(dx, dy), 0.25 * std::sqrt(2.0) * px_per_hm + 1e-3);
    Point2 q = heatmap_to_image(hm_pts[j], h);  // exact inverse
    EXPECT_NEAR(q.x, img_pts[j].x, 1e-3);
    EXPECT_NEAR(q.y, img_pts[j].y, 1e-3);
  }
}

TEST(Heatmap, DarkDecodesAnalyticGaussiansAtFractionalCentres) {
  // Unnormalised Gaussians (the training targets' shape) at fractional centres,
  // at least 3 sigma from the border (where the map is not cut off): DARK is
  // exact up to the blur's border effects.
  std::mt19937 rng(11);
  for (double sigma : {1.5, 2.0, 3.0}) {
    const float margin = static_cast<float>(3.0 * sigma + 1.0);
    std::uniform_real_distribution<float> ux(margin, 47.f - margin), uy(margin, 63.f - margin);
    std::vector<Point2> joints;
    for (int j = 0; j < 24; ++j) joints.push_back({ux(rng), uy(rng)});
    auto hm = render_heatmaps(joints, {}, 48, 64, sigma);
    // render_heatmaps truncates at 3 sigma; an analytic map is not truncated.
    auto ys = torch::arange(64, torch::kFloat).view({1, 64, 1});
    auto xs = torch::arange(48, torch::kFloat).view({1, 1, 48});
    std::vector<float> cx, cy;
    for (auto& p : joints) {
      cx.push_back(p.x);
      cy.push_back(p.y);
    }
    auto tx = torch::tensor(cx).view({-1, 1, 1}), ty = torch::tensor(cy).view({-1, 1, 1});
    auto analytic = torch::exp(-((xs - tx).pow(2) + (ys - ty).pow(2)) / (2 * sigma * sigma));
    for (const auto& maps : {analytic, hm}) {
      auto dark = decode_heatmaps(maps.unsqueeze(0), HeatmapDecoder::dark, sigma);
      auto argmax = decode_heatmaps(maps.unsqueeze(0), HeatmapDecoder::argmax, sigma);
      double worst_dark = 0, worst_argmax = 0;
      for (int j = 0; j < 24; ++j) {
        const auto& p = joints[static_cast<std::size_t>(j)];
        worst_dark = std::max(worst_dark, std::hypot(dark.coords[0][j][0].item<double>() - p.x,
                                                     dark.coords[0][j][1].item<double>() - p.y));
        worst_argmax = std::max(worst_argmax, std::hypot(argmax.coords[0][j][0].item<double>() - p.x,
                                                         argmax.coords[0][j][1].item<double>() - p.y));
      }
      EXPECT_LT(worst_dark, 0.05) << "sigma " << sigma;
      EXPECT_GT(worst_argmax, 0.15) << "sigma " << sigma;  // what DARK improves on
      EXPECT_TRUE(torch::equal(dark.maxvals, argmax.maxvals));
    }
  }
}

TEST(Heatmap, DarkFallsBackToArgmaxAtTheBorderAndOnFlatMaps) {
  auto hm = torch::zeros({3, 16, 16});
  hm[0][0][0] = 1.f;  // corner peak: no room for the Taylor expansion
  hm[1][8][8] = 1.f;  // a single hot pixel is locally concave: refined, stays within the pixel
  auto dark = decode_heatmaps(hm, HeatmapDecoder::dark, 2.0);
  auto argmax = decode_heatmaps(hm, HeatmapDecoder::argmax, 2.0);
  EXPECT_TRUE(torch::allclose(dark.coords[0], argmax.coords[0]));
  EXPECT_NEAR(dark.coords[1][0].item<float>(), 8.f, 0.5f);
  EXPECT_NEAR(dark.coords[1][1].item<float>(), 8.f, 0.5f);
  EXPECT_TRUE(torch::isfinite(dark.coords).all().item<bool>());  // all-zero map 2
  EXPECT_EQ(parse_kind<HeatmapDecoder>("dark", "eval.decode"), HeatmapDecoder::dark);
  EXPECT_THROW(parse_kind<HeatmapDecoder>("soft-argmax", "eval.decode"), std::exception);
}

namespace {

// The decoders as tensor operators (how the papers' Python code writes them, and
// how this project decoded until the host loops replaced them): the reference
// the host decoder must reproduce.
HeatmapPeaks reference_argmax(const torch::Tensor& heatmaps) {
  const int64_t h = heatmaps.size(-2), w = heatmaps.size(-1);
  auto flat = heatmaps.to(torch::kFloat).flatten(-2);
  auto [maxvals, idx] = flat.max(-1);
  auto x = idx % w, y = torch::div(idx, w, "floor");
  auto get = [&](const torch::Tensor& xx, const torch::Tensor& yy) {
    return flat.gather(-1, (yy.clamp(0, h - 1) * w + xx.clamp(0, w - 1)).unsqueeze(-1)).squeeze(-1);
  };
  auto fx = x.to(torch::kFloat), fy = y.to(torch::kFloat);
  fx = fx +
       torch::where((x > 0) & (x < w - 1), torch::sign(get(x + 1, y) - get(x - 1, y)) * 0.25f, torch::zeros_like(fx));
  fy = fy +
       torch::where((y > 0) & (y < h - 1), torch::sign(get(x, y + 1) - get(x, y - 1)) * 0.25f, torch::zeros_like(fy));
  return {torch::stack({fx, fy}, -1), maxvals};
}

HeatmapPeaks reference_dark(const torch::Tensor& heatmaps, double sigma) {
  HeatmapPeaks coarse = reference_argmax(heatmaps);
  const int64_t h = heatmaps.size(-2), w = heatmaps.size(-1);
  const auto lead = heatmaps.sizes().slice(0, heatmaps.dim() - 2).vec();
  const auto maps = heatmaps.to(torch::kFloat).reshape({-1, 1, h, w});
  const int64_t r = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(3.0 * sigma)));
  auto g = torch::arange(-r, r + 1, maps.options()).pow(2).mul(-1.0 / (2.0 * sigma * sigma)).exp();
  g = g / g.sum();
  namespace F = torch::nn::functional;
  const auto padded = F::pad(maps, F::PadFuncOptions({r, r, r, r}).mode(torch::kReplicate));
  auto blurred = torch::conv2d(padded, (g.view({-1, 1}) * g.view({1, -1})).view({1, 1, 2 * r + 1, 2 * r + 1}));
  const auto old_max = maps.amax({2, 3}, true), new_max = blurred.amax({2, 3}, true);
  blurred = blurred * torch::where(new_max > 0, old_max / new_max.clamp_min(1e-12), torch::ones_like(new_max));
  const auto logmap = blurred.clamp_min(1e-10).log().view({maps.size(0), h * w});
  const auto idx = maps.view({maps.size(0), h * w}).argmax(-1);
  const auto px = idx % w, py = torch::div(idx, w, "floor");
  const auto at = [&](int dx, int dy) {
    return logmap.gather(-1, ((py + dy).clamp(0, h - 1) * w + (px + dx).clamp(0, w - 1)).unsqueeze(-1)).squeeze(-1);
  };
  const auto c = at(0, 0);
  const auto gx = 0.5 * (at(1, 0) - at(-1, 0)), gy = 0.5 * (at(0, 1) - at(0, -1));
  const auto hxx = 0.25 * (at(2, 0) - 2 * c + at(-2, 0)), hyy = 0.25 * (at(0, 2) - 2 * c + at(0, -2));
  const auto hxy = 0.25 * (at(1, 1) - at(-1, 1) - at(1, -1) + at(-1, -1));
  const auto det = hxx * hyy - hxy * hxy;
  const auto safe = torch::where(det.abs() > 1e-12, det, torch::ones_like(det));
  const auto ox = -(hyy * gx - hxy * gy) / safe, oy = -(hxx * gy - hxy * gx) / safe;
  const auto ok = (px > 1) & (px < w - 2) & (py > 1) & (py < h - 2) & (det > 1e-12) & (hxx < 0) & (ox.abs() <= 1.0) &
                  (oy.abs() <= 1.0);
  auto lead_2 = lead;
  lead_2.push_back(2);
  const auto fine = torch::stack({px.to(torch::kFloat) + ox, py.to(torch::kFloat) + oy}, -1).view(lead_2);
  coarse.coords = torch::where(ok.view(lead).unsqueeze(-1), fine, coarse.coords);
  return coarse;
}

}  // namespace

TEST(Heatmap, HostDecodersEqualTheTensorReferenceOnNetworkLikeMaps) {
  // What a network emits: a blob (any width, any height, sometimes negative)
  // on a noisy, partly negative background, peaks anywhere including the border,
  // a few all-negative (lost) and constant maps; two heatmap sizes and batch shapes.
  torch::manual_seed(5);
  for (const auto& [h, w, sigma] : {std::tuple<int64_t, int64_t, double>{24, 24, 1.5}, {64, 48, 2.0}}) {
    const int64_t n = 6, joints = 13;
    const auto ys = torch::arange(h, torch::kFloat).view({1, 1, h, 1});
    const auto xs = torch::arange(w, torch::kFloat).view({1, 1, 1, w});
    const auto cx = torch::rand({n, joints, 1, 1}) * (w - 1), cy = torch::rand({n, joints, 1, 1}) * (h - 1);
    const auto s = 0.8 + torch::rand({n, joints, 1, 1}) * 3.0;
    const auto amp = torch::rand({n, joints, 1, 1}) * 1.2 - 0.1;
    auto maps = amp * torch::exp(-((xs - cx).pow(2) + (ys - cy).pow(2)) / (2 * s * s)) +
                0.02 * torch::randn({n, joints, h, w}) - 0.01;
    maps[0][0] = -0.5f;          // lost joint: negative everywhere
    maps[0][1].fill_(0.25f);     // constant map
    maps[1][2].zero_();          // all zero
    maps[1][3][0][w - 1] = 5.f;  // peak in a corner
    maps[2][4][h / 2][1] = 5.f;  // peak one pixel from the border
    for (const auto decoder : {HeatmapDecoder::argmax, HeatmapDecoder::dark}) {
      const HeatmapPeaks got = decode_heatmaps(maps, decoder, sigma);
      const HeatmapPeaks want = decoder == HeatmapDecoder::dark ? reference_dark(maps, sigma) : reference_argmax(maps);
      ASSERT_EQ(got.coords.sizes(), want.coords.sizes());
      ASSERT_EQ(got.maxvals.sizes(), want.maxvals.sizes());
      EXPECT_TRUE(torch::equal(got.maxvals, want.maxvals));
      const double worst = (got.coords - want.coords).abs().max().item<double>();
      EXPECT_LT(worst, 1e-3) << name_of(decoder) << " on " << h << "x" << w;
      // Not the same answers by accident: DARK moved most peaks off the argmax grid.
      if (decoder == HeatmapDecoder::dark) {
        const auto coarse = reference_argmax(maps).coords;
        EXPECT_GT((got.coords - coarse).abs().gt(0.01).any(-1).sum().item<int64_t>(), n * joints / 3);
      }
    }
    // One map set, decoded with a leading batch shape or flattened: the same.
    const auto flat = decode_heatmaps(maps.view({n * joints, h, w}), HeatmapDecoder::dark, sigma);
    EXPECT_TRUE(
        torch::equal(flat.coords.view({n, joints, 2}), decode_heatmaps(maps, HeatmapDecoder::dark, sigma).coords));
  }
}
