// LandmarkTracker (infer/landmark_tracker.h) and dkd_infer --teacher: BlazePose
// on real photographs (Debian's opencv-doc messi5.jpg). Checks the crop and
// coordinate conventions end to end (box 0,0,256,256 with margin 0 is the image
// itself; landmarks come back in image pixels), that the next crop is placed and
// rotated by the landmarks (a person lying sideways is put upright), and the
// landmarks in keypoints.json.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "common.h"
#include "real_images.h"
#include "dkd/data/skeleton.h"
#include "dkd/data/transforms.h"
#include "dkd/infer/infer_command.h"
#include "dkd/infer/landmark_tracker.h"
#include "dkd/util/error.h"
#include "dkd/models/blazepose.h"
#include "tool_runner.h"

namespace {

using dkd::test::messi;

/// The footballer: the square of tests/test_tflite.cpp (centre 259.5, 189.5, side 420)
/// as an edge-coordinate box, and heavy's landmarks in that crop (nose, shoulders,
/// wrists, hips, knees, ankles) mapped to image pixels.
const dkd::Box kPlayerSquare{49.5f + 0.5f, -20.5f + 0.5f, 469.5f + 0.5f, 399.5f + 0.5f};
std::map<int, dkd::Point2> player_landmarks() {
  const auto crop = dkd::CropTransform::make({259.5, 189.5}, 420, 420, 0, false, 256, 256).inverse();
  const std::map<int, std::pair<float, float>> in_crop{
      {0, {122, 83}},   {11, {139, 89}},  {12, {96, 90}},   {15, {179, 115}}, {16, {36, 75}},  {23, {139, 147}},
      {24, {113, 155}}, {25, {177, 167}}, {26, {113, 181}}, {27, {221, 180}}, {28, {141, 203}}};
  std::map<int, dkd::Point2> out;
  for (const auto& [i, xy] : in_crop) out[i] = crop.apply({xy.first - 0.5f, xy.second - 0.5f});
  return out;
}

dkd::LandmarkTracker heavy_tracker(double margin) {
  return dkd::LandmarkTracker(dkd::load_blazepose(dkd::BlazePoseSize::heavy), dkd::skeleton_for("penn").joint_names,
                              margin, torch::kCPU);
}

TEST(LandmarkTracker, BoxWithoutMarginOnAnImageOfTheCropSizeIsTheImageItself) {
  cv::Mat image(256, 256, CV_8UC3);
  cv::randu(image, 0, 255);
  const auto crop = dkd::LandmarkTracker::crop_for_box({0, 0, 256, 256}, 0.0);
  EXPECT_EQ(cv::norm(dkd::warp_image(image, crop), image, cv::NORM_INF), 0.0);
  // A margin of 0.25 on each side: the crop covers 1.5x the box, around its centre.
  const auto wide = dkd::LandmarkTracker::crop_for_box({100, 50, 200, 250}, 0.25);
  const dkd::Point2 corner = wide.inverse().apply({-0.5f, -0.5f});
  EXPECT_NEAR(corner.x + 0.5f, 150 - 150, 1e-3);  // side 200 * 1.5 = 300 around x = 150
  EXPECT_NEAR(corner.y + 0.5f, 150 - 150, 1e-3);  // and y = 150
}

TEST(LandmarkTracker, LandmarksComeBackInImagePixelsAndTheNextCropFollows) {
  const cv::Mat image = messi();
  auto tracker = heavy_tracker(0.0);
  const auto first = tracker.start(image, kPlayerSquare);
  EXPECT_GT(first.pose_flag, 0.9f);
  ASSERT_EQ(first.landmarks.size(), 33u);
  const double px = 420.0 / 256.0;  // image pixels per crop pixel
  for (const auto& [i, p] : player_landmarks()) {
    EXPECT_NEAR(first.landmarks[i][0], p.x, 3 * px) << "landmark " << i;
    EXPECT_NEAR(first.landmarks[i][1], p.y, 3 * px) << "landmark " << i;
  }
  // Penn Action's joints: head = mean(nose, ears), l_ankle = landmark 27.
  ASSERT_EQ(first.track.keypoints.size(), 13u);
  const float head_x = (first.landmarks[0][0] + first.landmarks[7][0] + first.landmarks[8][0]) / 3;
  EXPECT_NEAR(first.track.keypoints[0].x, head_x, 1e-3);
  EXPECT_NEAR(first.track.keypoints[11].x, first.landmarks[27][0], 1e-4);
  EXPECT_NEAR(first.track.confidence[11], first.landmarks[27][2], 1e-5);
  // Same image again: the crop now comes from the landmarks (MediaPipe's rule) and
  // the person stays where they are.
  const auto second = tracker.track(image);
  EXPECT_GT(second.pose_flag, 0.9f);
  for (const auto& [i, p] : player_landmarks()) {
    EXPECT_NEAR(second.landmarks[i][0], p.x, 12 * px) << "landmark " << i;
    EXPECT_NEAR(second.landmarks[i][1], p.y, 12 * px) << "landmark " << i;
  }
  EXPECT_EQ(tracker.lost_frames(), 0);
}

TEST(LandmarkTracker, SomeoneWhoLooksDifferentIsNotTakenForThePerson) {
  // The footballer, then the same photograph in grey (a confident pose whose torso
  // colours are nothing like the red and blue shirt: someone else in the crop), then
  // the colour photograph again.
  const cv::Mat colour = messi();
  cv::Mat grey;
  cv::cvtColor(colour, grey, cv::COLOR_BGR2GRAY);
  cv::cvtColor(grey, grey, cv::COLOR_GRAY2BGR);
  auto tracker = heavy_tracker(0.0);
  const auto first = tracker.start(colour, kPlayerSquare);
  EXPECT_TRUE(first.person_seen());
  const auto same = tracker.track(colour);
  EXPECT_TRUE(same.same_person);
  EXPECT_GE(same.appearance_distance, 0.0);
  EXPECT_LT(same.appearance_distance, 0.3);
  const auto other = tracker.track(grey);
  EXPECT_GT(other.pose_flag, 0.9f);                              // the network does see a person ...
  EXPECT_FALSE(other.same_person) << other.appearance_distance;  // ... but not this one
  EXPECT_FALSE(other.person_seen());
  EXPECT_EQ(tracker.lost_frames(), 1);
  const auto back = tracker.track(colour);
  EXPECT_TRUE(back.person_seen()) << back.appearance_distance;
}

TEST(LandmarkTracker, APersonLyingSidewaysIsCroppedUpright) {
  // The photograph turned 90 degrees clockwise: image point (x, y) goes to (H - 1 - y, x).
  const cv::Mat upright = messi();
  cv::Mat turned;
  cv::rotate(upright, turned, cv::ROTATE_90_CLOCKWISE);
  const float H = static_cast<float>(upright.rows);
  const dkd::Box box{H - kPlayerSquare.y2, kPlayerSquare.x1, H - kPlayerSquare.y1, kPlayerSquare.x2};
  auto tracker = heavy_tracker(0.0);
  tracker.start(turned, box);
  dkd::LandmarkResult r;
  // The network, given a sideways person, tilts its estimate of "up" part of the
  // way each frame (measured: 8, 14, 23, 30, 39, 52, 63, 73 degrees): the crop turns
  // frame by frame until the body points up in it (90 degrees from the image's up).
  for (int i = 0; i < 14; ++i) r = tracker.track(turned);
  // The player leans: his own crop on the upright photograph is tilted too.
  auto upright_tracker = heavy_tracker(0.0);
  upright_tracker.start(upright, kPlayerSquare);
  dkd::LandmarkResult u;
  for (int i = 0; i < 3; ++i) u = upright_tracker.track(upright);
  EXPECT_NEAR(r.rotation, u.rotation + 90.0, 10.0) << "upright: " << u.rotation;
  EXPECT_GT(r.pose_flag, 0.9f);
  for (const auto& [i, p] : player_landmarks()) {
    EXPECT_NEAR(r.landmarks[i][0], H - 1 - p.y, 20) << "landmark " << i;
    EXPECT_NEAR(r.landmarks[i][1], p.x, 20) << "landmark " << i;
  }
}

TEST(InferTool, TeacherWritesLandmarksOfTheUnchangedImage) {
  const std::string dir = dkd::test::per_test_dir("infer_teacher");
  const std::string frames = dir + "/frames";
  std::filesystem::create_directories(frames);
  // The footballer's 256x256 crop as the input frames: with --box 0,0,256,256 and
  // margin 0 the network sees exactly these pixels.
  const cv::Mat image = messi();
  const auto crop = dkd::CropTransform::make({259.5, 189.5}, 420, 420, 0, false, 256, 256);
  const cv::Mat frame = dkd::warp_image(image, crop);
  for (int i = 0; i < 3; ++i) cv::imwrite(frames + "/" + std::to_string(i) + ".png", frame);
  const auto r =
      dkd::test::run_tool_command("dkd_infer", "--teacher blazepose_lite --input " + frames + " --out " + dir +
                                                   "/out --box 0,0,256,256 "
                                                   "--box-margin 0 --no-overlay --snapshot 1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(std::filesystem::exists(dir + "/out/frame_00001.png"));
  std::ifstream in(dir + "/out/keypoints.json");
  const auto doc = nlohmann::json::parse(in);
  ASSERT_TRUE(doc.contains("landmarks"));
  const auto& lm = doc["landmarks"]["frames"];
  ASSERT_EQ(lm.size(), 3u);
  ASSERT_EQ(lm[0].size(), 33u);
  ASSERT_EQ(doc["videos"]["frames"].size(), 3u);

  dkd::BlazePose net = dkd::load_blazepose(dkd::BlazePoseSize::lite);
  net->eval();
  cv::Mat rgb;
  cv::cvtColor(frame, rgb, cv::COLOR_BGR2RGB);
  torch::NoGradGuard no_grad;
  const auto input =
      torch::from_blob(rgb.data, {1, 256, 256, 3}, torch::kUInt8).permute({0, 3, 1, 2}).to(torch::kFloat) / 255.0;
  const auto out = net->forward(input).landmarks[0];
  for (int i = 0; i < 33; ++i) {
    // File: 1-based pixel centres; network: 0 at the crop's edge. Same image, so x_file = x_net - 0.5 + 1.
    EXPECT_NEAR(lm[0][i][0].get<double>(), out[i][0].item<double>() + 0.5, 1e-2) << "landmark " << i;
    EXPECT_NEAR(lm[0][i][1].get<double>(), out[i][1].item<double>() + 0.5, 1e-2) << "landmark " << i;
    EXPECT_NEAR(lm[0][i][2].get<double>(), 1.0 / (1.0 + std::exp(-out[i][3].item<double>())), 1e-4);
  }
  // Wrong flag combinations are usage errors.
  const auto both = dkd::test::run_tool_command(
      "dkd_infer", "--teacher blazepose_full --random-weights --input " + frames + " --out " + dir + "/x");
  EXPECT_EQ(both.exit_code, 2) << both.output;
  const auto bad =
      dkd::test::run_tool_command("dkd_infer", "--teacher blazepose_huge --input " + frames + " --out " + dir + "/x");
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
  EXPECT_NE(bad.output.find("blazepose_lite"), std::string::npos) << bad.output;
}

TEST(InferTool, TeacherTakesSubJhmdbJointsFromTheDataSetAlone) {
  // BlazePose has no trained joint count: --set data.dataset=jhmdb alone gives 15 joints.
  EXPECT_EQ(dkd::teacher_config({}).model.num_joints, 13);
  const auto jhmdb = dkd::teacher_config({"data.dataset=jhmdb"});
  EXPECT_EQ(jhmdb.data.dataset, "jhmdb");
  EXPECT_EQ(jhmdb.model.num_joints, 15);
  // An explicit joint count is kept, and checked against the data set as everywhere.
  EXPECT_THROW(dkd::teacher_config({"data.dataset=jhmdb", "model.num_joints=13"}), dkd::ConfigError);
  EXPECT_THROW(dkd::teacher_config({"data.dataset=coco"}), dkd::ConfigError);
}

}  // namespace
