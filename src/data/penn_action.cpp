#include "dkd/data/dataset.h"
#include "dkd/data/penn_action.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "dkd/data/mat_file.h"
#include "dkd/data/mat_writer.h"
#include "dkd/data/skeleton.h"
#include "dkd/util/error.h"

namespace fs = std::filesystem;

namespace dkd {

namespace {

constexpr int kPennJoints = 13;

void expect_shape(const std::string& path, const MatArray& a, std::size_t rows, std::size_t cols) {
  if (a.dims.size() != 2 || a.rows() != rows || a.cols() != cols)
    throw DataError(path, "variable '" + a.name + "' has shape " + a.shape() + ", expected " + std::to_string(rows) +
                              "x" + std::to_string(cols));
}

void expect_finite(const std::string& path, const MatArray& a) {
  for (double v : a.data)
    if (!std::isfinite(v)) throw DataError(path, "variable '" + a.name + "' holds a non-finite value");
}

}  // namespace

VideoRecord PennAction::read_labels(const std::string& path, const std::string& root, const std::string& id) {
  MatReader mat(path);
  const double nframes_d = mat.scalar("nframes");
  if (!(nframes_d >= 1) || nframes_d != std::floor(nframes_d) || nframes_d > 1e6)
    throw DataError(path, "variable 'nframes' is " + std::to_string(nframes_d) + ", expected a positive integer");
  const std::size_t T = static_cast<std::size_t>(nframes_d);
  const std::size_t J = kPennJoints;

  MatArray x = mat.numeric("x");
  MatArray y = mat.numeric("y");
  MatArray vis = mat.numeric("visibility");
  MatArray bbox = mat.numeric("bbox");
  MatArray dims = mat.numeric("dimensions");
  const double train = mat.scalar("train");
  const std::string action = mat.text("action");
  mat.text("pose");  // must be present and char

  expect_shape(path, x, T, J);
  expect_shape(path, y, T, J);
  expect_shape(path, vis, T, J);
  expect_finite(path, x);
  expect_finite(path, y);
  if (bbox.dims.size() != 2 || bbox.cols() != 4 || (bbox.rows() != T && !(T > 1 && bbox.rows() == T - 1)))
    throw DataError(path, "variable 'bbox' has shape " + bbox.shape() + ", expected " + std::to_string(T) + "x4 (or " +
                              std::to_string(T - 1) + "x4)");
  expect_finite(path, bbox);
  if (dims.numel() != 3) throw DataError(path, "variable 'dimensions' has shape " + dims.shape() + ", expected 1x3");
  const double H = dims.data[0], W = dims.data[1];
  if (!(H >= 1 && W >= 1 && H <= 100000 && W <= 100000))
    throw DataError(path,
                    "variable 'dimensions' gives an invalid image size " + std::to_string(H) + "x" + std::to_string(W));
  if (dims.data[2] != nframes_d)
    throw DataError(path, "dimensions say " + std::to_string(static_cast<long>(dims.data[2])) +
                              " frames but nframes is " + std::to_string(T));
  if (train != 1.0 && train != -1.0)
    throw DataError(path, "variable 'train' is " + std::to_string(train) + ", expected 1 or -1");
  if (action.empty()) throw DataError(path, "variable 'action' is empty");

  VideoRecord v;
  v.dataset = "penn";
  v.id = id;
  v.action = action;
  v.train = train > 0;
  v.width = static_cast<int>(W);
  v.height = static_cast<int>(H);
  v.num_joints = static_cast<int>(J);
  v.joints.resize(T * J);
  v.visible.resize(T * J);
  for (std::size_t t = 0; t < T; ++t) {
    v.frame_paths.push_back(penn_frame_path(root, id, static_cast<int>(t)));
    for (std::size_t j = 0; j < J; ++j) {
      v.joints[t * J + j] = {static_cast<float>(x.at(t, j) - 1.0), static_cast<float>(y.at(t, j) - 1.0)};
      // NaN compares unequal to 0 but means "no annotation".
      const double seen = vis.at(t, j);
      v.visible[t * J + j] = !std::isnan(seen) && seen != 0.0 ? 1 : 0;
    }
    const std::size_t r = std::min(t, bbox.rows() - 1);  // short bbox: repeat the last row
    Box b{static_cast<float>(bbox.at(r, 0) - 1.0), static_cast<float>(bbox.at(r, 1) - 1.0),
          static_cast<float>(bbox.at(r, 2) - 1.0), static_cast<float>(bbox.at(r, 3) - 1.0)};
    if (b.x2 < b.x1) std::swap(b.x1, b.x2);
    if (b.y2 < b.y1) std::swap(b.y1, b.y2);
    v.boxes.push_back(b);
  }
  return v;
}

VideoRecord PennAction::read_video(const std::string& root, const std::string& id, bool check_frames) {
  const std::string path = penn_label_path(root, id);
  VideoRecord v = read_labels(path, root, id);
  if (check_frames) {
    const std::string T = std::to_string(v.num_frames());
    check_frame_files(v.frame_paths, (fs::path(root) / "frames" / id).string(), ".jpg", path,
                      "labels list " + T + " frames", "nframes is " + T);
  }
  return v;
}

DatasetScan PennAction::scan(const std::string& root) {
  const fs::path labels = fs::path(root) / "labels";
  std::error_code ec;
  if (!fs::is_directory(labels, ec))
    throw DataError(labels.string(), missing_dataset_message("Penn Action", root, "labels/",
                                                             "labels/NNNN.mat and frames/NNNN/NNNNNN.jpg"));
  std::vector<std::string> ids;
  for (const auto& e : fs::directory_iterator(labels, ec))
    if (e.path().extension() == ".mat") ids.push_back(e.path().stem().string());
  std::sort(ids.begin(), ids.end());
  DatasetScan scan;
  if (ids.empty()) scan.problems.push_back({labels.string(), "no .mat annotation files"});
  for (const auto& id : ids) {
    try {
      scan.videos.push_back(read_video(root, id));
    } catch (const DataError& e) {
      scan.problems.push_back({e.file(), e.problem()});
    } catch (const std::exception& e) {
      scan.problems.push_back({penn_label_path(root, id), e.what()});
    }
  }
  return scan;
}

PennAction::PennAction(const std::string& root, const std::string& subset) {
  if (subset != "train" && subset != "test" && subset != "all")
    throw UsageError("Penn Action subset must be train, test or all, not '" + subset + "'");
  DatasetScan scan = PennAction::scan(root);
  if (!scan.problems.empty())
    throw DataError(root, std::to_string(scan.problems.size()) + " problem(s):\n" + format_problems(scan.problems));
  for (auto& v : scan.videos)
    if (subset == "all" || v.train == (subset == "train")) videos_.push_back(std::move(v));
}

}  // namespace dkd
