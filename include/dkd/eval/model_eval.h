#pragma once
// Running a model over whole test videos, in order, as the papers evaluate:
// DKD runs the initializer on the first frame and distilled kernels afterwards
// (optionally re-initialising on keyframes, infer.reinit_*); a per-frame model
// runs every frame. Shared by dkd_eval and the trainer's validation, so both
// compute PCK through the same code.
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <c10/core/Device.h>

#include "dkd/config/config.h"
#include "dkd/data/video.h"
#include "dkd/eval/pck.h"
#include "dkd/eval/predictions.h"
#include "dkd/eval/report.h"
#include "dkd/models/dkd_model.h"
#include "dkd/models/dkd_stream.h"
#include "dkd/models/model_set.h"
#include "dkd/models/per_frame_model.h"

namespace dkd {

struct Skeleton;
struct CropTransform;

/// A DKD model or a per-frame model, as the evaluator runs it.
class EvalModel {
 public:
  static EvalModel dkd(DkdModel model);
  static EvalModel per_frame(PerFrameModel model);
  /// The model of `set` that `kind` names.
  static EvalModel of(ModelSet& set, ModelKind kind);

  bool is_dkd() const { return static_cast<bool>(dkd_); }
  /// Puts the model in eval mode.
  void eval();
  /// Packed oneDNN inference for the model's backbones (infer.packed_inference,
  /// infer.precision).
  void set_packed_inference(const InferConfig& infer);

  /// Heatmaps [T, J, h, w] for a video's cropped frames [T, 3, H, W]. With
  /// `flip` the horizontally flipped input is run too (a second stream for DKD)
  /// and the flipped-back heatmaps are averaged in (SimpleBaseline's flip test).
  /// DKD re-runs the initializer where `reinit` says so; `initializer_runs`
  /// counts the initializer runs (1 + re-initialisations; T for per-frame).
  /// `heatmap_transforms` (image -> heatmap, one per frame) feed DKD's location prior.
  torch::Tensor run_video(const torch::Tensor& frames, bool flip, const Skeleton& skeleton, const InferConfig& reinit,
                          int64_t* initializer_runs = nullptr,
                          const std::vector<CropTransform>* heatmap_transforms = nullptr);

  /// Streaming, one frame [1, 3, H, W] at a time: the first frame of a video
  /// (initializer for DKD) ... `heatmap_transform` (image -> heatmap of this
  /// frame's crop) lets DKD's location prior map the previous heatmaps into it.
  torch::Tensor first_frame(const torch::Tensor& frame, const CropTransform* heatmap_transform = nullptr);
  /// ... and each later frame. The keyframe re-initialisation rule
  /// (infer.reinit_every, infer.reinit_confidence; DKD only) lives in DkdStream:
  /// `initializer_ran` tells whether this frame went through the initializer.
  torch::Tensor next_frame(const torch::Tensor& frame, const InferConfig& rules = {}, bool* initializer_ran = nullptr,
                           const CropTransform* heatmap_transform = nullptr);

  /// Several videos in lockstep: `frames` [N, 3, H, W] holds frame t of N
  /// videos (one DKD stream each, with its own keyframes), `heatmap_transforms`
  /// one per row. Returns [N, J, h, w]; `initializer_ran` gets one flag per video.
  torch::Tensor first_frames(const torch::Tensor& frames,
                             const std::vector<CropTransform>* heatmap_transforms = nullptr);
  torch::Tensor next_frames(const torch::Tensor& frames, const InferConfig& rules,
                            std::vector<bool>* initializer_ran = nullptr,
                            const std::vector<CropTransform>* heatmap_transforms = nullptr);
  /// Keeps only the videos `videos` (indices into the current rows, in order)
  /// for the next next_frames call, e.g. after the others ended.
  void keep_videos(const std::vector<int64_t>& videos);

  /// The tracker's box network (infer.box_rule: network) on crops [N, 3, H, W]
  /// whose image -> input transforms are `input_transforms`: each person's box
  /// in the image. Error when the model has none.
  std::vector<Box> find_boxes(const torch::Tensor& frames, const std::vector<CropTransform>& input_transforms,
                              bool flip);
  bool has_box_net() const { return static_cast<bool>(box_); }
  void set_box_net(BoxNet box) { box_ = std::move(box); }

  /// Horizontal flip test for the streaming calls (a second, mirrored DKD stream).
  void set_flip_test(bool flip, const Skeleton* skeleton);

 private:
  /// [N, ...] -> [N*R, ...]: with the flip test each frame followed by its mirror (R = 2).
  torch::Tensor input_of(const torch::Tensor& frames) const;
  /// [N*R, J, h, w] -> [N, J, h, w]: with the flip test the mirror's heatmaps flipped back and averaged in.
  torch::Tensor output_of(const torch::Tensor& heatmaps) const;
  /// [N*R, 2, 3] (with the flip test each crop followed by its mirrored crop) or undefined.
  torch::Tensor crops_of(const std::vector<CropTransform>* heatmap_transforms, const c10::Device& device) const;

  DkdModel dkd_{nullptr};
  PerFrameModel per_frame_{nullptr};
  BoxNet box_{nullptr};  ///< the tracker's box network, where the model set has one
  DkdStream stream_;     ///< one DKD stream per video and the keyframe rule (shared with dkd_infer)
  bool flip_ = false;
  const Skeleton* skeleton_ = nullptr;
};

/// Per-video predictions in image pixels (0-based), T*J frame-major, and the
/// peak confidence of each.
struct VideoPredictions {
  std::vector<Point2> joints;
  std::vector<float> confidence;
  std::vector<Box> crop_boxes;  ///< eval.boxes = tracked: the box each frame was cropped with (T)
  int64_t initializer_runs = 0;
};

/// PCK options of `config` (eval.pck_threshold, the crop geometry for the box drift), labelled `split`.
PckOptions pck_options_of(const Config& config, const std::string& split);

/// Runs `model` over `videos[i]` for every i with i % world_size == rank,
/// adds each to `evaluator` and, when `predictions` is given, stores them
/// there (by video id). eval.batch_videos videos at a time step together
/// (predict_videos). Shows a progress bar. Returns the total initializer runs
/// and frames seen (for the per-video GMACs average).
struct RunTotals {
  int64_t videos = 0;
  int64_t frames = 0;
  int64_t initializer_runs = 0;
  /// With eval.box_offset_*: the mean over frames (after the first with
  /// eval.boxes = tracked) of the visible joints' mean error along the offset,
  /// as a fraction of the offset (0: the predictions stay on the person; 1:
  /// they move with the crop). NaN without an offset.
  double anchoring = std::numeric_limits<double>::quiet_NaN();
};

/// `video`'s ground-truth boxes, each moved by eval.box_offset_x/_y times its larger side.
std::vector<Box> offset_boxes(const VideoRecord& video, const EvalConfig& eval);

/// Whether eval.box_offset_x or _y is set.
bool has_box_offset(const EvalConfig& eval);

/// Adds `video`'s frames (after the first when `tracked`) to the crop-anchoring
/// sums: per frame, the visible joints' mean error along the box offset over
/// the offset's length (both in the ground-truth box's larger side).
void add_crop_anchoring(const VideoRecord& video, const std::vector<Point2>& joints, const EvalConfig& eval,
                        bool tracked, double& sum, int64_t& count);
RunTotals run_model_on_videos(EvalModel& model, const std::vector<VideoRecord>& videos, const Config& config,
                              const c10::Device& device, PckEvaluator& evaluator, int rank = 0, int world_size = 1,
                              Predictions* predictions = nullptr);

/// Several videos stepped together in one batch (eval.batch_videos of them in
/// run_model_on_videos): each gets what predict_video gives it alone.
std::vector<VideoPredictions> predict_videos(EvalModel& model, const std::vector<const VideoRecord*>& videos,
                                             const Config& config, const c10::Device& device);

/// One video: crops every frame with its ground-truth box (eval.boxes =
/// ground_truth) or, with eval.boxes = tracked, the first frame with its
/// ground-truth box and every later frame with the box derived from the
/// previous prediction (next_box_from_keypoints with infer.*, as dkd_infer
/// does); runs the model, decodes the heatmaps (eval.decode) and maps them back
/// to the image.
VideoPredictions predict_video(EvalModel& model, const VideoRecord& video, const Config& config,
                               const c10::Device& device);

/// Median ms of the first frame and of later frames over eval.speed_frames
/// frames after eval.warmup_frames, on random input of data.input_size.
/// `streams` videos step together, one batch per time step (as dkd_eval runs
/// eval.batch_videos); the times are per frame of one video (batch time / streams).
SpeedInfo measure_speed(EvalModel& model, const Config& config, const c10::Device& device, int64_t streams = 1);

}  // namespace dkd
