#pragma once
// How well the tracker's box network (models/box_net.h) finds the person's box
// in crops taken around moved boxes: the box stage's validation, and a test.
//
// Each frame of each video is cropped around its ground-truth box moved by one
// of a fixed cycle of offsets (0, then +-1/2 and +-1 of train.box_shift of the
// crop's side per axis), the network's box is compared with the ground truth:
// centre error in % of the box's larger side, size error |log(predicted /
// true larger side)|; a frame is a hit when the centre is within 5% and the
// size within 10%.
#include <array>
#include <cstdint>
#include <vector>

#include <c10/core/Device.h>

#include "dkd/config/config.h"
#include "dkd/data/video.h"
#include "dkd/models/box_net.h"

namespace dkd {

struct BoxAccuracy {
  int64_t frames = 0;
  double hits = 0;              ///< frames within 5% (centre) and 10% (size)
  double centre_error_sum = 0;  ///< % of the ground-truth box's larger side
  double size_error_sum = 0;    ///< |log size ratio|
  /// The centre error's sum and frame count by how far the crop was moved:
  /// not at all, half of train.box_shift, all of it.
  std::array<double, 3> centre_error_by_shift{};
  std::array<int64_t, 3> frames_by_shift{};

  /// % of frames that are hits (0 without frames).
  double accuracy() const { return frames ? 100.0 * hits / static_cast<double>(frames) : 0.0; }
  double mean_centre_error() const { return frames ? centre_error_sum / static_cast<double>(frames) : 0.0; }
  double mean_size_error() const { return frames ? size_error_sum / static_cast<double>(frames) : 0.0; }
  double mean_centre_error_at(int shift_class) const {
    const auto i = static_cast<std::size_t>(shift_class);
    return frames_by_shift[i] ? centre_error_by_shift[i] / static_cast<double>(frames_by_shift[i]) : 0.0;
  }
};

/// The offset (fractions of the crop's side, x and y) of frame `t` in the
/// cycle, and its class (0 none, 1 half the shift, 2 the whole shift).
std::array<double, 2> box_validation_offset(int t, double shift, int* shift_class = nullptr);

/// Runs `box` (eval mode) on every frame of `videos[i]`, i % world_size == rank.
BoxAccuracy measure_box_accuracy(BoxNet& box, const std::vector<VideoRecord>& videos, const Config& config,
                                 const c10::Device& device, int rank = 0, int world_size = 1);

}  // namespace dkd
