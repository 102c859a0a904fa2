#include "dkd/data/clip_dataset.h"

#include <algorithm>
#include <cmath>
#include <random>

#include <opencv2/imgcodecs.hpp>

#include "dkd/config/config.h"
#include "dkd/data/heatmap.h"
#include "dkd/data/skeleton.h"
#include "dkd/data/image_io.h"
#include "dkd/util/error.h"

namespace dkd {

namespace {

/// SplitMix64's output of the state after `x` (a stateless 64-bit mix).
uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

double uniform(std::mt19937_64& rng, double lo, double hi) {
  // Explicit mapping (not std::uniform_real_distribution) for identical values everywhere.
  const double u = static_cast<double>(rng() >> 11) * (1.0 / 9007199254740992.0);
  return lo + (hi - lo) * u;
}

int uniform_int(std::mt19937_64& rng, int lo, int hi) {
  if (hi <= lo) return lo;
  return lo + static_cast<int>(rng() % static_cast<uint64_t>(hi - lo + 1));
}

}  // namespace

uint64_t sample_seed(uint64_t seed, int64_t epoch, int64_t index) {
  return mix64(mix64(mix64(seed) ^ static_cast<uint64_t>(epoch)) ^ static_cast<uint64_t>(index));
}

cv::Mat read_frame(const std::string& path) { return decode_image(path, cv::IMREAD_COLOR); }

// ---------------------------------------------------------------- FrameCache

FrameCache::FrameCache(const std::vector<VideoRecord>* videos, bool cache, double factor, double aspect,
                       std::size_t budget)
    : videos_(videos), cache_(cache), factor_(factor), aspect_(aspect), budget_(budget) {}

std::size_t FrameCache::cached_bytes() const {
  std::shared_lock<std::shared_mutex> lock(mutex_);
  return bytes_;
}

cv::Mat FrameCache::get(int video, int frame, cv::Point* offset) const {
  const VideoRecord& v = (*videos_)[static_cast<std::size_t>(video)];
  if (!cache_) {
    if (offset) *offset = {0, 0};
    return read_frame(v.frame_paths[static_cast<std::size_t>(frame)]);
  }
  const uint64_t key = (static_cast<uint64_t>(video) << 32) | static_cast<uint32_t>(frame);
  {
    std::shared_lock<std::shared_mutex> lock(mutex_);
    auto it = frames_.find(key);
    if (it != frames_.end()) {
      if (offset) *offset = it->second.second;
      return it->second.first;
    }
  }
  cv::Mat img = read_frame(v.frame_paths[static_cast<std::size_t>(frame)]);
  // Region holding every crop of this video: the union box grown by the
  // half-diagonal of the largest (scaled, rotated) crop region.
  const Box u = box_union(v.boxes);
  const Region r = box_region(u, 1.0, aspect_);
  const double margin = 0.71 * std::max(r.width, r.height) * factor_ + 2.0;
  int x1 = std::max(0, static_cast<int>(std::floor(u.x1 - margin)));
  int y1 = std::max(0, static_cast<int>(std::floor(u.y1 - margin)));
  int x2 = std::min(img.cols, static_cast<int>(std::ceil(u.x2 + margin)) + 1);
  int y2 = std::min(img.rows, static_cast<int>(std::ceil(u.y2 + margin)) + 1);
  cv::Mat crop;
  cv::Point off(0, 0);
  if (x2 > x1 && y2 > y1) {
    crop = img(cv::Range(y1, y2), cv::Range(x1, x2)).clone();
    off = {x1, y1};
  } else {
    crop = img;
  }
  const std::size_t bytes = crop.total() * crop.elemSize();
  {
    std::unique_lock<std::shared_mutex> lock(mutex_);
    if (bytes_ + bytes <= budget_ && frames_.find(key) == frames_.end()) {
      frames_.emplace(key, std::make_pair(crop, off));
      bytes_ += bytes;
    }
  }
  if (offset) *offset = off;
  return crop;
}

// ---------------------------------------------------------------- ClipDataset

ClipDataset::ClipDataset(const std::vector<VideoRecord>& videos, const DataConfig& c, int clip_length, bool train)
    : videos_(videos),
      clip_length_(clip_length),
      train_(train),
      in_w_(c.input_size.at(0)),
      in_h_(c.input_size.at(1)),
      num_joints_(0),
      stride_min_(std::min(c.stride_min, c.stride_max)),
      stride_max_(std::max(c.stride_min, c.stride_max)),
      box_scale_(c.box_scale),
      scale_factor_(c.scale_factor),
      shift_factor_(c.shift_factor),
      rotation_(c.rotation),
      color_jitter_(c.color_jitter),
      sigma_(c.heatmap_sigma),
      flip_(c.flip) {
  if (clip_length < 1) throw ConfigError("clip length must be at least 1");
  if (in_w_ % kHeatmapStride || in_h_ % kHeatmapStride)
    throw ConfigError("data.input_size must be a multiple of " + std::to_string(kHeatmapStride));
  if (!videos_.empty()) num_joints_ = videos_[0].num_joints;
  skeleton_ = &skeleton_for(videos_.empty() ? c.dataset : videos_[0].dataset);
  const int smin = train ? stride_min_ : 1;
  for (std::size_t v = 0; v < videos_.size(); ++v) {
    const VideoRecord& r = videos_[v];
    if (r.num_joints != num_joints_) throw DataError(r.id, "videos with different joint counts in one data set");
    const int n = r.num_frames();
    const int need = (clip_length - 1) * smin;
    for (int s = 0; s + need < n; ++s) index_.emplace_back(static_cast<int>(v), s);
  }
  const double factor = box_scale_ * (1.0 + (train ? scale_factor_ + 2.0 * shift_factor_ : 0.0));
  frames_ = std::make_unique<FrameCache>(&videos_, c.cache, factor, static_cast<double>(in_w_) / in_h_);
}

ClipSample ClipDataset::get(int64_t index, uint64_t rng_seed) const {
  if (index < 0 || index >= size()) throw Error("ClipDataset: sample index out of range");
  const auto [vi, start] = index_[static_cast<std::size_t>(index)];
  const VideoRecord& v = videos_[static_cast<std::size_t>(vi)];
  std::mt19937_64 rng(rng_seed);
  const int T = clip_length_;
  const int n = v.num_frames();

  int stride = 1;
  if (train_ && T > 1) {
    const int max_fit = (n - 1 - start) / (T - 1);
    stride = uniform_int(rng, stride_min_, std::max(stride_min_, std::min(stride_max_, max_fit)));
  }
  ClipSample s;
  s.video = vi;
  for (int t = 0; t < T; ++t) s.frames.push_back(start + t * stride);

  double scale = 1.0, rot = 0.0;
  bool flip = false;
  ColorJitter jitter;
  if (train_) {
    scale = uniform(rng, 1.0 - scale_factor_, 1.0 + scale_factor_);
    const double r_draw = uniform(rng, -rotation_, rotation_);
    rot = uniform(rng, 0.0, 1.0) < 0.6 ? r_draw : 0.0;
    flip = flip_ && uniform(rng, 0.0, 1.0) < 0.5;
    jitter.brightness = uniform(rng, 1.0 - color_jitter_, 1.0 + color_jitter_);
    jitter.contrast = uniform(rng, 1.0 - color_jitter_, 1.0 + color_jitter_);
    jitter.saturation = uniform(rng, 1.0 - color_jitter_, 1.0 + color_jitter_);
  }
  const Skeleton& skel = *skeleton_;
  const int J = num_joints_;
  const int hw = in_w_ / kHeatmapStride, hh = in_h_ / kHeatmapStride;

  s.images = torch::empty({T, 3, in_h_, in_w_}, torch::kFloat);
  s.heatmaps = torch::empty({T, J, hh, hw}, torch::kFloat);
  s.weights = torch::empty({T, J}, torch::kFloat);
  s.joints = torch::empty({T, J, 2}, torch::kFloat);
  s.boxes = torch::empty({T, 4}, torch::kFloat);
  const double aspect = static_cast<double>(in_w_) / in_h_;
  for (int t = 0; t < T; ++t) {
    const int f = s.frames[static_cast<std::size_t>(t)];
    // This frame's own box (the evaluation crop), with the clip's augmentation.
    Region region = box_region(v.boxes[static_cast<std::size_t>(f)], box_scale_, aspect);
    if (train_ && shift_factor_ > 0) {  // each frame its own offset, as a tracked box has
      region.center.x += static_cast<float>(uniform(rng, -shift_factor_, shift_factor_) * region.width);
      region.center.y += static_cast<float>(uniform(rng, -shift_factor_, shift_factor_) * region.height);
    }
    const CropTransform tr =
        CropTransform::make(region.center, region.width * scale, region.height * scale, rot, flip, in_w_, in_h_);
    const CropTransform hm_tr = tr.downscaled(kHeatmapStride);
    cv::Point off;
    cv::Mat img = frames_->get(vi, f, &off);
    CropTransform local = tr;  // image -> crop, expressed on the (possibly cached) sub-image
    local.m[2] += tr.m[0] * off.x + tr.m[1] * off.y;
    local.m[5] += tr.m[3] * off.x + tr.m[4] * off.y;
    cv::Mat crop = warp_image(img, local);
    jitter.apply(crop);
    s.images[t].copy_(image_to_tensor(crop));

    std::vector<Point2> pts(v.joints.begin() + static_cast<std::ptrdiff_t>(f) * J,
                            v.joints.begin() + static_cast<std::ptrdiff_t>(f + 1) * J);
    std::vector<uint8_t> vis(v.visible.begin() + static_cast<std::ptrdiff_t>(f) * J,
                             v.visible.begin() + static_cast<std::ptrdiff_t>(f + 1) * J);
    std::vector<Point2> in_pts = pts;
    std::vector<uint8_t> in_vis = vis;
    transform_joints(tr, skel, in_pts, in_vis);
    transform_joints(hm_tr, skel, pts, vis);
    std::vector<float> w;
    s.heatmaps[t].copy_(render_heatmaps(pts, vis, hw, hh, sigma_, &w));
    s.weights[t].copy_(torch::tensor(w, torch::kFloat));
    auto ja = s.joints.accessor<float, 3>();
    for (int j = 0; j < J; ++j) {
      ja[t][j][0] = in_pts[static_cast<std::size_t>(j)].x;
      ja[t][j][1] = in_pts[static_cast<std::size_t>(j)].y;
    }
    const BoxCode code = box_to_crop_code(v.boxes[static_cast<std::size_t>(f)], tr);
    for (int k = 0; k < 4; ++k) s.boxes[t][k] = code[static_cast<std::size_t>(k)];
    s.transforms.push_back(tr);
  }
  return s;
}

// ---------------------------------------------------------------- test videos

CropTransform test_crop_transform(const Box& box, const DataConfig& c) {
  const int in_w = c.input_size.at(0), in_h = c.input_size.at(1);
  const Region r = box_region(box, c.box_scale, static_cast<double>(in_w) / in_h);
  return CropTransform::make(r.center, r.width, r.height, 0.0, false, in_w, in_h);
}

TestVideo load_test_video(const VideoRecord& v, const DataConfig& c, const std::vector<Box>* boxes) {
  const int in_w = c.input_size.at(0), in_h = c.input_size.at(1);
  const int T = v.num_frames();
  if (boxes && static_cast<int>(boxes->size()) != T)
    throw Error("load_test_video: " + std::to_string(boxes->size()) + " boxes for " + std::to_string(T) +
                " frames of " + v.id);
  TestVideo out;
  out.frames = torch::empty({T, 3, in_h, in_w}, torch::kFloat);
  for (int t = 0; t < T; ++t) {
    const Box& b = boxes ? (*boxes)[static_cast<std::size_t>(t)] : v.boxes[static_cast<std::size_t>(t)];
    const CropTransform tr = test_crop_transform(b, c);
    cv::Mat img = read_frame(v.frame_paths[static_cast<std::size_t>(t)]);
    out.frames[t].copy_(image_to_tensor(warp_image(img, tr)));
    out.transforms.push_back(tr);
    out.heatmap_transforms.push_back(tr.downscaled(kHeatmapStride));
  }
  return out;
}

torch::Tensor test_coords_to_image(const torch::Tensor& coords, const TestVideo& video) {
  return heatmap_coords_to_image(coords, video.heatmap_transforms);
}

}  // namespace dkd
