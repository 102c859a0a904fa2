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

/// Mean over joints of each heatmap's peak: the kernel-matching confidence.
double mean_peak(const torch::Tensor& heatmaps) { return heatmaps.flatten(-2).amax(-1).mean().item<double>(); }

}  // namespace

EvalModel EvalModel::dkd(DkdModel model) {
  EvalModel m;
  m.dkd_ = std::move(model);
  return m;
}

EvalModel EvalModel::per_frame(PerFrameModel model) {
  EvalModel m;
  m.per_frame_ = std::move(model);
  return m;
}

void EvalModel::eval() {
  if (dkd_) dkd_->eval();
  if (per_frame_) per_frame_->eval();
}

torch::Tensor EvalModel::run_video(const torch::Tensor& frames, bool flip, const Skeleton& skeleton,
                                   const InferConfig& reinit, int64_t* initializer_runs) {
  torch::NoGradGuard no_grad;
  const int64_t T = frames.size(0);
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
  // DKD: one stream (two with flip test: the mirrored stream keeps its own state).
  const auto input_of = [&](int64_t t) {
    const auto f = frames.narrow(0, t, 1);
    return flip ? torch::cat({f, f.flip({3})}, 0) : f;
  };
  const auto output_of = [&](const torch::Tensor& h) {
    return flip ? 0.5 * (h.narrow(0, 0, 1) + unflip_heatmaps(h.narrow(0, 1, 1), skeleton)) : h;
  };
  std::vector<torch::Tensor> out;
  out.reserve(static_cast<std::size_t>(T));
  DkdState state = dkd_->start(input_of(0));
  int64_t runs = 1;
  out.push_back(output_of(state.heatmaps));
  for (int64_t t = 1; t < T; ++t) {
    torch::Tensor h;
    if (reinit.reinit_every > 0 && t % reinit.reinit_every == 0) {
      state = dkd_->start(input_of(t));
      h = state.heatmaps;
      ++runs;
    } else {
      h = dkd_->step(state, input_of(t));
      if (reinit.reinit_confidence > 0 && mean_peak(h) < reinit.reinit_confidence) {
        // The kernels lost the person: a keyframe for the initializer.
        state = dkd_->start(input_of(t));
        h = state.heatmaps;
        ++runs;
      }
    }
    out.push_back(output_of(h));
  }
  if (initializer_runs) *initializer_runs = runs;
  return torch::cat(out, 0);
}

torch::Tensor EvalModel::first_frame(const torch::Tensor& frame) {
  torch::NoGradGuard no_grad;
  if (!dkd_) return per_frame_->forward(frame);
  state_ = dkd_->start(frame);
  return state_.heatmaps;
}

torch::Tensor EvalModel::next_frame(const torch::Tensor& frame) {
  torch::NoGradGuard no_grad;
  if (!dkd_) return per_frame_->forward(frame);
  if (!state_.features.defined()) return first_frame(frame);
  return dkd_->step(state_, frame);
}

VideoPredictions predict_video(EvalModel& model, const VideoRecord& video, const Config& config,
                               const c10::Device& device) {
  const TestVideo test = load_test_video(video, config.data);
  VideoPredictions out;
  const auto heatmaps = model.run_video(test.frames.to(device), config.eval.flip_test, skeleton_for(video.dataset),
                                        config.infer, &out.initializer_runs);
  const HeatmapPeaks peaks = decode_heatmaps(heatmaps.to(torch::kCPU));
  const auto image = test_coords_to_image(peaks.coords, test).contiguous();
  const float* xy = image.data_ptr<float>();
  out.joints.resize(static_cast<std::size_t>(image.size(0) * image.size(1)));
  for (std::size_t i = 0; i < out.joints.size(); ++i) out.joints[i] = Point2{xy[2 * i], xy[2 * i + 1]};
  const auto conf = peaks.maxvals.contiguous();
  out.confidence.assign(conf.data_ptr<float>(), conf.data_ptr<float>() + conf.numel());
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
