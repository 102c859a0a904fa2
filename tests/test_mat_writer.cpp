// MatReader / MatWriter: every storage class and quirk round-trips; bad files
// give DataErrors that name the file.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "data_fixtures.h"
#include "dkd/data/mat_file.h"
#include "dkd/util/error.h"

using namespace dkd;

namespace {

void expect_error_names(const std::function<void()>& f, const std::string& file, const std::string& what = "") {
  try {
    f();
    ADD_FAILURE() << "no DataError for " << file;
  } catch (const DataError& e) {
    EXPECT_EQ(e.file(), file);
    EXPECT_NE(std::string(e.what()).find(file), std::string::npos);
    if (!what.empty()) {
      EXPECT_NE(e.problem().find(what), std::string::npos) << e.problem();
    }
  }
}

}  // namespace

TEST(MatFile, RoundTripsEveryStorageCompressedOrNot) {
  const std::string dir = test::fresh_dir("matrt");
  for (bool compress : {false, true}) {
    const std::string path = dir + (compress ? "/c.mat" : "/u.mat");
    {
      MatWriter w(path, compress);
      w.write_numeric("d", {2, 3}, {1.5, -2, 3, 4, 5, 6.25});
      w.write_numeric("p8", {2, 2}, {0, 1, 254, 255}, MatStorage::kPacked);
      w.write_numeric("p16", {1, 2}, {256, 65535}, MatStorage::kPacked);
      w.write_numeric("i8", {1, 3}, {7, 8, 9}, MatStorage::kIntegerClass);
      w.write_numeric("i16", {1, 2}, {300, 2}, MatStorage::kIntegerClass);
      w.write_numeric("neg", {1, 1}, {-1}, MatStorage::kIntegerClass);  // falls back to double
      w.write_numeric("cube", {2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
      w.write_uint8("L", {1, 3}, {1, 0, 1}, true);
      w.write_uint8("U", {1, 2}, {3, 0}, false);
      w.write_text("s1", "tennis_serve");
      w.write_text("s2", "jumping_jacks", true);
      w.close();
    }
    MatReader r(path);
    EXPECT_EQ(r.variables().size(), 11u);
    auto d = r.numeric("d");
    EXPECT_EQ(d.rows(), 2u);
    EXPECT_EQ(d.cols(), 3u);
    EXPECT_DOUBLE_EQ(d.at(0, 0), 1.5);
    EXPECT_DOUBLE_EQ(d.at(1, 0), -2);  // column-major
    EXPECT_DOUBLE_EQ(d.at(1, 2), 6.25);
    EXPECT_EQ(r.numeric("p8").data, (std::vector<double>{0, 1, 254, 255}));
    EXPECT_EQ(r.numeric("p16").data, (std::vector<double>{256, 65535}));
    auto i8 = r.numeric("i8");
    EXPECT_EQ(i8.class_name, "uint8");
    EXPECT_EQ(i8.data, (std::vector<double>{7, 8, 9}));
    auto i16 = r.numeric("i16");
    EXPECT_EQ(i16.class_name, "uint16");
    EXPECT_EQ(i16.data, (std::vector<double>{300, 2}));
    EXPECT_DOUBLE_EQ(r.scalar("neg"), -1);
    auto cube = r.numeric("cube");
    ASSERT_EQ(cube.dims.size(), 3u);
    EXPECT_DOUBLE_EQ(cube.at(1, 0, 1), 6);
    auto L = r.numeric("L");
    EXPECT_TRUE(L.logical);
    EXPECT_EQ(L.data, (std::vector<double>{1, 0, 1}));
    EXPECT_FALSE(r.numeric("U").logical);
    EXPECT_EQ(r.text("s1"), "tennis_serve");
    EXPECT_EQ(r.text("s2"), "jumping_jacks");
  }
}

TEST(MatFile, BadFilesGiveErrorsNamingTheFile) {
  const std::string dir = test::fresh_dir("matbad");
  const std::string missing = dir + "/missing.mat";
  expect_error_names([&] { MatReader r(missing); }, missing, "cannot open");
  const std::string text = dir + "/text.mat";
  {
    std::ofstream(text) << "this is not a MAT file at all, just text; it is long enough to have a "
                           "128-byte header but the header does not start with the magic text....";
  }
  expect_error_names([&] { MatReader r(text); }, text, "not a MAT file");
  const std::string tiny = dir + "/tiny.mat";
  { std::ofstream(tiny) << "MATLAB"; }
  expect_error_names([&] { MatReader r(tiny); }, tiny, "not a MAT file");

  for (bool compress : {false, true}) {
    const std::string path = dir + "/good.mat";
    {
      MatWriter w(path, compress);
      w.write_numeric("x", {3, 13}, std::vector<double>(39, 2.5));
      w.write_text("action", "bowl");
    }
    {
      MatReader r(path);
      expect_error_names([&] { r.numeric("nope"); }, path, "missing variable 'nope'");
      expect_error_names([&] { r.numeric("action"); }, path, "class char");
      expect_error_names([&] { r.text("x"); }, path, "expected char");
      expect_error_names([&] { r.scalar("x"); }, path, "expected 1");
    }
    const auto size = std::filesystem::file_size(path);
    // Every truncation inside the variables is an error naming the file, never a crash.
    for (std::uintmax_t cut = 0; cut + 8 < size; cut += 7) {
      const std::string bad = dir + "/trunc.mat";
      std::filesystem::copy_file(path, bad, std::filesystem::copy_options::overwrite_existing);
      test::truncate_file(bad, cut);
      expect_error_names(
          [&] {
            MatReader r(bad);
            r.numeric("x");
            r.text("action");
          },
          bad);
    }
  }
}
