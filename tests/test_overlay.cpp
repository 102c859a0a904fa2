// Overlay drawing, the overlay writer (mp4, or MJPG .avi as fallback) and
// dkd_infer end to end: keypoints.json evaluates with dkd_eval --predictions,
// the overlay keeps the input's frame count and size, bad inputs fail clearly.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include "common.h"
#include "dkd/config/config.h"
#include "dkd/data/skeleton.h"
#include "dkd/synth/synth.h"
#include "dkd/eval/predictions.h"
#include "dkd/infer/overlay.h"
#include "dkd/models/factory.h"
#include "dkd/models/checkpoint.h"
#include "tool_runner.h"

namespace fs = std::filesystem;

namespace {

int count_frames(const std::string& path, cv::Size* size) {
  cv::VideoCapture cap(path);
  EXPECT_TRUE(cap.isOpened()) << path;
  int n = 0;
  cv::Mat f;
  while (cap.read(f) && !f.empty()) {
    *size = f.size();
    ++n;
  }
  return n;
}

std::vector<dkd::Point2> penn_pose() {
  // A standing figure in a 96x128 frame.
  return {{48, 20}, {58, 36}, {38, 36}, {62, 54}, {34, 54},  {64, 70}, {32, 70},
          {54, 72}, {42, 72}, {55, 95}, {41, 95}, {56, 118}, {40, 118}};
}

}  // namespace

TEST(Overlay, DrawPoseDrawsOnlyConfidentJoints) {
  const auto& skeleton = dkd::skeleton_for("penn");
  const auto pose = penn_pose();
  std::vector<float> conf(13, 0.9f);
  cv::Mat image(128, 96, CV_8UC3, cv::Scalar::all(0));
  dkd::Box box{20, 10, 76, 124};
  dkd::DrawOptions options;
  options.threshold = 0.5;
  options.caption = "frame 0";
  dkd::draw_pose(image, pose, conf, &skeleton, &box, options);
  EXPECT_GT(cv::countNonZero(image.reshape(1)), 200);
  // The head's dot is drawn...
  EXPECT_NE(image.at<cv::Vec3b>(20, 48), cv::Vec3b(0, 0, 0));

  // ... and hidden when its confidence is below the threshold.
  cv::Mat hidden(128, 96, CV_8UC3, cv::Scalar::all(0));
  conf[0] = 0.2f;
  options.draw_box = false;
  options.draw_confidence = false;
  options.caption.clear();
  dkd::draw_pose(hidden, pose, conf, &skeleton, nullptr, options);
  EXPECT_EQ(hidden.at<cv::Vec3b>(20, 48), cv::Vec3b(0, 0, 0));
  // A skeleton with another joint count draws joints only (no crash).
  cv::Mat other(128, 96, CV_8UC3, cv::Scalar::all(0));
  dkd::draw_pose(other, pose, std::vector<float>(13, 1.f), &dkd::skeleton_for("jhmdb"), nullptr, options);
  EXPECT_GT(cv::countNonZero(other.reshape(1)), 0);
}

TEST(Overlay, MarkersFollowThePersonsSizeNotTheFrames) {
  // A 64-pixel-tall person (the pose at half size) in a 768x576 street frame: the
  // joints must not bury them. Markers scale with the box; numbers need a 160-pixel box.
  const auto& skeleton = dkd::skeleton_for("penn");
  std::vector<dkd::Point2> small = penn_pose();
  for (auto& p : small) p = {300 + p.x / 2, 200 + p.y / 2};
  const std::vector<float> conf(13, 1.f);
  dkd::DrawOptions options;
  options.draw_box = false;
  cv::Mat street(576, 768, CV_8UC3, cv::Scalar::all(0));
  const dkd::Box small_box{310, 205, 338, 262};
  dkd::draw_pose(street, small, conf, &skeleton, &small_box, options);
  const int drawn = cv::countNonZero(street.reshape(1));
  // Away from the joints (10 px right of the left shoulder, at its height) nothing is drawn:
  // frame-sized markers (radius 12) and their numbers reached there.
  EXPECT_EQ(street.at<cv::Vec3b>(218, 339), cv::Vec3b(0, 0, 0));
  // The same person drawn with a big box (a close-up) gets the bigger markers and numbers.
  cv::Mat close_up(576, 768, CV_8UC3, cv::Scalar::all(0));
  const dkd::Box big_box{100, 50, 600, 550};
  dkd::draw_pose(close_up, small, conf, &skeleton, &big_box, options);
  EXPECT_GT(cv::countNonZero(close_up.reshape(1)), 3 * drawn);
  // Every joint is still visible in the small drawing.
  for (const auto& p : small) {
    EXPECT_NE(street.at<cv::Vec3b>(static_cast<int>(p.y), static_cast<int>(p.x)), cv::Vec3b(0, 0, 0));
  }
}

TEST(Overlay, WriterKeepsFrameCountAndSize) {
  const auto dir = fs::path(dkd::test::fresh_dir("overlay_writer"));
  const cv::Size size(96, 64);
  for (bool allow_mp4 : {true, false}) {
    const std::string stem = (dir / (allow_mp4 ? "overlay" : "forced")).string();
    std::string path;
    {
      dkd::OverlayWriter writer(stem, 12.0, size, allow_mp4);
      path = writer.path();
      if (!allow_mp4) {
        EXPECT_EQ(writer.codec(), "MJPG");
        EXPECT_EQ(path, stem + ".avi");
      } else {
        EXPECT_TRUE(path == stem + ".mp4" || (path == stem + ".avi" && writer.fell_back_to_avi())) << path;
      }
      for (int i = 0; i < 9; ++i) {
        cv::Mat frame(size, CV_8UC3, cv::Scalar(20 * i, 100, 200));
        writer.write(frame);
      }
      writer.write(cv::Mat(32, 48, CV_8UC3, cv::Scalar::all(0)));  // resized to the writer's size
      EXPECT_EQ(writer.frames_written(), 10);
    }
    cv::Size got;
    EXPECT_EQ(count_frames(path, &got), 10) << path;
    EXPECT_EQ(got, size) << path;
  }
  fs::remove_all(dir);
}

// --- dkd_infer end to end -------------------------------------------------------

namespace {

using dkd::test::run_tool_command;

const char* kTinyYaml = R"(runtime: {device: cpu, threads: 2}
data: {dataset: penn, input_size: [64, 64]}
model:
  num_joints: 13
  initializer: {depth: 18, width: 0.25, deconv_filters: 16}
  encoder: {depth: 18, width: 0.25, stages: 2, deconv_layers: 1, deconv_filters: 8}
  distillator: {channels: 8, kernel_size: 3}
)";

}  // namespace

TEST(InferTool, KeypointsEvaluateWithDkdEvalAndOverlayKeepsFramesAndSize) {
  const auto dir = fs::path(dkd::test::fresh_dir("overlay_tool"));
  const std::string data = (dir / "synth").string();
  dkd::SynthOptions synth;
  synth.format = dkd::SynthFormat::penn;
  synth.out = data;
  synth.videos = 2;
  synth.min_frames = synth.max_frames = 8;
  synth.width = 160;
  synth.height = 120;
  synth.backgrounds = "procedural";
  synth.threads = 1;
  synth.progress = false;
  const auto records = dkd::generate_synth_dataset(synth);
  ASSERT_EQ(records.size(), 2u);
  ASSERT_FALSE(records[1].train);
  ASSERT_EQ(records[1].id, "0002");
  const std::string config = (dir / "tiny.yaml").string();
  std::ofstream(config) << kTinyYaml;
  // Video 0002 is the test video of a two-video synthetic Penn set.
  const std::string out = (dir / "out").string();
  auto r = run_tool_command("dkd_infer", "--config " + config + " --random-weights --input " + data +
                                             "/frames/0002 --video-id 0002 --out " + out);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("8 frames"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("ms/frame"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("fps"), std::string::npos) << r.output;

  const auto preds = dkd::read_predictions(out + "/keypoints.json");
  ASSERT_EQ(preds.videos.count("0002"), 1u);
  EXPECT_EQ(preds.videos.at("0002").size(), 8u * 13u);
  r = run_tool_command("dkd_eval", "--predictions " + out + "/keypoints.json --dataset penn --root " + data);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("PCK"), std::string::npos) << r.output;

  std::string overlay = out + "/overlay.mp4";
  if (!fs::exists(overlay)) overlay = out + "/overlay.avi";
  cv::Size size;
  EXPECT_EQ(count_frames(overlay, &size), 8) << overlay;
  EXPECT_EQ(size, cv::Size(160, 120));
  fs::remove_all(dir);
}

TEST(InferTool, BadInputsGiveOneClearErrorAndNonZeroExit) {
  const auto dir = fs::path(dkd::test::fresh_dir("overlay_tool_bad"));
  const std::string config = (dir / "tiny.yaml").string();
  std::ofstream(config) << kTinyYaml;
  const std::string video = (dir / "clip.avi").string();
  {
    cv::VideoWriter w(video, cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), 10.0, cv::Size(80, 64));
    for (int i = 0; i < 3; ++i) w.write(cv::Mat(64, 80, CV_8UC3, cv::Scalar::all(30 * i)));
  }
  const std::string base = "--config " + config + " --out " + (dir / "out").string();
  // Missing file: runtime failure naming it.
  auto r = run_tool_command("dkd_infer", base + " --random-weights --input " + (dir / "nope.mp4").string());
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("nope.mp4"), std::string::npos) << r.output;
  // Empty folder.
  fs::create_directories(dir / "empty");
  r = run_tool_command("dkd_infer", base + " --random-weights --input " + (dir / "empty").string());
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("no images"), std::string::npos) << r.output;
  // A box outside the frame: usage error naming the box.
  r = run_tool_command("dkd_infer", base + " --random-weights --input " + video + " --box 100,100,200,200");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("100,100,200,200"), std::string::npos) << r.output;
  r = run_tool_command("dkd_infer", base + " --random-weights --input " + video + " --box 1,2,3");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  // No checkpoint and no --random-weights.
  r = run_tool_command("dkd_infer", base + " --input " + video);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  // A checkpoint of another architecture: one error naming the checkpoint.
  dkd::Config other = dkd::load_config(config, {"model.encoder.width=0.5"});
  auto model = dkd::make_dkd_model(other);
  const std::string ckpt = (dir / "other.pt").string();
  dkd::save_checkpoint(ckpt, {},
                       {{"initializer", model->initializer.ptr().get()},
                        {"encoder", model->encoder.ptr().get()},
                        {"distillator", model->distillator.ptr().get()},
                        {"matching", model->matching.ptr().get()}},
                       {});
  r = run_tool_command("dkd_infer", base + " --checkpoint " + ckpt + " --input " + video);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("other.pt"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("does the checkpoint match"), std::string::npos) << r.output;
  fs::remove_all(dir);
}
