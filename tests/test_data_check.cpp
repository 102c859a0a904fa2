// dkd_data check and load_split: every problem reported, JSON summary, the
// trainer's refusal unless data.skip_bad_videos.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "data_fixtures.h"
#include "dkd/config/config.h"
#include "dkd/data/check.h"
#include "dkd/data/dataset.h"
#include "dkd/synth/synth.h"
#include "dkd/util/error.h"

using namespace dkd;
namespace fs = std::filesystem;

namespace {

std::string penn_set(const std::string& name, int n) {
  const std::string root = test::fresh_dir(name);
  for (int i = 1; i <= n; ++i) {
    char id[8];
    std::snprintf(id, sizeof(id), "%04d", i);
    VideoRecord v = test::make_record("penn", id, i % 2 ? "bowl" : "squat", 3, i <= 2, 48, 40, i);
    test::write_penn_fixture(v, root);
  }
  return root;
}

}  // namespace

TEST(DataCheck, CleanPennSetHasNoProblemsAndWritesJson) {
  const std::string root = penn_set("check_ok", 3);
  const std::string json = root + "/report.json";
  testing::internal::CaptureStdout();
  EXPECT_EQ(run_data_check("penn", root, 1, json), 0);
  const std::string out = testing::internal::GetCapturedStdout();
  EXPECT_NE(out.find("no problems"), std::string::npos) << out;
  std::ifstream f(json);
  auto j = nlohmann::json::parse(f);
  EXPECT_EQ(j["dataset"], "penn");
  EXPECT_EQ(j["videos"], 3);
  EXPECT_EQ(j["frames"], 9);
  EXPECT_EQ(j["train_videos"], 2);
  EXPECT_EQ(j["test_videos"], 1);
  EXPECT_EQ(j["joints"], 13);
  EXPECT_EQ(j["actions"]["bowl"], 2);
  EXPECT_EQ(j["actions"]["squat"], 1);
  EXPECT_TRUE(j["problems"].empty());
}

TEST(DataCheck, ReportsEveryProblemNotOnlyTheFirst) {
  const std::string root = penn_set("check_bad", 4);
  test::truncate_file(penn_label_path(root, "0001"), 300);
  { std::ofstream(penn_frame_path(root, "0002", 1), std::ios::trunc) << "not a jpeg"; }
  fs::remove(penn_frame_path(root, "0003", 2));
  DataCheckReport r = check_dataset("penn", root, 1);
  ASSERT_EQ(r.problems.size(), 3u);
  EXPECT_EQ(r.problems[0].file, penn_label_path(root, "0001"));
  EXPECT_EQ(r.problems[1].file, penn_frame_path(root, "0002", 1));
  EXPECT_NE(r.problems[1].error.find("image"), std::string::npos) << r.problems[1].error;
  EXPECT_NE(r.problems[2].error.find("nframes is 3"), std::string::npos) << r.problems[2].error;
  EXPECT_EQ(r.videos, 1);
  testing::internal::CaptureStdout();
  EXPECT_EQ(run_data_check("penn", root, 1, ""), 1);
  testing::internal::GetCapturedStdout();
  EXPECT_EQ(run_data_check("penn", root + "/nowhere", 1, ""), 1);

  // Training refuses the set unless skip_bad_videos; then it keeps the good one.
  DataConfig c;
  c.dataset = "penn";
  c.root = root;
  try {
    load_split(c, dkd::SplitKind::train);
    ADD_FAILURE() << "no error";
  } catch (const DataError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("3 problem"), std::string::npos) << msg;
    EXPECT_NE(msg.find("0001.mat"), std::string::npos) << msg;
  }
  c.skip_bad_videos = true;
  EXPECT_THROW(load_split(c, dkd::SplitKind::train), DataError);  // both train videos (0001, 0002) are bad
  auto test_videos = load_split(c, dkd::SplitKind::test);
  ASSERT_EQ(test_videos.size(), 1u);
  EXPECT_EQ(test_videos[0].id, "0004");
}

TEST(DataCheck, LoadSplitHonoursMaxVideos) {
  const std::string root = penn_set("check_max", 5);
  DataConfig c;
  c.dataset = "penn";
  c.root = root;
  EXPECT_EQ(load_split(c, dkd::SplitKind::test).size(), 3u);
  c.max_videos = 2;
  auto v = load_split(c, dkd::SplitKind::test);
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].id, "0003");
}

TEST(DataCheck, SyntheticOutputHasNoProblemsInEitherFormat) {
  for (const char* format : {"penn", "jhmdb"}) {
    SynthOptions o;
    o.format = parse_kind<SynthFormat>(format, "format");
    o.out = test::fresh_dir(std::string("check_synth_") + format);
    o.videos = 3;
    o.seed = 11;
    o.width = 96;
    o.height = 72;
    o.min_frames = 3;
    o.max_frames = 4;
    o.backgrounds = "procedural";
    o.threads = 2;
    o.force = true;
    o.progress = false;
    generate_synth_dataset(o);
    DataCheckReport r = check_dataset(format, o.out, 1);
    EXPECT_TRUE(r.problems.empty()) << format << ": " << r.summary();
    EXPECT_EQ(r.videos, 3) << format;
    EXPECT_EQ(r.joints, std::string(format) == "penn" ? 13 : 15);
  }
}

TEST(DataCheck, ValidationSplitIsHeldOutOfTheTrainingListOnly) {
  const std::string root = test::fresh_dir("check_val");
  for (int i = 1; i <= 10; ++i) {
    char id[8];
    std::snprintf(id, sizeof(id), "%04d", i);
    VideoRecord v = test::make_record("penn", id, "bowl", 3, /*train=*/i <= 8, 48, 40, i);
    test::write_penn_fixture(v, root);
  }
  DataConfig c;
  c.dataset = "penn";
  c.root = root;
  c.val_fraction = 0.25;
  const auto ids = [](const std::vector<VideoRecord>& v) {
    std::set<std::string> s;
    for (const auto& r : v) s.insert(r.id);
    return s;
  };
  const auto train = ids(load_split(c, dkd::SplitKind::train)), val = ids(load_split(c, dkd::SplitKind::val)),
             test = ids(load_split(c, dkd::SplitKind::test));
  EXPECT_EQ(val.size(), 2u);  // round(0.25 * 8)
  EXPECT_EQ(train.size(), 6u);
  EXPECT_EQ(test, (std::set<std::string>{"0009", "0010"}));
  for (const auto& id : val) {
    EXPECT_EQ(train.count(id), 0u) << id;      // disjoint from training
    EXPECT_LE(id, std::string("0008")) << id;  // from the data set's training list, never its test list
  }
  // Deterministic and independent of listing order.
  auto records = load_split(c, dkd::SplitKind::all);
  std::vector<VideoRecord> official;
  for (const auto& r : records)
    if (r.train) official.push_back(r);
  const auto a = validation_ids(official, 0.25);
  std::reverse(official.begin(), official.end());
  EXPECT_EQ(validation_ids(official, 0.25), a);
  EXPECT_EQ(std::set<std::string>(a.begin(), a.end()), val);
  c.val_fraction = 0.0;
  EXPECT_EQ(load_split(c, dkd::SplitKind::train).size(), 8u);
  EXPECT_THROW(load_split(c, dkd::SplitKind::val), DataError);
}
