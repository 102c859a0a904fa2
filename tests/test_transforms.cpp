// Crop transforms, flips and image normalisation.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "dkd/data/skeleton.h"
#include "dkd/data/transforms.h"

#include <opencv2/imgproc.hpp>

using namespace dkd;

TEST(Transforms, CropThenUncropIsExact) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(0.f, 300.f);
  for (bool flip : {false, true})
    for (double rot : {0.0, 17.0, -30.0}) {
      CropTransform t = CropTransform::make({150.f, 120.f}, 180.0, 240.0, rot, flip, 192, 256);
      for (int i = 0; i < 50; ++i) {
        Point2 p{u(rng), u(rng)};
        Point2 q = t.apply_inverse(t.apply(p));
        EXPECT_NEAR(q.x, p.x, 0.5);
        EXPECT_NEAR(q.y, p.y, 0.5);
        EXPECT_NEAR(q.x, p.x, 1e-3);  // in fact exact up to float rounding
        Point2 r = t.inverse().apply(t.apply(p));
        EXPECT_NEAR(r.x, p.x, 1e-3);
        EXPECT_NEAR(r.y, p.y, 1e-3);
      }
    }
}

TEST(Transforms, RegionMapsOntoTheWholeCrop) {
  // Without rotation the region's edges map to the outer pixel edges.
  CropTransform t = CropTransform::make({100.f, 50.f}, 64.0, 32.0, 0.0, false, 128, 64);
  Point2 tl = t.apply({100.f - 32.f, 50.f - 16.f});
  EXPECT_NEAR(tl.x, -0.5, 1e-4);
  EXPECT_NEAR(tl.y, -0.5, 1e-4);
  Point2 c = t.apply({100.f, 50.f});
  EXPECT_NEAR(c.x, 63.5, 1e-4);
  EXPECT_NEAR(c.y, 31.5, 1e-4);
  // The heatmap transform equals the input transform followed by the stride mapping.
  CropTransform h = t.downscaled(4);
  EXPECT_EQ(h.out_w, 32);
  Point2 p = t.apply({80.f, 40.f}), q = h.apply({80.f, 40.f});
  EXPECT_NEAR(q.x, (p.x + 0.5f) / 4.f - 0.5f, 1e-4);
  EXPECT_NEAR(q.y, (p.y + 0.5f) / 4.f - 0.5f, 1e-4);
  // A mirrored crop mirrors crop x.
  CropTransform f = CropTransform::make({100.f, 50.f}, 64.0, 32.0, 0.0, true, 128, 64);
  EXPECT_NEAR(f.apply({80.f, 40.f}).x, 127.f - p.x, 1e-4);
}

TEST(Transforms, FlipTwiceIsIdentityWithJointsSwappedBack) {
  for (const std::string ds : {"penn", "jhmdb"}) {
    const Skeleton& s = skeleton_for(ds);
    std::vector<Point2> j;
    for (int i = 0; i < s.num_joints(); ++i) j.push_back({static_cast<float>(3 * i + 1), static_cast<float>(i)});
    auto once = flip_joints(j, 100, s);
    for (const auto& [l, r] : s.flip_pairs) {
      EXPECT_FLOAT_EQ(once[static_cast<std::size_t>(l)].x, 99.f - j[static_cast<std::size_t>(r)].x);
      EXPECT_FLOAT_EQ(once[static_cast<std::size_t>(l)].y, j[static_cast<std::size_t>(r)].y);
    }
    auto twice = flip_joints(once, 100, s);
    for (std::size_t i = 0; i < j.size(); ++i) {
      EXPECT_FLOAT_EQ(twice[i].x, j[i].x);
      EXPECT_FLOAT_EQ(twice[i].y, j[i].y);
    }
    // Tensor swap along the joint dimension, twice = identity.
    auto t = torch::arange(2 * s.num_joints()).view({2, s.num_joints()});
    auto sw = swap_joints(t, s, 1);
    EXPECT_EQ(sw[0][s.flip_pairs[0].first].item<int64_t>(), s.flip_pairs[0].second);
    EXPECT_TRUE(torch::equal(swap_joints(sw, s, 1), t));
    // transform_joints with a mirrored crop swaps joints and visibility.
    // Centre (49.5, 19.5) of a 100x40 region onto a 100x40 crop: x -> 99 - x.
    CropTransform f = CropTransform::make({49.5f, 19.5f}, 100.0, 40.0, 0.0, true, 100, 40);
    std::vector<Point2> m = j;
    std::vector<uint8_t> vis(j.size(), 1);
    vis[static_cast<std::size_t>(s.flip_pairs[0].first)] = 0;
    transform_joints(f, s, m, vis);
    EXPECT_EQ(vis[static_cast<std::size_t>(s.flip_pairs[0].second)], 0);
    EXPECT_NEAR(m[static_cast<std::size_t>(s.flip_pairs[0].second)].x,
                99.f - j[static_cast<std::size_t>(s.flip_pairs[0].first)].x, 1e-4);
  }
}

TEST(Transforms, WarpPutsImagePointsWhereTheTransformSays) {
  cv::Mat img = cv::Mat::zeros(120, 160, CV_8UC3);
  img.at<cv::Vec3b>(70, 90) = cv::Vec3b(255, 255, 255);
  CropTransform t = CropTransform::make({80.f, 60.f}, 80.0, 80.0, 0.0, true, 160, 160);
  cv::Mat out = warp_image(img, t);
  ASSERT_EQ(out.cols, 160);
  cv::Mat gray;
  cv::cvtColor(out, gray, cv::COLOR_BGR2GRAY);
  cv::Point loc;
  cv::minMaxLoc(gray, nullptr, nullptr, nullptr, &loc);
  Point2 want = t.apply({90.f, 70.f});
  EXPECT_LE(std::abs(loc.x - want.x), 1.0);
  EXPECT_LE(std::abs(loc.y - want.y), 1.0);
}

TEST(Transforms, BoxRegionKeepsTheInputAspect) {
  Region r = box_region({10.f, 20.f, 50.f, 120.f}, 1.25, 0.75);
  EXPECT_NEAR(r.width / r.height, 0.75, 1e-9);
  EXPECT_NEAR(r.height, 125.0, 1e-9);
  EXPECT_FLOAT_EQ(r.center.x, 30.f);
  Box u = box_union({{0, 5, 10, 10}, {-3, 7, 4, 20}});
  EXPECT_FLOAT_EQ(u.x1, -3.f);
  EXPECT_FLOAT_EQ(u.y2, 20.f);
}

TEST(Transforms, ImageTensorEqualsTheTensorFormulaBitForBit) {
  // Every byte value in every channel, in a non-continuous view (a region of a wider image).
  cv::Mat wide(16, 40, CV_8UC3);
  for (int y = 0; y < wide.rows; ++y)
    for (int x = 0; x < wide.cols; ++x)
      wide.at<cv::Vec3b>(y, x) =
          cv::Vec3b(static_cast<uint8_t>((y * 40 + x) % 256), static_cast<uint8_t>((y * 40 + x + 85) % 256),
                    static_cast<uint8_t>((y * 40 + x + 170) % 256));
  const cv::Mat img = wide(cv::Rect(3, 0, 32, 16));
  ASSERT_FALSE(img.isContinuous());
  const auto got = image_to_tensor(img);
  cv::Mat rgb;
  cv::cvtColor(img, rgb, cv::COLOR_BGR2RGB);
  const auto bytes = torch::from_blob(rgb.data, {rgb.rows, rgb.cols, 3}, torch::kUInt8).clone();
  const auto mean = torch::tensor({0.485f, 0.456f, 0.406f}).view({3, 1, 1});
  const auto std = torch::tensor({0.229f, 0.224f, 0.225f}).view({3, 1, 1});
  const auto want = bytes.permute({2, 0, 1}).to(torch::kFloat).div_(255.0f).sub_(mean).div_(std);
  EXPECT_TRUE(torch::equal(got, want));
}

TEST(Transforms, ImageTensorRoundTripAndJitter) {
  cv::Mat img(8, 6, CV_8UC3, cv::Scalar(10, 128, 250));  // BGR
  auto t = image_to_tensor(img);
  ASSERT_EQ(t.sizes(), (std::vector<int64_t>{3, 8, 6}));
  EXPECT_NEAR(t[0][0][0].item<float>(), (250 / 255.f - 0.485f) / 0.229f, 1e-5);  // R first
  cv::Mat back = tensor_to_image(t);
  EXPECT_EQ(cv::norm(back, img, cv::NORM_INF), 0.0);
  ColorJitter none;
  cv::Mat same = img.clone();
  none.apply(same);
  EXPECT_EQ(cv::norm(same, img, cv::NORM_INF), 0.0);
  ColorJitter bright{1.5, 1.0, 1.0};
  cv::Mat b = img.clone();
  bright.apply(b);
  EXPECT_EQ(b.at<cv::Vec3b>(0, 0)[0], 15);
  EXPECT_EQ(b.at<cv::Vec3b>(0, 0)[2], 255);  // saturates
}

TEST(Transforms, BoxCodeIsTheBoxInCropSidesAndDecodesBack) {
  // A box the crop is centred on, the crop 1.25x its height: centre 0, size log(1/1.25).
  const Box box{100, 50, 180, 250};  // 80 x 200
  const Region r = box_region(box, 1.25, 0.75);
  const CropTransform centred = CropTransform::make(r.center, r.width, r.height, 0.0, false, 96, 128);
  const BoxCode c = box_to_crop_code(box, centred);
  EXPECT_NEAR(c[0], 0.f, 1e-5f);
  EXPECT_NEAR(c[1], 0.f, 1e-5f);
  EXPECT_NEAR(c[3], std::log(1 / 1.25f), 1e-5f);
  EXPECT_NEAR(c[2], std::log(80 / r.width), 1e-5f);
  // A crop moved right by 10% of its side sees the person 0.1 to the left.
  const CropTransform moved = CropTransform::make({r.center.x + static_cast<float>(0.1 * r.width), r.center.y}, r.width,
                                                  r.height, 0.0, false, 96, 128);
  EXPECT_NEAR(box_to_crop_code(box, moved)[0], -0.1f, 1e-5f);
  // Decoding gives the box back, mirrored crops included.
  for (bool flip : {false, true}) {
    const CropTransform t = CropTransform::make({150.f, 140.f}, 200.0, 260.0, 0.0, flip, 96, 128);
    const Box back = box_from_crop_code(box_to_crop_code(box, t), t);
    EXPECT_NEAR(back.x1, box.x1, 1e-3f);
    EXPECT_NEAR(back.y1, box.y1, 1e-3f);
    EXPECT_NEAR(back.x2, box.x2, 1e-3f);
    EXPECT_NEAR(back.y2, box.y2, 1e-3f);
  }
  // A code no network should give still decodes to a finite box of bounded size.
  const float inf = std::numeric_limits<float>::infinity();
  const Box wild = box_from_crop_code({std::nanf(""), inf, inf, -inf}, centred);
  for (float v : {wild.x1, wild.y1, wild.x2, wild.y2}) EXPECT_TRUE(std::isfinite(v));
  EXPECT_LE(wild.width(), 8 * r.width + 1e-3);
  EXPECT_GE(wild.height(), r.height / 64 - 1e-3);
}
