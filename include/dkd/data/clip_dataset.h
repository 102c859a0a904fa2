#pragma once
// Clip pipeline: turns VideoRecords into network samples.
//
// Training samples are clips of T frames with a random temporal stride in
// [data.stride_min, data.stride_max]. Each frame is cropped around its own
// person box (enlarged data.box_scale, aspect kept to the input aspect), as
// dkd_eval crops test frames, so a streaming model sees the same geometry in
// training and evaluation; one augmentation is drawn for the whole clip (scale,
// rotation, horizontal flip with left/right joint swap, colour jitter) and
// applied to every frame around that frame's centre.
// Targets are Gaussian heatmaps at input / kHeatmapStride with per-joint
// visibility weights. Each sample is a pure function of (index, rng seed), so
// batches do not depend on threading. Test videos are cropped per frame with
// the ground-truth (or a given) box.
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>
#include <vector>

#include <opencv2/core.hpp>
#include <torch/torch.h>

#include "dkd/data/transforms.h"
#include "dkd/data/video.h"

namespace dkd {

struct Skeleton;

struct DataConfig;

/// Heatmaps are 1/4 of the input size (SimpleBaseline head on a ResNet trunk).
constexpr int kHeatmapStride = 4;

/// One clip (T = 1 for per-frame samples).
struct ClipSample {
  torch::Tensor images;                   ///< [T, 3, H, W] float, ImageNet-normalised RGB
  torch::Tensor heatmaps;                 ///< [T, J, H/4, W/4] float
  torch::Tensor weights;                  ///< [T, J] float (1 = visible and inside the crop)
  torch::Tensor joints;                   ///< [T, J, 2] float, target joints in input-crop pixels (after flip swap)
  torch::Tensor boxes;                    ///< [T, 4] float, the ground-truth box in the crop (box_to_crop_code)
  int video = -1;                         ///< index into the dataset's videos
  std::vector<int> frames;                ///< frame indices in the video
  std::vector<CropTransform> transforms;  ///< image -> input crop, per frame
};

/// Decoded frames, optionally cached (cropped to a region that contains every
/// crop the pipeline can take from the video, so cached and uncached samples
/// are identical). Thread-safe.
class FrameCache {
 public:
  FrameCache(const std::vector<VideoRecord>* videos, bool cache, double max_region_factor, double aspect,
             std::size_t budget_bytes = std::size_t(4) << 30);
  /// The frame (BGR) or its cached crop, and the image pixel of its top-left
  /// corner. DataError naming the file when it cannot be decoded.
  cv::Mat get(int video, int frame, cv::Point* offset) const;
  std::size_t cached_bytes() const;

 private:
  const std::vector<VideoRecord>* videos_;
  bool cache_;
  double factor_;
  double aspect_;
  std::size_t budget_;
  mutable std::shared_mutex mutex_;
  mutable std::unordered_map<uint64_t, std::pair<cv::Mat, cv::Point>> frames_;
  mutable std::size_t bytes_ = 0;
};

/// Reads a frame from disk (BGR); DataError naming the file when unreadable.
cv::Mat read_frame(const std::string& path);

class ClipDataset {
 public:
  /// `train`: random strides and augmentation; otherwise stride 1, no augmentation.
  ClipDataset(const std::vector<VideoRecord>& videos, const DataConfig& config, int clip_length, bool train);

  /// Number of samples: one per (video, start frame) where a clip fits.
  int64_t size() const { return static_cast<int64_t>(index_.size()); }
  /// Video (index into videos()) of sample `index`.
  int video_of(int64_t index) const { return index_.at(static_cast<std::size_t>(index)).first; }
  /// Builds sample `index`; `rng_seed` drives every random choice.
  ClipSample get(int64_t index, uint64_t rng_seed) const;

  int clip_length() const { return clip_length_; }
  int num_joints() const { return num_joints_; }
  const std::vector<VideoRecord>& videos() const { return videos_; }

 private:
  std::vector<VideoRecord> videos_;
  std::vector<std::pair<int, int>> index_;  ///< (video, start frame)
  int clip_length_;
  bool train_;
  int in_w_, in_h_, num_joints_;
  int stride_min_, stride_max_;
  double box_scale_, scale_factor_, shift_factor_, rotation_, color_jitter_, sigma_;
  bool flip_;
  const Skeleton* skeleton_ = nullptr;  ///< the videos' joint set (flips), looked up once
  std::unique_ptr<FrameCache> frames_;
};

/// A whole test video, every frame cropped around its own box.
struct TestVideo {
  torch::Tensor frames;                           ///< [T, 3, H, W]
  std::vector<CropTransform> transforms;          ///< image -> input crop
  std::vector<CropTransform> heatmap_transforms;  ///< image -> heatmap
};

/// The evaluation crop of a frame whose person box is `box`: the box enlarged by
/// data.box_scale to the input aspect, no augmentation.
CropTransform test_crop_transform(const Box& box, const DataConfig& config);

/// Crops each frame with its ground-truth box (or `boxes` when given, one per frame).
TestVideo load_test_video(const VideoRecord& video, const DataConfig& config, const std::vector<Box>* boxes = nullptr);

/// Decoded heatmap coords [T, J, 2] of a test video -> image pixels [T, J, 2] (CPU float).
torch::Tensor test_coords_to_image(const torch::Tensor& heatmap_coords, const TestVideo& video);

/// splitmix64-based seed for sample `index` of `epoch`.
uint64_t sample_seed(uint64_t seed, int64_t epoch, int64_t index);

}  // namespace dkd
