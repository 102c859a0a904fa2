// PoseTracker on a synthetic video written with OpenCV: keypoints for every
// frame, re-initialisation rules and counters, the box logic, bad boxes, and
// loading from a checkpoint (matching and mismatching the config).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <string>

#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include "common.h"
#include "dkd/config/config.h"
#include "dkd/infer/frame_source.h"
#include "dkd/infer/pose_tracker.h"
#include "dkd/models/factory.h"
#include "dkd/models/checkpoint.h"
#include "dkd/models/packed_conv.h"
#include "dkd/util/error.h"

namespace fs = std::filesystem;

namespace {

/// A stick figure walking right over a grey background, MJPG .avi.
std::string write_walking_video(const fs::path& dir, int frames, cv::Size size) {
  const std::string path = (dir / "walk.avi").string();
  cv::VideoWriter writer(path, cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), 15.0, size);
  EXPECT_TRUE(writer.isOpened());
  for (int t = 0; t < frames; ++t) {
    cv::Mat f(size, CV_8UC3, cv::Scalar(90, 100, 110));
    const int cx = 30 + 4 * t, top = 20;
    cv::circle(f, {cx, top}, 7, cv::Scalar(200, 180, 160), cv::FILLED);
    cv::line(f, {cx, top + 7}, {cx, top + 45}, cv::Scalar(40, 40, 200), 5);
    cv::line(f, {cx, top + 15}, {cx - 14, top + 35}, cv::Scalar(40, 200, 40), 4);
    cv::line(f, {cx, top + 15}, {cx + 14, top + 35}, cv::Scalar(40, 200, 40), 4);
    cv::line(f, {cx, top + 45}, {cx - 10 + (t % 4) * 5, top + 80}, cv::Scalar(200, 40, 40), 4);
    cv::line(f, {cx, top + 45}, {cx + 10 - (t % 4) * 5, top + 80}, cv::Scalar(200, 40, 40), 4);
    writer.write(f);
  }
  return path;
}

void expect_valid(const dkd::TrackResult& r, int joints, cv::Size size) {
  ASSERT_EQ(static_cast<int>(r.keypoints.size()), joints);
  ASSERT_EQ(static_cast<int>(r.confidence.size()), joints);
  for (int j = 0; j < joints; ++j) {
    EXPECT_TRUE(std::isfinite(r.keypoints[j].x) && std::isfinite(r.keypoints[j].y));
    EXPECT_TRUE(std::isfinite(r.confidence[j]));
  }
  EXPECT_GT(r.next_box.width(), 0.f);
  EXPECT_GT(r.next_box.height(), 0.f);
  const float cx = 0.5f * (r.next_box.x1 + r.next_box.x2), cy = 0.5f * (r.next_box.y1 + r.next_box.y2);
  EXPECT_GE(cx, 0.f);
  EXPECT_LE(cx, size.width);
  EXPECT_GE(cy, 0.f);
  EXPECT_LE(cy, size.height);
}

/// Runs the tracker over a video; returns the initializer flags per frame.
std::vector<bool> run_video(dkd::PoseTracker& tracker, const std::string& path) {
  auto source = dkd::open_frame_source(path);
  const cv::Size size = source->frame_size();
  std::vector<bool> init;
  cv::Mat frame;
  const dkd::Box whole{0.f, 0.f, static_cast<float>(size.width), static_cast<float>(size.height)};
  while (source->next(frame)) {
    const auto r = init.empty() ? tracker.start(frame, whole) : tracker.track(frame);
    expect_valid(r, tracker.num_joints(), size);
    EXPECT_EQ(r.frame_index, static_cast<int64_t>(init.size()));
    init.push_back(r.initializer_ran);
  }
  return init;
}

}  // namespace

TEST(PoseTracker, ReturnsKeypointsForEveryFrameOfASyntheticVideo) {
  const auto dir = fs::path(dkd::test::fresh_dir("tracker_video"));
  const std::string video = write_walking_video(dir, 10, {128, 112});
  torch::manual_seed(1);
  auto config = dkd::test::tiny_config();
  dkd::PoseTracker tracker(config, dkd::make_dkd_model(config));
  EXPECT_TRUE(tracker.bn_folded());
  EXPECT_GT(tracker.fold_report().folded, 0);
  const auto init = run_video(tracker, video);
  ASSERT_EQ(init.size(), 10u);
  EXPECT_TRUE(init[0]);
  for (std::size_t t = 1; t < init.size(); ++t) EXPECT_FALSE(init[t]) << t;
  EXPECT_EQ(tracker.initializer_runs(), 1);
  EXPECT_EQ(tracker.frames_processed(), 10);
  // A second video restarts cleanly and counts on.
  run_video(tracker, video);
  EXPECT_EQ(tracker.initializer_runs(), 2);
  fs::remove_all(dir);
}

TEST(PoseTracker, BFloat16PrecisionTracksLikeFloat) {
  if (!dkd::packed_bfloat16_supported()) GTEST_SKIP() << "no oneDNN bfloat16 convolutions on this CPU";
  const auto dir = fs::path(dkd::test::fresh_dir("tracker_bf16"));
  const std::string video = write_walking_video(dir, 4, {128, 112});
  auto source = dkd::open_frame_source(video);
  cv::Mat frame;
  ASSERT_TRUE(source->next(frame));
  const dkd::Box whole{0.f, 0.f, 128.f, 112.f};
  std::vector<float> confidence[2];
  for (int bf16 = 0; bf16 < 2; ++bf16) {
    auto config = dkd::test::tiny_config();
    config.infer.precision = bf16 ? dkd::Precision::bfloat16 : dkd::Precision::float32;
    torch::manual_seed(1);  // the same weights for both
    dkd::PoseTracker tracker(config, dkd::make_dkd_model(config));
    const auto r = tracker.start(frame, whole);
    expect_valid(r, tracker.num_joints(), {128, 112});
    confidence[bf16] = r.confidence;
    // The later frames run too (the DKD step after a bfloat16 initializer).
    while (source->next(frame)) expect_valid(tracker.track(frame), tracker.num_joints(), {128, 112});
    source = dkd::open_frame_source(video);
    ASSERT_TRUE(source->next(frame));
  }
  // Peak heatmap values agree to bfloat16 rounding (argmax locations of an untrained
  // model can swap between near-equal peaks, so they are not compared).
  float scale = 0.f, diff = 0.f;
  for (std::size_t j = 0; j < confidence[0].size(); ++j) {
    scale = std::max(scale, std::abs(confidence[0][j]));
    diff = std::max(diff, std::abs(confidence[0][j] - confidence[1][j]));
  }
  ASSERT_GT(scale, 0.f);
  EXPECT_LT(diff, 0.05f * scale);
  EXPECT_GT(diff, 0.f);  // and the second run did use bfloat16
  fs::remove_all(dir);
}

TEST(PoseTracker, ReinitialisationRulesAndCounter) {
  const auto dir = fs::path(dkd::test::fresh_dir("tracker_reinit"));
  const std::string video = write_walking_video(dir, 10, {128, 112});
  {
    auto config = dkd::test::tiny_config();
    config.infer.reinit_every = 3;
    dkd::PoseTracker tracker(config, dkd::make_dkd_model(config));
    const auto init = run_video(tracker, video);
    const std::vector<bool> expected = {true, false, false, true, false, false, true, false, false, true};
    EXPECT_EQ(init, expected);
    EXPECT_EQ(tracker.initializer_runs(), 4);
  }
  {
    auto config = dkd::test::tiny_config();
    config.infer.reinit_confidence = 1.0;  // an untrained model never reaches it: every frame
    dkd::PoseTracker tracker(config, dkd::make_dkd_model(config));
    run_video(tracker, video);
    EXPECT_EQ(tracker.initializer_runs(), 10);
    tracker.reset_counters();
    EXPECT_EQ(tracker.initializer_runs(), 0);
  }
  fs::remove_all(dir);
}

TEST(PoseTracker, NextBoxFromKeypoints) {
  const std::vector<dkd::Point2> kps = {{40, 40}, {60, 80}, {500, 500}};
  const std::vector<float> conf = {0.9f, 0.8f, 0.01f};  // the far one is ignored
  const cv::Size size(640, 480);
  // Extent 20 x 40 around (50, 60), * 1.5 = 30 x 60: within the per-frame bounds of this box.
  auto b = dkd::next_box_from_keypoints(kps, conf, {35, 30, 65, 90}, 0.1, 1.5, 0.0, size);
  EXPECT_NEAR(b.x1, 35, 1e-4);
  EXPECT_NEAR(b.x2, 65, 1e-4);
  EXPECT_NEAR(b.y1, 30, 1e-4);
  EXPECT_NEAR(b.y2, 90, 1e-4);
  // A 60 x 80 box shrinks by at most 0.8 per side: 48 x 64 around (50, 60).
  const dkd::Box prev{20, 20, 80, 100};
  auto shrunk = dkd::next_box_from_keypoints(kps, conf, prev, 0.1, 1.5, 0.0, size);
  EXPECT_NEAR(shrunk.x1, 26, 1e-4);
  EXPECT_NEAR(shrunk.x2, 74, 1e-4);
  EXPECT_NEAR(shrunk.y1, 28, 1e-4);
  EXPECT_NEAR(shrunk.y2, 92, 1e-4);
  // A 10 x 20 box grows by at most 1.25 per side: 12.5 x 25.
  auto grown = dkd::next_box_from_keypoints(kps, conf, {45, 50, 55, 70}, 0.1, 1.5, 0.0, size);
  EXPECT_NEAR(grown.width(), 12.5, 1e-4);
  EXPECT_NEAR(grown.height(), 25, 1e-4);
  // Smoothing blends with the previous box: 0.5 * 20 + 0.5 * 26, 0.5 * 100 + 0.5 * 92.
  auto s = dkd::next_box_from_keypoints(kps, conf, prev, 0.1, 1.5, 0.5, size);
  EXPECT_NEAR(s.x1, 23, 1e-4);
  EXPECT_NEAR(s.y2, 96, 1e-4);
  // Fewer than two confident joints: the box is kept.
  auto k = dkd::next_box_from_keypoints(kps, {0.9f, 0.0f, 0.0f}, prev, 0.1, 1.5, 0.0, size);
  EXPECT_EQ(k.x1, prev.x1);
  EXPECT_EQ(k.y2, prev.y2);
}

TEST(PoseTracker, BadBoxAndMissingStartAreErrors) {
  auto config = dkd::test::tiny_config();
  dkd::PoseTracker tracker(config, dkd::make_dkd_model(config));
  cv::Mat frame(80, 100, CV_8UC3, cv::Scalar::all(50));
  EXPECT_THROW(tracker.track(frame), dkd::Error);
  EXPECT_THROW(tracker.start(frame, {200, 200, 300, 300}), dkd::UsageError);
  EXPECT_THROW(tracker.start(frame, {50, 50, 40, 60}), dkd::UsageError);
  EXPECT_NO_THROW(tracker.start(frame, {10, 10, 60, 70}));
  EXPECT_NO_THROW(tracker.estimate_per_frame(frame, {10, 10, 60, 70}));
}

TEST(PoseTracker, LoadsACheckpointAndRejectsOneThatDoesNotMatch) {
  const auto dir = fs::path(dkd::test::fresh_dir("tracker_ckpt"));
  auto config = dkd::test::tiny_config();
  config.infer.fold_bn = false;
  torch::manual_seed(7);
  auto model = dkd::make_dkd_model(config);
  const std::string path = (dir / "model.pt").string();
  dkd::save_checkpoint(path, {},
                       {{"initializer", model->initializer.ptr().get()},
                        {"encoder", model->encoder.ptr().get()},
                        {"distillator", model->distillator.ptr().get()},
                        {"matching", model->matching.ptr().get()}},
                       {});
  cv::Mat frame(96, 96, CV_8UC3);
  cv::randu(frame, 0, 255);
  const dkd::Box box{8, 8, 88, 88};
  dkd::PoseTracker from_memory(config, model);
  dkd::PoseTracker from_file(config, path);
  const auto a = from_memory.start(frame, box);
  const auto b = from_file.start(frame, box);
  for (int j = 0; j < 13; ++j) {
    EXPECT_FLOAT_EQ(a.confidence[j], b.confidence[j]);
    EXPECT_FLOAT_EQ(a.keypoints[j].x, b.keypoints[j].x);
  }
  auto other = config;
  other.model.encoder.width = 0.5;
  try {
    dkd::PoseTracker bad(other, path);
    FAIL() << "a checkpoint of another architecture was accepted";
  } catch (const dkd::Error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
  EXPECT_THROW(dkd::PoseTracker(config, (dir / "missing.pt").string()), dkd::DataError);
  fs::remove_all(dir);
}
