#pragma once
// Gaussian heatmap targets, their decoding, and the mapping of decoded heatmap
// coordinates back to image pixels. Two decoders (eval.decode):
//   argmax: SimpleBaseline's argmax, then a quarter-pixel shift toward the
//           higher neighbour;
//   dark:   distribution-aware (DARK, Zhang et al., CVPR 2020): the heatmap is
//           modulated by a Gaussian blur (its maximum kept), and the peak is
//           refined by a second-order Taylor expansion of the log-heatmap at the
//           argmax: offset = -Hessian^-1 * gradient. Exact for a Gaussian peak;
//           falls back to argmax at the border or where the log-heatmap is not
//           locally concave.
#include <string>
#include <vector>

#include <torch/torch.h>

#include "dkd/data/transforms.h"
#include "dkd/data/video.h"

namespace dkd {

/// Heatmaps [J, h, w] float with an unnormalised Gaussian (peak 1) of `sigma`
/// heatmap pixels centred at each joint (sub-pixel, heatmap coordinates).
/// `weights` (J) gets 1 for joints that are visible and inside the heatmap, else 0
/// (their heatmap is all zero).
torch::Tensor render_heatmaps(const std::vector<Point2>& joints, const std::vector<uint8_t>& visible, int width,
                              int height, double sigma, std::vector<float>* weights = nullptr);

struct HeatmapPeaks {
  torch::Tensor coords;   ///< [..., J, 2] float (x, y) in heatmap pixels
  torch::Tensor maxvals;  ///< [..., J] float peak values
};

/// Decodes heatmaps [..., J, h, w] (any device; decoded on the host, the result is
/// moved back to the heatmaps' device).
/// `sigma`: the blur of DARK's modulation in heatmap pixels (the training targets' sigma).
HeatmapPeaks decode_heatmaps(const torch::Tensor& heatmaps, HeatmapDecoder decoder = HeatmapDecoder::argmax,
                             double sigma = 2.0);

/// Heatmap coordinates [..., 2] -> image pixels through the inverse of
/// `heatmap_transform` (the crop transform downscaled to heatmap size).
Point2 heatmap_to_image(Point2 p, const CropTransform& heatmap_transform);
/// coords [T, J, 2] (CPU or any device) with one heatmap transform per frame -> [T, J, 2] CPU float.
torch::Tensor heatmap_coords_to_image(const torch::Tensor& coords,
                                      const std::vector<CropTransform>& heatmap_transforms);

}  // namespace dkd
