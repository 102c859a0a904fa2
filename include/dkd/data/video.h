#pragma once
// One annotated video, the common in-memory record of every data set reader
// (Penn Action, Sub-JHMDB, the synthetic set written in either format).
// Coordinates are 0-based pixels; the readers and writers convert from/to the
// files' MATLAB 1-based convention at the file boundary only.
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "dkd/config/kinds.h"

namespace dkd {

struct Point2 {
  float x = 0.f;
  float y = 0.f;
};

/// Both coordinates finite (a missing or diverged keypoint is NaN or infinite).
inline bool is_finite(const Point2& p) { return std::isfinite(p.x) && std::isfinite(p.y); }

/// Axis-aligned person box [x1, y1, x2, y2], 0-based pixels.
struct Box {
  float x1 = 0.f;
  float y1 = 0.f;
  float x2 = 0.f;
  float y2 = 0.f;
  float width() const { return x2 - x1; }
  float height() const { return y2 - y1; }
};

struct VideoRecord {
  std::string dataset = "penn";  ///< the format it was read from
  std::string id;                ///< penn: "0001"; jhmdb: "<action>/<video>"
  std::string action;
  bool train = false;  ///< in the training split
  int width = 0;       ///< image size in pixels
  int height = 0;
  int num_joints = 0;
  std::vector<std::string> frame_paths;  ///< absolute or root-relative paths, in order
  std::vector<Point2> joints;            ///< T*J, frame-major
  std::vector<uint8_t> visible;          ///< T*J, 1 = visible (always 1 for JHMDB)
  std::vector<Box> boxes;                ///< T, ground-truth person box per frame

  int num_frames() const { return static_cast<int>(frame_paths.size()); }
  Point2& joint(int t, int j) { return joints[static_cast<std::size_t>(t) * num_joints + j]; }
  const Point2& joint(int t, int j) const { return joints[static_cast<std::size_t>(t) * num_joints + j]; }
  bool is_visible(int t, int j) const { return visible[static_cast<std::size_t>(t) * num_joints + j] != 0; }
};

}  // namespace dkd
