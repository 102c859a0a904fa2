// dkd_data pseudo-label (infer/pseudo_label.h): BlazePose over real frames
// (Debian's opencv-doc messi5.jpg, panned across a wider canvas so the person
// moves) written as a Penn Action data set that the project's own reader takes,
// cut at --test-from into a training and a test video; two tracks on one person
// become one; a folder without people writes nothing and says so.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "common.h"
#include "real_images.h"
#include "dkd/data/penn_action.h"
#include "dkd/infer/pseudo_label.h"
#include "dkd/util/error.h"
#include "tool_runner.h"

namespace fs = std::filesystem;

namespace {

std::string panned_frames(const std::string& dir, int frames = 12) {
  return dkd::test::write_panned_messi(dir, frames);
}

// The player in frame 0 (the photograph's 110,40,410,340 moved by 20,29).
const dkd::Box kPlayer{130, 69, 430, 369};

}  // namespace

TEST(PseudoLabel, WritesAPennDataSetCutIntoTrainAndTestThatTheReaderTakes) {
  const std::string dir = dkd::test::per_test_dir("pseudo_label");
  dkd::PseudoLabelOptions o;
  o.teacher = "blazepose_lite";
  o.input = panned_frames(dir);
  o.out = dir + "/set";
  o.boxes = {kPlayer};
  o.min_frames = 4;
  o.test_from = 6;
  o.progress = false;
  const auto report = dkd::pseudo_label(o);
  EXPECT_EQ(report.frames_read, 12);
  EXPECT_EQ(report.tracks, 1);
  ASSERT_EQ(report.videos.size(), 2u);
  EXPECT_TRUE(report.videos[0].train);
  EXPECT_EQ(report.videos[0].first_frame, 0);
  EXPECT_EQ(report.videos[0].num_frames, 6);
  EXPECT_EQ(report.videos[0].ended, "test split");
  EXPECT_FALSE(report.videos[1].train);
  EXPECT_EQ(report.videos[1].first_frame, 6);
  EXPECT_EQ(report.videos[1].num_frames, 6);
  EXPECT_EQ(report.videos[1].ended, "end of input");

  // The project's reader takes it like Penn Action: train and test lists, frames on disk.
  const auto scan = dkd::PennAction::scan(o.out);
  ASSERT_TRUE(scan.problems.empty()) << scan.problems.front().file << ": " << scan.problems.front().error;
  ASSERT_EQ(scan.videos.size(), 2u);
  const dkd::VideoRecord& train = scan.videos[0];
  EXPECT_TRUE(train.train);
  EXPECT_FALSE(scan.videos[1].train);
  EXPECT_EQ(train.num_joints, 13);
  EXPECT_EQ(train.width, 700);
  EXPECT_EQ(train.height, 400);
  EXPECT_EQ(train.action, "walk");
  for (const auto& v : scan.videos)
    for (const auto& path : v.frame_paths) EXPECT_TRUE(fs::exists(path)) << path;
  // The player moves 8 px right per frame, and so do his labels; the box holds the joints.
  int visible = 0;
  for (int t = 0; t < train.num_frames(); ++t) {
    const dkd::Box& b = train.boxes[t];
    for (int j = 0; j < 13; ++j) {
      const dkd::Point2 p = train.joint(t, j);
      EXPECT_GE(p.x, b.x1 - 1) << "frame " << t << " joint " << j;
      EXPECT_LE(p.x, b.x2 + 1) << "frame " << t << " joint " << j;
      EXPECT_GE(p.y, b.y1 - 1);
      EXPECT_LE(p.y, b.y2 + 1);
      visible += train.is_visible(t, j);
    }
  }
  EXPECT_GT(visible, 6 * 13 * 3 / 4);
  // The head (mean of nose and ears) moves with the photograph: 5 frames x 8 px.
  EXPECT_NEAR(train.joint(5, 0).x - train.joint(0, 0).x, 40.0, 8.0);
  EXPECT_NEAR(train.joint(5, 0).y - train.joint(0, 0).y, 0.0, 8.0);
  const auto& test = scan.videos[1];
  EXPECT_NEAR(test.joint(0, 0).x - train.joint(0, 0).x, 48.0, 8.0);

  // The record of what was written.
  std::ifstream in(o.out + "/pseudo_label.json");
  const auto meta = nlohmann::json::parse(in);
  EXPECT_EQ(meta["teacher"], "blazepose_lite");
  EXPECT_EQ(meta["videos"].size(), 2u);
  EXPECT_EQ(meta["videos"][1]["split"], "test");
  EXPECT_EQ(meta["videos"][1]["first_frame"], 6);
  // No leftovers of the tracks' working folders.
  for (const auto& e : fs::directory_iterator(o.out + "/frames"))
    EXPECT_NE(e.path().filename().string().rfind(".track_", 0), 0u) << e.path();

  // Without --force an existing data set is kept.
  EXPECT_THROW(dkd::pseudo_label(o), dkd::UsageError);
}

TEST(PseudoLabel, TwoTracksOnOnePersonBecomeOne) {
  const std::string dir = dkd::test::per_test_dir("pseudo_label");
  dkd::PseudoLabelOptions o;
  o.teacher = "blazepose_lite";
  o.input = panned_frames(dir, 6);
  o.out = dir + "/set";
  // The same player twice, the second box a little larger: after the first frame both
  // crops are on him, and the later track ends.
  o.boxes = {kPlayer, dkd::Box{120, 60, 440, 380}};
  o.min_frames = 1;
  o.progress = false;
  const auto report = dkd::pseudo_label(o);
  EXPECT_EQ(report.tracks, 2);
  ASSERT_EQ(report.videos.size(), 2u);
  // Track 2 is written with its first frame only; track 1 goes on to the end.
  int ended_meeting = 0, to_end = 0;
  for (const auto& v : report.videos) {
    if (v.ended.rfind("met track", 0) == 0) ++ended_meeting;
    if (v.ended == "end of input") {
      ++to_end;
      EXPECT_EQ(v.num_frames, 6);
    }
  }
  EXPECT_EQ(ended_meeting, 1);
  EXPECT_EQ(to_end, 1);
}

TEST(PseudoLabel, CommandLineWithoutPeopleWritesNothingAndSaysWhy) {
  const std::string dir = dkd::test::per_test_dir("pseudo_label");
  const std::string empty = dir + "/grass";
  fs::create_directories(empty);
  for (int t = 0; t < 3; ++t)
    cv::imwrite(empty + "/" + std::to_string(t) + ".png", cv::Mat(240, 320, CV_8UC3, cv::Scalar(60, 140, 60)));
  const auto r = dkd::test::run_tool_command(
      "dkd_data", "pseudo-label --teacher blazepose_lite --input " + empty + " --out " + dir + "/set");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("no track reached"), std::string::npos) << r.output;
  // Bad options are usage errors naming the option.
  const auto bad = dkd::test::run_tool_command(
      "dkd_data", "pseudo-label --teacher blazepose_huge --input " + empty + " --out " + dir + "/x");
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
  EXPECT_NE(bad.output.find("blazepose_lite"), std::string::npos) << bad.output;
  const auto box = dkd::test::run_tool_command(
      "dkd_data", "pseudo-label --input " + empty + " --out " + dir + "/y --box 900,900,950,990");
  EXPECT_EQ(box.exit_code, 2) << box.output;
}
