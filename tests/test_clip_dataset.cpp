// Clip pipeline: shapes, targets consistent with the crop transforms, one
// augmentation per clip, cache identical to decoding, test-video crops.
#include <gtest/gtest.h>

#include <cmath>

#include "data_fixtures.h"
#include "dkd/config/config.h"
#include "dkd/data/clip_dataset.h"
#include "dkd/data/heatmap.h"
#include "dkd/data/penn_action.h"
#include "dkd/data/skeleton.h"
#include "dkd/util/error.h"

using namespace dkd;

namespace {

struct PennFixture {
  std::string root;
  std::vector<VideoRecord> videos;
};

const PennFixture& penn_fixture() {
  static PennFixture f = [] {
    PennFixture p;
    p.root = test::fresh_dir("clips");
    for (int i = 1; i <= 3; ++i) {
      char id[8];
      std::snprintf(id, sizeof(id), "%04d", i);
      VideoRecord v = test::make_record("penn", id, "bowl", 6 + i, true, 64, 48, i);
      test::write_penn_fixture(v, p.root);
    }
    p.videos = PennAction(p.root).videos();
    return p;
  }();
  return f;
}

DataConfig small_config() {
  DataConfig c;
  c.dataset = "penn";
  c.input_size = {64, 96};
  c.heatmap_sigma = 1.5;
  c.stride_min = 1;
  c.stride_max = 2;
  return c;
}

/// small_config without augmentation and with stride 1.
DataConfig unaugmented_config() {
  DataConfig c = small_config();
  c.scale_factor = 0.0;
  c.rotation = 0.0;
  c.flip = false;
  c.color_jitter = 0.0;
  c.stride_min = c.stride_max = 1;
  return c;
}

}  // namespace

TEST(ClipDataset, SamplesHaveTheRightShapesAndConsistentTargets) {
  const auto& f = penn_fixture();
  DataConfig c = small_config();
  ClipDataset ds(f.videos, c, 3, /*train=*/true);
  // Starts where a clip of 3 with stride 1 fits: (7-2) + (8-2) + (9-2).
  EXPECT_EQ(ds.size(), 5 + 6 + 7);
  for (int64_t i = 0; i < ds.size(); i += 4) {
    ClipSample s = ds.get(i, 1234 + static_cast<uint64_t>(i));
    ASSERT_EQ(s.images.sizes(), (std::vector<int64_t>{3, 3, 96, 64}));
    ASSERT_EQ(s.heatmaps.sizes(), (std::vector<int64_t>{3, 13, 24, 16}));
    ASSERT_EQ(s.weights.sizes(), (std::vector<int64_t>{3, 13}));
    ASSERT_EQ(s.frames.size(), 3u);
    const int stride = s.frames[1] - s.frames[0];
    EXPECT_GE(stride, 1);
    EXPECT_LE(stride, 2);
    EXPECT_EQ(s.frames[2] - s.frames[1], stride);
    const VideoRecord& v = f.videos[static_cast<std::size_t>(s.video)];
    // One augmentation for the whole clip (the same rotation, flip and scale
    // factor), each frame centred on its own box and sized by it.
    for (std::size_t t = 0; t < s.transforms.size(); ++t) {
      const auto& m = s.transforms[t].m;
      const auto& m0 = s.transforms[0].m;
      EXPECT_NEAR(std::atan2(m[1], m[0]), std::atan2(m0[1], m0[0]), 1e-9);  // rotation (and flip)
      EXPECT_NEAR(std::atan2(m[3], m[4]), std::atan2(m0[3], m0[4]), 1e-9);
      EXPECT_EQ(s.transforms[t].flipped, s.transforms[0].flipped);
      const Region r = box_region(v.boxes[static_cast<std::size_t>(s.frames[t])], c.box_scale, 64.0 / 96.0);
      const Point2 centre = s.transforms[t].apply(r.center);
      EXPECT_NEAR(centre.x, 31.5, 1e-3);  // the crop's centre pixel
      EXPECT_NEAR(centre.y, 47.5, 1e-3);
    }
    const Skeleton& sk = skeleton_for("penn");
    auto peaks = decode_heatmaps(s.heatmaps);
    for (int t = 0; t < 3; ++t)
      for (int j = 0; j < 13; ++j) {
        const int src = s.transforms[0].flipped ? sk.flipped(j) : j;
        const Point2 want =
            s.transforms[static_cast<std::size_t>(t)].apply(v.joint(s.frames[static_cast<std::size_t>(t)], src));
        EXPECT_NEAR(s.joints[t][j][0].item<float>(), want.x, 1e-3);
        if (s.weights[t][j].item<float>() > 0) {
          EXPECT_TRUE(v.is_visible(s.frames[static_cast<std::size_t>(t)], src));
          // Heatmap peak back in input pixels: (u + 0.5) * 4 - 0.5; within half a
          // heatmap pixel (a quarter inside, half at the border where no shift applies).
          const float px = (peaks.coords[t][j][0].item<float>() + 0.5f) * 4.f - 0.5f;
          EXPECT_NEAR(px, want.x, 2.0 + 1e-3);
        } else {
          EXPECT_EQ(s.heatmaps[t][j].abs().sum().item<float>(), 0.f);
        }
      }
  }
}

TEST(ClipDataset, DeterministicPerSeedAndCacheGivesIdenticalSamples) {
  const auto& f = penn_fixture();
  DataConfig c = small_config();
  ClipDataset plain(f.videos, c, 2, true);
  c.cache = true;
  ClipDataset cached(f.videos, c, 2, true);
  for (int64_t i : {0, 5, 11}) {
    for (int rep = 0; rep < 2; ++rep) {  // second pass hits the cache
      ClipSample a = plain.get(i, 99);
      ClipSample b = cached.get(i, 99);
      EXPECT_TRUE(torch::equal(a.images, b.images)) << i;
      EXPECT_TRUE(torch::equal(a.heatmaps, b.heatmaps));
    }
  }
  EXPECT_FALSE(torch::equal(plain.get(3, 1).images, plain.get(3, 2).images));
}

TEST(ClipDataset, EvaluationSamplesAreUnaugmented) {
  const auto& f = penn_fixture();
  DataConfig c = small_config();
  ClipDataset ds(f.videos, c, 1, /*train=*/false);
  EXPECT_EQ(ds.size(), 7 + 8 + 9);  // every frame
  ClipSample a = ds.get(2, 1), b = ds.get(2, 2);
  EXPECT_TRUE(torch::equal(a.images, b.images));
  EXPECT_FALSE(a.transforms[0].flipped);
}

TEST(ClipDataset, TestVideosCropEachFrameAndMapBack) {
  const auto& f = penn_fixture();
  DataConfig c = small_config();
  const VideoRecord& v = f.videos[1];
  TestVideo tv = load_test_video(v, c);
  ASSERT_EQ(tv.frames.sizes(), (std::vector<int64_t>{v.num_frames(), 3, 96, 64}));
  ASSERT_EQ(tv.heatmap_transforms.size(), static_cast<std::size_t>(v.num_frames()));
  // Heatmap coords of the ground truth map back to the ground truth.
  auto coords = torch::empty({v.num_frames(), 13, 2});
  for (int t = 0; t < v.num_frames(); ++t)
    for (int j = 0; j < 13; ++j) {
      Point2 p = tv.heatmap_transforms[static_cast<std::size_t>(t)].apply(v.joint(t, j));
      coords[t][j][0] = p.x;
      coords[t][j][1] = p.y;
    }
  auto back = test_coords_to_image(coords, tv);
  for (int t = 0; t < v.num_frames(); ++t)
    for (int j = 0; j < 13; ++j) {
      EXPECT_NEAR(back[t][j][0].item<float>(), v.joint(t, j).x, 0.5);
      EXPECT_NEAR(back[t][j][1].item<float>(), v.joint(t, j).y, 0.5);
    }
  std::vector<Box> wrong(1);
  EXPECT_THROW(load_test_video(v, c, &wrong), Error);
  VideoRecord broken = v;
  broken.frame_paths[0] = f.root + "/nope.jpg";
  EXPECT_THROW(load_test_video(broken, c), DataError);
}

TEST(ClipDataset, TrainingClipCropsEqualTheEvaluationCrops) {
  // Without augmentation a training clip's frame is exactly the frame dkd_eval
  // feeds the model: the same crop transform and the same pixels.
  const auto& f = penn_fixture();
  DataConfig c = unaugmented_config();
  ClipDataset ds(f.videos, c, 4, /*train=*/true);
  for (int64_t i : {0, 3, 9}) {
    const ClipSample s = ds.get(i, 7);
    const VideoRecord& v = f.videos[static_cast<std::size_t>(s.video)];
    const TestVideo tv = load_test_video(v, c);
    for (std::size_t t = 0; t < s.frames.size(); ++t) {
      const int frame = s.frames[t];
      const CropTransform want = test_crop_transform(v.boxes[static_cast<std::size_t>(frame)], c);
      for (int k = 0; k < 6; ++k) EXPECT_NEAR(s.transforms[t].m[k], want.m[k], 1e-9) << "frame " << frame;
      EXPECT_TRUE(torch::allclose(s.images[static_cast<int64_t>(t)], tv.frames[frame], 1e-5, 1e-5))
          << "frame " << frame;
    }
  }
}

TEST(ClipDataset, ShiftFactorMovesEachFramesCropWithinItsBound) {
  // data.shift_factor moves each frame's crop centre by up to that fraction of
  // the crop per axis, frame by frame; the targets move with it. A crop's scale
  // and rotation stay those of the evaluation crop.
  const auto& f = penn_fixture();
  DataConfig c = unaugmented_config();
  c.shift_factor = 0.2;
  ClipDataset ds(f.videos, c, 4, /*train=*/true);
  double largest = 0.0;
  int moved = 0;
  for (int64_t i : {0, 3, 9}) {
    const ClipSample s = ds.get(i, 7);
    const VideoRecord& v = f.videos[static_cast<std::size_t>(s.video)];
    std::vector<double> dx;
    for (std::size_t t = 0; t < s.frames.size(); ++t) {
      const CropTransform want = test_crop_transform(v.boxes[static_cast<std::size_t>(s.frames[t])], c);
      const CropTransform& got = s.transforms[t];
      // Same linear part; the offset differs by the shift, in input pixels at most
      // 0.2 of the input size per axis (a hair over for rounding).
      for (int k : {0, 1, 3, 4}) EXPECT_NEAR(got.m[k], want.m[k], 1e-9);
      const double sx = got.m[2] - want.m[2], sy = got.m[5] - want.m[5];
      EXPECT_LE(std::abs(sx), 0.2 * c.input_size[0] + 1e-6);
      EXPECT_LE(std::abs(sy), 0.2 * c.input_size[1] + 1e-6);
      largest = std::max({largest, std::abs(sx), std::abs(sy)});
      if (std::abs(sx) > 0.5 || std::abs(sy) > 0.5) ++moved;
      dx.push_back(sx);
      // The target joints follow the crop: joint 0 in the sample is the GT joint through the transform.
      const Point2 g = v.joint(s.frames[t], 0);
      const double want_x = got.m[0] * g.x + got.m[1] * g.y + got.m[2];
      EXPECT_NEAR(s.joints[static_cast<int64_t>(t)][0][0].item<double>(), want_x, 1e-3);
    }
    EXPECT_NE(dx.front(), dx.back()) << "each frame draws its own shift";
  }
  EXPECT_GT(moved, 6);
  EXPECT_GT(largest, 2.0);
}
