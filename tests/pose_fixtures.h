#pragma once
// Hand-computable pose records for the metric tests (PCK, smoothness): every
// joint at a fixed place, every frame alike, so each expected value can be
// worked out on paper.
#include <cstddef>
#include <string>
#include <vector>

#include "dkd/config/kinds.h"
#include "dkd/data/skeleton.h"
#include "dkd/data/video.h"

namespace dkd::test {

/// A record of T frames, every joint of every frame at (10 + 5j, 20 + 3j), all
/// visible, box [0, 0, box_w, box_h] in every frame.
inline VideoRecord pose_record(const std::string& dataset, const std::string& id, const std::string& action, int T,
                               float box_w = 100.f, float box_h = 50.f) {
  const std::string kind = dataset;
  const Skeleton& sk = skeleton_for(kind);
  VideoRecord r;
  r.dataset = kind;
  r.id = id;
  r.action = action;
  r.width = 320;
  r.height = 240;
  r.num_joints = sk.num_joints();
  for (int t = 0; t < T; ++t) {
    r.frame_paths.push_back("f" + std::to_string(t) + ".jpg");
    for (int j = 0; j < r.num_joints; ++j) {
      r.joints.push_back({10.f + 5.f * j, 20.f + 3.f * j});
      r.visible.push_back(1);
    }
    r.boxes.push_back({0.f, 0.f, box_w, box_h});
  }
  return r;
}

/// The record's joints moved by (dx, dy).
inline std::vector<Point2> offset(const VideoRecord& r, float dx, float dy) {
  std::vector<Point2> p = r.joints;
  for (auto& q : p) {
    q.x += dx;
    q.y += dy;
  }
  return p;
}

/// Point of joint j in frame t of frame-major points `p` laid out like `r`.
inline Point2& at(std::vector<Point2>& p, const VideoRecord& r, int t, int j) {
  return p[static_cast<std::size_t>(t) * r.num_joints + j];
}

}  // namespace dkd::test
