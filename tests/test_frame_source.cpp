// Frame sources: a video written with cv::VideoWriter (MJPG .avi), an image
// folder, camera specs and the errors for bad inputs.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <unistd.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include "common.h"
#include "dkd/infer/frame_source.h"
#include "dkd/util/error.h"

namespace fs = std::filesystem;

namespace {

cv::Mat test_frame(int i, cv::Size size) {
  cv::Mat frame(size, CV_8UC3, cv::Scalar(40, 40, 40));
  cv::circle(frame, {10 + 5 * i, size.height / 2}, 8, cv::Scalar(0, 200, 255), cv::FILLED);
  return frame;
}

std::string write_test_video(const fs::path& dir, int frames, cv::Size size) {
  const std::string path = (dir / "clip.avi").string();
  cv::VideoWriter writer(path, cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), 10.0, size);
  EXPECT_TRUE(writer.isOpened());
  for (int i = 0; i < frames; ++i) writer.write(test_frame(i, size));
  writer.release();
  return path;
}

}  // namespace

TEST(FrameSource, VideoFileGivesEveryFrameWithSizeAndFps) {
  const auto dir = fs::path(dkd::test::fresh_dir("frame_source_video"));
  const std::string path = write_test_video(dir, 12, {96, 64});
  auto source = dkd::open_frame_source(path);
  EXPECT_EQ(source->frame_size(), cv::Size(96, 64));
  EXPECT_EQ(source->frame_count(), 12);
  EXPECT_NEAR(source->fps(), 10.0, 1e-6);
  EXPECT_FALSE(source->is_live());
  cv::Mat frame;
  int n = 0;
  while (source->next(frame)) {
    EXPECT_EQ(frame.type(), CV_8UC3);
    EXPECT_EQ(frame.size(), cv::Size(96, 64));
    ++n;
  }
  EXPECT_EQ(n, 12);
  EXPECT_EQ(source->frames_read(), 12);
  EXPECT_EQ(source->skipped(), 0);
  EXPECT_FALSE(source->next(frame));
  fs::remove_all(dir);
}

TEST(FrameSource, AnUndecodableVideoFrameIsSkippedAndCounted) {
  const auto dir = fs::path(dkd::test::fresh_dir("frame_source_corrupt"));
  const std::string path = write_test_video(dir, 6, {64, 48});
  // Wreck the JPEG headers of frame 2 (the third start-of-image marker).
  std::vector<char> bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  int seen = 0;
  for (std::size_t i = 0; i + 1 < bytes.size(); ++i) {
    if (static_cast<unsigned char>(bytes[i]) == 0xFF && static_cast<unsigned char>(bytes[i + 1]) == 0xD8 &&
        seen++ == 2) {
      for (std::size_t k = i + 2; k < std::min(bytes.size(), i + 400); ++k) bytes[k] = 0;
      break;
    }
  }
  ASSERT_GT(seen, 2);
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  auto source = dkd::open_frame_source(path);
  cv::Mat frame;
  int n = 0;
  while (source->next(frame)) ++n;
  EXPECT_EQ(n, 5);
  EXPECT_EQ(source->skipped(), 1);
  fs::remove_all(dir);
}

TEST(FrameSource, ImageFolderIsNaturallySortedAndSkipsBrokenImages) {
  const auto dir = fs::path(dkd::test::fresh_dir("frame_source_folder"));
  const cv::Size size(48, 32);
  // Frame i has a grey level 10*i so the order can be checked.
  for (int i : {1, 2, 10}) {
    cv::Mat img(size, CV_8UC3, cv::Scalar::all(10 * i));
    cv::imwrite((dir / ("f" + std::to_string(i) + ".png")).string(), img);
  }
  std::ofstream(dir / "f5.png") << "not a png";   // undecodable: skipped, counted
  std::ofstream(dir / "notes.txt") << "ignored";  // not an image: ignored
  cv::imwrite((dir / "f20.png").string(), cv::Mat(cv::Size(24, 16), CV_8UC1, cv::Scalar(200)));

  auto source = dkd::open_frame_source(dir.string());
  EXPECT_EQ(source->frame_size(), size);
  std::vector<int> levels;
  cv::Mat frame;
  while (source->next(frame)) {
    EXPECT_EQ(frame.size(), size);  // the grey 24x16 one is resized and made BGR
    EXPECT_EQ(frame.type(), CV_8UC3);
    levels.push_back(frame.at<cv::Vec3b>(0, 0)[0]);
  }
  EXPECT_EQ(levels, (std::vector<int>{10, 20, 100, 200}));
  EXPECT_EQ(source->skipped(), 1);
  fs::remove_all(dir);
}

TEST(FrameSource, NaturalOrder) {
  EXPECT_TRUE(dkd::natural_less("frame2.jpg", "frame10.jpg"));
  EXPECT_FALSE(dkd::natural_less("frame10.jpg", "frame2.jpg"));
  EXPECT_TRUE(dkd::natural_less("000001.jpg", "000002.jpg"));
  EXPECT_TRUE(dkd::natural_less("a.jpg", "b.jpg"));
  EXPECT_FALSE(dkd::natural_less("a.jpg", "a.jpg"));
}

TEST(FrameSource, BadInputsAreOneClearError) {
  const auto dir = fs::path(dkd::test::fresh_dir("frame_source_bad"));
  // Missing file.
  try {
    dkd::open_frame_source((dir / "missing.mp4").string());
    FAIL() << "no error for a missing file";
  } catch (const dkd::DataError& e) {
    EXPECT_NE(std::string(e.what()).find("missing.mp4"), std::string::npos) << e.what();
  }
  // A file that is not a video.
  const auto junk = dir / "junk.avi";
  std::ofstream(junk) << "this is not a video at all";
  EXPECT_THROW(dkd::open_frame_source(junk.string()), dkd::DataError);
  // An empty folder.
  const auto empty = dir / "empty";
  fs::create_directories(empty);
  try {
    dkd::open_frame_source(empty.string());
    FAIL() << "no error for an empty folder";
  } catch (const dkd::DataError& e) {
    EXPECT_NE(std::string(e.what()).find("no images"), std::string::npos) << e.what();
  }
  // Malformed camera specs are usage errors.
  EXPECT_THROW(dkd::open_frame_source("camera:"), dkd::UsageError);
  EXPECT_THROW(dkd::open_frame_source("camera:x"), dkd::UsageError);
  // A camera that does not exist (no devices in CI) is a DataError, not a crash.
  EXPECT_THROW(dkd::open_frame_source("camera:97"), dkd::DataError);
  fs::remove_all(dir);
}
