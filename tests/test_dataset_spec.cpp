// The data-set table (config/dataset_spec.h): the built-in rows, the checks on
// a new row, and a third data set defined here, in the test, that goes through
// the whole pipeline (scan, `dkd_data check`, training every stage, evaluation
// and the report) without a line of library code knowing it.
#include <cmath>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "common.h"
#include "dkd/config/config.h"
#include "dkd/config/dataset_spec.h"
#include "dkd/data/check.h"
#include "dkd/data/dataset.h"
#include "dkd/eval/eval_command.h"
#include "dkd/train/trainer.h"

namespace fs = std::filesystem;

namespace {

// ---------------------------------------------------------------- the toy data set
// Five joints (a head, two shoulders, two hips), one text annotation file:
//   <root>/toy.txt: per video "video ID TRAIN T WIDTH HEIGHT", then T lines of
//   "x0 y0 v0 ... x4 y4 v4 bx1 by1 bx2 by2"; frames <root>/ID/NNN.png.

constexpr int kToyJoints = 5;

dkd::DatasetScan scan_toy(const dkd::DataConfig& data) {
  const fs::path file = fs::path(data.root) / "toy.txt";
  std::ifstream in(file);
  if (!in) throw dkd::DataError(file.string(), "missing: not a toy data set folder");
  dkd::DatasetScan scan;
  std::string word;
  while (in >> word) {
    dkd::VideoRecord v;
    v.dataset = "toy";
    v.action = "sway";
    v.num_joints = kToyJoints;
    int train = 0, T = 0;
    if (word != "video" || !(in >> v.id >> train >> T >> v.width >> v.height)) {
      scan.problems.push_back({file.string(), "malformed video line"});
      break;
    }
    v.train = train == 1;
    for (int t = 0; t < T; ++t) {
      for (int j = 0; j < kToyJoints; ++j) {
        dkd::Point2 p;
        int vis = 0;
        in >> p.x >> p.y >> vis;
        v.joints.push_back(p);
        v.visible.push_back(static_cast<uint8_t>(vis));
      }
      dkd::Box b;
      in >> b.x1 >> b.y1 >> b.x2 >> b.y2;
      v.boxes.push_back(b);
      char name[16];
      std::snprintf(name, sizeof name, "%03d.png", t);
      v.frame_paths.push_back((fs::path(data.root) / v.id / name).string());
    }
    if (!in) {
      scan.problems.push_back({file.string(), "video " + v.id + ": truncated"});
      break;
    }
    scan.videos.push_back(std::move(v));
  }
  return scan;
}

dkd::DatasetSpec toy_spec() {
  dkd::DatasetSpec s;
  s.name = "toy";
  s.title = "Toy Figures";
  s.skeleton.joint_names = {"head", "l_shoulder", "r_shoulder", "l_hip", "r_hip"};
  s.skeleton.flip_pairs = {{1, 2}, {3, 4}};
  s.skeleton.limbs = {{0, 1}, {0, 2}, {1, 3}, {2, 4}, {3, 4}};
  s.skeleton.columns = {{"Head", {0}}, {"Sho", {1, 2}}, {"Hip", {3, 4}}};
  s.skeleton.torso = {2, 3};
  s.pck_joints = dkd::PckJoints::visible;
  s.num_splits = 0;
  s.scan = &scan_toy;
  return s;
}

/// Registers the toy set once per process (the tests of this file may share one).
void ensure_toy_registered() {
  static const bool registered = [] {
    dkd::register_dataset(toy_spec());
    return true;
  }();
  (void)registered;
}

/// Writes `videos` toy videos of `frames` frames each (64x64, a figure of five
/// discs that drifts and sways), every third one a test video; returns the root.
std::string write_toy_set(const fs::path& dir, int videos, int frames) {
  const fs::path root = dir / "toy";
  fs::create_directories(root);
  std::ofstream ann(root / "toy.txt");
  const int W = 64, H = 64;
  const cv::Scalar colour[kToyJoints] = {{255, 255, 255}, {0, 0, 255}, {0, 255, 0}, {255, 0, 0}, {0, 255, 255}};
  for (int v = 0; v < videos; ++v) {
    const std::string id = "v" + std::to_string(v);
    fs::create_directories(root / id);
    ann << "video " << id << " " << (v % 3 == 2 ? 0 : 1) << " " << frames << " " << W << " " << H << "\n";
    for (int t = 0; t < frames; ++t) {
      const float cx = 32.f + 6.f * std::sin(0.3f * t + v), cy = 32.f + 3.f * std::cos(0.2f * t + 2 * v);
      const float sway = 3.f * std::sin(0.5f * t + v);
      const float pts[kToyJoints][2] = {
          {cx + sway, cy - 16}, {cx - 9, cy - 7}, {cx + 9, cy - 7}, {cx - 7 - sway, cy + 12}, {cx + 7, cy + 12}};
      cv::Mat img(H, W, CV_8UC3, cv::Scalar(30, 30, 30));
      for (int j = 0; j < kToyJoints; ++j) {
        cv::circle(img, cv::Point(static_cast<int>(pts[j][0]), static_cast<int>(pts[j][1])), 3, colour[j], -1);
        ann << pts[j][0] << " " << pts[j][1] << " 1 ";
      }
      ann << cx - 20 << " " << cy - 24 << " " << cx + 20 << " " << cy + 20 << "\n";
      char name[16];
      std::snprintf(name, sizeof name, "%03d.png", t);
      cv::imwrite((root / id / name).string(), img);
    }
  }
  return root.string();
}

// ---------------------------------------------------------------- the table itself

TEST(DatasetSpec, BuiltInRowsDescribeTheirJointSets) {
  const dkd::DatasetSpec& penn = dkd::dataset_spec("penn");
  EXPECT_EQ(penn.title, "Penn Action");
  EXPECT_EQ(penn.skeleton.num_joints(), 13);
  EXPECT_EQ(penn.num_splits, 0);
  EXPECT_TRUE(dkd::counts_visible_only(penn.pck_joints));
  EXPECT_EQ(penn.skeleton.table_joints_text(), "13 joints");
  const dkd::DatasetSpec& jhmdb = dkd::dataset_spec("jhmdb");
  EXPECT_EQ(jhmdb.skeleton.num_joints(), 15);
  EXPECT_EQ(jhmdb.num_splits, 3);
  EXPECT_FALSE(dkd::counts_visible_only(jhmdb.pck_joints));
  EXPECT_EQ(jhmdb.skeleton.table_joints_text(), "13 joints (neck, belly excluded)");
  EXPECT_EQ(dkd::default_eval_split(penn, 2), "test");
  EXPECT_EQ(dkd::default_eval_split(jhmdb, 2), "2");
  EXPECT_EQ(dkd::numbered_splits(jhmdb, "all", "--split"), (std::vector<std::string>{"1", "2", "3"}));
  EXPECT_NE(dkd::test::error_of([&] { dkd::numbered_splits(penn, "all", "--split"); }).find("one test split"),
            std::string::npos);
  EXPECT_NE(dkd::test::error_of([&] { dkd::numbered_splits(jhmdb, "4", "--split"); }).find("from 1 to 3"),
            std::string::npos);
}

TEST(DatasetSpec, AnUnknownNameIsAConfigErrorListingTheKnownOnes) {
  const std::string msg = dkd::test::error_of<dkd::ConfigError>([] { dkd::dataset_spec("pen"); });
  EXPECT_NE(msg.find("data.dataset"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'pen'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("penn"), std::string::npos) << msg;
  EXPECT_NE(msg.find("jhmdb"), std::string::npos) << msg;
  // The same at config load, and data.split beyond a data set's splits.
  EXPECT_NE(
      dkd::test::error_of([] { dkd::load_config_from_string("{data: {dataset: pen}}", {}, "t"); }).find("data.dataset"),
      std::string::npos);
  EXPECT_NE(dkd::test::error_of([] {
              dkd::load_config_from_string("{data: {dataset: jhmdb, split: 4}, model: {num_joints: 15}}", {}, "t");
            }).find("data.split"),
            std::string::npos);
}

TEST(DatasetSpec, IncompleteOrClashingRowsAreRefused) {
  ensure_toy_registered();
  EXPECT_NE(dkd::test::error_of([] { dkd::register_dataset(toy_spec()); }).find("registered already"),
            std::string::npos);
  dkd::DatasetSpec bad = toy_spec();
  bad.name = "toy_bad";
  bad.skeleton.columns.push_back({"Knee", {5}});
  EXPECT_NE(dkd::test::error_of([&] { dkd::register_dataset(bad); }).find("PCK column 'Knee' names joint 5 of 5"),
            std::string::npos);
  bad = toy_spec();
  bad.name = "toy_bad";
  bad.scan = nullptr;
  EXPECT_NE(dkd::test::error_of([&] { dkd::register_dataset(bad); }).find("reader"), std::string::npos);
  EXPECT_THROW(dkd::dataset_spec("toy_bad"), dkd::ConfigError);
}

// ---------------------------------------------------------------- a third data set, end to end

TEST(DatasetSpec, AThirdDataSetGoesThroughCheckTrainingEvaluationAndTheReport) {
  ensure_toy_registered();
  const fs::path dir = dkd::test::per_test_dir("dataset_spec");
  const std::string root = write_toy_set(dir, 9, 10);

  const dkd::DataCheckReport check = dkd::check_dataset("toy", root, 1, /*decode_images=*/true);
  EXPECT_TRUE(check.problems.empty()) << dkd::format_problems(check.problems);
  EXPECT_EQ(check.joints, 5);
  EXPECT_EQ(check.videos, 9);

  const std::string yaml =
      "runtime: {threads: 1, seed: 3, deterministic: true, log_level: warn}\n"
      "data: {dataset: toy, root: " +
      root +
      ", input_size: [64, 64], clip_length: 3, workers: 0, val_fraction: 0.2}\n"
      "model:\n"
      "  num_joints: 5\n"
      "  initializer: {depth: 18, width: 0.125, stages: 2, deconv_layers: 1, deconv_filters: 8}\n"
      "  encoder: {depth: 18, width: 0.0625, stages: 2, deconv_layers: 1, deconv_filters: 8}\n"
      "  distillator: {channels: 8, kernel_size: 3}\n"
      "train:\n"
      "  stages: [initializer, baseline, dkd]\n"
      "  encoder_from_baseline: true\n"
      "  schedule: constant\n"
      "  log_every: 1\n"
      "  work_dir: " +
      (dir / "work").string() +
      "\n"
      "  initializer: {epochs: 1, batch_size: 4, max_iters: 2}\n"
      "  baseline: {epochs: 1, batch_size: 4, max_iters: 2}\n"
      "  dkd: {epochs: 1, batch_size: 2, max_iters: 2}\n"
      "  adversarial: {enabled: false}\n"
      "eval: {video_length: 10}\n";
  const dkd::Config config = dkd::load_config_from_string(yaml, {}, "toy.yaml");
  dkd::TrainOptions train_options;
  ASSERT_EQ(dkd::run_training(config, train_options), 0);
  int losses = 0;
  {
    std::ifstream in(dir / "work" / "metrics.jsonl");
    for (std::string line; std::getline(in, line);) {
      const auto j = nlohmann::json::parse(line);
      if (j.value("type", "") == "train") {
        ++losses;
        EXPECT_TRUE(std::isfinite(j.value("loss_pose", NAN))) << line;
      }
    }
  }
  EXPECT_EQ(losses, 6);  // two steps of each stage

  for (const std::string model : {"dkd", "initializer", "baseline"}) {
    dkd::EvalCommandOptions eval;
    eval.checkpoints = {(dir / "work" / "best.pt").string()};
    eval.model = model;
    eval.speed = false;
    eval.json_path = (dir / (model + ".json")).string();
    eval.md_path = (dir / (model + ".md")).string();
    ASSERT_EQ(dkd::run_checkpoint_eval(config, eval), 0) << model;
    const auto report = nlohmann::json::parse(dkd::test::read_text(eval.json_path));
    EXPECT_EQ(report["dataset"], "toy");
    EXPECT_EQ(report["split"], "test");
    EXPECT_EQ(report["videos"].get<double>(), 3.0);  // videos 2, 5, 8
    const double pck = report["pck"]["mean_joints"].get<double>();
    EXPECT_GE(pck, 0.0);
    EXPECT_LE(pck, 100.0);
    const std::string md = dkd::test::read_text(eval.md_path);
    EXPECT_NE(md.find("toy"), std::string::npos);
    EXPECT_NE(md.find("| Hip"), std::string::npos) << md;
    EXPECT_EQ(md.find("Knee"), std::string::npos) << md;  // the toy set's three columns only
    EXPECT_NE(md.find("over the table's 5 joints"), std::string::npos) << md;
    EXPECT_NE(md.find("visible joints only"), std::string::npos) << md;
  }
  fs::remove_all(dir);
}

}  // namespace
