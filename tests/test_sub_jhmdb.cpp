// Sub-JHMDB reader: split files with awkward names, joints and mask boxes read
// back exactly, the joints-extent fallback, and clear errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "data_fixtures.h"
#include "dkd/data/mat_file.h"
#include "dkd/data/sub_jhmdb.h"
#include "dkd/util/error.h"

using namespace dkd;
namespace fs = std::filesystem;

namespace {

void expect_same(const VideoRecord& a, const VideoRecord& b) {
  EXPECT_EQ(a.dataset, "jhmdb");
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.action, b.action);
  EXPECT_EQ(a.train, b.train);
  EXPECT_EQ(a.width, b.width);
  EXPECT_EQ(a.height, b.height);
  EXPECT_EQ(a.frame_paths, b.frame_paths);
  ASSERT_EQ(a.joints.size(), b.joints.size());
  for (std::size_t i = 0; i < a.joints.size(); ++i) {
    EXPECT_EQ(a.joints[i].x, b.joints[i].x);
    EXPECT_EQ(a.joints[i].y, b.joints[i].y);
  }
  EXPECT_EQ(a.visible, std::vector<uint8_t>(a.joints.size(), 1));
  ASSERT_EQ(a.boxes.size(), b.boxes.size());
  for (std::size_t t = 0; t < a.boxes.size(); ++t) {
    EXPECT_EQ(a.boxes[t].x1, b.boxes[t].x1);
    EXPECT_EQ(a.boxes[t].y1, b.boxes[t].y1);
    EXPECT_EQ(a.boxes[t].x2, b.boxes[t].x2);
    EXPECT_EQ(a.boxes[t].y2, b.boxes[t].y2);
  }
}

}  // namespace

TEST(SubJhmdb, AwkwardNamesAndQuirksReadBackExactly) {
  const std::string root = test::fresh_dir("jhmdb_names");
  const std::vector<std::string> names = {"Pirates_of_the_Caribbean!_catch_f_cm_np1_ba_med_0",
                                          "Faith@Rewarded_(1)_catch+throw_u_cm_np1_fr_goo_2",
                                          "v.1.avi.2_golf_f_nm_np1_ri_goo_1"};
  std::vector<VideoRecord> written;
  for (std::size_t i = 0; i < names.size(); ++i) {
    const std::string action = i == 2 ? "golf" : "catch";
    MatQuirks q;
    q.compress = i != 1;
    q.integers = i == 0 ? MatStorage::kPacked : (i == 1 ? MatStorage::kIntegerClass : MatStorage::kDouble);
    q.logical_as_uint8 = i == 2;
    q.two_byte_chars = i == 1;
    VideoRecord v = test::make_record("jhmdb", action + "/" + names[i], action, 3 + static_cast<int>(i), i != 1, 64, 48,
                                      static_cast<int>(i));
    test::write_jhmdb_fixture(v, root, q);
    written.push_back(v);
  }
  write_jhmdb_split_files(written, root, 1);
  {  // Windows line endings and a trailing blank line are tolerated.
    std::ofstream f(jhmdb_split_path(root, "golf", 2), std::ios::binary);
    f << names[2] << ".avi 2\r\n\r\n";
  }
  auto entries = SubJhmdb::read_splits(root, 1);
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].action, "catch");
  EXPECT_EQ(entries[2].video, names[2]);
  auto split2 = SubJhmdb::read_splits(root, 2);
  ASSERT_EQ(split2.size(), 1u);
  EXPECT_EQ(split2[0].video, names[2]);
  EXPECT_FALSE(split2[0].train);

  SubJhmdb all(root, 1);
  ASSERT_EQ(all.videos().size(), 3u);
  for (const auto& w : written) {
    auto it =
        std::find_if(all.videos().begin(), all.videos().end(), [&](const VideoRecord& r) { return r.id == w.id; });
    ASSERT_NE(it, all.videos().end()) << w.id;
    expect_same(*it, w);
  }
  EXPECT_EQ(SubJhmdb(root, 1, "train").videos().size(), 2u);
  EXPECT_EQ(SubJhmdb(root, 1, "test").videos().size(), 1u);

  // pos_img is 2 x 15 x T and 1-based in the file.
  MatReader r(jhmdb_joints_path(root, "catch", names[0]));
  auto pos = r.numeric("pos_img");
  ASSERT_EQ(pos.dims, (std::vector<std::size_t>{2, 15, 3}));
  EXPECT_DOUBLE_EQ(pos.at(1, 4, 2), written[0].joint(2, 4).y + 1.0);
}

TEST(SubJhmdb, WithoutMasksTheBoxIsTheJointsExtentWithMargin) {
  const std::string root = test::fresh_dir("jhmdb_nomask");
  VideoRecord v = test::make_record("jhmdb", "run/a_b", "run", 2, true, 64, 48);
  test::write_jhmdb_fixture(v, root, {}, /*with_mask=*/false);
  write_jhmdb_split_files({v}, root, 3);
  VideoRecord r = SubJhmdb::read_video(root, "run", "a_b", true, 0.5);
  EXPECT_EQ(r.width, 64);  // from the first frame
  EXPECT_EQ(r.height, 48);
  for (int t = 0; t < 2; ++t) {
    const Box& gt = v.boxes[static_cast<std::size_t>(t)];  // joints' extent
    const float cx = 0.5f * (gt.x1 + gt.x2), hw = 0.75f * (gt.x2 - gt.x1);
    EXPECT_FLOAT_EQ(r.boxes[static_cast<std::size_t>(t)].x1, std::max(0.f, cx - hw));
    EXPECT_FLOAT_EQ(r.boxes[static_cast<std::size_t>(t)].x2, std::min(63.f, cx + hw));
    EXPECT_GT(r.boxes[static_cast<std::size_t>(t)].height(), gt.height());
  }
}

TEST(SubJhmdb, BadFilesNameTheFileAndTheProblem) {
  const std::string root = test::fresh_dir("jhmdb_bad");
  VideoRecord v = test::make_record("jhmdb", "pick/x", "pick", 3, true);
  test::write_jhmdb_fixture(v, root);
  const std::string joints = jhmdb_joints_path(root, "pick", "x");
  const std::string mask = jhmdb_mask_path(root, "pick", "x");

  {  // pos_img of the wrong shape
    MatWriter w(joints);
    w.write_numeric("pos_img", {2, 13, 3}, std::vector<double>(78, 3.0));
  }
  std::string err = test::error_of<DataError>([&] { SubJhmdb::read_video(root, "pick", "x", true); });
  EXPECT_NE(err.find(joints), std::string::npos) << err;
  EXPECT_NE(err.find("expected 2x15xT"), std::string::npos) << err;
  {  // missing variable
    MatWriter w(joints);
    w.write_numeric("pos_world", {2, 15, 3}, std::vector<double>(90, 3.0));
  }
  err = test::error_of<DataError>([&] { SubJhmdb::read_video(root, "pick", "x", true); });
  EXPECT_NE(err.find("missing variable 'pos_img'"), std::string::npos) << err;
  // A mask with the wrong number of frames.
  write_jhmdb_joints(v, joints);
  VideoRecord shorter = v;
  shorter.frame_paths.pop_back();
  shorter.boxes.pop_back();
  shorter.joints.resize(2 * 15);
  shorter.visible.resize(2 * 15);
  write_jhmdb_box_mask(shorter, mask);
  err = test::error_of<DataError>([&] { SubJhmdb::read_video(root, "pick", "x", true); });
  EXPECT_NE(err.find(mask), std::string::npos) << err;
  // Frames on disk disagreeing with pos_img.
  write_jhmdb_box_mask(v, mask);
  EXPECT_NO_THROW(SubJhmdb::read_video(root, "pick", "x", true));
  fs::remove(v.frame_paths[1]);
  err = test::error_of<DataError>([&] { SubJhmdb::read_video(root, "pick", "x", true); });
  EXPECT_NE(err.find("pos_img has 3 frames but"), std::string::npos) << err;
  // A truncated mask file.
  test::write_jhmdb_fixture(v, root);
  test::truncate_file(mask, 200);
  err = test::error_of<DataError>([&] { SubJhmdb::read_video(root, "pick", "x", true); });
  EXPECT_NE(err.find(mask), std::string::npos) << err;
  // Malformed split lines.
  const std::string split = jhmdb_split_path(root, "pick", 1);
  fs::create_directories(fs::path(split).parent_path());
  { std::ofstream(split) << "x.avi 1\nno_extension 1\n"; }
  err = test::error_of<DataError>([&] { SubJhmdb::read_split_file(split, "pick"); });
  EXPECT_NE(err.find(split), std::string::npos) << err;
  EXPECT_NE(err.find("line 2"), std::string::npos) << err;
  { std::ofstream(split) << "x.avi 3\n"; }
  err = test::error_of<DataError>([&] { SubJhmdb::read_split_file(split, "pick"); });
  EXPECT_NE(err.find("label '3'"), std::string::npos) << err;
  // The scan reports the split problem and keeps going.
  DatasetScan scan = SubJhmdb::scan(root, 1);
  EXPECT_EQ(scan.problems.size(), 1u);
}
