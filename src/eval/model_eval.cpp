#include "dkd/eval/model_eval.h"

#include "dkd/models/backbone.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <functional>

#include "dkd/data/box_tracker.h"
#include "dkd/data/clip_dataset.h"
#include "dkd/data/heatmap.h"
#include "dkd/data/skeleton.h"
#include "dkd/data/transforms.h"
#include "dkd/util/bench_timer.h"
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
  EvalModel m = [&] {
    switch (kind) {
      case ModelKind::initializer:
        return per_frame(set.initializer);
      case ModelKind::baseline:
        return per_frame(set.baseline);
      case ModelKind::dkd:
        break;
    }
    return dkd(set.dkd);
  }();
  m.box_ = set.box;
  return m;
}

void EvalModel::eval() {
  if (dkd_) dkd_->eval();
  if (per_frame_) per_frame_->eval();
  if (box_) box_->eval();
}

std::vector<Box> EvalModel::find_boxes(const torch::Tensor& frames, const std::vector<CropTransform>& input_transforms,
                                       bool flip) {
  if (!box_) throw Error("infer.box_rule network: this model has no box network (train stage box)");
  torch::NoGradGuard no_grad;
  box_->eval();
  return boxes_from_crop_codes(box_->find(frames, flip), input_transforms);
}

void EvalModel::set_packed_inference(const InferConfig& infer) {
  if (dkd_) dkd::set_packed_inference(*dkd_, infer);
  if (per_frame_) dkd::set_packed_inference(*per_frame_, infer);
}

void EvalModel::set_flip_test(bool flip, const Skeleton* skeleton) {
  if (flip && !skeleton) throw Error("EvalModel: the flip test needs the skeleton (left/right joints)");
  flip_ = flip;
  skeleton_ = skeleton;
}

torch::Tensor EvalModel::input_of(const torch::Tensor& frames) const {
  return flip_ ? torch::stack({frames, frames.flip({3})}, 1).flatten(0, 1) : frames;
}

torch::Tensor EvalModel::output_of(const torch::Tensor& h) const {
  if (!flip_) return h;
  const auto pairs = h.unflatten(0, {-1, 2});
  return 0.5 * (pairs.select(1, 0) + unflip_heatmaps(pairs.select(1, 1), *skeleton_));
}

torch::Tensor EvalModel::crops_of(const std::vector<CropTransform>* heatmap_transforms,
                                  const c10::Device& device) const {
  if (!heatmap_transforms || !dkd_ || !dkd_->prior) return {};
  const auto crops = crop_matrices(*heatmap_transforms);
  if (!flip_) return crops.to(device);
  std::vector<torch::Tensor> rows;
  for (std::size_t i = 0; i < heatmap_transforms->size(); ++i) {
    const auto crop = crops[static_cast<int64_t>(i)];
    rows.push_back(crop);
    rows.push_back(mirrored_crop(crop, (*heatmap_transforms)[i].out_w));
  }
  return torch::stack(rows).to(device);
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
  if (!heatmap_transform) return first_frames(frame);
  const std::vector<CropTransform> transforms = {*heatmap_transform};
  return first_frames(frame, &transforms);
}

torch::Tensor EvalModel::next_frame(const torch::Tensor& frame, const InferConfig& rules, bool* initializer_ran,
                                    const CropTransform* heatmap_transform) {
  std::vector<CropTransform> transforms;
  if (heatmap_transform) transforms.push_back(*heatmap_transform);
  std::vector<bool> ran;
  auto heatmaps = next_frames(frame, rules, &ran, heatmap_transform ? &transforms : nullptr);
  if (initializer_ran) *initializer_ran = ran.at(0);
  return heatmaps;
}

torch::Tensor EvalModel::first_frames(const torch::Tensor& frames,
                                      const std::vector<CropTransform>* heatmap_transforms) {
  torch::NoGradGuard no_grad;
  if (!dkd_) return output_of(per_frame_->forward(input_of(frames)));
  return output_of(stream_.start(input_of(frames), crops_of(heatmap_transforms, frames.device()), flip_ ? 2 : 1));
}

torch::Tensor EvalModel::next_frames(const torch::Tensor& frames, const InferConfig& rules,
                                     std::vector<bool>* initializer_ran,
                                     const std::vector<CropTransform>* heatmap_transforms) {
  torch::NoGradGuard no_grad;
  if (!dkd_ || !stream_.started()) {
    if (initializer_ran) initializer_ran->assign(static_cast<std::size_t>(frames.size(0)), true);
    return first_frames(frames, heatmap_transforms);
  }
  return output_of(
      stream_.next(input_of(frames), crops_of(heatmap_transforms, frames.device()), rules, initializer_ran));
}

void EvalModel::keep_videos(const std::vector<int64_t>& videos) {
  if (dkd_ && stream_.started()) stream_.keep(videos);
}

namespace {

/// Frames per forward pass of a per-frame model (across the videos of a batch):
/// larger chunks pay on a GPU; on a CPU they only add allocation and cache misses.
int64_t per_frame_chunk(const c10::Device& device) { return device.is_cpu() ? 16 : 64; }

/// Decoded peaks of heatmaps [N, J, h, w] mapped to image pixels through each
/// row's heatmap transform; row i is appended to `*out[i]`.
void append_decoded(const torch::Tensor& heatmaps, const std::vector<CropTransform>& heatmap_transforms,
                    const Config& config, const std::vector<VideoPredictions*>& out) {
  const HeatmapPeaks peaks = decode_heatmaps(heatmaps.to(torch::kCPU), config.eval.decode, config.data.heatmap_sigma);
  const auto image = heatmap_coords_to_image(peaks.coords, heatmap_transforms).contiguous();
  const auto conf = peaks.maxvals.contiguous();
  const int64_t J = image.size(1);
  const float* xy = image.data_ptr<float>();
  const float* c = conf.data_ptr<float>();
  for (int64_t n = 0; n < image.size(0); ++n) {
    VideoPredictions& o = *out.at(static_cast<std::size_t>(n));
    for (int64_t j = 0; j < J; ++j) o.joints.push_back(Point2{xy[2 * (n * J + j)], xy[2 * (n * J + j) + 1]});
    o.confidence.insert(o.confidence.end(), c + n * J, c + (n + 1) * J);
  }
}

/// A frame cropped for the model: the input [3, H, W] and its heatmap transform.
struct CroppedFrame {
  torch::Tensor input;
  CropTransform input_transform;  ///< image -> input crop
  CropTransform heatmap_transform;
  cv::Size image_size;
};

CroppedFrame crop_frame(const VideoRecord& video, int t, const Box& box, const Config& config) {
  const cv::Mat img = read_frame(video.frame_paths.at(static_cast<std::size_t>(t)));
  const CropTransform tr = test_crop_transform(box, config.data);
  return {image_to_tensor(warp_image(img, tr)), tr, tr.downscaled(kHeatmapStride), img.size()};
}

/// Every video of the group cropped with its ground-truth boxes, read before
/// the model runs (reading and computing in turn costs more on a CPU).
std::vector<TestVideo> load_test_videos(const std::vector<const VideoRecord*>& videos, const Config& config) {
  std::vector<TestVideo> out;
  out.reserve(videos.size());
  for (const VideoRecord* v : videos) {
    const std::vector<Box> boxes = offset_boxes(*v, config.eval);
    out.push_back(load_test_video(*v, config.data, has_box_offset(config.eval) ? &boxes : nullptr));
  }
  return out;
}

/// A per-frame model with ground-truth boxes: every frame is independent, so
/// the frames of all the videos go through the model in chunks.
void predict_frames_in_chunks(EvalModel& model, const std::vector<const VideoRecord*>& videos, const Config& config,
                              const c10::Device& device, std::vector<VideoPredictions>& out) {
  const std::vector<TestVideo> tests = load_test_videos(videos, config);
  std::vector<torch::Tensor> frames;
  std::vector<CropTransform> transforms;
  std::vector<VideoPredictions*> owners;
  for (std::size_t v = 0; v < videos.size(); ++v) {
    frames.push_back(tests[v].frames);
    transforms.insert(transforms.end(), tests[v].heatmap_transforms.begin(), tests[v].heatmap_transforms.end());
    owners.insert(owners.end(), tests[v].heatmap_transforms.size(), &out[v]);
    out[v].initializer_runs = videos[v]->num_frames();
  }
  const auto all = torch::cat(frames).to(device);
  const int64_t chunk = per_frame_chunk(device);
  std::vector<torch::Tensor> heatmaps;
  for (int64_t s = 0; s < all.size(0); s += chunk)
    heatmaps.push_back(model.first_frames(all.narrow(0, s, std::min(chunk, all.size(0) - s))));
  if (!heatmaps.empty()) append_decoded(torch::cat(heatmaps), transforms, config, owners);
}

/// The videos frame by frame in lockstep, one batch row each (one DKD stream
/// each); a video that ends leaves the batch. With eval.boxes = tracked each
/// video's next crop comes from its previous prediction.
void predict_in_lockstep(EvalModel& model, const std::vector<const VideoRecord*>& videos, const Config& config,
                         const c10::Device& device, std::vector<VideoPredictions>& out) {
  const bool tracked = config.eval.boxes == BoxSource::tracked;
  // Tracked: one box rule per video, as dkd_infer runs it, started on the first frame's GT box.
  std::vector<BoxTracker> boxes(videos.size(), BoxTracker(config.infer));
  int longest = 0;
  for (const VideoRecord* v : videos) longest = std::max(longest, v->num_frames());
  // With ground-truth boxes nothing depends on the decoded joints until the
  // end: the heatmaps of every step are decoded together.
  std::vector<torch::Tensor> pending;
  std::vector<CropTransform> pending_transforms;
  std::vector<VideoPredictions*> pending_owners;
  const std::vector<TestVideo> tests = tracked ? std::vector<TestVideo>{} : load_test_videos(videos, config);
  std::vector<int64_t> active;  // the videos in the batch, in row order
  for (int t = 0; t < longest; ++t) {
    std::vector<int64_t> still, kept_rows;
    for (std::size_t row = 0; row < active.size(); ++row)
      if (videos[static_cast<std::size_t>(active[row])]->num_frames() > t) {
        still.push_back(active[row]);
        kept_rows.push_back(static_cast<int64_t>(row));
      }
    if (t == 0)
      for (std::size_t v = 0; v < videos.size(); ++v)
        if (videos[v]->num_frames() > 0) still.push_back(static_cast<int64_t>(v));
    if (t > 0 && still.size() != active.size()) model.keep_videos(kept_rows);
    active = std::move(still);
    if (active.empty()) break;

    std::vector<torch::Tensor> inputs;
    std::vector<CropTransform> transforms, input_transforms;  // the latter for the box network
    std::vector<VideoPredictions*> owners;
    for (const int64_t v : active) {
      const auto i = static_cast<std::size_t>(v);
      if (tracked) {
        const Box box = t == 0 ? offset_boxes(*videos[i], config.eval).at(0) : boxes[i].box();
        CroppedFrame f = crop_frame(*videos[i], t, box, config);
        if (t == 0) boxes[i].start(box, f.image_size);
        out[i].crop_boxes.push_back(box);
        inputs.push_back(f.input);
        transforms.push_back(f.heatmap_transform);
        input_transforms.push_back(f.input_transform);
      } else {
        inputs.push_back(tests[i].frames[t]);
        transforms.push_back(tests[i].heatmap_transforms.at(static_cast<std::size_t>(t)));
      }
      owners.push_back(&out[i]);
    }
    // infer.box_network_refine: the box network reads these crops first, and
    // the frames are cropped again around what it found.
    if (tracked && t > 0 && boxes[static_cast<std::size_t>(active[0])].refines()) {
      const auto found =
          model.find_boxes(torch::stack(inputs).to(device), input_transforms, config.infer.box_network_flip);
      for (std::size_t row = 0; row < active.size(); ++row) {
        const auto i = static_cast<std::size_t>(active[row]);
        boxes[i].refine(found[row]);
        CroppedFrame f = crop_frame(*videos[i], t, boxes[i].box(), config);
        out[i].crop_boxes.back() = boxes[i].box();
        inputs[row] = f.input;
        transforms[row] = f.heatmap_transform;
        input_transforms[row] = f.input_transform;
      }
    }
    const auto x = torch::stack(inputs).to(device);
    std::vector<bool> ran(active.size(), true);
    const auto heatmaps =
        t == 0 ? model.first_frames(x, &transforms) : model.next_frames(x, config.infer, &ran, &transforms);
    for (std::size_t row = 0; row < active.size(); ++row) owners[row]->initializer_runs += ran[row] ? 1 : 0;
    if (!tracked) {
      pending.push_back(heatmaps);
      pending_transforms.insert(pending_transforms.end(), transforms.begin(), transforms.end());
      pending_owners.insert(pending_owners.end(), owners.begin(), owners.end());
      continue;
    }
    append_decoded(heatmaps, transforms, config, owners);
    // infer.box_rule network: the box network on the same crops says where each person's box is.
    std::vector<Box> found;
    if (config.infer.box_rule == BoxRuleKind::network)
      found = model.find_boxes(x, input_transforms, config.infer.box_network_flip);
    for (std::size_t row = 0; row < active.size(); ++row) {
      VideoPredictions& o = *owners[row];
      const int J = videos[static_cast<std::size_t>(active[row])]->num_joints;
      const std::vector<Point2> kps(o.joints.end() - J, o.joints.end());
      const std::vector<float> conf(o.confidence.end() - J, o.confidence.end());
      boxes[static_cast<std::size_t>(active[row])].update(kps, conf, found.empty() ? nullptr : &found[row]);
    }
  }
  if (!pending.empty()) append_decoded(torch::cat(pending), pending_transforms, config, pending_owners);
}

}  // namespace

bool has_box_offset(const EvalConfig& eval) { return eval.box_offset_x != 0.0 || eval.box_offset_y != 0.0; }

std::vector<Box> offset_boxes(const VideoRecord& video, const EvalConfig& eval) {
  std::vector<Box> out = video.boxes;
  for (Box& b : out) {
    const float side = std::max(b.width(), b.height());
    const auto dx = static_cast<float>(eval.box_offset_x * side), dy = static_cast<float>(eval.box_offset_y * side);
    b = Box{b.x1 + dx, b.y1 + dy, b.x2 + dx, b.y2 + dy};
  }
  return out;
}

void add_crop_anchoring(const VideoRecord& video, const std::vector<Point2>& joints, const EvalConfig& eval,
                        bool tracked, double& sum, int64_t& count) {
  const double norm = std::hypot(eval.box_offset_x, eval.box_offset_y);
  if (norm == 0.0) return;
  const double ux = eval.box_offset_x / norm, uy = eval.box_offset_y / norm;
  const int J = video.num_joints;
  for (int t = tracked ? 1 : 0; t < video.num_frames(); ++t) {
    const Box& b = video.boxes.at(static_cast<std::size_t>(t));
    const double side = std::max(1.0f, std::max(b.width(), b.height()));
    double along = 0.0;
    int n = 0;
    for (int j = 0; j < J; ++j) {
      const Point2& p = joints.at(static_cast<std::size_t>(t) * J + j);
      if (!video.is_visible(t, j) || !is_finite(p)) continue;
      along += ((p.x - video.joint(t, j).x) * ux + (p.y - video.joint(t, j).y) * uy) / side;
      ++n;
    }
    if (n == 0) continue;
    sum += along / n / norm;
    ++count;
  }
}

PckOptions pck_options_of(const Config& config, const std::string& split) {
  PckOptions options;
  options.threshold = config.eval.pck_threshold;
  options.split = split;
  options.crop_scale = config.data.box_scale;
  options.crop_aspect = static_cast<double>(config.data.input_size.at(0)) / config.data.input_size.at(1);
  return options;
}

std::vector<VideoPredictions> predict_videos(EvalModel& model, const std::vector<const VideoRecord*>& videos,
                                             const Config& config, const c10::Device& device) {
  std::vector<VideoPredictions> out(videos.size());
  if (videos.empty()) return out;
  for (const VideoRecord* v : videos)
    if (v->dataset != videos.front()->dataset) throw Error("predict_videos: videos of different data sets");
  model.set_flip_test(config.eval.flip_test, &skeleton_for(videos.front()->dataset));
  if (!model.is_dkd() && config.eval.boxes != BoxSource::tracked)
    predict_frames_in_chunks(model, videos, config, device, out);
  else
    predict_in_lockstep(model, videos, config, device, out);
  return out;
}

VideoPredictions predict_video(EvalModel& model, const VideoRecord& video, const Config& config,
                               const c10::Device& device) {
  return std::move(predict_videos(model, {&video}, config, device).front());
}

RunTotals run_model_on_videos(EvalModel& model, const std::vector<VideoRecord>& videos, const Config& config,
                              const c10::Device& device, PckEvaluator& evaluator, int rank, int world_size,
                              Predictions* predictions) {
  model.eval();
  torch::NoGradGuard no_grad;
  RunTotals totals;
  std::vector<const VideoRecord*> mine;
  for (std::size_t i = 0; i < videos.size(); ++i)
    if (static_cast<int>(i % static_cast<std::size_t>(world_size)) == rank) mine.push_back(&videos[i]);
  ProgressBar bar("evaluating", static_cast<int64_t>(mine.size()), "videos");
  const bool offset = has_box_offset(config.eval);
  double anchoring_sum = 0.0;
  int64_t anchoring_count = 0;
  const std::size_t batch = static_cast<std::size_t>(std::max(1, config.eval.batch_videos));
  for (std::size_t first = 0; first < mine.size(); first += batch) {
    const std::vector<const VideoRecord*> group(
        mine.begin() + static_cast<std::ptrdiff_t>(first),
        mine.begin() + static_cast<std::ptrdiff_t>(std::min(first + batch, mine.size())));
    std::vector<VideoPredictions> preds = predict_videos(model, group, config, device);
    for (std::size_t k = 0; k < group.size(); ++k) {
      const VideoRecord& video = *group[k];
      evaluator.process(video, preds[k].joints, preds[k].crop_boxes.empty() ? nullptr : &preds[k].crop_boxes);
      if (offset)
        add_crop_anchoring(video, preds[k].joints, config.eval, config.eval.boxes == BoxSource::tracked, anchoring_sum,
                           anchoring_count);
      totals.videos += 1;
      totals.frames += video.num_frames();
      totals.initializer_runs += preds[k].initializer_runs;
      if (predictions) {
        predictions->scores[video.id] = std::move(preds[k].confidence);
        if (!preds[k].crop_boxes.empty()) predictions->boxes[video.id] = std::move(preds[k].crop_boxes);
        predictions->videos[video.id] = std::move(preds[k].joints);
      }
      bar.tick();
    }
  }
  bar.finish();
  if (anchoring_count > 0) totals.anchoring = anchoring_sum / static_cast<double>(anchoring_count);
  return totals;
}

SpeedInfo measure_speed(EvalModel& model, const Config& config, const c10::Device& device, int64_t streams) {
  if (streams < 1) throw Error("measure_speed: streams must be at least 1, got " + std::to_string(streams));
  model.eval();
  torch::manual_seed(0);
  const int64_t W = config.data.input_size[0];
  const int64_t H = config.data.input_size[1];
  const int frames = std::max(1, config.eval.speed_frames);
  const int warmup = std::max(0, config.eval.warmup_frames);
  const auto input = torch::rand({streams, 3, H, W}, torch::TensorOptions().device(device));
  const auto sync = [&] {
    if (device.is_cuda()) torch::cuda::synchronize(device.index());
  };
  // Each timed call waits for the device, before and after.
  const auto synced = [&sync](std::function<void()> fn) {
    return [&sync, fn] {
      sync();
      fn();
      sync();
    };
  };
  // First frames: each a fresh start (the initializer for DKD).
  const int first_runs = std::max(5, frames / 10);
  const Timings first = time_runs(std::min(warmup, 3), first_runs, synced([&] { model.first_frame(input); }));
  // Later frames: `streams` videos, each continuing its own stream.
  model.first_frame(input);
  const Timings later = time_runs(warmup, frames, synced([&] { model.next_frame(input); }));
  SpeedInfo s;
  // Per frame of one video: the batch time / streams.
  s.ms_first_frame = first.median() / static_cast<double>(streams);
  s.ms_per_frame = later.median() / static_cast<double>(streams);
  s.fps = 1000.0 / s.ms_per_frame;
  s.streams = streams;
  s.threads = current_threads();
  s.device = device.str();
  return s;
}

}  // namespace dkd
