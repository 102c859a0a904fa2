#pragma once
// Small Penn Action / Sub-JHMDB fixtures written with the project's matio
// writer, shared by the data tests. Deterministic: everything derives from the
// arguments.
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "common.h"
#include "dkd/data/mat_writer.h"
#include "dkd/data/video.h"

namespace dkd::test {

/// A fresh empty folder under the test temp dir.

/// A record with integer-valued (0-based) joints and boxes inside a W x H image;
/// joint j of frame t moves smoothly. Every 5th joint of odd frames is
/// invisible at (-1, -1) (file value 0) or outside the image.
inline VideoRecord make_record(const std::string& dataset, const std::string& id, const std::string& action, int T,
                               bool train, int W = 64, int H = 48, int seed = 0) {
  VideoRecord v;
  v.dataset = dataset;
  v.id = id;
  v.action = action;
  v.train = train;
  v.width = W;
  v.height = H;
  v.num_joints = dataset == "penn" ? 13 : 15;
  const int J = v.num_joints;
  v.joints.resize(static_cast<std::size_t>(T) * J);
  v.visible.assign(static_cast<std::size_t>(T) * J, 1);
  for (int t = 0; t < T; ++t) {
    float x1 = 1e9f, y1 = 1e9f, x2 = -1e9f, y2 = -1e9f;
    for (int j = 0; j < J; ++j) {
      const int x = 16 + (j * 7 + t * 2 + seed * 3) % 32;
      const int y = 10 + (j * 5 + t + seed) % 28;
      v.joint(t, j) = {static_cast<float>(x), static_cast<float>(y)};
      x1 = std::min(x1, float(x));
      y1 = std::min(y1, float(y));
      x2 = std::max(x2, float(x));
      y2 = std::max(y2, float(y));
    }
    v.boxes.push_back({x1, y1, x2, y2});
    if (dataset == "penn" && t % 2 == 1) {
      v.visible[static_cast<std::size_t>(t) * J + 5] = 0;
      v.joint(t, 5) = {-1.f, -1.f};  // 0 in the file
      v.visible[static_cast<std::size_t>(t) * J + 10] = 0;
      v.joint(t, 10) = {static_cast<float>(W + 30), -20.f};  // outside the image
    }
  }
  return v;
}

/// A textured frame with a bright dot at each visible joint.
inline cv::Mat make_frame(const VideoRecord& v, int t) {
  cv::Mat img(v.height, v.width, CV_8UC3);
  for (int y = 0; y < v.height; ++y)
    for (int x = 0; x < v.width; ++x)
      img.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<uchar>((x * 4 + t * 9) % 256), static_cast<uchar>((y * 5) % 256),
                                          static_cast<uchar>((x + y) % 256));
  return img;
}

/// Writes a Penn video (frames + labels) under root; fills frame_paths.
inline void write_penn_fixture(VideoRecord& v, const std::string& root, const MatQuirks& q = {}) {
  v.frame_paths.clear();
  const int T = static_cast<int>(v.boxes.size());
  for (int t = 0; t < T; ++t) {
    const std::string p = penn_frame_path(root, v.id, t);
    std::filesystem::create_directories(std::filesystem::path(p).parent_path());
    cv::imwrite(p, make_frame(v, t));
    v.frame_paths.push_back(p);
  }
  write_penn_labels(v, penn_label_path(root, v.id), "front", q);
}

/// Writes a JHMDB video (frames, joints, box masks unless `with_mask` is false).
inline void write_jhmdb_fixture(VideoRecord& v, const std::string& root, const MatQuirks& q = {},
                                bool with_mask = true) {
  v.frame_paths.clear();
  const std::string name = jhmdb_video_name(v);
  const int T = static_cast<int>(v.boxes.size());
  for (int t = 0; t < T; ++t) {
    const std::string p = jhmdb_frame_path(root, v.action, name, t);
    std::filesystem::create_directories(std::filesystem::path(p).parent_path());
    cv::imwrite(p, make_frame(v, t));
    v.frame_paths.push_back(p);
  }
  write_jhmdb_joints(v, jhmdb_joints_path(root, v.action, name), "E", q);
  if (with_mask) write_jhmdb_box_mask(v, jhmdb_mask_path(root, v.action, name), q);
}

/// Truncates a file to `bytes`.
inline void truncate_file(const std::string& path, std::uintmax_t bytes) { std::filesystem::resize_file(path, bytes); }

}  // namespace dkd::test
