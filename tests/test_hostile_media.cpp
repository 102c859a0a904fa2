// Frames that make OpenCV throw (a PNG header claiming 40000x40000 pixels) are
// one DataError naming the file wherever frames are decoded: the training
// loader (skipping the video with data.skip_bad_videos), `dkd_data check`
// (--decode, the default) and dkd_infer's image folders.
#include <gtest/gtest.h>

#include <filesystem>

#include <opencv2/imgcodecs.hpp>

#include "data_fixtures.h"
#include "hostile_files.h"
#include "tool_runner.h"
#include "dkd/config/config.h"
#include "dkd/data/check.h"
#include "dkd/data/clip_dataset.h"
#include "dkd/data/dataset.h"
#include "dkd/data/image_io.h"
#include "dkd/data/loader.h"
#include "dkd/data/penn_action.h"
#include "dkd/infer/frame_source.h"
#include "dkd/util/error.h"

using namespace dkd;
namespace fs = std::filesystem;

namespace {

/// Two train videos of 4 frames; frame 2 of video 0002 is a PNG claiming 40000x40000.
std::string penn_set_with_huge_frame(const std::string& name, std::string* bad_frame) {
  const std::string root = test::fresh_dir(name);
  for (int i = 1; i <= 2; ++i) {
    VideoRecord v = test::make_record("penn", i == 1 ? "0001" : "0002", "bowl", 4, true, 48, 40, i);
    test::write_penn_fixture(v, root);
  }
  *bad_frame = penn_frame_path(root, "0002", 2);
  test::write_png_claiming(*bad_frame, 40000, 40000);
  return root;
}

Config loader_config(const std::string& root) {
  Config c;
  c.data.dataset = "penn";
  c.data.root = root;
  c.data.clip_length = 1;
  c.data.workers = 0;
  c.data.input_size = {32, 32};
  return c;
}

}  // namespace

TEST(HostileMedia, HugePngHeaderIsADataErrorNamingTheFile) {
  const std::string dir = test::fresh_dir("huge_png");
  const std::string path = dir + "/huge.png";
  test::write_png_claiming(path, 40000, 40000);
  // The raw OpenCV call throws: that is what must never escape.
  EXPECT_THROW(cv::imread(path, cv::IMREAD_COLOR), cv::Exception);
  try {
    read_frame(path);
    ADD_FAILURE() << "decoded";
  } catch (const DataError& e) {
    EXPECT_EQ(e.file(), path);
    EXPECT_NE(std::string(e.what()).find("decode"), std::string::npos) << e.what();
  }
  std::string problem;
  EXPECT_TRUE(try_decode_image(path, &problem).empty());
  EXPECT_FALSE(problem.empty());
  fs::remove_all(dir);
}

TEST(HostileMedia, DataCheckReportsTheFrameAndTheToolExitsOne) {
  std::string bad;
  const std::string root = penn_set_with_huge_frame("check_huge", &bad);
  const DataCheckReport r = check_dataset("penn", root, 1, /*decode_images=*/true);
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_EQ(r.problems[0].file, bad);
  EXPECT_EQ(r.videos, 1);
  // --no-decode only checks signatures: the PNG header passes.
  EXPECT_TRUE(check_dataset("penn", root, 1, false).problems.empty());
  const auto out = test::run_tool_command("dkd_data", "check --dataset penn --root " + root + " --decode");
  EXPECT_EQ(out.exit_code, 1) << out.output;
  EXPECT_NE(out.output.find(bad), std::string::npos) << out.output;
  EXPECT_EQ(out.output.find("terminate"), std::string::npos) << out.output;
  fs::remove_all(root);
}

TEST(HostileMedia, TrainingLoaderNamesTheFrameOrSkipsTheVideo) {
  std::string bad;
  const std::string root = penn_set_with_huge_frame("loader_huge", &bad);
  Config c = loader_config(root);
  // The pre-scan (annotations, frame counts, signatures) passes: the signature is a PNG's.
  const std::vector<VideoRecord> videos = {PennAction::read_video(root, "0001"), PennAction::read_video(root, "0002")};
  {
    ClipLoader loader(videos, c, 1, 2, true, 7);
    loader.start_epoch(0);
    try {
      while (loader.next()) {}
      ADD_FAILURE() << "the bad frame was never met";
    } catch (const DataError& e) {
      EXPECT_EQ(e.file(), bad);
    }
  }
  c.data.skip_bad_videos = true;
  ClipLoader loader(videos, c, 1, 2, true, 7);
  for (int epoch = 0; epoch < 2; ++epoch) {
    loader.start_epoch(epoch);
    int64_t batches = 0;
    while (auto b = loader.next()) {
      ++batches;
      EXPECT_EQ(b->images.size(0), 2);  // the bad sample was replaced, the batch is full
      for (std::size_t k = 0; k < b->video_ids.size(); ++k) {
        if (epoch > 0) {
          EXPECT_EQ(b->video_ids[k], "0001");  // 0002 skipped for good once met
        }
        if (b->video_ids[k] == "0002") {
          EXPECT_NE(b->frames[k][0], 2);
        }
      }
    }
    EXPECT_EQ(batches, loader.size());
  }
  fs::remove_all(root);
}

TEST(HostileMedia, ImageFolderSourceSkipsTheFrameWithItsName) {
  const std::string dir = test::fresh_dir("infer_huge");
  cv::imwrite(dir + "/000.png", cv::Mat(24, 32, CV_8UC3, cv::Scalar(1, 2, 3)));
  test::write_png_claiming(dir + "/001.png", 40000, 40000);
  cv::imwrite(dir + "/002.png", cv::Mat(24, 32, CV_8UC3, cv::Scalar(1, 2, 3)));
  ImageFolderSource source(dir);
  cv::Mat frame;
  int frames = 0;
  while (source.next(frame)) ++frames;
  EXPECT_EQ(frames, 2);
  fs::remove_all(dir);
}

TEST(HostileMedia, ImagesAreWrittenAtomicallyAndBadNamesAreErrorsNamingTheFile) {
  const std::string dir = test::fresh_dir("write_image");
  const std::string path = dir + "/plot.png";
  cv::Mat image(12, 20, CV_8UC3, cv::Scalar(10, 200, 30));
  image.at<cv::Vec3b>(3, 4) = cv::Vec3b(1, 2, 3);
  write_image_atomic(path, image);
  const cv::Mat back = decode_image(path);
  ASSERT_EQ(back.size(), image.size());
  EXPECT_EQ(cv::norm(back, image, cv::NORM_INF), 0.0);

  // A name OpenCV cannot encode: an error naming the file; the old image stays whole
  // and no temporary file is left next to it.
  const std::string odd = dir + "/plot.notanimage";
  write_image_atomic(path, cv::Mat(5, 5, CV_8UC3, cv::Scalar(0, 0, 0)));
  try {
    write_image_atomic(odd, image);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(odd), std::string::npos) << e.what();
  }
  try {
    write_image_atomic(dir + "/missing_folder/plot.png", image);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("missing_folder"), std::string::npos) << e.what();
  }
  EXPECT_EQ(decode_image(path).size(), cv::Size(5, 5));
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename().string());
  EXPECT_EQ(names, std::vector<std::string>{"plot.png"});
}
