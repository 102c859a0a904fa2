#include "dkd/eval/model_eval.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>

#include "dkd/data/clip_dataset.h"
#include "dkd/data/heatmap.h"
#include "dkd/data/skeleton.h"
#include "dkd/data/transforms.h"
#include "dkd/util/error.h"
#include "dkd/util/progress.h"
#include "dkd/util/runtime.h"

namespace dkd {

namespace {

/// Flips heatmaps [N, J, h, w] back after running on a mirrored input: mirror
/// the width, swap left/right channels, and shift by one pixel as SimpleBaseline
/// does (the mirrored argmax lands one pixel off).
torch::Tensor unflip_heatmaps(const torch::Tensor& heatmaps, const Skeleton& skeleton) {
  auto out = heatmaps.flip({3});
  std::vector<int64_t> order(static_cast<std::size_t>(skeleton.num_joints()));
  for (int j = 0; j < skeleton.num_joints(); ++j) order[static_cast<std::size_t>(j)] = skeleton.flipped(j);
  out = out.index_select(1, torch::tensor(order, torch::TensorOptions().dtype(torch::kLong).device(out.device())));
  auto shifted = out.clone();
  shifted.narrow(3, 1, out.size(3) - 1).copy_(out.narrow(3, 0, out.size(3) - 1));
  return shifted;
}

}  // namespace

EvalModel EvalModel::dkd(DkdModel model) {
  EvalModel m;
  m.dkd_ = std::move(model);
  m.stream_ = DkdStream(m.dkd_);
  return m;
}

EvalModel EvalModel::per_frame(PerFrameModel model) {
  EvalModel m;
  m.per_frame_ = std::move(model);
  return m;
}

EvalModel EvalModel::of(ModelSet& set, ModelKind kind) {
  switch (kind) {
    case ModelKind::initializer:
      return per_frame(set.initializer);
    case ModelKind::baseline:
      return per_frame(set.baseline);
    case ModelKind::dkd:
      break;
  }
  return dkd(set.dkd);
}

void EvalModel::eval() {
  if (dkd_) dkd_->eval();
  if (per_frame_) per_frame_->eval();
}

void EvalModel::set_flip_test(bool flip, const Skeleton* skeleton) {
  if (flip && !skeleton) throw Error("EvalModel: the flip test needs the skeleton (left/right joints)");
  flip_ = flip;
  skeleton_ = skeleton;
}

torch::Tensor EvalModel::input_of(const torch::Tensor& frame) const {
  return flip_ ? torch::cat({frame, frame.flip({3})}, 0) : frame;
}

torch::Tensor EvalModel::output_of(const torch::Tensor& h) const {
  return flip_ ? 0.5 * (h.narrow(0, 0, 1) + unflip_heatmaps(h.narrow(0, 1, 1), *skeleton_)) : h;
}

torch::Tensor EvalModel::crops_of(const CropTransform* heatmap_transform, const c10::Device& device) const {
  if (!heatmap_transform || !dkd_ || !dkd_->prior) return {};
  const auto crop = crop_matrices({*heatmap_transform});
  const auto crops = flip_ ? torch::stack({crop[0], mirrored_crop(crop[0], heatmap_transform->out_w)}) : crop;
  return crops.to(device);
}

torch::Tensor EvalModel::run_video(const torch::Tensor& frames, bool flip, const Skeleton& skeleton,
                                   const InferConfig& reinit, int64_t* initializer_runs,
                                   const std::vector<CropTransform>* heatmap_transforms) {
  torch::NoGradGuard no_grad;
  const int64_t T = frames.size(0);
  set_flip_test(flip, &skeleton);
  if (!dkd_) {
    // Per-frame: batches of frames, every frame independent.
    constexpr int64_t kChunk = 16;
    std::vector<torch::Tensor> parts;
    for (int64_t s = 0; s < T; s += kChunk) {
      const auto x = frames.narrow(0, s, std::min(kChunk, T - s));
      auto h = per_frame_->forward(x);
      if (flip) h = 0.5 * (h + unflip_heatmaps(per_frame_->forward(x.flip({3})), skeleton));
      parts.push_back(h);
    }
    if (initializer_runs) *initializer_runs = T;
    return torch::cat(parts, 0);
  }
  // DKD: one stream (two with the flip test: the mirrored stream keeps its own state).
  std::vector<torch::Tensor> out;
  out.reserve(static_cast<std::size_t>(T));
  auto transform_of = [&](int64_t t) -> const CropTransform* {
    return heatmap_transforms ? &heatmap_transforms->at(static_cast<std::size_t>(t)) : nullptr;
  };
  out.push_back(first_frame(frames.narrow(0, 0, 1), transform_of(0)));
  int64_t runs = 1;
  for (int64_t t = 1; t < T; ++t) {
    bool ran = false;
    out.push_back(next_frame(frames.narrow(0, t, 1), reinit, &ran, transform_of(t)));
    runs += ran ? 1 : 0;
  }
  if (initializer_runs) *initializer_runs = runs;
  return torch::cat(out, 0);
}

torch::Tensor EvalModel::first_frame(const torch::Tensor& frame, const CropTransform* heatmap_transform) {
  torch::NoGradGuard no_grad;
  if (!dkd_) return output_of(per_frame_->forward(input_of(frame)));
  return output_of(stream_.start(input_of(frame), crops_of(heatmap_transform, frame.device())));
}

torch::Tensor EvalModel::next_frame(const torch::Tensor& frame, const InferConfig& rules, bool* initializer_ran,
                                    const CropTransform* heatmap_transform) {
  torch::NoGradGuard no_grad;
  if (initializer_ran) *initializer_ran = !dkd_;
  if (!dkd_) return output_of(per_frame_->forward(input_of(frame)));
  if (!stream_.started()) {
    if (initializer_ran) *initializer_ran = true;
    return first_frame(frame, heatmap_transform);
  }
  return output_of(stream_.next(input_of(frame), crops_of(heatmap_transform, frame.device()), rules, initializer_ran));
}

namespace {

/// Decoded peaks of heatmaps [T, J, h, w] mapped to image pixels through each
/// frame's heatmap transform, appended to `out`.
void append_decoded(const torch::Tensor& heatmaps, const std::vector<CropTransform>& heatmap_transforms,
                    const Config& config, VideoPredictions& out) {
  const HeatmapPeaks peaks =
      decode_heatmaps(heatmaps.to(torch::kCPU), parse_heatmap_decoder(config.eval.decode), config.data.heatmap_sigma);
  const auto image = heatmap_coords_to_image(peaks.coords, heatmap_transforms).contiguous();
  const float* xy = image.data_ptr<float>();
  for (int64_t i = 0; i < image.size(0) * image.size(1); ++i) out.joints.push_back(Point2{xy[2 * i], xy[2 * i + 1]});
  const auto conf = peaks.maxvals.contiguous();
  out.confidence.insert(out.confidence.end(), conf.data_ptr<float>(), conf.data_ptr<float>() + conf.numel());
}

/// eval.boxes = tracked: frame by frame, each crop from the previous prediction.
VideoPredictions predict_video_tracked(EvalModel& model, const VideoRecord& video, const Config& config,
                                       const c10::Device& device) {
  const int J = video.num_joints;
  model.set_flip_test(config.eval.flip_test, &skeleton_for(video.dataset));
  VideoPredictions out;
  Box box = video.boxes.at(0);
  for (int t = 0; t < video.num_frames(); ++t) {
    const cv::Mat img = read_frame(video.frame_paths[static_cast<std::size_t>(t)]);
    const CropTransform tr = test_crop_transform(box, config.data);
    const CropTransform heatmap_tr = tr.downscaled(kHeatmapStride);
    const auto x = image_to_tensor(warp_image(img, tr)).unsqueeze(0).to(device);
    bool ran = true;
    const auto h = t == 0 ? model.first_frame(x, &heatmap_tr) : model.next_frame(x, config.infer, &ran, &heatmap_tr);
    out.initializer_runs += ran ? 1 : 0;
    append_decoded(h, {heatmap_tr}, config, out);
    const std::vector<Point2> kps(out.joints.end() - J, out.joints.end());
    const std::vector<float> conf(out.confidence.end() - J, out.confidence.end());
    box = next_box_from_keypoints(kps, conf, box, config.infer.draw_threshold, config.infer.box_scale,
                                  config.infer.box_smoothing, img.size());
  }
  return out;
}

}  // namespace

VideoPredictions predict_video(EvalModel& model, const VideoRecord& video, const Config& config,
                               const c10::Device& device) {
  if (config.eval.boxes == "tracked") return predict_video_tracked(model, video, config, device);
  const TestVideo test = load_test_video(video, config.data);
  VideoPredictions out;
  const auto heatmaps = model.run_video(test.frames.to(device), config.eval.flip_test, skeleton_for(video.dataset),
                                        config.infer, &out.initializer_runs, &test.heatmap_transforms);
  append_decoded(heatmaps, test.heatmap_transforms, config, out);
  return out;
}

RunTotals run_model_on_videos(EvalModel& model, const std::vector<VideoRecord>& videos, const Config& config,
                              const c10::Device& device, PckEvaluator& evaluator, int rank, int world_size,
                              Predictions* predictions) {
  model.eval();
  RunTotals totals;
  int64_t mine = 0;
  for (std::size_t i = 0; i < videos.size(); ++i)
    if (static_cast<int>(i % static_cast<std::size_t>(world_size)) == rank) ++mine;
  ProgressBar bar("evaluating", mine, "videos");
  for (std::size_t i = 0; i < videos.size(); ++i) {
    if (static_cast<int>(i % static_cast<std::size_t>(world_size)) != rank) continue;
    const VideoRecord& video = videos[i];
    VideoPredictions pred = predict_video(model, video, config, device);
    evaluator.process(video, pred.joints);
    totals.videos += 1;
    totals.frames += video.num_frames();
    totals.initializer_runs += pred.initializer_runs;
    if (predictions) predictions->videos[video.id] = std::move(pred.joints);
    bar.tick();
  }
  bar.finish();
  return totals;
}

SpeedInfo measure_speed(EvalModel& model, const Config& config, const c10::Device& device) {
  model.eval();
  torch::manual_seed(0);
  const int64_t W = config.data.input_size[0];
  const int64_t H = config.data.input_size[1];
  const int frames = std::max(1, config.eval.speed_frames);
  const int warmup = std::max(0, config.eval.warmup_frames);
  const auto input = torch::rand({1, 3, H, W}, torch::TensorOptions().device(device));
  const auto sync = [&] {
    if (device.is_cuda()) torch::cuda::synchronize(device.index());
  };
  using Clock = std::chrono::steady_clock;
  const auto time_ms = [&](auto&& fn) {
    sync();
    const auto t0 = Clock::now();
    fn();
    sync();
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  };
  // First frames: each a fresh start (the initializer for DKD).
  const int first_runs = std::max(5, frames / 10);
  for (int i = 0; i < std::min(warmup, 3); ++i) model.first_frame(input);
  std::vector<double> first;
  for (int i = 0; i < first_runs; ++i) first.push_back(time_ms([&] { model.first_frame(input); }));
  // Later frames: one stream.
  model.first_frame(input);
  for (int i = 0; i < warmup; ++i) model.next_frame(input);
  std::vector<double> later;
  for (int i = 0; i < frames; ++i) later.push_back(time_ms([&] { model.next_frame(input); }));
  const auto median = [](std::vector<double> v) {
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
    return v[v.size() / 2];
  };
  SpeedInfo s;
  s.ms_first_frame = median(first);
  s.ms_per_frame = median(later);
  s.fps = 1000.0 / s.ms_per_frame;
  s.threads = current_threads();
  s.device = device.str();
  return s;
}

}  // namespace dkd
