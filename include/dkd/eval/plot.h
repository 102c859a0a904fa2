#pragma once
// Figures drawn with OpenCV: PCK curves (one or several named curves) and the
// temporal-smoothness bar chart (mean keypoint acceleration, predictions vs
// ground truth, per PCK column). PNG files; write errors throw dkd::Error.
#include <string>
#include <utility>
#include <vector>

#include <opencv2/core.hpp>

#include "dkd/eval/pck.h"
#include "dkd/eval/smoothness.h"

namespace dkd {

struct NamedCurve {
  std::string name;
  std::vector<std::pair<double, double>> points;  ///< (threshold, PCK in percent)
};

/// Curve of a result (EvalResult::curve, mean_joints) named `name`.
NamedCurve curve_of(const EvalResult& result, const std::string& name);

/// PCK vs threshold: x axis 0 .. max threshold (at least 0.5), y axis 0 .. 100,
/// grid, tick labels, markers, legend. 8-bit BGR image.
cv::Mat render_pck_curves(const std::vector<NamedCurve>& curves, const std::string& title, int width = 900,
                          int height = 620);
void plot_pck_curves(const std::string& png_path, const std::vector<NamedCurve>& curves, const std::string& title);

/// PCK by frame index: one line per named result over the frame buckets
/// (EvalResult::by_frame; categorical x axis), y axis from just below the
/// lowest value to 100.
struct NamedFrameCurve {
  std::string name;
  std::vector<FrameBucket> buckets;
};
cv::Mat render_pck_by_frame(const std::vector<NamedFrameCurve>& curves, const std::string& title, int width = 900,
                            int height = 560);
void plot_pck_by_frame(const std::string& png_path, const std::vector<NamedFrameCurve>& curves,
                       const std::string& title);

/// Box drift over the frame index (eval.boxes = tracked): centre offset, |scale
/// error| and GT joints outside the crop, all in percent, frame 1, 2, ... (box_drift.h).
cv::Mat render_box_drift(const BoxDriftResult& drift, const std::string& title, int width = 900, int height = 560);
void plot_box_drift(const std::string& png_path, const BoxDriftResult& drift, const std::string& title);

/// Grouped bars per table column and "all": predictions vs ground truth, px/frame^2.
cv::Mat render_smoothness(const SmoothnessResult& smoothness, const std::string& title, int width = 900,
                          int height = 560);
void plot_smoothness(const std::string& png_path, const SmoothnessResult& smoothness, const std::string& title);

}  // namespace dkd
