// Reports (console, Markdown, JSON, comparison) and figures.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "dkd/eval/pck.h"
#include "dkd/eval/plot.h"
#include "dkd/eval/report.h"
#include "dkd/eval/smoothness.h"
#include "dkd/util/error.h"

namespace dkd {
namespace {

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// A Penn result: head wrong in frame 0 of two frames (head 50), everything else right.
EvalResult sample_result() {
  VideoRecord r;
  r.dataset = "penn";
  r.id = "0001";
  r.action = "bowl";
  r.num_joints = 13;
  for (int t = 0; t < 3; ++t) {
    r.frame_paths.push_back("x");
    for (int j = 0; j < 13; ++j) {
      r.joints.push_back({20.f + 5 * j, 40.f + 2 * j});
      r.visible.push_back(t < 2 ? 1 : (j == 0 ? 0 : 1));
    }
    r.boxes.push_back({0, 0, 100, 60});
  }
  std::vector<Point2> p = r.joints;
  p[0].x += 50.f;
  PckEvaluator ev("penn");
  ev.process(r, p);
  return ev.evaluate();
}

TEST(EvalReport, JsonSchema) {
  const EvalResult r = sample_result();
  const nlohmann::json c = {{"gmacs_per_frame", 1.5}, {"params", 2.0e6}};
  SpeedInfo sp;
  sp.ms_first_frame = 20;
  sp.ms_per_frame = 5;
  sp.fps = 200;
  sp.threads = 2;
  sp.device = "cpu";
  const nlohmann::json j = result_to_json(r, c, speed_to_json(sp));
  for (const char* k :
       {"dataset", "split", "frames", "pck", "pck_torso", "curve", "per_action", "smoothness", "complexity", "speed"})
    EXPECT_TRUE(j.contains(k)) << k;
  EXPECT_EQ(j["pck"]["norm"], "bbox");
  EXPECT_EQ(j["pck_torso"]["norm"], "torso");
  EXPECT_DOUBLE_EQ(j["pck"]["threshold"].get<double>(), 0.2);
  EXPECT_DOUBLE_EQ(j["pck"]["per_joint"]["head"].get<double>(), 50.0);
  EXPECT_DOUBLE_EQ(j["pck"]["columns"]["Head"].get<double>(), 50.0);
  EXPECT_EQ(j["pck"]["columns"].size(), 7u);
  EXPECT_DOUBLE_EQ(j["pck"]["mean_joints"].get<double>(), 1250.0 / 13);
  EXPECT_DOUBLE_EQ(j["pck"]["mean_columns"].get<double>(), 650.0 / 7);
  EXPECT_DOUBLE_EQ(j["pck"]["pooled"].get<double>(), 100.0 * 37 / 38);
  EXPECT_EQ(j["curve"].size(), 10u);
  EXPECT_DOUBLE_EQ(j["curve"][9][0].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(j["per_action"]["bowl"]["frames"].get<double>(), 3.0);
  EXPECT_DOUBLE_EQ(j["speed"]["ms_per_frame"].get<double>(), 5.0);
  EXPECT_EQ(j["speed"]["device"], "cpu");
  EXPECT_DOUBLE_EQ(j["complexity"]["gmacs_per_frame"].get<double>(), 1.5);
  // The head is invisible in frame 2: no valid triple (null); other joints are exact (0).
  EXPECT_TRUE(j["smoothness"]["per_column"]["Head"]["pred_px"].is_null());
  EXPECT_DOUBLE_EQ(j["smoothness"]["per_column"]["Sho"]["pred_px"].get<double>(), 0.0);
  EXPECT_DOUBLE_EQ(j["smoothness"]["triples"].get<double>(), 12.0);
  // NaN -> null; absent complexity/speed are left out
  PckSummary nan_s = r.pck;
  nan_s.per_joint[0] = std::nan("");
  EXPECT_TRUE(pck_to_json(nan_s)["per_joint"]["head"].is_null());
  const nlohmann::json bare = result_to_json(r);
  EXPECT_FALSE(bare.contains("complexity"));
  EXPECT_FALSE(bare.contains("speed"));
  EXPECT_TRUE(std::isnan(SpeedInfo{}.fps));
  EXPECT_TRUE(speed_to_json(SpeedInfo{})["fps"].is_null());
}

TEST(EvalReport, ConsoleAndMarkdownTables) {
  const EvalResult r = sample_result();
  const std::string t = format_pck_table(r);
  for (const char* k :
       {"PCK@0.2 on penn (split test): 1 videos, 3 frames", "Head", "Ank", "mean_joints", "mean_columns", "pooled",
        "bbox", "torso", "50.0", "96.2", "92.9", "97.4", "|r_shoulder - l_hip|", "visible joints only", "<="})
    EXPECT_TRUE(has(t, k)) << k << "\n" << t;
  const std::string md = format_pck_table(r, true, "ours");
  EXPECT_TRUE(has(md, "| model (norm) | Head | Sho |")) << md;
  EXPECT_TRUE(has(md, "| ours (bbox) | 50.0 | 100.0 |")) << md;
  EXPECT_TRUE(has(md, "|:---|---:|")) << md;
  const std::string full = format_report(r, false, {{"gmacs_per_frame", 1.25}}, nullptr);
  EXPECT_TRUE(has(full, "per action")) << full;
  EXPECT_TRUE(has(full, "bowl")) << full;
  EXPECT_TRUE(has(full, "Temporal smoothness")) << full;
  EXPECT_TRUE(has(full, "gmacs_per_frame: 1.25")) << full;
  EXPECT_TRUE(has(full, "PCK curve")) << full;
  EXPECT_TRUE(has(format_report(r, true), "### ")) << full;
  if (std::getenv("DKD_KEEP_TEST_OUTPUT")) std::cout << full << "\n" << format_report(r, true);
}

TEST(EvalReport, ComparisonTable) {
  EvalResult r = sample_result();
  r.smoothness.pred_px = 3.0;  // predictions jitter 1.5x as much as the ground truth
  r.smoothness.gt_px = 2.0;
  ComparisonRow a;
  a.name = "per-frame R50";
  a.pck = r.pck;
  a.gmacs_per_frame = 4.25;
  a.params = 34.0e6;
  a.ms_per_frame = 12.5;
  a.set_torso(r.pck_torso);
  ComparisonRow b =
      comparison_row_from_json("dkd R18", result_to_json(r, {{"gmacs_per_frame", 1.0}}, nullptr), "b.json");
  EXPECT_DOUBLE_EQ(b.pck.column("Head"), 50.0);
  EXPECT_DOUBLE_EQ(b.pck.mean_joints, r.pck.mean_joints);
  EXPECT_DOUBLE_EQ(b.gmacs_per_frame, 1.0);
  EXPECT_TRUE(std::isnan(b.params));
  EXPECT_DOUBLE_EQ(b.torso_mean("pooled"), r.pck_torso.pooled);
  EXPECT_DOUBLE_EQ(b.accel_ratio, 1.5);
  // The relative block: PCK difference to the first row and how many times fewer GMACs.
  b.ms_per_frame = 2.5;
  const std::string t = format_comparison({a, b});
  EXPECT_TRUE(has(t, "relative to per-frame R50")) << t;
  EXPECT_TRUE(has(t, "4.25x")) << t;  // 4.25 GMACs vs 1.0
  EXPECT_TRUE(has(t, "5.00x")) << t;  // 12.5 ms vs 2.5
  EXPECT_TRUE(has(t, "accel/GT")) << t;
  EXPECT_TRUE(has(t, "1.50")) << t;
  for (const char* k : {"per-frame R50", "dkd R18", "4.25", "34.00", "12.50", "1.00", "mean = mean_joints",
                        "GMACs/frame", "params (M)", "ms/frame", "96.2"})
    EXPECT_TRUE(has(t, k)) << k << "\n" << t;
  const std::string md = format_comparison({a, b}, true, "pooled");
  EXPECT_TRUE(has(md, "| dkd R18 | 50.0 |")) << md;
  EXPECT_TRUE(has(md, "| pooled |")) << md;
  EXPECT_TRUE(has(md, "| - |")) << md;  // unknown params
  EXPECT_THROW(format_comparison({a}, false, "median"), UsageError);
  if (std::getenv("DKD_KEEP_TEST_OUTPUT")) std::cout << t << "\n" << md;
  EXPECT_THROW(comparison_row_from_json("x", nlohmann::json::object(), "x.json"), DataError);
}

TEST(EvalReport, PerActionTableAndAveragedSplitLabel) {
  EvalResult r = sample_result();
  const std::string t = format_per_action_table(r, true);
  EXPECT_TRUE(has(t, "| bowl | 1 | 3 | 50.0 |")) << t;
  EvalResult avg = average_splits({r, r, r});
  EXPECT_TRUE(has(format_pck_table(avg), "(split all): 3 videos, 9 frames (mean of the per-split PCKs)"));
}

TEST(EvalPlot, PckCurvePng) {
  const EvalResult r = sample_result();
  NamedCurve c1 = curve_of(r, "ours");
  NamedCurve c2{"baseline", {{0.05, 10.0}, {0.1, 30.0}, {0.2, 60.0}, {0.5, 90.0}}};
  cv::Mat img = render_pck_curves({c1, c2}, "test curves", 900, 620);
  ASSERT_EQ(img.cols, 900);
  ASSERT_EQ(img.rows, 620);
  ASSERT_EQ(img.type(), CV_8UC3);
  // Plot area: x 80..870, y 55..550. The baseline point (0.2, 60) lies at
  // x = 80 + 0.4 * 790 = 396, y = 55 + 0.4 * 495 = 253: drawn in the second colour.
  const cv::Vec3b px = img.at<cv::Vec3b>(253, 396);
  EXPECT_EQ(px, cv::Vec3b(14, 127, 255));
  const std::string path = (std::filesystem::temp_directory_path() / "dkd_test_eval_curve.png").string();
  plot_pck_curves(path, {c1, c2}, "test curves");
  cv::Mat back = cv::imread(path);
  EXPECT_EQ(back.cols, 900);
  if (!std::getenv("DKD_KEEP_TEST_OUTPUT")) std::filesystem::remove(path);  // keep to look at it
  EXPECT_THROW(plot_pck_curves("/nonexistent_dir_dkd/x.png", {c1}, "t"), Error);
}

TEST(EvalPlot, SmoothnessPng) {
  SmoothnessResult s;
  s.column_names = {"Head", "Sho", "Elb", "Wri", "Hip", "Knee", "Ank"};
  s.column_pred_px = {3, 2, 1.5, 6, 1, 2.5, 4};
  s.column_gt_px = {1, 1, 1, 2, 0.5, 1, 1.5};
  s.pred_px = 3;
  s.gt_px = 1.2;
  cv::Mat img = render_smoothness(s, "smoothness", 900, 560);
  ASSERT_EQ(img.cols, 900);
  ASSERT_EQ(img.rows, 560);
  // y axis 0..8 (6 * 1.25 headroom, step 2) over rows 550..55; 8 groups of
  // 98.75 px from x = 80. Wri (group 3): predictions bar x 394..425 up to row
  // 179, ground truth x 425..456 up to row 426.
  EXPECT_EQ(img.at<cv::Vec3b>(300, 410), cv::Vec3b(180, 119, 31));
  EXPECT_EQ(img.at<cv::Vec3b>(450, 440), cv::Vec3b(14, 127, 255));
  EXPECT_EQ(img.at<cv::Vec3b>(300, 440), cv::Vec3b(255, 255, 255));
  if (std::getenv("DKD_KEEP_TEST_OUTPUT"))
    plot_smoothness((std::filesystem::temp_directory_path() / "dkd_test_eval_smoothness.png").string(), s,
                    "Smoothness, predictions vs ground truth");
}

}  // namespace
}  // namespace dkd
