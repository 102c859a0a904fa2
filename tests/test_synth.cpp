// The synthetic data set: deterministic bytes, real-format output the readers
// load, plausible skeletons and self-occlusion, the contact sheet, the
// --backgrounds choice (photos, procedural, a folder) and synth_meta.json.
#include "dkd/synth/synth.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "dkd/data/check.h"
#include "dkd/synth/show.h"
#include "dkd/util/error.h"
#include "common.h"
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
  o.format = dkd::parse_kind<dkd::SynthFormat>(format, "format");
  o.out = out.string();
  o.videos = format == "jhmdb" ? 12 : 4;
  o.seed = seed;
  o.width = 160;
  o.height = 120;
  o.min_frames = 6;
  o.max_frames = 8;
  o.backgrounds = "procedural";
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
    const auto report = dkd::check_dataset(format, out.string(), 1);
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
  o.min_frames = 1;
  EXPECT_THROW(dkd::validate(o), dkd::UsageError);
}

TEST(Synth, ToolWritesTheSetAndAContactSheet) {
  const fs::path out = scratch("tool");
  auto r = dkd::test::run_tool_command("dkd_data", "synth --format penn --out " + out.string() +
                                                       " --videos 3 --seed 2 --width 160 --height 120 "
                                                       "--min-frames 6 --max-frames 8 --backgrounds procedural");
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

// --- Backgrounds and metadata ---

/// A `width` x `height` image of one colour (BGR), written as PNG or JPEG by extension.
void write_image(const fs::path& path, const cv::Scalar& color, int width = 200, int height = 150) {
  fs::create_directories(path.parent_path());
  ASSERT_TRUE(cv::imwrite(path.string(), cv::Mat(height, width, CV_8UC3, color))) << path;
}

/// Share of a frame's pixels close to magenta or cyan (the test images' colours).
double test_colour_share(const std::string& frame_path) {
  const cv::Mat f = cv::imread(frame_path, cv::IMREAD_COLOR);
  if (f.empty()) return 0;
  int n = 0;
  for (int y = 0; y < f.rows; ++y)
    for (int x = 0; x < f.cols; ++x) {
      const cv::Vec3b p = f.at<cv::Vec3b>(y, x);
      const bool magenta = p[0] > 120 && p[1] < 70 && p[2] > 120, cyan = p[0] > 120 && p[1] > 120 && p[2] < 70;
      if (magenta || cyan) ++n;
    }
  return double(n) / (f.rows * f.cols);
}

nlohmann::json read_meta(const fs::path& root) {
  std::ifstream in(root / dkd::kSynthMetaFile);
  return nlohmann::json::parse(in);
}

TEST(SynthBackgrounds, ProceduralGivesIdenticalBytesAndIgnoresPhotographs) {
  const fs::path a = scratch("proc_a"), b = scratch("proc_b"), photos = scratch("proc_photos");
  write_image(photos / "x.jpg", cv::Scalar(255, 0, 255));
  auto o = small("penn", a, 5, 2);
  o.photo_dir = (photos / "missing").string();
  dkd::generate_synth_dataset(o);
  o = small("penn", b, 5, 1);
  o.photo_dir = photos.string();  // photographs are there, procedural does not use them
  dkd::generate_synth_dataset(o);
  const auto sa = snapshot(a), sb = snapshot(b);
  EXPECT_GT(sa.size(), 10u);
  EXPECT_TRUE(sa == sb) << "procedural backgrounds: same options, different bytes";
  EXPECT_EQ(read_meta(a)["background_images"], nlohmann::json::array());
  for (const auto& p : {a, b, photos}) fs::remove_all(p);
}

TEST(SynthBackgrounds, FolderImagesAreUsedAndRecorded) {
  const fs::path dir = scratch("bg_dir"), out = scratch("bg_out"), proc = scratch("bg_proc");
  write_image(dir / "b.png", cv::Scalar(255, 255, 0));  // cyan
  write_image(dir / "a.png", cv::Scalar(255, 0, 255));  // magenta
  std::ofstream(dir / "notes.txt") << "not an image\n";
  auto o = small("penn", out, 4, 2);
  o.videos = 6;
  o.backgrounds = dir.string();
  const auto records = dkd::generate_synth_dataset(o);
  auto p = small("penn", proc, 4, 2);
  p.videos = 6;
  dkd::generate_synth_dataset(p);

  double most = 0;
  for (const auto& r : records) most = std::max(most, test_colour_share(r.frame_paths[0]));
  EXPECT_GT(most, 0.3) << "no frame shows the folder's images";
  EXPECT_FALSE(snapshot(out) == snapshot(proc)) << "folder backgrounds gave the procedural bytes";

  const auto meta = read_meta(out);
  EXPECT_EQ(meta["backgrounds"], dir.string());
  EXPECT_EQ(meta["background_images"], nlohmann::json({"a.png", "b.png"}));
  const auto report = dkd::check_dataset("penn", out.string(), 1);
  EXPECT_TRUE(report.problems.empty()) << report.summary();
  for (const auto& q : {dir, out, proc}) fs::remove_all(q);
}

TEST(SynthBackgrounds, PhotosComeFromThePhotoFolderAndSkipSmallOnes) {
  const fs::path photos = scratch("photo_dir"), out = scratch("photo_out");
  write_image(photos / "two.jpg", cv::Scalar(255, 0, 255));
  write_image(photos / "one.jpg", cv::Scalar(255, 255, 0));
  write_image(photos / "small.jpg", cv::Scalar(0, 0, 255), 100, 80);  // below 160x120: skipped
  write_image(photos / "other.png", cv::Scalar(0, 0, 255));           // photos are *.jpg only
  auto o = small("jhmdb", out, 6, 2);
  o.backgrounds = "photos";
  o.photo_dir = photos.string();
  dkd::generate_synth_dataset(o);
  const auto meta = read_meta(out);
  EXPECT_EQ(meta["backgrounds"], "photos");
  EXPECT_EQ(meta["background_images"], nlohmann::json({"one.jpg", "two.jpg"}));
  for (const auto& q : {photos, out}) fs::remove_all(q);
}

TEST(SynthBackgrounds, MetadataRecordsTheOptions) {
  const fs::path out = scratch("meta");
  auto o = small("jhmdb", out, 12345678901234ULL, 2);
  o.difficulty = "hard";
  dkd::generate_synth_dataset(o);
  const auto meta = read_meta(out);
  EXPECT_EQ(meta["generator"], dkd::kSynthGenerator);
  EXPECT_EQ(meta["seed"].get<uint64_t>(), 12345678901234ULL);
  EXPECT_EQ(meta["format"], "jhmdb");
  EXPECT_EQ(meta["videos"], 12);
  EXPECT_EQ(meta["difficulty"], "hard");
  EXPECT_EQ(meta["width"], 160);
  EXPECT_EQ(meta["height"], 120);
  EXPECT_EQ(meta["min_frames"], 6);
  EXPECT_EQ(meta["max_frames"], 8);
  EXPECT_EQ(meta["backgrounds"], "procedural");
  EXPECT_EQ(meta["background_images"], nlohmann::json::array());
  // The set is still a clean Sub-JHMDB folder, and --force replaces it, metadata included.
  const auto report = dkd::check_dataset("jhmdb", out.string(), 1);
  EXPECT_TRUE(report.problems.empty()) << report.summary();
  EXPECT_THROW(dkd::generate_synth_dataset(o), dkd::UsageError);
  o.force = true;
  o.difficulty = "easy";
  dkd::generate_synth_dataset(o);
  EXPECT_EQ(read_meta(out)["difficulty"], "easy");
  fs::remove_all(out);
}

TEST(SynthBackgrounds, MissingPhotosOrFolderAreErrorsNamingThePath) {
  auto o = small("penn", scratch("err_out"), 1, 1);
  o.backgrounds = "photos";
  o.photo_dir = scratch("no_photos").string();
  std::string e = dkd::test::error_of([&] { dkd::validate(o); });
  EXPECT_NE(e.find(o.photo_dir), std::string::npos) << e;
  EXPECT_NE(e.find("apt-get install opencv-doc"), std::string::npos) << e;
  EXPECT_NE(e.find("--backgrounds procedural"), std::string::npos) << e;
  EXPECT_THROW(dkd::validate(o), dkd::UsageError);

  const fs::path missing = scratch("no_such_folder");
  o.backgrounds = missing.string();
  e = dkd::test::error_of([&] { dkd::validate(o); });
  EXPECT_NE(e.find(missing.string()), std::string::npos) << e;

  const fs::path empty = scratch("empty_folder");
  fs::create_directories(empty);
  o.backgrounds = empty.string();
  e = dkd::test::error_of([&] { dkd::validate(o); });
  EXPECT_NE(e.find(empty.string()), std::string::npos) << e;

  o.backgrounds = "";
  EXPECT_THROW(dkd::validate(o), dkd::UsageError);
  fs::remove_all(empty);
}

TEST(SynthBackgrounds, UnreadableOrSmallFolderImagesAreDataErrorsBeforeAnythingIsWritten) {
  const fs::path dir = scratch("bad_dir"), out = scratch("bad_out");
  write_image(dir / "good.png", cv::Scalar(255, 0, 255));
  std::ofstream(dir / "broken.png") << "not a PNG";
  auto o = small("penn", out, 1, 1);
  o.backgrounds = dir.string();
  std::string e = dkd::test::error_of([&] { dkd::generate_synth_dataset(o); });
  EXPECT_NE(e.find((dir / "broken.png").string()), std::string::npos) << e;
  EXPECT_THROW(dkd::generate_synth_dataset(o), dkd::DataError);
  EXPECT_FALSE(fs::exists(out));

  fs::remove(dir / "broken.png");
  write_image(dir / "tiny.png", cv::Scalar(0, 255, 0), 100, 80);
  e = dkd::test::error_of([&] { dkd::generate_synth_dataset(o); });
  EXPECT_NE(e.find((dir / "tiny.png").string()), std::string::npos) << e;
  EXPECT_NE(e.find("160x120"), std::string::npos) << e;
  EXPECT_FALSE(fs::exists(out));
  fs::remove_all(dir);
}

TEST(SynthBackgrounds, ToolRejectsAMissingFolderWithItsPath) {
  const fs::path out = scratch("tool_bg"), missing = scratch("tool_bg_missing");
  const auto r = dkd::test::run_tool_command(
      "dkd_data", "synth --out " + out.string() + " --videos 1 --backgrounds " + missing.string());
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find(missing.string()), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(out));
}

}  // namespace
