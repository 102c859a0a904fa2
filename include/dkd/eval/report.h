#pragma once
// Evaluation reports: the paper-style console table, Markdown, JSON, the
// per-action table, the smoothness table and a side-by-side comparison of
// several models.
//
// JSON schema (result_to_json):
//   {"dataset", "split", "videos", "frames",
//    "pck":       {"threshold", "norm": "bbox",  "per_joint": {name: value},
//                  "columns": {"Head", "Sho", "Elb", "Wri", "Hip", "Knee", "Ank"},
//                  "mean_joints", "mean_columns", "pooled"},
//    "pck_torso": {same, "norm": "torso"},
//    "curve": [[thr, pck], ...],   "curve_mean": "mean_joints",
//    "per_action": {action: {"videos", "frames", "columns": {...},
//                            "mean_joints", "mean_columns", "pooled"}},
//    "smoothness": {"unit", "pred_px", "gt_px", "pred_box_pct", "gt_box_pct", "ratio",
//                   "triples", "per_column": {col: {"pred_px", "gt_px"}}},
//    "complexity": {... as given by the caller ...},
//    "speed": {"ms_first_frame", "ms_per_frame", "fps", "threads", "device"}}
// PCK values are percentages; NaN (no valid joint) is written as null.
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dkd/eval/pck.h"

namespace dkd {

/// Timing of streaming inference, filled by the caller (dkd_eval / dkd_infer).
struct SpeedInfo {
  double ms_first_frame = std::numeric_limits<double>::quiet_NaN();  ///< initializer frame
  double ms_per_frame = std::numeric_limits<double>::quiet_NaN();    ///< later frames (median)
  double fps = std::numeric_limits<double>::quiet_NaN();
  /// Videos stepping together (one batch); the times above are per frame of one of them.
  int64_t streams = 1;
  int threads = 0;
  std::string device;
};

nlohmann::json speed_to_json(const SpeedInfo& speed);
nlohmann::json pck_to_json(const PckSummary& pck);
/// The whole result; `complexity` and `speed` are copied in as given (omitted
/// when null).
nlohmann::json result_to_json(const EvalResult& result, const nlohmann::json& complexity = nullptr,
                              const nlohmann::json& speed = nullptr);

/// Paper-style table: one row per normalisation (bbox, torso) with the 7
/// columns and the three named means; the title names data set, split,
/// threshold, frames, videos. `model` labels the rows ("" = "PCK").
std::string format_pck_table(const EvalResult& result, bool markdown = false, const std::string& model = "");
/// Per-action table (bbox norm, main threshold).
std::string format_per_action_table(const EvalResult& result, bool markdown = false);
/// Smoothness table (acceleration of predictions vs ground truth per column).
std::string format_smoothness_table(const EvalResult& result, bool markdown = false);
/// PCK curve as a table of (threshold, mean_joints).
std::string format_curve_table(const EvalResult& result, bool markdown = false);
/// PCK by frame index: one column per bucket (1, 2-4, 5-10, 11-20, 21-40, 41+).
std::string format_frame_table(const EvalResult& result, bool markdown = false);
/// Box drift by frame index (eval.boxes = tracked; box_drift.h).
std::string format_box_drift_table(const EvalResult& result, bool markdown = false);
/// The box drift as JSON: "all", "by_bucket" and "by_frame" (frame 1, 2, ...).
nlohmann::json box_drift_to_json(const BoxDriftResult& drift);
/// Everything above plus the complexity/speed sections when given.
std::string format_report(const EvalResult& result, bool markdown = false, const nlohmann::json& complexity = nullptr,
                          const nlohmann::json& speed = nullptr, const std::string& model = "");

/// One model in a comparison table. NaN = unknown (printed as "-").
struct ComparisonRow {
  std::string name;
  PckSummary pck;  ///< usually EvalResult::pck (bbox norm)
  double gmacs_per_frame = std::numeric_limits<double>::quiet_NaN();
  double params = std::numeric_limits<double>::quiet_NaN();  ///< parameter count
  double ms_per_frame = std::numeric_limits<double>::quiet_NaN();
  /// The same means under torso normalisation (EvalResult::pck_torso); NaN when unknown.
  double torso_mean_joints = std::numeric_limits<double>::quiet_NaN();
  double torso_mean_columns = std::numeric_limits<double>::quiet_NaN();
  double torso_pooled = std::numeric_limits<double>::quiet_NaN();
  /// Takes the three torso means of `torso`.
  void set_torso(const PckSummary& torso);
  /// The torso mean named like mean_of's `mean`.
  double torso_mean(const std::string& mean) const;
  /// Temporal smoothness: mean keypoint acceleration of the predictions over
  /// that of the ground truth (SmoothnessResult::ratio(); 1 = as smooth as GT).
  double accel_ratio = std::numeric_limits<double>::quiet_NaN();
};

/// Side-by-side table: name, 7 PCK columns, the mean named by `mean`
/// ("mean_joints", "mean_columns" or "pooled"), the torso-normalised mean, the
/// acceleration ratio, GMACs/frame, params (M), ms/frame; then each model
/// relative to the first row (PCK difference in points, how many times fewer
/// GMACs and ms per frame it needs).
std::string format_comparison(const std::vector<ComparisonRow>& rows, bool markdown = false,
                              const std::string& mean = "mean_joints");

/// A comparison row from a saved result_to_json() document: "pck" for the
/// columns and means, complexity.gmacs_per_frame and complexity.params when
/// present, speed.ms_per_frame when present. DataError(origin, ...) when "pck"
/// is missing or malformed.
ComparisonRow comparison_row_from_json(const std::string& name, const nlohmann::json& doc, const std::string& origin);

}  // namespace dkd
