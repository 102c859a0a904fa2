// Gaussian heatmap targets and SimpleBaseline decoding.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

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
