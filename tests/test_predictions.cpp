// Predictions file format: 1-based on disk, exact round trip, clear errors,
// and model-free evaluation of a predictions file.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dkd/config/config.h"
#include "dkd/data/dataset.h"
#include "dkd/synth/synth.h"
#include "dkd/eval/predictions.h"
#include "dkd/eval/predictions_eval.h"
#include "dkd/eval/report.h"
#include "dkd/util/error.h"

namespace dkd {
namespace {

namespace fs = std::filesystem;

// T frames; joint j of frame t at (10.25 + 7j + t, 30.5 + 3j - t); box 100 x 80.
VideoRecord rec(const std::string& dataset, const std::string& id, const std::string& action, int T) {
  VideoRecord r;
  r.dataset = dataset;
  r.id = id;
  r.action = action;
  r.num_joints = dataset == "penn" ? 13 : 15;
  for (int t = 0; t < T; ++t) {
    r.frame_paths.push_back("x");
    for (int j = 0; j < r.num_joints; ++j) {
      r.joints.push_back({10.25f + 7.f * j + t, 30.5f + 3.f * j - t});
      r.visible.push_back(1);
    }
    r.boxes.push_back({5.f, 5.f, 105.f, 85.f});
  }
  return r;
}

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() /
            ("dkd_test_predictions_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

void write_text(const std::string& path, const std::string& text) {
  std::ofstream f(path);
  f << text;
}

std::string parse_error_of(const std::string& text, const std::string& origin = "preds.json") {
  try {
    predictions_from_string(text, origin);
  } catch (const DataError& e) {
    return e.what();
  }
  return "<no error>";
}

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

TEST(Predictions, DiskIsOneBasedAndRoundTripIsExact) {
  std::vector<VideoRecord> rs = {rec("penn", "0001", "bowl", 2), rec("penn", "0002", "squat", 3)};
  rs[1].joint(2, 4) = {0.1f, 123.456f};  // not exactly representable after +1 in float
  const Predictions gt = predictions_from_records(rs);
  const std::string text = predictions_to_string(gt);
  const nlohmann::json doc = nlohmann::json::parse(text);
  EXPECT_EQ(doc["dataset"], "penn");
  EXPECT_EQ(doc["joints"].size(), 13u);
  EXPECT_EQ(doc["joints"][0], "head");
  // joint 1 of frame 0 of 0001 is (17.25, 33.5) 0-based -> (18.25, 34.5) on disk.
  EXPECT_DOUBLE_EQ(doc["videos"]["0001"][0][1][0].get<double>(), 18.25);
  EXPECT_DOUBLE_EQ(doc["videos"]["0001"][0][1][1].get<double>(), 34.5);
  EXPECT_EQ(doc["videos"]["0002"].size(), 3u);
  const Predictions back = predictions_from_string(text, "mem");
  ASSERT_EQ(back.videos.size(), 2u);
  for (const auto& r : rs) {
    const auto& p = back.videos.at(r.id);
    ASSERT_EQ(p.size(), r.joints.size());
    for (std::size_t i = 0; i < p.size(); ++i) {
      EXPECT_EQ(p[i].x, r.joints[i].x);
      EXPECT_EQ(p[i].y, r.joints[i].y);
    }
  }
}

TEST(Predictions, ScoresAndCropBoxesAreWrittenWithTheVideos) {
  std::vector<VideoRecord> rs = {rec("penn", "0001", "bowl", 2)};
  Predictions p = predictions_from_records(rs);
  p.scores["0001"] = std::vector<float>(2 * 13, 0.5f);
  p.scores["0001"][13 + 2] = 0.25f;
  p.boxes["0001"] = {Box{10, 20, 110, 220}, Box{12, 20, 112, 220}};
  const nlohmann::json doc = nlohmann::json::parse(predictions_to_string(p));
  EXPECT_DOUBLE_EQ(doc["scores"]["0001"][1][2].get<double>(), 0.25);
  EXPECT_EQ(doc["scores"]["0001"].size(), 2u);
  // Boxes in the file's 1-based pixels, like the joints.
  EXPECT_DOUBLE_EQ(doc["boxes"]["0001"][1][0].get<double>(), 13.0);
  EXPECT_DOUBLE_EQ(doc["boxes"]["0001"][0][3].get<double>(), 221.0);
  // The joints still read back.
  EXPECT_EQ(predictions_from_string(doc.dump(), "mem").videos.at("0001").size(), 26u);
  p.scores["0001"][0] = std::nanf("");
  EXPECT_THROW(predictions_to_string(p), Error);
}

TEST(Predictions, JointsMayBeACount) {
  const std::string text =
      R"({"dataset": "penn", "joints": 13, "videos": {"0001": [)"
      R"([[1,1],[2,2],[3,3],[4,4],[5,5],[6,6],[7,7],[8,8],[9,9],[10,10],[11,11],[12,12],[13,13.5]]]}})";
  const Predictions p = predictions_from_string(text, "mem");
  ASSERT_EQ(p.videos.at("0001").size(), 13u);
  EXPECT_FLOAT_EQ(p.videos.at("0001")[0].x, 0.f);
  EXPECT_FLOAT_EQ(p.videos.at("0001")[12].y, 12.5f);
}

TEST(Predictions, MalformedFilesGiveOneClearError) {
  EXPECT_TRUE(has(parse_error_of("{not json"), "preds.json: not valid JSON"));
  EXPECT_TRUE(has(parse_error_of(R"({"joints": 13, "videos": {}})"), "\"dataset\""));
  EXPECT_TRUE(has(parse_error_of(R"({"dataset": "coco", "joints": 13, "videos": {}})"), "coco"));
  EXPECT_TRUE(has(parse_error_of(R"({"dataset": "penn", "joints": 15, "videos": {}})"), "13 joints"));
  EXPECT_TRUE(has(parse_error_of(R"({"dataset": "penn", "joints": ["head"], "videos": {}})"), "lists 1"));
  EXPECT_TRUE(has(parse_error_of(R"({"dataset": "penn", "joints": 13})"), "\"videos\""));
  // wrong joint count in a frame
  const std::string e1 = parse_error_of(R"({"dataset": "penn", "joints": 13, "videos": {"0007": [[[1,2]]]}})");
  EXPECT_TRUE(has(e1, "preds.json")) << e1;
  EXPECT_TRUE(has(e1, "video '0007' frame 1: expected 13 joints, got 1")) << e1;
  // non-numeric coordinate
  std::string frame = "[";
  for (int j = 0; j < 13; ++j) frame += std::string(j ? "," : "") + (j == 4 ? "[\"a\",2]" : "[1,2]");
  frame += "]";
  const std::string e2 = parse_error_of(R"({"dataset": "penn", "joints": 13, "videos": {"0007": [)" + frame + "]}}");
  EXPECT_TRUE(has(e2, "video '0007' frame 1 joint 4: expected [x, y] numbers")) << e2;
  // null (a NaN written by another tool) is non-numeric too
  std::string nframe = frame;
  nframe.replace(nframe.find("\"a\""), 3, "null");
  EXPECT_TRUE(
      has(parse_error_of(R"({"dataset": "penn", "joints": 13, "videos": {"0007": [)" + nframe + "]}}"), "joint 4"));
}

TEST(Predictions, ValidationNamesFileAndVideo) {
  std::vector<VideoRecord> rs = {rec("penn", "0001", "bowl", 2), rec("penn", "0002", "bowl", 3)};
  Predictions p = predictions_from_records(rs);
  EXPECT_EQ(validate_predictions(p, rs, "f.json"), 0);
  Predictions extra = p;
  extra.videos["0999"] = rs[0].joints;
  EXPECT_EQ(validate_predictions(extra, rs, "f.json"), 1);
  Predictions missing = p;
  missing.videos.erase("0002");
  try {
    validate_predictions(missing, rs, "f.json");
    FAIL();
  } catch (const DataError& e) {
    EXPECT_EQ(e.file(), "f.json");
    EXPECT_TRUE(has(e.what(), "missing video '0002'")) << e.what();
  }
  Predictions short_video = p;
  short_video.videos["0002"].resize(2 * 13);
  try {
    validate_predictions(short_video, rs, "f.json");
    FAIL();
  } catch (const DataError& e) {
    EXPECT_TRUE(has(e.what(), "video '0002' has 2 predicted frames, the data set has 3")) << e.what();
  }
  Predictions other = predictions_from_records({rec("jhmdb", "run/a", "run", 2)});
  EXPECT_THROW(validate_predictions(other, rs, "f.json"), DataError);
}

TEST(Predictions, WriteRejectsNonFiniteAndReadNamesMissingFile) {
  TempDir dir;
  Predictions p = predictions_from_records({rec("penn", "0001", "bowl", 1)});
  p.videos["0001"][3].y = std::nanf("");
  try {
    write_predictions(dir.file("p.json"), p);
    FAIL();
  } catch (const Error& e) {
    EXPECT_TRUE(has(e.what(), "p.json")) << e.what();
    EXPECT_TRUE(has(e.what(), "video '0001' frame 1 joint 3 is not finite")) << e.what();
  }
  EXPECT_FALSE(fs::exists(dir.file("p.json")));
  try {
    read_predictions(dir.file("none.json"));
    FAIL();
  } catch (const DataError& e) {
    EXPECT_EQ(e.file(), dir.file("none.json"));
  }
}

TEST(PredictionsEval, GroundTruthScores100OnBothFormats) {
  TempDir dir;
  for (const std::string ds : {"penn", "jhmdb"}) {
    std::vector<VideoRecord> rs = {rec(ds, ds == "penn" ? "0001" : "run/a", "run", 4),
                                   rec(ds, ds == "penn" ? "0002" : "jump/b", "jump", 3)};
    if (ds == "penn") rs[0].visible[5] = 0;
    const std::string path = dir.file(ds + ".json");
    write_predictions(path, predictions_from_records(rs));
    PredictionsEvalOptions o;
    o.predictions_paths = {path};
    o.json = true;
    std::ostringstream out;
    EvalResult r;
    ASSERT_EQ(run_predictions_eval(rs, o, out, &r), 0);
    for (const PckSummary* s : {&r.pck, &r.pck_torso}) {
      EXPECT_DOUBLE_EQ(s->mean_joints, 100.0) << ds;
      EXPECT_DOUBLE_EQ(s->mean_columns, 100.0) << ds;
      EXPECT_DOUBLE_EQ(s->pooled, 100.0) << ds;
    }
    EXPECT_DOUBLE_EQ(r.smoothness.pred_px, r.smoothness.gt_px);
    const nlohmann::json doc = nlohmann::json::parse(out.str());
    EXPECT_EQ(doc["dataset"], ds);
    EXPECT_DOUBLE_EQ(doc["pck"]["mean_joints"].get<double>(), 100.0);
    EXPECT_EQ(doc["frames"], 7);
  }
}

TEST(PredictionsEval, HandWrittenOffsetsGiveHandComputedPck) {
  // One Penn frame, box 100 x 80 -> 20 px. A hand-written file (1-based):
  // joints 0..5 off by (12, 16) = 20 px (correct), 6..12 off by (0, 21) (wrong).
  VideoRecord r = rec("penn", "0005", "bowl", 1);
  nlohmann::json frame = nlohmann::json::array();
  for (int j = 0; j < 13; ++j) {
    const double x = r.joint(0, j).x + 1.0, y = r.joint(0, j).y + 1.0;
    frame.push_back(j <= 5 ? nlohmann::json::array({x + 12, y + 16}) : nlohmann::json::array({x, y + 21}));
  }
  nlohmann::json doc = {{"dataset", "penn"}, {"joints", 13}, {"videos", {{"0005", {frame}}}}};
  TempDir dir;
  write_text(dir.file("off.json"), doc.dump());
  PredictionsEvalOptions o;
  o.predictions_paths = {dir.file("off.json")};
  o.curve_png = dir.file("curve.png");
  std::ostringstream out;
  EvalResult res;
  run_predictions_eval({r}, o, out, &res);
  // per joint 100 for 0..5, 0 for 6..12
  EXPECT_DOUBLE_EQ(res.pck.mean_joints, 600.0 / 13);
  // columns: Head 100, Sho 100, Elb 100, Wri (100 + 0) / 2, Hip 0, Knee 0, Ank 0
  EXPECT_DOUBLE_EQ(res.pck.mean_columns, 350.0 / 7);
  EXPECT_DOUBLE_EQ(res.pck.pooled, 600.0 / 13);
  EXPECT_TRUE(has(out.str(), "mean_columns")) << out.str();
  EXPECT_TRUE(has(out.str(), "50.0")) << out.str();
  EXPECT_TRUE(fs::exists(dir.file("curve.png")));
}

TEST(PredictionsEval, ThreeSplitsAreAveraged) {
  TempDir dir;
  std::vector<std::vector<VideoRecord>> sets;
  std::vector<std::string> paths;
  for (int s = 0; s < 3; ++s) {
    sets.push_back({rec("jhmdb", "run/v" + std::to_string(s), "run", 2)});
    Predictions p = predictions_from_records(sets.back());
    if (s == 2)  // split 3: every prediction 30 px off -> 0
      for (auto& q : p.videos.begin()->second) q.x += 30.f;
    paths.push_back(dir.file("s" + std::to_string(s) + ".json"));
    write_predictions(paths.back(), p);
  }
  PredictionsEvalOptions o;
  o.predictions_paths = paths;
  o.markdown = true;
  std::ostringstream out;
  EvalResult res;
  run_predictions_eval(sets, {"1", "2", "3"}, o, out, &res);
  EXPECT_EQ(res.split, "all");
  EXPECT_DOUBLE_EQ(res.pck.mean_joints, 200.0 / 3);
  EXPECT_TRUE(has(out.str(), "| norm |")) << out.str();
  // a wrong number of files is a usage error; a missing video names the file
  o.predictions_paths = {paths[0], paths[1]};
  EXPECT_THROW(run_predictions_eval(sets, {"1", "2", "3"}, o, out), UsageError);
  o.predictions_paths = {paths[0]};
  try {
    run_predictions_eval(sets, {"1", "2", "3"}, o, out);
    FAIL();
  } catch (const DataError& e) {
    EXPECT_EQ(e.file(), paths[0]);
    EXPECT_TRUE(has(e.what(), "missing video 'run/v1'")) << e.what();
  }
}

TEST(PredictionsEval, SyntheticDataSetsThroughTheReaders) {
  // Ground truth read by the real readers, saved as a predictions file and
  // evaluated through the loader wrapper: 100 on both formats (jhmdb: --split all).
  TempDir dir;
  for (const std::string ds : {"penn", "jhmdb"}) {
    SynthOptions so;
    so.format = parse_kind<SynthFormat>(ds, "format");
    so.out = dir.file(ds);
    so.videos = ds == "penn" ? 4 : 25;  // jhmdb: 25 videos give every split a test video
    so.width = 64;
    so.height = 64;
    so.min_frames = 3;
    so.max_frames = 4;
    so.backgrounds = "procedural";
    so.threads = 2;
    so.progress = false;
    generate_synth_dataset(so);
    DataConfig cfg;
    cfg.dataset = ds;
    cfg.root = so.out;
    const std::vector<VideoRecord> all = load_split(cfg, dkd::SplitKind::all);
    ASSERT_EQ(all.size(), static_cast<std::size_t>(so.videos));
    const std::string path = dir.file(ds + "_gt.json");
    write_predictions(path, predictions_from_records(all));
    PredictionsEvalOptions o;
    o.predictions_paths = {path};
    std::ostringstream out;
    EvalResult res;
    run_predictions_eval(cfg, ds == "penn" ? "" : "all", o, out, &res);
    EXPECT_EQ(res.split, ds == "penn" ? "test" : "all");
    EXPECT_GT(res.frames, 0.0);
    for (const PckSummary* s : {&res.pck, &res.pck_torso}) {
      EXPECT_DOUBLE_EQ(s->mean_joints, 100.0) << ds << " " << s->norm;
      EXPECT_DOUBLE_EQ(s->mean_columns, 100.0) << ds << " " << s->norm;
      EXPECT_DOUBLE_EQ(s->pooled, 100.0) << ds << " " << s->norm;
    }
  }
  DataConfig penn;
  penn.root = dir.file("penn");
  PredictionsEvalOptions o;
  o.predictions_paths = {dir.file("penn_gt.json")};
  std::ostringstream out;
  EXPECT_THROW(run_predictions_eval(penn, "all", o, out), UsageError);
}

}  // namespace
}  // namespace dkd
