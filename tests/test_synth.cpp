// The synthetic data set: deterministic bytes, real-format output the readers
// load, plausible skeletons and self-occlusion, and the contact sheet.
#include "dkd/synth/synth.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "dkd/data/check.h"
#include "dkd/synth/show.h"
#include "dkd/util/error.h"
#include "tool_runner.h"

namespace fs = std::filesystem;

namespace {

fs::path scratch(const std::string& name) {
  const fs::path p = fs::temp_directory_path() / ("dkd_synth_" + std::to_string(getpid()) + "_" + name);
  fs::remove_all(p);
  return p;
}

/// Relative path -> file bytes of every file under `root`.
std::map<std::string, std::string> snapshot(const fs::path& root) {
  std::map<std::string, std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (!e.is_regular_file()) continue;
    std::ifstream in(e.path(), std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    files[fs::relative(e.path(), root).string()] = s.str();
  }
  return files;
}

dkd::SynthOptions small(const std::string& format, const fs::path& out, uint64_t seed, int threads) {
  dkd::SynthOptions o;
  o.format = format;
  o.out = out.string();
  o.videos = format == "jhmdb" ? 12 : 4;
  o.seed = seed;
  o.width = 160;
  o.height = 120;
  o.min_frames = 6;
  o.max_frames = 8;
  o.threads = threads;
  o.progress = false;
  return o;
}

TEST(Synth, SameSeedGivesIdenticalBytesSerialOrParallel) {
  for (const std::string format : {"penn", "jhmdb"}) {
    const fs::path a = scratch(format + "_a"), b = scratch(format + "_b"), c = scratch(format + "_c");
    dkd::generate_synth_dataset(small(format, a, 7, 1));
    dkd::generate_synth_dataset(small(format, b, 7, 2));
    dkd::generate_synth_dataset(small(format, c, 8, 2));
    const auto sa = snapshot(a), sb = snapshot(b), sc = snapshot(c);
    EXPECT_GT(sa.size(), 10u) << format;
    EXPECT_TRUE(sa == sb) << format << ": same seed, different bytes";
    EXPECT_FALSE(sa == sc) << format << ": different seeds, same bytes";
    for (const auto& p : {a, b, c}) fs::remove_all(p);
  }
}

TEST(Synth, OutputPassesTheDataCheckInBothFormats) {
  for (const std::string format : {"penn", "jhmdb"}) {
    const fs::path out = scratch("check_" + format);
    const auto records = dkd::generate_synth_dataset(small(format, out, 3, 2));
    ASSERT_FALSE(records.empty());
    const auto report = dkd::check_dataset(dkd::parse_kind<dkd::DatasetKind>(format, "format"), out.string(), 1);
    EXPECT_TRUE(report.problems.empty()) << report.summary();
    EXPECT_EQ(report.videos, static_cast<int64_t>(records.size()));
    EXPECT_EQ(report.joints, format == "penn" ? 13 : 15);
    fs::remove_all(out);
  }
}

TEST(Synth, SkeletonsArePlausibleAndSomeJointsAreOccluded) {
  const fs::path out = scratch("plausible");
  auto o = small("penn", out, 11, 2);
  o.videos = 15;  // one per action
  const auto records = dkd::generate_synth_dataset(o);
  int occluded = 0, total = 0;
  for (const auto& v : records) {
    for (int t = 0; t < v.num_frames(); ++t) {
      // Joints inside the box that encloses the person, box inside a sane size.
      const dkd::Box& b = v.boxes[t];
      EXPECT_GT(b.width(), 4.f);
      EXPECT_GT(b.height(), 4.f);
      for (int j = 0; j < v.num_joints; ++j) {
        ++total;
        if (!v.is_visible(t, j)) ++occluded;
      }
      // The head is above the ankles for standing actions.
      if (v.action == "jumping_jacks" || v.action == "squat") {
        EXPECT_LT(v.joint(t, 0).y, v.joint(t, 11).y) << v.id << " t=" << t;
      }
    }
  }
  EXPECT_GT(occluded, 0) << "no self-occlusion at all";
  EXPECT_LT(occluded, total / 2) << "most joints invisible";
  fs::remove_all(out);
}

TEST(Synth, BadOptionsAreUsageErrors) {
  dkd::SynthOptions o;
  o.out = scratch("bad").string();
  o.videos = 0;
  EXPECT_THROW(dkd::validate(o), dkd::UsageError);
  o.videos = 3;
  o.format = "coco";
  EXPECT_THROW(dkd::validate(o), dkd::UsageError);
}

TEST(Synth, ToolWritesTheSetAndAContactSheet) {
  const fs::path out = scratch("tool");
  auto r = dkd::test::run_tool_command("dkd_data", "synth --format penn --out " + out.string() +
                                                       " --videos 3 --seed 2 --width 160 --height 120 "
                                                       "--min-frames 6 --max-frames 8");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = dkd::test::run_tool_command("dkd_data", "check --dataset penn --root " + out.string());
  EXPECT_EQ(r.exit_code, 0) << r.output;
  const std::string sheet = (out / "sheet.png").string();
  r = dkd::test::run_tool_command(
      "dkd_data", "show --dataset penn --root " + out.string() + " --out " + sheet + " --videos 3 --frames 4");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(fs::exists(sheet));
  r = dkd::test::run_tool_command("dkd_data", "show --dataset penn --root /nonexistent/dkd --out " + sheet);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("/nonexistent/dkd"), std::string::npos) << r.output;
  fs::remove_all(out);
}

}  // namespace
