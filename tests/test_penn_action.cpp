// Penn Action reader: fixtures written with matio in every quirk of the real
// files read back exactly; corrupt fixtures give errors naming the file.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "data_fixtures.h"
#include "dkd/data/mat_file.h"
#include "dkd/data/penn_action.h"
#include "dkd/util/error.h"

using namespace dkd;
namespace fs = std::filesystem;

namespace {

void expect_same(const VideoRecord& a, const VideoRecord& b, bool short_bbox) {
  EXPECT_EQ(a.dataset, "penn");
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.action, b.action);
  EXPECT_EQ(a.train, b.train);
  EXPECT_EQ(a.width, b.width);
  EXPECT_EQ(a.height, b.height);
  EXPECT_EQ(a.num_joints, 13);
  EXPECT_EQ(a.frame_paths, b.frame_paths);
  ASSERT_EQ(a.joints.size(), b.joints.size());
  for (std::size_t i = 0; i < a.joints.size(); ++i) {
    EXPECT_EQ(a.joints[i].x, b.joints[i].x) << i;
    EXPECT_EQ(a.joints[i].y, b.joints[i].y) << i;
  }
  EXPECT_EQ(a.visible, b.visible);
  ASSERT_EQ(a.boxes.size(), b.boxes.size());
  for (std::size_t t = 0; t < a.boxes.size(); ++t) {
    const Box& want = short_bbox && t + 1 == b.boxes.size() ? b.boxes[t - 1] : b.boxes[t];
    EXPECT_EQ(a.boxes[t].x1, want.x1);
    EXPECT_EQ(a.boxes[t].y1, want.y1);
    EXPECT_EQ(a.boxes[t].x2, want.x2);
    EXPECT_EQ(a.boxes[t].y2, want.y2);
  }
}

}  // namespace

TEST(PennAction, ReadsEveryQuirkBackExactly) {
  const std::string root = test::fresh_dir("penn_quirks");
  int n = 0;
  for (bool compress : {false, true})
    for (MatStorage st : {MatStorage::kDouble, MatStorage::kPacked, MatStorage::kIntegerClass})
      for (bool quirky : {false, true}) {
        MatQuirks q;
        q.compress = compress;
        q.integers = st;
        q.logical_as_uint8 = quirky;
        q.short_bbox = quirky;
        q.two_byte_chars = quirky;
        char id[16];
        std::snprintf(id, sizeof(id), "%04d", ++n);
        VideoRecord v =
            test::make_record("penn", id, n % 2 ? "tennis_serve" : "jump_rope", 4 + n % 3, n % 2 == 0, 64, 48, n);
        test::write_penn_fixture(v, root, q);
        SCOPED_TRACE(std::string("video ") + id);
        if (st == MatStorage::kIntegerClass) {
          MatReader r(penn_label_path(root, id));
          EXPECT_EQ(r.numeric("x").class_name, "uint8");
          EXPECT_EQ(r.numeric("dimensions").class_name, "uint8");
          EXPECT_EQ(r.numeric("visibility").class_name, quirky ? "uint8" : "logical");
        }
        expect_same(PennAction::read_video(root, id), v, quirky);
      }
  PennAction all(root);
  EXPECT_EQ(all.videos().size(), 12u);
  PennAction train(root, "train");
  PennAction test(root, "test");
  EXPECT_EQ(train.videos().size() + test.videos().size(), 12u);
  for (const auto& v : train.videos()) EXPECT_TRUE(v.train);
  for (const auto& v : test.videos()) EXPECT_FALSE(v.train);
  // Invisible joints keep their coordinates: 0 in the file is -1 here, outside stays outside.
  const VideoRecord& v = all.videos()[0];
  EXPECT_FALSE(v.is_visible(1, 5));
  EXPECT_EQ(v.joint(1, 5).x, -1.f);
  EXPECT_GT(v.joint(1, 10).x, static_cast<float>(v.width));
}

TEST(PennAction, OneBasedInTheFileZeroBasedInMemory) {
  const std::string root = test::fresh_dir("penn_base");
  VideoRecord v = test::make_record("penn", "0001", "bowl", 2, true);
  test::write_penn_fixture(v, root);
  MatReader r(penn_label_path(root, "0001"));
  EXPECT_DOUBLE_EQ(r.numeric("x").at(0, 0), v.joint(0, 0).x + 1.0);
  EXPECT_DOUBLE_EQ(r.numeric("bbox").at(1, 3), v.boxes[1].y2 + 1.0);
  auto dims = r.numeric("dimensions");
  EXPECT_EQ(dims.data, (std::vector<double>{48, 64, 2}));
  EXPECT_EQ(r.text("pose"), "front");
  EXPECT_DOUBLE_EQ(r.scalar("train"), 1.0);
}

TEST(PennAction, CorruptFilesNameTheFileAndTheProblem) {
  const std::string root = test::fresh_dir("penn_bad");
  VideoRecord v = test::make_record("penn", "0001", "bowl", 3, true);
  test::write_penn_fixture(v, root);
  const std::string labels = penn_label_path(root, "0001");

  auto rewrite = [&](const std::function<void(MatWriter&)>& body) {
    MatWriter w(labels, true);
    body(w);
    w.close();
  };
  auto base = [&](MatWriter& w, const std::string& skip) {
    const std::vector<double> xy(3 * 13, 5.0);
    if (skip != "x") w.write_numeric("x", {3, 13}, xy);
    if (skip != "y") w.write_numeric("y", {3, 13}, xy);
    if (skip != "visibility") w.write_uint8("visibility", {3, 13}, std::vector<uint8_t>(39, 1), true);
    if (skip != "bbox") w.write_numeric("bbox", {3, 4}, std::vector<double>(12, 3.0));
    if (skip != "dimensions") w.write_numeric("dimensions", {1, 3}, {48, 64, 3});
    if (skip != "nframes") w.write_numeric("nframes", {1, 1}, {3});
    if (skip != "train") w.write_numeric("train", {1, 1}, {1});
    if (skip != "action") w.write_text("action", "bowl");
    if (skip != "pose") w.write_text("pose", "side");
  };
  for (const char* var : {"x", "visibility", "bbox", "nframes", "action", "pose"}) {
    rewrite([&](MatWriter& w) { base(w, var); });
    const std::string err = test::error_of<DataError>([&] { PennAction::read_video(root, "0001"); });
    EXPECT_NE(err.find(labels), std::string::npos) << err;
    EXPECT_NE(err.find(std::string("missing variable '") + var + "'"), std::string::npos) << err;
  }
  rewrite([&](MatWriter& w) {
    base(w, "x");
    w.write_numeric("x", {3, 12}, std::vector<double>(36, 1.0));
  });
  EXPECT_NE(test::error_of<DataError>([&] { PennAction::read_video(root, "0001"); }).find("shape 3x12, expected 3x13"),
            std::string::npos);
  rewrite([&](MatWriter& w) {
    base(w, "action");
    w.write_numeric("action", {1, 1}, {4});
  });
  EXPECT_NE(test::error_of<DataError>([&] { PennAction::read_video(root, "0001"); }).find("expected char"),
            std::string::npos);
  rewrite([&](MatWriter& w) {
    base(w, "bbox");
    w.write_numeric("bbox", {1, 4}, {1, 1, 2, 2});
  });
  EXPECT_NE(test::error_of<DataError>([&] { PennAction::read_video(root, "0001"); }).find("'bbox' has shape 1x4"),
            std::string::npos);
  // nframes disagreeing with the frames on disk.
  rewrite([&](MatWriter& w) { base(w, ""); });
  EXPECT_NO_THROW(PennAction::read_video(root, "0001"));
  fs::remove(penn_frame_path(root, "0001", 2));
  std::string err = test::error_of<DataError>([&] { PennAction::read_video(root, "0001"); });
  EXPECT_NE(err.find(labels), std::string::npos) << err;
  EXPECT_NE(err.find("nframes is 3 but"), std::string::npos) << err;
  // Truncated file.
  test::write_penn_fixture(v, root);
  test::truncate_file(labels, fs::file_size(labels) / 2);
  err = test::error_of<DataError>([&] { PennAction::read_video(root, "0001"); });
  EXPECT_NE(err.find(labels), std::string::npos) << err;
  // The data set constructor reports every bad video at once.
  VideoRecord v2 = test::make_record("penn", "0002", "bowl", 3, false);
  test::write_penn_fixture(v2, root);
  fs::remove(penn_frame_path(root, "0002", 0));
  DatasetScan scan = PennAction::scan(root);
  EXPECT_EQ(scan.videos.size(), 0u);
  ASSERT_EQ(scan.problems.size(), 2u);
  err = test::error_of<DataError>([&] { PennAction p(root); });
  EXPECT_NE(err.find("0001.mat"), std::string::npos) << err;
  EXPECT_NE(err.find("0002"), std::string::npos) << err;
}

TEST(PennAction, CorruptBytesNeverCrash) {
  const std::string root = test::fresh_dir("penn_fuzz");
  VideoRecord v = test::make_record("penn", "0001", "bowl", 2, true);
  for (bool compress : {true, false}) {
    MatQuirks q;
    q.compress = compress;
    test::write_penn_fixture(v, root, q);
    const std::string labels = penn_label_path(root, "0001");
    std::string bytes;
    {
      std::ifstream f(labels, std::ios::binary);
      bytes.assign(std::istreambuf_iterator<char>(f), {});
    }
    int errors = 0, reads = 0;
    for (std::size_t k = 0; k < bytes.size(); k += 3) {
      std::string bad = bytes;
      bad[k] = static_cast<char>(bad[k] ^ 0x5a);
      {
        std::ofstream f(labels, std::ios::binary | std::ios::trunc);
        f.write(bad.data(), static_cast<std::streamsize>(bad.size()));
      }
      try {
        PennAction::read_video(root, "0001");
        ++reads;
      } catch (const DataError& e) {
        EXPECT_EQ(e.file(), labels);
        ++errors;
      }
    }
    EXPECT_GT(errors, 0);
    EXPECT_GT(reads + errors, 0);
  }
}
