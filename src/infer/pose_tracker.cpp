#include "dkd/infer/pose_tracker.h"

#include "dkd/models/backbone.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <sstream>

#include <spdlog/spdlog.h>

#include "dkd/data/clip_dataset.h"
#include "dkd/data/heatmap.h"
#include "dkd/models/factory.h"
#include "dkd/models/checkpoint.h"
#include "dkd/util/error.h"
#include "dkd/util/op_profile.h"
#include "dkd/util/runtime.h"

namespace dkd {
namespace {

std::string box_text(const Box& b) {
  std::ostringstream s;
  s << b.x1 << "," << b.y1 << "," << b.x2 << "," << b.y2;
  return s.str();
}

}  // namespace

void check_box_in_frame(const Box& box, cv::Size image_size) {
  const std::string frame = std::to_string(image_size.width) + "x" + std::to_string(image_size.height);
  if (!std::isfinite(box.x1) || !std::isfinite(box.y1) || !std::isfinite(box.x2) || !std::isfinite(box.y2) ||
      !(box.x2 > box.x1) || !(box.y2 > box.y1)) {
    throw UsageError("box " + box_text(box) + ": expected x1,y1,x2,y2 with x1 < x2 and y1 < y2");
  }
  const float ox = std::min<float>(box.x2, image_size.width) - std::max(box.x1, 0.f);
  const float oy = std::min<float>(box.y2, image_size.height) - std::max(box.y1, 0.f);
  if (ox < 0.5f * box.width() || oy < 0.5f * box.height()) {
    throw UsageError("box " + box_text(box) + " lies outside the " + frame +
                     " frame (at least half of it must be inside)");
  }
}

CropTransform tracker_crop(const Config& config, const Box& box) {
  const int w = config.data.input_size.at(0), h = config.data.input_size.at(1);
  const Region region = box_region(box, config.data.box_scale, static_cast<double>(w) / h);
  return CropTransform::make(region.center, region.width, region.height, 0.0, false, w, h);
}

DkdModel load_model_for_inference(const Config& config, const std::string& checkpoint) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(checkpoint, ec)) throw DataError(checkpoint, "no such checkpoint file");
  Config c = config;
  c.model.initializer.pretrained.clear();  // the checkpoint has every weight
  c.model.encoder.pretrained.clear();
  DkdModel model = make_dkd_model(c);
  load_model_weights(checkpoint, model->parts());  // errors name any part or shape that does not fit
  model->to(resolve_device(config.runtime.device));
  return model;
}

BoxNet load_box_net_for_inference(const Config& config, const std::string& checkpoint) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(checkpoint, ec)) throw DataError(checkpoint, "no such checkpoint file");
  const auto parts = checkpoint_models(checkpoint);
  if (std::find(parts.begin(), parts.end(), "box") == parts.end())
    throw DataError(checkpoint,
                    "infer.box_rule is network but this checkpoint has no box network: train stage box "
                    "(train.stages: [..., box]) or set infer.box_rule=steady");
  BoxNet box(config.model.box);
  load_model_weights(checkpoint, {{"box", box.ptr().get()}});
  box->to(resolve_device(config.runtime.device));
  box->eval();
  return box;
}

PoseTracker::PoseTracker(const Config& config, const std::string& checkpoint)
    : config_(config), model_(load_model_for_inference(config, checkpoint)), boxes_(config.infer) {
  if (boxes_.needs_network()) box_net_ = load_box_net_for_inference(config, checkpoint);
  prepare();
}

void PoseTracker::set_box_net(BoxNet box) {
  box_net_ = std::move(box);
  if (box_net_) {
    box_net_->to(device_);
    box_net_->eval();
  }
}

const Box* PoseTracker::find_box(const CropTransform& input_transform) {
  if (!boxes_.needs_network()) return nullptr;
  if (!box_net_) throw Error("infer.box_rule network: the tracker has no box network (train stage box)");
  found_box_ = boxes_from_crop_codes(box_net_->find(input_, config_.infer.box_network_flip), {input_transform}).at(0);
  return &found_box_;
}

PoseTracker::PoseTracker(const Config& config, DkdModel model)
    : config_(config), model_(std::move(model)), boxes_(config.infer) {
  if (!model_) throw Error("PoseTracker: no model");
  // Random weights everywhere (set_box_net replaces it).
  if (boxes_.needs_network()) box_net_ = BoxNet(config.model.box);
  prepare();
  set_box_net(box_net_);
}

void PoseTracker::prepare() {
  device_ = resolve_device(config_.runtime.device);
  input_w_ = config_.data.input_size.at(0);
  input_h_ = config_.data.input_size.at(1);
  num_joints_ = config_.model.num_joints;
  model_->to(device_);
  model_->eval();
  stream_ = DkdStream(model_);
  if (config_.infer.fold_bn) {
    fold_report_ = fold_batch_norm(*model_);
    folded_ = true;
    spdlog::debug("PoseTracker: folded {} batch norms into convolutions", fold_report_.folded);
    for (const auto& name : fold_report_.not_folded) {
      spdlog::debug("PoseTracker: batch norm {} has no convolution before it; kept", name);
    }
  }
  const int packed = set_packed_inference(*model_, config_.infer);
  if (config_.infer.packed_inference)
    spdlog::debug("PoseTracker: packed oneDNN inference ({}) for {} backbones", name_of(config_.infer.precision),
                  packed);
  torch::InferenceMode guard;
  input_ = torch::zeros({1, 3, input_h_, input_w_}, torch::TensorOptions().device(device_));
  staging_ = device_.is_cpu() ? input_ : torch::zeros({1, 3, input_h_, input_w_});
}

void PoseTracker::reset_counters() {
  initializer_runs_ = 0;
  frames_processed_ = 0;
}

CropTransform PoseTracker::crop(const cv::Mat& frame, const Box& box) {
  DKD_PROFILE_SCOPE("crop");
  if (frame.empty() || frame.type() != CV_8UC3) throw Error("PoseTracker: expected a BGR CV_8UC3 frame");
  const CropTransform t = tracker_crop(config_, box);
  warp_image(frame, t, patch_);
  // Straight into the input tensor (or its host staging copy on another device).
  image_to_chw(patch_, staging_.data_ptr<float>());
  if (staging_.data_ptr() != input_.data_ptr()) input_.copy_(staging_);
  return t;
}

torch::Tensor PoseTracker::crops_of(const CropTransform& input_crop) const {
  if (!model_->prior) return {};
  DKD_PROFILE_SCOPE("crop_matrix");
  return crop_matrices({input_crop.downscaled(kHeatmapStride)}).to(device_);
}

TrackResult PoseTracker::decode(const torch::Tensor& heatmaps, const CropTransform& t, const Box& box) {
  DKD_PROFILE_SCOPE("decode");
  const int64_t hw = heatmaps.size(-1);
  const int stride = static_cast<int>(std::max<int64_t>(1, input_w_ / hw));
  const CropTransform heatmap_transform = t.downscaled(stride);
  const HeatmapPeaks peaks = decode_heatmaps(heatmaps[0], config_.eval.decode, config_.data.heatmap_sigma);
  const auto coords = peaks.coords.to(torch::kCPU).contiguous();
  const auto maxvals = peaks.maxvals.to(torch::kCPU).contiguous();
  const auto c = coords.accessor<float, 2>();
  const auto v = maxvals.accessor<float, 1>();
  TrackResult r;
  const int J = static_cast<int>(coords.size(0));
  r.keypoints.resize(J);
  r.confidence.resize(J);
  double sum = 0.0;
  for (int j = 0; j < J; ++j) {
    r.keypoints[j] = heatmap_to_image({c[j][0], c[j][1]}, heatmap_transform);
    r.confidence[j] = v[j];
    sum += v[j];
  }
  r.mean_confidence = J > 0 ? static_cast<float>(sum / J) : 0.f;
  r.box = box;
  return r;
}

TrackResult PoseTracker::start(const cv::Mat& frame, const Box& box) {
  check_box_in_frame(box, frame.size());
  torch::InferenceMode guard;
  const CropTransform t = crop(frame, box);
  const torch::Tensor heatmaps = stream_.start(input_, crops_of(t));
  ++initializer_runs_;
  ++frames_processed_;
  frame_index_ = 0;
  TrackResult r = decode(heatmaps, t, box);
  r.frame_index = 0;
  r.initializer_ran = true;
  started_ = true;
  boxes_.start(box, frame.size());
  boxes_.update(r.keypoints, r.confidence, find_box(t));
  r.next_box = boxes_.box();
  return r;
}

TrackResult PoseTracker::track(const cv::Mat& frame) {
  if (!started_) throw Error("PoseTracker::track: call start(frame, box) on the first frame");
  torch::InferenceMode guard;
  Box box = boxes_.box();
  CropTransform t = crop(frame, box);
  if (boxes_.refines()) {  // infer.box_network_refine: cropped again where the box network finds the person
    DKD_PROFILE_SCOPE("box");
    boxes_.refine(*find_box(t));
    box = boxes_.box();
    t = crop(frame, box);
  }
  const torch::Tensor crops = crops_of(t);
  // Keyframes as dkd_eval counts them: the rule lives in DkdStream.
  bool reinit = false;
  const torch::Tensor heatmaps = stream_.next(input_, crops, config_.infer, &reinit);
  if (reinit) ++initializer_runs_;
  ++frames_processed_;
  TrackResult r = decode(heatmaps, t, box);
  r.frame_index = ++frame_index_;
  r.initializer_ran = reinit;
  DKD_PROFILE_SCOPE("box");
  boxes_.update(r.keypoints, r.confidence, find_box(t));
  r.next_box = boxes_.box();
  return r;
}

TrackResult PoseTracker::estimate_per_frame(const cv::Mat& frame, const Box& box) {
  check_box_in_frame(box, frame.size());
  torch::InferenceMode guard;
  const CropTransform t = crop(frame, box);
  torch::Tensor heatmaps;
  {
    DKD_PROFILE_SCOPE("initializer");
    heatmaps = model_->initializer->forward(input_);
  }
  TrackResult r = decode(heatmaps, t, box);
  r.initializer_ran = true;
  r.next_box = box;
  return r;
}

}  // namespace dkd
