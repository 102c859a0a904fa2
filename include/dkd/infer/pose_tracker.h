#pragma once
// PoseTracker: streaming DKD inference on one person in a video.
//
//   dkd::PoseTracker tracker(config, "work_dirs/penn/best.pt");
//   auto r = tracker.start(frame0, box);      // pose initializer (large network)
//   while (...) r = tracker.track(frame);     // encoder + distilled kernels
//   // r.keypoints (J, image pixels), r.confidence (J), r.next_box
//
// Each frame is cropped around the current box (enlarged by data.box_scale to
// the network's aspect, the training crop), run, decoded (argmax + quarter-pixel
// refinement) and mapped back to image pixels; a joint's confidence is its
// heatmap peak. The box for the next frame comes from the decoded joints by the
// rule of infer.box_rule (data/box_tracker.h; the one dkd_eval's tracked boxes use).
//
// Inference mode: no autograd (torch::InferenceMode), the model in eval mode
// with batch norm folded into the preceding convolutions at load time
// (infer.fold_bn), the input tensor reused between frames.
//
// Re-initialisation (beyond the paper), the rules dkd_eval applies
// (eval/model_eval.cpp): infer.reinit_every = N runs the initializer instead of
// the kernels on frames N, 2N, ... after start(); infer.reinit_confidence = c
// re-runs a frame through the initializer when the kernels' output has a mean
// peak (over joints) below c. initializer_runs() counts every run (start
// included) so the evaluator can count GMACs.
#include <cstdint>
#include <string>
#include <vector>

#include <c10/core/Device.h>
#include <opencv2/core.hpp>
#include <torch/torch.h>

#include "dkd/config/config.h"
#include "dkd/data/box_tracker.h"
#include "dkd/data/transforms.h"
#include "dkd/data/video.h"
#include "dkd/infer/bn_fold.h"
#include "dkd/models/box_net.h"
#include "dkd/models/dkd_model.h"
#include "dkd/models/dkd_stream.h"

namespace dkd {

struct TrackResult {
  int64_t frame_index = 0;        ///< 0 for start(), then 1, 2, ...
  std::vector<Point2> keypoints;  ///< J, image pixels (0-based)
  std::vector<float> confidence;  ///< J, heatmap peak values
  float mean_confidence = 0.f;
  Box box;                       ///< the box this frame was cropped with
  Box next_box;                  ///< the box for the next frame
  bool initializer_ran = false;  ///< this frame ran the pose initializer
};

/// The crop a person box is taken with: the box enlarged by data.box_scale to the
/// network's aspect, mapped to data.input_size (image -> input pixels). The tracker,
/// its batched bench and the step export all crop with it.
CropTransform tracker_crop(const Config& config, const Box& box);

/// UsageError unless `box` has positive size and lies inside the image
/// (partially outside by at most half its size on each side is accepted).
void check_box_in_frame(const Box& box, cv::Size image_size);

/// DKD model for `config` with the weights of `checkpoint` (models initializer,
/// encoder, distillator, matching), on config.runtime.device. Pretrained
/// backbone files of the config are not read. Error naming the checkpoint and
/// the part when it does not match the config.
DkdModel load_model_for_inference(const Config& config, const std::string& checkpoint);
/// The tracker's box network of `checkpoint` (its box stage; infer.box_rule:
/// network), in eval mode on config.runtime.device.
BoxNet load_box_net_for_inference(const Config& config, const std::string& checkpoint);

class PoseTracker {
 public:
  /// Builds the model of `config` and loads `checkpoint` (see load_model_for_inference;
  /// with infer.box_rule network also its box network).
  PoseTracker(const Config& config, const std::string& checkpoint);
  /// Uses an already built model (tests, benchmarks with random weights). The
  /// model is moved to config.runtime.device, put in eval mode and, with
  /// infer.fold_bn, folded (in place: the caller's module is changed). With
  /// infer.box_rule network the box network is untrained until set_box_net.
  PoseTracker(const Config& config, DkdModel model);

  /// First frame: the initializer on `frame` cropped around `box`. Also resets
  /// the tracker (a new video). UsageError for a box outside the frame.
  TrackResult start(const cv::Mat& frame, const Box& box);
  /// Next frame: encoder + distilled kernels (or the initializer on a keyframe,
  /// see infer.reinit_*). Error when start() has not been called.
  TrackResult track(const cv::Mat& frame);

  /// The per-frame large network (initializer alone) on `frame` cropped around
  /// `box`; the tracker's state is untouched. The baseline that track() is
  /// compared with (dkd_infer --bench).
  TrackResult estimate_per_frame(const cv::Mat& frame, const Box& box);

  /// The box network infer.box_rule network follows the person with (the
  /// checkpoint's, or this one: tests, benchmarks).
  void set_box_net(BoxNet box);

  bool started() const { return started_; }
  /// Initializer runs since construction (start() and re-initialisations).
  int64_t initializer_runs() const { return initializer_runs_; }
  /// Frames processed since construction (start() and track()).
  int64_t frames_processed() const { return frames_processed_; }
  void reset_counters();

  int num_joints() const { return num_joints_; }
  const c10::Device& device() const { return device_; }
  const BnFoldReport& fold_report() const { return fold_report_; }
  bool bn_folded() const { return folded_; }
  DkdModel& model() { return model_; }
  const Config& config() const { return config_; }

 private:
  void prepare();
  /// Crops `frame` around `box` into input_; returns the heatmap transform.
  CropTransform crop(const cv::Mat& frame, const Box& box);
  /// [1, 2, 3] image -> heatmap affine of the crop, for DKD's location prior (else undefined).
  torch::Tensor crops_of(const CropTransform& input_crop) const;
  TrackResult decode(const torch::Tensor& heatmaps, const CropTransform& heatmap_transform, const Box& box);
  /// With infer.box_rule network: the box network's box in the crop input_
  /// holds (image -> input transform `input_transform`); else null.
  const Box* find_box(const CropTransform& input_transform);

  Config config_;
  DkdModel model_{nullptr};
  c10::Device device_{c10::kCPU};
  int num_joints_ = 0;
  int input_w_ = 0, input_h_ = 0;
  bool folded_ = false;
  BnFoldReport fold_report_;

  torch::Tensor input_;    ///< [1, 3, H, W] on device_, reused every frame
  torch::Tensor staging_;  ///< input_ itself on the CPU, else its host copy
  cv::Mat patch_;          ///< the crop, reused every frame
  DkdStream stream_;       ///< the DKD stream and its keyframe rule (shared with dkd_eval)
  bool started_ = false;
  BoxTracker boxes_;         ///< the box rule (shared with dkd_eval's tracked boxes)
  BoxNet box_net_{nullptr};  ///< infer.box_rule network: where the person's box is in a crop
  Box found_box_;
  int64_t frame_index_ = 0;
  int64_t initializer_runs_ = 0;
  int64_t frames_processed_ = 0;
};

}  // namespace dkd
