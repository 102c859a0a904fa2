#include "dkd/synth/show.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <spdlog/spdlog.h>

#include "dkd/data/image_io.h"
#include "dkd/data/dataset.h"
#include "dkd/data/skeleton.h"
#include "dkd/util/error.h"
#include "dkd/util/runtime.h"

namespace dkd {

namespace {

int side_of(const std::string& name) {
  if (name.rfind("l_", 0) == 0) return 0;
  if (name.rfind("r_", 0) == 0) return 1;
  return 2;
}

const cv::Scalar kSideColor[3] = {cv::Scalar(60, 220, 60), cv::Scalar(60, 60, 235), cv::Scalar(235, 160, 40)};

}  // namespace

void draw_annotation(cv::Mat& image, const VideoRecord& v, int t, double scale) {
  const Skeleton& sk = skeleton_for(v.dataset);
  const int J = v.num_joints;
  auto pt = [&](int j) {
    const Point2& p = v.joint(t, j);
    return cv::Point(static_cast<int>(std::lround(p.x * scale * 16)), static_cast<int>(std::lround(p.y * scale * 16)));
  };
  if (t < static_cast<int>(v.boxes.size())) {
    const Box& b = v.boxes[t];
    cv::rectangle(image, cv::Point(int(std::lround(b.x1 * scale)), int(std::lround(b.y1 * scale))),
                  cv::Point(int(std::lround(b.x2 * scale)), int(std::lround(b.y2 * scale))), cv::Scalar(0, 230, 255), 1,
                  cv::LINE_AA);
  }
  // Markers follow the person's drawn size: a pedestrian 15 pixels tall in a cell
  // (real footage) gets 1-pixel dots and lines, a person filling the cell 3-pixel ones.
  double person = 1e9;
  if (t < static_cast<int>(v.boxes.size())) person = std::max(v.boxes[t].width(), v.boxes[t].height()) * scale;
  const int radius16 = static_cast<int>(std::lround(std::clamp(person / 30.0, 1.0, 3.0) * 16));
  const int thickness = person < 60.0 ? 1 : 2;
  for (const auto& [a, b] : sk.limbs) {
    if (a >= J || b >= J) continue;
    const int sa = side_of(sk.joint_names[a]), sb = side_of(sk.joint_names[b]);
    const int side = sa == sb ? sa : 2;
    cv::line(image, pt(a), pt(b), kSideColor[side], thickness, cv::LINE_AA, 4);
  }
  for (int j = 0; j < J; ++j) {
    const cv::Scalar c = kSideColor[side_of(sk.joint_names[j])];
    const bool vis = v.visible.empty() || v.is_visible(t, j);
    cv::circle(image, pt(j), radius16, vis ? c : cv::Scalar(255, 255, 255), vis ? cv::FILLED : 1, cv::LINE_AA, 4);
    if (!vis) cv::circle(image, pt(j), radius16 * 2 / 3, c, 1, cv::LINE_AA, 4);
  }
}

std::vector<VideoRecord> pick_evenly(const std::vector<VideoRecord>& all, int count) {
  // Round-robin over the actions (in order of first appearance), so a sheet of
  // N rows shows N different actions when the set has them.
  std::vector<std::string> actions;
  std::vector<std::vector<std::size_t>> by_action;
  for (std::size_t i = 0; i < all.size(); ++i) {
    const auto it = std::find(actions.begin(), actions.end(), all[i].action);
    if (it == actions.end()) {
      actions.push_back(all[i].action);
      by_action.push_back({i});
    } else {
      by_action[static_cast<std::size_t>(it - actions.begin())].push_back(i);
    }
  }
  std::vector<VideoRecord> out;
  count = std::min<int>(count, static_cast<int>(all.size()));
  for (std::size_t round = 0; static_cast<int>(out.size()) < count; ++round) {
    for (const auto& members : by_action) {
      if (static_cast<int>(out.size()) >= count) break;
      if (round < members.size()) out.push_back(all[members[round]]);
    }
  }
  return out;
}

cv::Mat make_contact_sheet(const std::vector<VideoRecord>& videos, int frames, int cell_width, bool annotate) {
  if (videos.empty()) throw UsageError("show: no videos to draw");
  if (frames < 1) throw UsageError("--frames: must be >= 1");
  if (cell_width < 16) throw UsageError("--cell-width: must be >= 16");
  int cell_h = 0;
  for (const auto& v : videos) {
    const int h = v.width > 0 ? static_cast<int>(std::lround(double(v.height) * cell_width / v.width)) : cell_width;
    cell_h = std::max(cell_h, h);
  }
  const int gap = 2;
  cv::Mat sheet(static_cast<int>(videos.size()) * (cell_h + gap), frames * (cell_width + gap), CV_8UC3,
                cv::Scalar(30, 30, 30));
  for (std::size_t row = 0; row < videos.size(); ++row) {
    const VideoRecord& v = videos[row];
    const int T = v.num_frames();
    for (int c = 0; c < frames && T > 0; ++c) {
      const int t = frames == 1 ? 0 : static_cast<int>(std::lround(double(c) * (T - 1) / (frames - 1)));
      cv::Mat img = decode_image(v.frame_paths[t], cv::IMREAD_COLOR);
      const double scale = double(cell_width) / img.cols;
      cv::Mat cell;
      cv::resize(img, cell, cv::Size(cell_width, static_cast<int>(std::lround(img.rows * scale))), 0, 0,
                 cv::INTER_AREA);
      if (cell.rows > cell_h) cell = cell.rowRange(0, cell_h).clone();
      if (annotate) draw_annotation(cell, v, t, scale);
      const std::string label = c == 0 ? v.id + " " + v.action : "t=" + std::to_string(t + 1);
      cv::putText(cell, label, cv::Point(3, 12), cv::FONT_HERSHEY_SIMPLEX, 0.35, cv::Scalar(0, 0, 0), 3, cv::LINE_AA);
      cv::putText(cell, label, cv::Point(3, 12), cv::FONT_HERSHEY_SIMPLEX, 0.35, cv::Scalar(255, 255, 255), 1,
                  cv::LINE_AA);
      cell.copyTo(
          sheet(cv::Rect(c * (cell_width + gap), static_cast<int>(row) * (cell_h + gap), cell.cols, cell.rows)));
    }
  }
  return sheet;
}

int run_show(const ShowOptions& options) {
  if (options.videos < 1) throw UsageError("--videos: must be >= 1");
  const DatasetScan scan = scan_dataset(options.dataset, options.root, options.split);
  if (scan.videos.empty())
    throw DataError(options.root,
                    "no readable " + options.dataset + " videos" +
                        (scan.problems.empty() ? std::string() : ":\n" + format_problems(scan.problems, 5)));
  const cv::Mat sheet = make_contact_sheet(pick_evenly(scan.videos, options.videos), options.frames, options.cell_width,
                                           options.annotate);
  const std::string parent = std::filesystem::path(options.out).parent_path().string();
  if (!parent.empty()) ensure_writable_dir(parent);
  write_image_atomic(options.out, sheet);
  spdlog::info("wrote {} ({}x{} px: {} videos x {} frames)", options.out, sheet.cols, sheet.rows,
               std::min<std::size_t>(scan.videos.size(), static_cast<std::size_t>(options.videos)), options.frames);
  return 0;
}

}  // namespace dkd
