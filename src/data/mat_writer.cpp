#include "dkd/data/mat_writer.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "dkd/util/error.h"
#include "dkd/util/runtime.h"

namespace fs = std::filesystem;

namespace dkd {

namespace {

std::string zero_pad(int value, int width) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%0*d", width, value);
  return buf;
}

void make_parent(const std::string& path) {
  fs::path parent = fs::path(path).parent_path();
  if (parent.empty()) return;
  std::error_code ec;
  fs::create_directories(parent, ec);
  if (ec) throw DataError(parent.string(), "cannot create folder: " + ec.message());
}

void check_record(const VideoRecord& v, const std::string& path) {
  const std::size_t T = static_cast<std::size_t>(v.num_frames());
  const std::size_t J = static_cast<std::size_t>(v.num_joints);
  if (T == 0) throw DataError(path, "video '" + v.id + "' has no frames to write");
  if (v.joints.size() != T * J)
    throw DataError(path, "video '" + v.id + "': joints hold " + std::to_string(v.joints.size()) +
                              " points, expected frames x joints = " + std::to_string(T * J));
  if (!v.visible.empty() && v.visible.size() != T * J)
    throw DataError(path, "video '" + v.id + "': visibility size does not match frames x joints");
  if (v.boxes.size() != T)
    throw DataError(path, "video '" + v.id + "': " + std::to_string(v.boxes.size()) + " boxes for " +
                              std::to_string(T) + " frames");
}

}  // namespace

std::string penn_label_path(const std::string& root, const std::string& id) {
  return (fs::path(root) / "labels" / (id + ".mat")).string();
}

std::string penn_frame_path(const std::string& root, const std::string& id, int t) {
  return (fs::path(root) / "frames" / id / (zero_pad(t + 1, 6) + ".jpg")).string();
}

std::string jhmdb_frame_path(const std::string& root, const std::string& action, const std::string& video, int t) {
  return (fs::path(root) / "Rename_Images" / action / video / (zero_pad(t + 1, 5) + ".png")).string();
}

std::string jhmdb_joints_path(const std::string& root, const std::string& action, const std::string& video) {
  return (fs::path(root) / "joint_positions" / action / video / "joint_positions.mat").string();
}

std::string jhmdb_mask_path(const std::string& root, const std::string& action, const std::string& video) {
  return (fs::path(root) / "puppet_mask" / action / video / "puppet_mask.mat").string();
}

std::string jhmdb_split_path(const std::string& root, const std::string& action, int split) {
  return (fs::path(root) / "sub_splits" / (action + "_test_split_" + std::to_string(split) + ".txt")).string();
}

std::string jhmdb_video_name(const VideoRecord& video) {
  auto slash = video.id.find('/');
  return slash == std::string::npos ? video.id : video.id.substr(slash + 1);
}

void write_penn_labels(const VideoRecord& v, const std::string& path, const std::string& pose, const MatQuirks& q) {
  check_record(v, path);
  make_parent(path);
  const std::size_t T = static_cast<std::size_t>(v.num_frames());
  const std::size_t J = static_cast<std::size_t>(v.num_joints);
  std::vector<double> x(T * J), y(T * J);
  std::vector<unsigned char> vis(T * J);
  for (std::size_t t = 0; t < T; ++t)
    for (std::size_t j = 0; j < J; ++j) {
      const Point2& p = v.joints[t * J + j];
      x[t + T * j] = static_cast<double>(p.x) + 1.0;
      y[t + T * j] = static_cast<double>(p.y) + 1.0;
      vis[t + T * j] = v.visible.empty() ? 1 : (v.visible[t * J + j] ? 1 : 0);
    }
  const std::size_t rows = q.short_bbox && T > 1 ? T - 1 : T;
  std::vector<double> bbox(rows * 4);
  for (std::size_t t = 0; t < rows; ++t) {
    const Box& b = v.boxes[t];
    bbox[t + rows * 0] = static_cast<double>(b.x1) + 1.0;
    bbox[t + rows * 1] = static_cast<double>(b.y1) + 1.0;
    bbox[t + rows * 2] = static_cast<double>(b.x2) + 1.0;
    bbox[t + rows * 3] = static_cast<double>(b.y2) + 1.0;
  }
  MatWriter w(path, q.compress);
  w.write_numeric("x", {T, J}, x, q.integers);
  w.write_numeric("y", {T, J}, y, q.integers);
  w.write_uint8("visibility", {T, J}, vis, !q.logical_as_uint8);
  w.write_numeric("bbox", {rows, 4}, bbox, q.integers);
  w.write_numeric("dimensions", {1, 3},
                  {static_cast<double>(v.height), static_cast<double>(v.width), static_cast<double>(T)}, q.integers);
  w.write_numeric("nframes", {1, 1}, {static_cast<double>(T)}, q.integers);
  // train = -1 cannot be packed to an unsigned type: it stays double, as in MATLAB.
  w.write_numeric("train", {1, 1}, {v.train ? 1.0 : -1.0}, q.integers);
  w.write_text("action", v.action, q.two_byte_chars);
  w.write_text("pose", pose, q.two_byte_chars);
  w.close();
}

void write_jhmdb_joints(const VideoRecord& v, const std::string& path, const std::string& viewpoint,
                        const MatQuirks& q) {
  check_record(v, path);
  make_parent(path);
  const std::size_t T = static_cast<std::size_t>(v.num_frames());
  const std::size_t J = static_cast<std::size_t>(v.num_joints);
  std::vector<double> pos(2 * J * T), world(2 * J * T), scale(T);
  for (std::size_t t = 0; t < T; ++t) {
    const Box& b = v.boxes[t];
    const double cx = 0.5 * (b.x1 + b.x2) + 1.0, cy = 0.5 * (b.y1 + b.y2) + 1.0;
    const double s = v.height > 0 ? std::max(1.0, static_cast<double>(b.height())) / v.height : 1.0;
    scale[t] = s;
    for (std::size_t j = 0; j < J; ++j) {
      const Point2& p = v.joints[t * J + j];
      const double px = static_cast<double>(p.x) + 1.0, py = static_cast<double>(p.y) + 1.0;
      pos[0 + 2 * (j + J * t)] = px;
      pos[1 + 2 * (j + J * t)] = py;
      const double norm = s * std::max(1, v.height);
      world[0 + 2 * (j + J * t)] = (px - cx) / norm;
      world[1 + 2 * (j + J * t)] = (py - cy) / norm;
    }
  }
  MatWriter w(path, q.compress);
  w.write_numeric("pos_img", {2, J, T}, pos, q.integers);
  w.write_numeric("pos_world", {2, J, T}, world, MatStorage::kDouble);
  w.write_numeric("scale", {1, T}, scale, MatStorage::kDouble);
  w.write_text("viewpoint", viewpoint, q.two_byte_chars);
  w.close();
}

void write_jhmdb_part_mask(const std::vector<cv::Mat>& masks, const std::string& path, const MatQuirks& q) {
  if (masks.empty()) throw DataError(path, "no masks to write");
  const int H = masks[0].rows, W = masks[0].cols;
  const std::size_t T = masks.size();
  std::vector<unsigned char> data(static_cast<std::size_t>(H) * W * T);
  for (std::size_t t = 0; t < T; ++t) {
    const cv::Mat& m = masks[t];
    if (m.rows != H || m.cols != W || m.type() != CV_8UC1)
      throw DataError(path, "mask " + std::to_string(t) + " is not a " + std::to_string(H) + "x" + std::to_string(W) +
                                " CV_8U image");
    for (int r = 0; r < H; ++r) {
      const unsigned char* row = m.ptr<unsigned char>(r);
      for (int c = 0; c < W; ++c)
        data[static_cast<std::size_t>(r) + H * (static_cast<std::size_t>(c) + W * t)] = row[c] ? 1 : 0;
    }
  }
  make_parent(path);
  MatWriter w(path, q.compress);
  w.write_uint8("part_mask", {static_cast<std::size_t>(H), static_cast<std::size_t>(W), T}, data, !q.logical_as_uint8);
  w.close();
}

void write_jhmdb_box_mask(const VideoRecord& v, const std::string& path, const MatQuirks& q) {
  check_record(v, path);
  if (v.width <= 0 || v.height <= 0) throw DataError(path, "video '" + v.id + "' has no image size");
  std::vector<cv::Mat> masks;
  for (int t = 0; t < v.num_frames(); ++t) {
    cv::Mat m = cv::Mat::zeros(v.height, v.width, CV_8UC1);
    const Box& b = v.boxes[t];
    int x1 = std::max(0, static_cast<int>(std::lround(b.x1)));
    int y1 = std::max(0, static_cast<int>(std::lround(b.y1)));
    int x2 = std::min(v.width - 1, static_cast<int>(std::lround(b.x2)));
    int y2 = std::min(v.height - 1, static_cast<int>(std::lround(b.y2)));
    if (x2 >= x1 && y2 >= y1) m(cv::Range(y1, y2 + 1), cv::Range(x1, x2 + 1)).setTo(1);
    masks.push_back(m);
  }
  write_jhmdb_part_mask(masks, path, q);
}

void write_jhmdb_video(const VideoRecord& v, const std::string& root, const MatQuirks& q) {
  const std::string name = jhmdb_video_name(v);
  write_jhmdb_joints(v, jhmdb_joints_path(root, v.action, name), "E", q);
  write_jhmdb_box_mask(v, jhmdb_mask_path(root, v.action, name), q);
}

void write_jhmdb_split_files(const std::vector<VideoRecord>& videos, const std::string& root, int split) {
  std::map<std::string, std::string> per_action;
  for (const auto& v : videos) per_action[v.action] += jhmdb_video_name(v) + ".avi " + (v.train ? "1" : "2") + "\n";
  for (const auto& [action, text] : per_action) {
    const std::string path = jhmdb_split_path(root, action, split);
    make_parent(path);
    write_file_atomic(path, text);
  }
}

}  // namespace dkd
