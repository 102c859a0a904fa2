// Overlay drawing and the overlay writer (mp4, or MJPG .avi as fallback).
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <string>

#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include "dkd/data/skeleton.h"
#include "dkd/infer/overlay.h"

namespace fs = std::filesystem;

namespace {

fs::path temp_dir(const std::string& name) {
  fs::path dir = fs::temp_directory_path() / ("dkd_test_overlay_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

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
  return {{48, 20}, {58, 36}, {38, 36}, {62, 54}, {34, 54}, {64, 70}, {32, 70},
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

TEST(Overlay, WriterKeepsFrameCountAndSize) {
  const auto dir = temp_dir("writer");
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
