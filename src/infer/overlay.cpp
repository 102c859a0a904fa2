#include "dkd/infer/overlay.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <utility>

#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>
#include <spdlog/spdlog.h>

#include "dkd/data/skeleton.h"
#include "dkd/util/error.h"
#include "dkd/util/runtime.h"

namespace dkd {
namespace {

enum class LimbSide { kLeft, kRight, kCentre };

LimbSide joint_side(const Skeleton* skeleton, int j) {
  if (!skeleton || j >= skeleton->num_joints()) return LimbSide::kCentre;
  const std::string& name = skeleton->joint_names[j];
  if (name.rfind("l_", 0) == 0) return LimbSide::kLeft;
  if (name.rfind("r_", 0) == 0) return LimbSide::kRight;
  return LimbSide::kCentre;
}

cv::Scalar side_colour(LimbSide side) {
  switch (side) {
    case LimbSide::kLeft:
      return {60, 220, 60};
    case LimbSide::kRight:
      return {60, 60, 230};
    default:
      return {230, 160, 40};
  }
}

cv::Scalar scaled(const cv::Scalar& c, double f) { return {c[0] * f, c[1] * f, c[2] * f}; }

}  // namespace

void draw_pose(cv::Mat& image, const std::vector<Point2>& keypoints, const std::vector<float>& confidence,
               const Skeleton* skeleton, const Box* box, const DrawOptions& options) {
  if (image.empty()) return;
  const int J = static_cast<int>(keypoints.size());
  // Text scales with the frame; joints, limbs and the per-joint numbers with the
  // person (their box), so that a 60-pixel pedestrian in a large frame is not
  // buried under its own markers. Numbers are left out below kNumbersMinSide.
  constexpr double kNumbersMinSide = 160.0;
  const double unit = std::max(1.0, std::min(image.cols, image.rows) / 240.0);
  double person_unit = unit;
  bool numbers = options.draw_confidence;
  if (box && box->width() > 0 && box->height() > 0) {
    const double side = std::min<double>(box->width(), box->height());
    person_unit = std::clamp(side / 160.0, 0.5, unit);
    numbers = numbers && side >= kNumbersMinSide;
  }
  const int thickness = std::max(1, static_cast<int>(std::lround(2 * person_unit)));
  auto conf = [&](int j) { return j < static_cast<int>(confidence.size()) ? confidence[j] : 1.f; };
  auto shown = [&](int j) { return j >= 0 && j < J && is_finite(keypoints[j]) && conf(j) >= options.threshold; };
  auto pt = [&](int j) { return cv::Point2f(keypoints[j].x, keypoints[j].y); };

  if (box && options.draw_box) {
    cv::rectangle(image, cv::Point2f(box->x1, box->y1), cv::Point2f(box->x2, box->y2), cv::Scalar(0, 220, 255),
                  std::max(1, static_cast<int>(std::lround(unit / 2))), cv::LINE_AA);
  }
  if (skeleton && skeleton->num_joints() == J) {
    for (const auto& [a, b] : skeleton->limbs) {
      if (!shown(a) || !shown(b)) continue;
      const LimbSide side =
          joint_side(skeleton, a) == joint_side(skeleton, b) ? joint_side(skeleton, a) : LimbSide::kCentre;
      const double f = 0.4 + 0.6 * std::clamp<double>(std::min(conf(a), conf(b)), 0.0, 1.0);
      cv::line(image, pt(a), pt(b), scaled(side_colour(side), f), thickness, cv::LINE_AA);
    }
  }
  const double font = 0.3 * person_unit;
  for (int j = 0; j < J; ++j) {
    if (!shown(j)) continue;
    const double c = std::clamp<double>(conf(j), 0.0, 1.0);
    const int radius = std::max(1, static_cast<int>(std::lround((2.0 + 3.0 * c) * person_unit)));
    const cv::Scalar colour = scaled(side_colour(joint_side(skeleton, j)), 0.4 + 0.6 * c);
    cv::circle(image, pt(j), radius, colour, cv::FILLED, cv::LINE_AA);
    cv::circle(image, pt(j), radius, cv::Scalar(255, 255, 255), 1, cv::LINE_AA);
    if (numbers) {
      char text[16];
      std::snprintf(text, sizeof(text), "%.2f", c);
      const cv::Point org(static_cast<int>(keypoints[j].x) + radius + 1, static_cast<int>(keypoints[j].y) - radius);
      cv::putText(image, text, org, cv::FONT_HERSHEY_SIMPLEX, font, cv::Scalar(0, 0, 0), 2, cv::LINE_AA);
      cv::putText(image, text, org, cv::FONT_HERSHEY_SIMPLEX, font, cv::Scalar(255, 255, 255), 1, cv::LINE_AA);
    }
  }
  if (!options.caption.empty()) {
    const cv::Point org(static_cast<int>(4 * unit), static_cast<int>(14 * unit));
    const double f = 0.45 * unit;
    cv::putText(image, options.caption, org, cv::FONT_HERSHEY_SIMPLEX, f, cv::Scalar(0, 0, 0), 3, cv::LINE_AA);
    cv::putText(image, options.caption, org, cv::FONT_HERSHEY_SIMPLEX, f, cv::Scalar(255, 255, 255), 1, cv::LINE_AA);
  }
}

struct OverlayWriter::Writer {
  cv::VideoWriter video;
  std::string tmp;  ///< the file being written; renamed to path_ by close()
};

OverlayWriter::OverlayWriter(const std::string& stem, double fps, cv::Size size, bool allow_mp4)
    : writer_(std::make_unique<Writer>()), size_(size), exceptions_at_start_(std::uncaught_exceptions()) {
  if (size.width <= 0 || size.height <= 0) throw Error(stem + ": overlay frame size must be positive");
  if (!(fps > 0.0)) fps = 25.0;
  // Written to a temporary with the same extension (the writer picks the format
  // by it), renamed by close() once complete.
  auto try_open = [&](const std::string& path, int fourcc) {
    writer_->tmp = atomic_temp_path(path, /*keep_extension=*/true);
    try {
      return writer_->video.open(writer_->tmp, fourcc, fps, size, true) && writer_->video.isOpened();
    } catch (const cv::Exception&) {
      return false;
    }
  };
  if (allow_mp4 && try_open(stem + ".mp4", cv::VideoWriter::fourcc('m', 'p', '4', 'v'))) {
    path_ = stem + ".mp4";
    codec_ = "mp4v";
    return;
  }
  if (allow_mp4) {
    std::error_code ec;
    std::filesystem::remove(writer_->tmp, ec);  // a zero-byte leftover of the failed attempt
    spdlog::warn("{}.mp4: this OpenCV cannot write MP4; writing {}.avi (Motion-JPEG) instead", stem, stem);
  }
  if (!try_open(stem + ".avi", cv::VideoWriter::fourcc('M', 'J', 'P', 'G'))) {
    std::error_code ec;
    std::filesystem::remove(writer_->tmp, ec);
    throw Error(stem + ".avi: cannot open a video writer (is the folder writable?)");
  }
  path_ = stem + ".avi";
  codec_ = "MJPG";
  fell_back_ = allow_mp4;
}

OverlayWriter::~OverlayWriter() {
  if (!writer_ || writer_->tmp.empty()) return;
  // Finished as by close(), unless an error is on its way: then the partial
  // video is removed, never renamed. Never throws.
  if (std::uncaught_exceptions() <= exceptions_at_start_) {
    try {
      close();
      return;
    } catch (const std::exception& e) {
      spdlog::error("{}", e.what());
    }
  }
  try {
    if (writer_->video.isOpened()) writer_->video.release();
  } catch (...) {}
  std::error_code ec;
  std::filesystem::remove(writer_->tmp, ec);
}

void OverlayWriter::write(const cv::Mat& frame) {
  if (!writer_->video.isOpened()) throw Error(path_ + ": the overlay writer is closed");
  if (frame.size() != size_) {
    cv::Mat resized;
    cv::resize(frame, resized, size_);
    writer_->video.write(resized);
  } else {
    writer_->video.write(frame);
  }
  ++frames_;
}

void OverlayWriter::close() {
  if (!writer_ || !writer_->video.isOpened()) return;
  writer_->video.release();
  // The video writers drop a failed write (a full disk) silently: the finished
  // file must read back with every frame before it takes the final name.
  const std::string tmp = std::exchange(writer_->tmp, std::string());
  int64_t readable = 0;
  try {
    cv::VideoCapture check(tmp);
    while (check.isOpened() && check.grab()) ++readable;
  } catch (const cv::Exception&) {
    readable = 0;
  }
  if (readable != frames_) {
    std::error_code ec;
    std::filesystem::remove(tmp, ec);
    throw Error("cannot write " + path_ + ": " + std::to_string(frames_) + " frames written, " +
                std::to_string(readable) + " read back (" + free_space_text(path_) +
                "); the partial video was removed");
  }
  commit_file_atomic(tmp, path_);
}

}  // namespace dkd
