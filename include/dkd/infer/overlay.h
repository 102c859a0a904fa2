#pragma once
// Overlay drawing and the overlay video writer of dkd_infer.
//
// draw_pose draws a tracked pose onto a frame: limbs of the data set's
// skeleton (left green, right red, centre blue), each joint as a dot whose
// size and brightness follow its confidence with the confidence printed next
// to it, the tracked box, and a caption. Markers and numbers scale with the
// box (the person), the caption with the frame; a person in a box under 160
// pixels gets no numbers. Joints below `threshold` are hidden
// (and so are limbs touching them).
//
// OverlayWriter writes frames to DIR/overlay.mp4 with OpenCV's MPEG-4 writer
// and, when this OpenCV build cannot write MP4 (no FFmpeg/GStreamer backend),
// to DIR/overlay.avi with Motion-JPEG, which OpenCV always has.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "dkd/data/video.h"

namespace dkd {

struct Skeleton;

struct DrawOptions {
  double threshold = 0.1;  ///< hide joints below this confidence (infer.draw_threshold)
  bool draw_box = true;
  bool draw_confidence = true;  ///< the number next to each joint
  std::string caption;          ///< top-left text, e.g. "frame 12  conf 0.71  init"
};

/// Draws `keypoints` (J, image pixels) with `confidence` (J) onto `image` (BGR).
/// `skeleton` may be null or have another joint count (then only joints are drawn).
void draw_pose(cv::Mat& image, const std::vector<Point2>& keypoints, const std::vector<float>& confidence,
               const Skeleton* skeleton, const Box* box, const DrawOptions& options);

class OverlayWriter {
 public:
  /// `stem` is the path without extension (DIR/overlay). Tries stem.mp4 first
  /// unless `allow_mp4` is false, then stem.avi (MJPG). Error naming the path
  /// when neither opens.
  OverlayWriter(const std::string& stem, double fps, cv::Size size, bool allow_mp4 = true);
  ~OverlayWriter();
  OverlayWriter(const OverlayWriter&) = delete;
  OverlayWriter& operator=(const OverlayWriter&) = delete;

  /// Appends a frame (resized to the writer's size if it differs).
  void write(const cv::Mat& frame);
  /// Finishes the file, checks that it reads back with every frame written (the
  /// video writers drop failed writes silently, e.g. on a full disk) and gives it
  /// its name; until then it is a temporary. Error naming the file and the free
  /// space when it does not read back (the partial file is removed). The
  /// destructor does the same without throwing, and only removes the temporary
  /// when an exception is on its way.
  void close();

  const std::string& path() const { return path_; }
  /// "mp4v" or "MJPG".
  const std::string& codec() const { return codec_; }
  bool fell_back_to_avi() const { return fell_back_; }
  int64_t frames_written() const { return frames_; }

 private:
  struct Writer;
  std::unique_ptr<Writer> writer_;
  std::string path_;
  std::string codec_;
  cv::Size size_;
  bool fell_back_ = false;
  int64_t frames_ = 0;
  int exceptions_at_start_ = 0;
};

}  // namespace dkd
