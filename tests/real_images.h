#pragma once
// Real photographs for the tests of the imported BlazePose network: Debian's
// opencv-doc messi5.jpg (tools/setup.sh installs the package), and a folder of
// frames in which it is panned across a wider canvas so the person moves.
#include <filesystem>
#include <string>

#include <gtest/gtest.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

namespace dkd::test {

inline const char* kMessiPath = "/usr/share/doc/opencv-doc/examples/data/messi5.jpg";

/// messi5.jpg (548x342, BGR); a test failure naming the package when it is missing.
inline cv::Mat messi() {
  cv::Mat image = cv::imread(kMessiPath);
  EXPECT_FALSE(image.empty()) << kMessiPath << " (Debian package opencv-doc; tools/setup.sh installs it)";
  return image;
}

/// `frames` PNGs of 700x400 in DIR/frames_in: the photograph pasted at (20 + 8 t, 29)
/// on a green canvas in frame t, so the footballer moves 8 px right per frame. His box
/// in frame 0 is kPannedPlayer. Returns the folder.
inline std::string write_panned_messi(const std::string& dir, int frames) {
  const cv::Mat photo = messi();
  const std::string folder = dir + "/frames_in";
  std::filesystem::create_directories(folder);
  for (int t = 0; t < frames; ++t) {
    cv::Mat canvas(400, 700, CV_8UC3, cv::Scalar(90, 120, 90));
    photo.copyTo(canvas(cv::Rect(20 + 8 * t, 29, photo.cols, photo.rows)));
    cv::imwrite(folder + "/" + std::to_string(t) + ".png", canvas);
  }
  return folder;
}

}  // namespace dkd::test
