#pragma once
// Backgrounds of the synthetic data set: per video a large canvas, either
// procedural clutter (wall or sky gradient over a floor, shapes, tiles,
// smoothed noise) or a crop of a photograph, with limb-like distractor shapes;
// each frame sees it through the camera's pan and zoom. The photographs are
// chosen by SynthOptions::backgrounds (`dkd_data synth --backgrounds`):
// "photos" (Debian's opencv-doc samples), "procedural" (none) or a folder.
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "dkd/synth/motion.h"
#include "dkd/synth/render.h"

namespace dkd {

/// The smallest image a background is cut from (pixels).
constexpr int kMinBackgroundWidth = 160;
constexpr int kMinBackgroundHeight = 120;

/// The images of a set's photographic backgrounds, decoded once and shared
/// read-only by every video. Empty: every background is procedural.
struct BackgroundPhotos {
  std::vector<std::string> paths;  ///< the files used, sorted by file name
  std::vector<cv::Mat> images;     ///< decoded (BGR), one per path
};

/// The image files a --backgrounds value names, sorted by file name: none for
/// "procedural"; the *.jpg of `photo_dir` (the opencv-doc photographs) for
/// "photos"; the *.jpg, *.jpeg and *.png (any case) of the folder otherwise.
/// UsageError naming the folder when "photos" finds none (with how to install
/// them and the alternatives), or the folder is missing or holds no image.
std::vector<std::string> background_image_paths(const std::string& backgrounds, const std::string& photo_dir);

/// Decodes the images of background_image_paths. "photos" skips a photograph
/// that cannot be decoded or is smaller than kMinBackgroundWidth x
/// kMinBackgroundHeight (DataError when none is left); a folder's image like
/// that is a DataError naming it.
BackgroundPhotos load_background_photos(const std::string& backgrounds, const std::string& photo_dir);

/// Large background canvas of one video: procedural clutter or, with
/// probability difficulty.photo_probability when `photos` is not empty, a
/// random crop of one of them; then limb-like distractor shapes. Without
/// photos no random number is drawn for that choice.
cv::Mat make_background(SynthRng& rng, int width, int height, const SynthDifficulty& difficulty,
                        const std::vector<cv::Mat>& photos);

/// The view of `canvas` seen by the camera of a frame: `zoom` relative to the
/// first frame, pan offset in pixels (principal-point shift and camera travel).
void background_view(const cv::Mat& canvas, double zoom, double shift_x, double shift_y, cv::Mat& frame);

}  // namespace dkd
