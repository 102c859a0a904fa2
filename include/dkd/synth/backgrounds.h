#pragma once
// Backgrounds of the synthetic data set: per video a large canvas, either
// procedural clutter (wall or sky gradient over a floor, shapes, tiles,
// smoothed noise) or a crop of a photograph, with limb-like distractor shapes;
// each frame sees it through the camera's pan and zoom.
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "dkd/synth/motion.h"
#include "dkd/synth/render.h"

namespace dkd {

/// Sorted list of the photographs available as backgrounds
/// (/usr/share/doc/opencv-doc/examples/data/*.jpg, when installed; may be empty).
const std::vector<std::string>& background_photo_paths();

/// Large background canvas of one video (procedural clutter, sometimes a
/// photograph), with limb-like distractor shapes.
cv::Mat make_background(SynthRng& rng, int width, int height, const SynthDifficulty& difficulty);

/// The view of `canvas` seen by the camera of a frame: `zoom` relative to the
/// first frame, pan offset in pixels (principal-point shift and camera travel).
void background_view(const cv::Mat& canvas, double zoom, double shift_x, double shift_y, cv::Mat& frame);

}  // namespace dkd
