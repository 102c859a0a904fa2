#include "dkd/data/dataset.h"
#include "dkd/data/sub_jhmdb.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include <opencv2/imgcodecs.hpp>
#include <spdlog/spdlog.h>

#include "dkd/data/mat_file.h"
#include "dkd/data/mat_writer.h"
#include "dkd/data/image_io.h"
#include "dkd/util/error.h"

namespace fs = std::filesystem;

namespace dkd {

namespace {

constexpr int kJhmdbJoints = 15;

std::string trim(const std::string& s) {
  const char* ws = " \t\r\n";
  auto b = s.find_first_not_of(ws);
  if (b == std::string::npos) return "";
  auto e = s.find_last_not_of(ws);
  return s.substr(b, e - b + 1);
}

/// The split files of one split: root/sub_splits/<action>_test_split_<split>.txt.
struct SplitFiles {
  std::string dir;
  std::string suffix;                                      ///< "_test_split_<split>.txt"
  std::vector<std::pair<std::string, std::string>> files;  ///< (action, path), sorted
};

/// Lists the split files of `split`; DataError when root has no sub_splits/ folder.
SplitFiles list_split_files(const std::string& root, int split) {
  SplitFiles s;
  s.dir = (fs::path(root) / "sub_splits").string();
  std::error_code ec;
  if (!fs::is_directory(s.dir, ec))
    throw DataError(s.dir, missing_dataset_message("Sub-JHMDB", root, "sub_splits/",
                                                   "sub_splits/, joint_positions/, puppet_mask/ and Rename_Images/"));
  s.suffix = "_test_split_" + std::to_string(split) + ".txt";
  for (const auto& e : fs::directory_iterator(s.dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.size() > s.suffix.size() && name.compare(name.size() - s.suffix.size(), s.suffix.size(), s.suffix) == 0)
      s.files.emplace_back(name.substr(0, name.size() - s.suffix.size()), e.path().string());
  }
  std::sort(s.files.begin(), s.files.end());
  return s;
}

}  // namespace

Box joints_extent_box(const VideoRecord& v, int t, double margin) {
  float x1 = std::numeric_limits<float>::max(), y1 = x1, x2 = -x1, y2 = -x1;
  for (int j = 0; j < v.num_joints; ++j) {
    const Point2& p = v.joint(t, j);
    x1 = std::min(x1, p.x);
    y1 = std::min(y1, p.y);
    x2 = std::max(x2, p.x);
    y2 = std::max(y2, p.y);
  }
  if (v.num_joints == 0) return {};
  const float cx = 0.5f * (x1 + x2), cy = 0.5f * (y1 + y2);
  const float hw = 0.5f * (x2 - x1) * static_cast<float>(1.0 + margin);
  const float hh = 0.5f * (y2 - y1) * static_cast<float>(1.0 + margin);
  Box b{cx - hw, cy - hh, cx + hw, cy + hh};
  if (v.width > 0 && v.height > 0) {
    b.x1 = std::clamp(b.x1, 0.f, static_cast<float>(v.width - 1));
    b.x2 = std::clamp(b.x2, 0.f, static_cast<float>(v.width - 1));
    b.y1 = std::clamp(b.y1, 0.f, static_cast<float>(v.height - 1));
    b.y2 = std::clamp(b.y2, 0.f, static_cast<float>(v.height - 1));
  }
  return b;
}

std::vector<JhmdbSplitEntry> SubJhmdb::read_split_file(const std::string& path, const std::string& action) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw DataError(path, "cannot open split file");
  std::vector<JhmdbSplitEntry> out;
  std::string line;
  int lineno = 0;
  while (std::getline(f, line)) {
    ++lineno;
    line = trim(line);
    if (line.empty()) continue;
    const auto pos = line.rfind(".avi");
    if (pos == std::string::npos || pos == 0)
      throw DataError(path, "line " + std::to_string(lineno) + ": expected '<video>.avi 1|2', got '" + line + "'");
    const std::string label = trim(line.substr(pos + 4));
    if (label != "1" && label != "2")
      throw DataError(path, "line " + std::to_string(lineno) + ": label '" + label + "' is not 1 (train) or 2 (test)");
    out.push_back({action, line.substr(0, pos), label == "1"});
  }
  if (f.bad()) throw DataError(path, "read error");
  return out;
}

std::vector<JhmdbSplitEntry> SubJhmdb::read_splits(const std::string& root, int split) {
  if (split < 1 || split > 3) throw UsageError("Sub-JHMDB split must be 1, 2 or 3, not " + std::to_string(split));
  const SplitFiles split_files = list_split_files(root, split);
  if (split_files.files.empty()) throw DataError(split_files.dir, "no split files *" + split_files.suffix);
  std::vector<JhmdbSplitEntry> out;
  for (const auto& [action, path] : split_files.files) {
    auto entries = read_split_file(path, action);
    out.insert(out.end(), entries.begin(), entries.end());
  }
  return out;
}

VideoRecord SubJhmdb::read_video(const std::string& root, const std::string& action, const std::string& video,
                                 bool train, double box_margin, bool check_frames) {
  const std::string jpath = jhmdb_joints_path(root, action, video);
  MatArray pos;
  {
    MatReader mat(jpath);
    pos = mat.numeric("pos_img");
  }
  if (pos.dims.size() > 3 || pos.dim(0) != 2 || pos.dim(1) != kJhmdbJoints || pos.dim(2) < 1)
    throw DataError(jpath, "variable 'pos_img' has shape " + pos.shape() + ", expected 2x15xT");
  for (double d : pos.data)
    if (!std::isfinite(d)) throw DataError(jpath, "variable 'pos_img' holds a non-finite value");
  const int T = static_cast<int>(pos.dim(2));
  const int J = kJhmdbJoints;

  VideoRecord v;
  v.dataset = "jhmdb";
  v.id = action + "/" + video;
  v.action = action;
  v.train = train;
  v.num_joints = J;
  v.joints.resize(static_cast<std::size_t>(T) * J);
  v.visible.assign(static_cast<std::size_t>(T) * J, 1);
  for (int t = 0; t < T; ++t) {
    v.frame_paths.push_back(jhmdb_frame_path(root, action, video, t));
    for (int j = 0; j < J; ++j)
      v.joint(t, j) = {static_cast<float>(pos.at(0, j, t) - 1.0), static_cast<float>(pos.at(1, j, t) - 1.0)};
  }

  if (check_frames)
    check_frame_files(v.frame_paths, (fs::path(root) / "Rename_Images" / action / video).string(), ".png", jpath,
                      "joint_positions lists " + std::to_string(T) + " frames",
                      "pos_img has " + std::to_string(T) + " frames");

  const std::string mpath = jhmdb_mask_path(root, action, video);
  std::error_code ec;
  if (fs::exists(mpath, ec)) {
    MatArray mask;
    {
      MatReader mat(mpath);
      mask = mat.numeric("part_mask");
    }
    if (mask.dims.size() > 3 || mask.dim(0) < 1 || mask.dim(1) < 1 || mask.dim(2) != static_cast<std::size_t>(T))
      throw DataError(mpath, "variable 'part_mask' has " + std::to_string(mask.dim(2)) + " frames of " +
                                 std::to_string(mask.dim(0)) + "x" + std::to_string(mask.dim(1)) + ", expected HxWx" +
                                 std::to_string(T));
    const std::size_t H = mask.dim(0), W = mask.dim(1);
    v.height = static_cast<int>(H);
    v.width = static_cast<int>(W);
    for (int t = 0; t < T; ++t) {
      std::size_t r1 = H, r2 = 0, c1 = W, c2 = 0;
      bool any = false;
      const double* m = mask.data.data() + H * W * static_cast<std::size_t>(t);
      for (std::size_t c = 0; c < W; ++c)
        for (std::size_t r = 0; r < H; ++r)
          if (m[r + H * c] != 0.0) {
            any = true;
            r1 = std::min(r1, r);
            r2 = std::max(r2, r);
            c1 = std::min(c1, c);
            c2 = std::max(c2, c);
          }
      if (any) {
        v.boxes.push_back(
            {static_cast<float>(c1), static_cast<float>(r1), static_cast<float>(c2), static_cast<float>(r2)});
      } else {
        spdlog::warn("{}: frame {} has an empty part_mask; using the joints' extent (margin {})", mpath, t + 1,
                     box_margin);
        v.boxes.push_back(joints_extent_box(v, t, box_margin));
      }
    }
  } else {
    if (!v.frame_paths.empty() && fs::is_regular_file(v.frame_paths[0], ec)) {
      cv::Mat img = decode_image(v.frame_paths[0], cv::IMREAD_COLOR);
      v.width = img.cols;
      v.height = img.rows;
    }
    spdlog::warn("{}: no puppet mask; person boxes from the joints' extent enlarged by {}", mpath, box_margin);
    for (int t = 0; t < T; ++t) v.boxes.push_back(joints_extent_box(v, t, box_margin));
  }
  return v;
}

DatasetScan SubJhmdb::scan(const std::string& root, int split, double box_margin) {
  DatasetScan scan;
  std::vector<JhmdbSplitEntry> entries;
  // Read every split file separately so that one malformed file does not hide the rest.
  const SplitFiles split_files = list_split_files(root, split);
  if (split_files.files.empty()) scan.problems.push_back({split_files.dir, "no split files *" + split_files.suffix});
  for (const auto& [action, path] : split_files.files) {
    try {
      auto part = read_split_file(path, action);
      entries.insert(entries.end(), part.begin(), part.end());
    } catch (const DataError& e) {
      scan.problems.push_back({e.file(), e.problem()});
    }
  }
  for (const auto& en : entries) {
    try {
      scan.videos.push_back(read_video(root, en.action, en.video, en.train, box_margin));
    } catch (const DataError& e) {
      scan.problems.push_back({e.file(), e.problem()});
    } catch (const std::exception& e) {
      scan.problems.push_back({jhmdb_joints_path(root, en.action, en.video), e.what()});
    }
  }
  return scan;
}

SubJhmdb::SubJhmdb(const std::string& root, int split, const std::string& subset, double box_margin) {
  if (subset != "train" && subset != "test" && subset != "all")
    throw UsageError("Sub-JHMDB subset must be train, test or all, not '" + subset + "'");
  if (split < 1 || split > 3) throw UsageError("Sub-JHMDB split must be 1, 2 or 3, not " + std::to_string(split));
  DatasetScan scan = SubJhmdb::scan(root, split, box_margin);
  if (!scan.problems.empty())
    throw DataError(root, std::to_string(scan.problems.size()) + " problem(s):\n" + format_problems(scan.problems));
  for (auto& v : scan.videos)
    if (subset == "all" || v.train == (subset == "train")) videos_.push_back(std::move(v));
}

}  // namespace dkd
