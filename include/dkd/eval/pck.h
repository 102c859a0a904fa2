#pragma once
// PCK evaluation of video pose predictions (docs/datasets.md "PCK, exactly").
//
// The evaluator follows the detectron2/mmengine evaluator API:
//
//   PckEvaluator ev("penn");  // or ev("jhmdb", options)
//   for (video) ev.process(record, preds); // preds: T*J, 0-based pixels, frame-major
//   EvalResult r = ev.evaluate();
//
// Rules (exactly as the MATLAB reference):
//   * a joint is correct when ||p_hat - p||_2 <= thr * norm  (<=, not <);
//   * bbox norm = max(x2 - x1, y2 - y1) of that frame's ground-truth box;
//   * torso norm = ||gt shoulder - gt opposite hip|| (skeleton.torso); when it is
//     under 1 px the predicted pair's distance is used instead;
//   * valid joints: Penn Action counts visible joints only, JHMDB counts all
//     joints (its visibility vector is ignored);
//   * PCK_j is pooled over every frame of every video: hits_j / valid_j.
//   * PCK by frame index: the same counts restricted to frames 1, 2-4, 5-10,
//     11-20, 21-40 and 41+ of each video (1-based).
//
// All PCK values are percentages (0..100). A joint with no valid instance has
// PCK NaN and is left out of the means; NaN is written as null in JSON.
//
// The three means, named identically in every output:
//   mean_joints  = mean of per-joint PCK over skeleton.table_joints() (13 joints;
//                  JHMDB's neck and belly are excluded),
//   mean_columns = mean of the 7 columns Head, Sho, Elb, Wri, Hip, Knee, Ank
//                  (each column = mean of its left and right joint PCK),
//   pooled       = sum of hits / sum of valid over the table joints.
//
// The evaluator also measures temporal smoothness (smoothness.h) on the same
// videos: EvalResult::smoothness.
//
// Distributed evaluation: counts() flattens every accumulator into one vector
// of doubles; all-reduce (sum) it across ranks and merge() the sum into a fresh
// evaluator (or set_counts()). The layout depends on the action list: give every
// rank the same PckOptions::actions (e.g. actions_of(all test records)).
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "dkd/data/skeleton.h"
#include "dkd/data/video.h"
#include "dkd/eval/box_drift.h"
#include "dkd/eval/smoothness.h"

namespace dkd {

/// Thresholds of the PCK curve: 0.05, 0.10, ..., 0.50.
std::vector<double> default_curve_thresholds();

/// Sorted, unique action names of `records`.
std::vector<std::string> actions_of(const std::vector<VideoRecord>& records);

/// PCK at one threshold under one normalisation.
struct PckSummary {
  double threshold = 0.2;
  std::string norm = "bbox";              ///< "bbox" or "torso"
  std::vector<std::string> joint_names;   ///< every joint of the skeleton, file order
  std::vector<double> per_joint;          ///< percent per joint (NaN: no valid instance)
  std::vector<double> hits;               ///< correct count per joint
  std::vector<double> valid;              ///< valid count per joint
  std::vector<std::string> column_names;  ///< Head, Sho, Elb, Wri, Hip, Knee, Ank
  std::vector<double> columns;            ///< percent per column
  double mean_joints = 0.0;               ///< mean of per-joint PCK over the table joints
  double mean_columns = 0.0;              ///< mean of the 7 columns
  double pooled = 0.0;                    ///< sum hits / sum valid over the table joints

  /// Value of a column by name ("Head", ..., "Ank"); throws UsageError if unknown.
  double column(const std::string& name) const;
  /// Value of a joint by name ("head", "l_wrist", ...); throws UsageError if unknown.
  double joint(const std::string& name) const;
};

/// Builds a summary (per joint, columns and means) from per-joint counts.
PckSummary summarize_pck(const Skeleton& skeleton, const std::vector<double>& hits, const std::vector<double>& valid,
                         double threshold, const std::string& norm);

/// PCK of the frames whose 1-based index in their video lies in [first, last]
/// (last = 0: no upper end). The buckets show where a streaming model loses
/// accuracy: frame 1 is the initializer's, later frames the distilled kernels'.
struct FrameBucket {
  int first = 1;
  int last = 0;
  PckSummary pck;             ///< bbox norm at the main threshold, frames of this bucket only
  std::string label() const;  ///< "1", "2-4", "41+"
};

/// Frame-index buckets of EvalResult::by_frame: 1, 2-4, 5-10, 11-20, 21-40, 41+.
std::vector<std::pair<int, int>> default_frame_buckets();

struct ActionResult {
  std::string action;
  double videos = 0.0;
  double frames = 0.0;
  PckSummary pck;  ///< bbox norm at the main threshold
};

struct EvalResult {
  std::string dataset = "penn";
  std::string split;  ///< "test", "1", "2", "3", "all", ...
  double videos = 0.0;
  double frames = 0.0;
  PckSummary pck;        ///< bbox norm at the main threshold
  PckSummary pck_torso;  ///< torso norm at the main threshold
  /// (threshold, mean_joints) of the bbox norm for each curve threshold.
  std::vector<std::pair<double, double>> curve;
  std::vector<PckSummary> curve_full;    ///< full bbox summaries, one per curve threshold
  std::vector<ActionResult> per_action;  ///< sorted by action name
  SmoothnessResult smoothness;
  std::vector<FrameBucket> by_frame;  ///< PCK by frame index (default_frame_buckets)
  BoxDriftResult box_drift;           ///< crop boxes against GT boxes (when the evaluator was given them)
};

struct PckOptions {
  double threshold = 0.2;  ///< main threshold
  std::vector<double> curve_thresholds = default_curve_thresholds();
  /// Fixed action list (fixes the counts() layout; needed for merging across
  /// ranks). Empty: actions are added as videos arrive.
  std::vector<std::string> actions;
  std::string split = "test";  ///< label carried into EvalResult::split
  /// Crop geometry for the box drift (box_drift.h): data.box_scale and the input's width / height.
  double crop_scale = 1.25;
  double crop_aspect = 1.0;
};

class PckEvaluator {
 public:
  explicit PckEvaluator(const std::string& dataset, PckOptions options = {});

  /// Drops all accumulated counts (the action list given in the options stays).
  void reset();

  /// Adds one video. `predictions` holds T*J points (frame-major) in 0-based
  /// pixels, T = gt.num_frames(), J = the skeleton's joint count. Throws
  /// UsageError naming the video on a size mismatch, a wrong data set, or an
  /// action outside a fixed action list. Non-finite predictions count as misses.
  /// `crop_boxes` (T, optional): the box each frame was cropped with, for the box drift.
  void process(const VideoRecord& gt, const std::vector<Point2>& predictions,
               const std::vector<Box>* crop_boxes = nullptr);

  /// Summaries of everything processed so far.
  EvalResult evaluate() const;

  /// Every accumulator flattened (sums; safe to all-reduce with SUM).
  std::vector<double> counts() const;
  /// Adds counts from another evaluator with the same layout (UsageError otherwise).
  void merge(const std::vector<double>& counts);
  /// Replaces the accumulators by `counts` (e.g. the all-reduced sum).
  void set_counts(const std::vector<double>& counts);
  /// Length of counts() for the current action list.
  std::size_t counts_size() const;

  const Skeleton& skeleton() const { return *skeleton_; }
  const PckOptions& options() const { return options_; }

 private:
  struct ActionCounts {
    double videos = 0.0, frames = 0.0;
    std::vector<double> hits, valid;
  };
  ActionCounts& action_counts(const std::string& action);
  void add_counts(const std::vector<double>& counts, bool replace);

  std::string dataset_;
  const Skeleton* skeleton_;
  bool visible_only_;  ///< the data set's PCK counts only visible joints
  PckOptions options_;
  bool fixed_actions_;
  int J_;
  double videos_ = 0.0, frames_ = 0.0;
  // bbox hits per threshold: index 0 = main threshold, 1.. = curve thresholds.
  std::vector<std::vector<double>> bbox_hits_;
  std::vector<double> valid_;
  std::vector<double> torso_hits_;
  std::map<std::string, ActionCounts> actions_;
  // main-threshold bbox hits and valid counts per frame bucket, per joint
  std::vector<std::vector<double>> frame_hits_, frame_valid_;
  SmoothnessCounts smoothness_;
  BoxDriftCounts box_drift_;
};

/// Sub-JHMDB: averages per-split results the way papers do — the mean over
/// splits of each per-joint PCK, column, mean, curve point, per-action value and
/// smoothness value (NaNs skipped); counts and frames are summed; split = "all".
/// Throws UsageError when the results are empty or differ in data set or threshold.
EvalResult average_splits(const std::vector<EvalResult>& results);

}  // namespace dkd
