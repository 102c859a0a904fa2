#pragma once
// Geometric and photometric transforms of the clip pipeline.
//
// A CropTransform is the 2x3 affine map from image pixels to crop (network
// input or heatmap) pixels, with an exact inverse. Pixel-centre convention, as
// cv::warpAffine: the crop region of size (region_w, region_h) around `center`
// covers the output pixels [-0.5, out_w - 0.5] x [-0.5, out_h - 0.5], so the
// same region mapped to the input size and to input/stride is consistent.
#include <array>
#include <vector>

#include <opencv2/core.hpp>
#include <torch/torch.h>

#include "dkd/config/input_norm.h"
#include "dkd/data/video.h"

namespace dkd {

struct Skeleton;

struct CropTransform {
  /// Row-major [a b c; d e f]: x' = a x + b y + c, y' = d x + e y + f.
  std::array<double, 6> m{1, 0, 0, 0, 1, 0};
  int out_w = 0;
  int out_h = 0;
  bool flipped = false;  ///< horizontal flip included (joints must be swapped left/right)

  /// Region of `region_w` x `region_h` image pixels centred at `center`, rotated
  /// by `rotation_deg` (counter-clockwise in the image, as SimpleBaseline),
  /// optionally mirrored, mapped onto an out_w x out_h crop.
  static CropTransform make(Point2 center, double region_w, double region_h, double rotation_deg, bool flip, int out_w,
                            int out_h);

  Point2 apply(Point2 p) const;
  Point2 apply_inverse(Point2 p) const;
  /// Exact inverse (crop -> image); its out size is left 0.
  CropTransform inverse() const;
  /// The same region mapped to a crop `1/stride` the size (e.g. input -> heatmap).
  CropTransform downscaled(int stride) const;
  /// 2x3 CV_64F matrix for cv::warpAffine.
  cv::Mat to_mat() const;
};

/// The transforms' matrices as one [N, 2, 3] double tensor (CPU).
torch::Tensor crop_matrices(const std::vector<CropTransform>& transforms);

/// Box enlarged by `scale` and widened/heightened to `aspect` (= w / h), centre kept.
/// Returns {center, region_w, region_h}; degenerate boxes get at least 1 px.
struct Region {
  Point2 center;
  double width = 1.0;
  double height = 1.0;
};
Region box_region(const Box& box, double scale, double aspect);
/// Union of boxes.
Box box_union(const std::vector<Box>& boxes);

/// A box as the box network codes it in a crop (models/box_net.h): its centre
/// relative to the crop's centre, in crop sides, and the log of its size over
/// the crop's: {(cx + 1/2) / out_w - 1/2, (cy + 1/2) / out_h - 1/2, log(w / out_w), log(h / out_h)}
/// (crop pixel i covers [i - 1/2, i + 1/2]),
/// with the box mapped through `crop` (image -> crop pixels; under a rotation,
/// the bounds of its mapped corners).
using BoxCode = std::array<float, 4>;
BoxCode box_to_crop_code(const Box& box, const CropTransform& crop);
/// The inverse: the image box a code in `crop` stands for (finite sizes; codes
/// are clamped to boxes between 1/64 and 8 crop sides).
Box box_from_crop_code(const BoxCode& code, const CropTransform& crop);
/// Codes [N, 4] (any device), row i in the crop of `crops[i]` -> image boxes.
std::vector<Box> boxes_from_crop_codes(const torch::Tensor& codes, const std::vector<CropTransform>& crops);

/// Warps an image into the crop (bilinear, constant black border).
cv::Mat warp_image(const cv::Mat& image, const CropTransform& transform);
/// The same into `out`, whose buffer is reused when it already has the crop's size.
void warp_image(const cv::Mat& image, const CropTransform& transform, cv::Mat& out);

/// Maps one frame's joints through `transform`; when the transform is flipped,
/// left/right joints are swapped with `skeleton` (index j of the result is
/// joint j of the mirrored person). `visible` is swapped the same way.
void transform_joints(const CropTransform& transform, const Skeleton& skeleton, std::vector<Point2>& joints,
                      std::vector<uint8_t>& visible);

/// Horizontal flip of joints in an image of width `width` with left/right
/// swap: x -> width - 1 - x. Applying it twice is the identity.
std::vector<Point2> flip_joints(const std::vector<Point2>& joints, int width, const Skeleton& skeleton);
/// Left/right swap of per-joint values (heatmaps along dim `joint_dim`).
torch::Tensor swap_joints(const torch::Tensor& t, const Skeleton& skeleton, int64_t joint_dim);

/// Photometric jitter: brightness, contrast and saturation factors in
/// [1 - strength, 1 + strength], drawn once per clip and applied to every frame.
struct ColorJitter {
  double brightness = 1.0;
  double contrast = 1.0;
  double saturation = 1.0;
  void apply(cv::Mat& bgr) const;  ///< in place, CV_8UC3
};

/// BGR uint8 image -> [3, H, W] float RGB normalised with ImageNet mean/std.
torch::Tensor image_to_tensor(const cv::Mat& bgr);
/// The same values written to `chw` (3 * rows * cols floats, planar RGB) in one
/// pass over the pixels: what image_to_tensor computes, without its temporaries
/// (the tracker writes each crop straight into its input tensor).
void image_to_chw(const cv::Mat& bgr, float* chw);
/// Inverse of image_to_tensor ([3, H, W] -> BGR uint8), for overlays and tests.
cv::Mat tensor_to_image(const torch::Tensor& chw);

/// Next-frame box: extent of the joints with confidence >= `min_confidence`
/// enlarged by `scale`, blended with `previous` (new = s*previous + (1-s)*extent,
/// s = smoothing) and clamped to overlap the image. At least 2 confident joints
/// are needed; otherwise `previous` is kept. Each side of the extent stays
/// within [kMaxBoxShrink, kMaxBoxGrowth] times the previous box's side (and at
/// least 8 pixels).
constexpr double kMaxBoxShrink = 0.8;
constexpr double kMaxBoxGrowth = 1.25;
Box next_box_from_keypoints(const std::vector<Point2>& keypoints, const std::vector<float>& confidence,
                            const Box& previous, double min_confidence, double scale, double smoothing,
                            cv::Size image_size);

}  // namespace dkd
