#pragma once
// Temporal smoothness of video pose predictions: the mean keypoint acceleration
// ||p(t+1) - 2 p(t) + p(t-1)|| over valid triples (Penn: the joint is visible in
// all three frames), for the predictions and for the ground truth, in pixels and
// in percent of the middle frame's ground-truth box size max(w, h) (box sizes
// under 1 px count as 1 px). Means are over the skeleton's table joints
// (docs/datasets.md), and per table column with left and right pooled.
//
// PckEvaluator (pck.h) accumulates it next to PCK, video by video, and carries
// its sums in counts() for distributed evaluation.
#include <cstddef>
#include <string>
#include <vector>

#include "dkd/data/skeleton.h"
#include "dkd/data/video.h"

namespace dkd {

/// Mean keypoint acceleration of predictions and ground truth.
struct SmoothnessResult {
  double pred_px = 0.0;   ///< mean ||p(t+1) - 2p(t) + p(t-1)|| of predictions, pixels
  double gt_px = 0.0;     ///< the same for the ground truth
  double pred_box = 0.0;  ///< predictions, percent of the middle frame's box size
  double gt_box = 0.0;    ///< ground truth, percent of the middle frame's box size
  double triples = 0.0;   ///< number of (joint, t-1, t, t+1) triples averaged
  std::vector<std::string> column_names;
  std::vector<double> column_pred_px;  ///< per table column (left/right pooled), pixels
  std::vector<double> column_gt_px;
  /// pred_px / gt_px (NaN when gt_px is 0): > 1 means predictions jitter more than GT.
  double ratio() const;
};

/// Per-joint sums of keypoint acceleration, added video by video.
class SmoothnessCounts {
 public:
  explicit SmoothnessCounts(int num_joints = 0) { reset(num_joints); }

  /// Zeroes the sums for `num_joints` joints.
  void reset(int num_joints);

  /// Adds the valid triples of one video. `predictions` holds T*J points
  /// (frame-major, T = gt.num_frames(), J = num_joints; the caller checks the
  /// sizes). With `use_visibility` a triple counts only when the joint is
  /// visible in all three frames; a triple with a non-finite prediction never counts.
  void add(const VideoRecord& gt, const std::vector<Point2>& predictions, bool use_visibility);

  /// Means over the table joints and per column of `skeleton` (NaN where no triple counts).
  SmoothnessResult result(const Skeleton& skeleton) const;

  /// Number of sums: 5 per joint.
  std::size_t size() const { return 5 * pred_px_.size(); }
  /// Appends the sums to `out`: pred_px, gt_px, pred_box, gt_box, triples (J each).
  void append_to(std::vector<double>& out) const;
  /// Reads size() sums from `counts` at `pos` (the layout of append_to; the caller
  /// checks that they are there) and adds them, or with `replace` takes them;
  /// `pos` moves past them.
  void read_from(const std::vector<double>& counts, std::size_t& pos, bool replace);

 private:
  std::vector<double> pred_px_, gt_px_, pred_box_, gt_box_, triples_;
};

/// Mean of several results (e.g. the Sub-JHMDB splits) value by value, NaNs
/// skipped; triples are summed. `results` must not be empty.
SmoothnessResult average_smoothness(const std::vector<const SmoothnessResult*>& results);

}  // namespace dkd
