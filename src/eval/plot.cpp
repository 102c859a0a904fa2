#include "dkd/eval/plot.h"

#include <algorithm>
#include <cmath>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "dkd/data/image_io.h"
#include "dkd/eval/numbers.h"
#include "dkd/util/error.h"

namespace dkd {

namespace {

const cv::Scalar kBlack(0, 0, 0), kGrid(225, 225, 225), kWhite(255, 255, 255);
const int kFont = cv::FONT_HERSHEY_SIMPLEX;

// Tableau-like palette (BGR).
const std::vector<cv::Scalar> kColors = {{180, 119, 31},  {14, 127, 255}, {44, 160, 44},   {40, 39, 214},
                                         {189, 103, 148}, {75, 86, 140},  {194, 119, 227}, {127, 127, 127}};

void text(cv::Mat& img, const std::string& s, cv::Point at, double scale, int thick = 1,
          int align = -1 /* -1 left, 0 centre, 1 right */, bool vcenter = false) {
  int base = 0;
  cv::Size sz = cv::getTextSize(s, kFont, scale, thick, &base);
  int x = at.x - (align == 0 ? sz.width / 2 : align == 1 ? sz.width : 0);
  int y = at.y + (vcenter ? sz.height / 2 : 0);
  cv::putText(img, s, {x, y}, kFont, scale, kBlack, thick, cv::LINE_AA);
}

}  // namespace

NamedCurve curve_of(const EvalResult& result, const std::string& name) { return {name, result.curve}; }

cv::Mat render_pck_curves(const std::vector<NamedCurve>& curves, const std::string& title, int width, int height) {
  cv::Mat img(height, width, CV_8UC3, kWhite);
  const int left = 80, right = 30, top = 55, bottom = 70;
  const int pw = width - left - right, ph = height - top - bottom;
  double xmax = 0.5;
  for (const auto& c : curves)
    for (const auto& p : c.points)
      if (std::isfinite(p.first)) xmax = std::max(xmax, p.first);
  xmax = std::ceil(xmax * 20.0 - 1e-9) / 20.0;
  auto X = [&](double t) { return left + static_cast<int>(std::lround(t / xmax * pw)); };
  auto Y = [&](double v) { return top + static_cast<int>(std::lround((1.0 - v / 100.0) * ph)); };
  // grid and ticks
  for (int k = 0; k <= static_cast<int>(std::lround(xmax * 20)); ++k) {
    const double t = k / 20.0;
    cv::line(img, {X(t), top}, {X(t), top + ph}, kGrid, 1);
    cv::line(img, {X(t), top + ph}, {X(t), top + ph + 6}, kBlack, 1);
    text(img, fixed(t, 2), {X(t), top + ph + 24}, 0.5, 1, 0);
  }
  for (int v = 0; v <= 100; v += 10) {
    cv::line(img, {left, Y(v)}, {left + pw, Y(v)}, kGrid, 1);
    cv::line(img, {left - 6, Y(v)}, {left, Y(v)}, kBlack, 1);
    text(img, std::to_string(v), {left - 10, Y(v)}, 0.5, 1, 1, true);
  }
  cv::rectangle(img, {left, top}, {left + pw, top + ph}, kBlack, 1);
  text(img, "threshold (fraction of max(box width, height))", {left + pw / 2, height - 18}, 0.55, 1, 0);
  // rotated y label
  {
    const std::string yl = "PCK (%)";
    int base = 0;
    cv::Size sz = cv::getTextSize(yl, kFont, 0.6, 1, &base);
    cv::Mat lab(sz.height + base + 4, sz.width + 4, CV_8UC3, kWhite);
    cv::putText(lab, yl, {2, sz.height + 2}, kFont, 0.6, kBlack, 1, cv::LINE_AA);
    cv::Mat rot;
    cv::rotate(lab, rot, cv::ROTATE_90_COUNTERCLOCKWISE);
    const int x0 = 8, y0 = top + ph / 2 - rot.rows / 2;
    if (x0 + rot.cols <= width && y0 >= 0 && y0 + rot.rows <= height)
      rot.copyTo(img(cv::Rect(x0, y0, rot.cols, rot.rows)));
  }
  text(img, title, {width / 2, 32}, 0.7, 2, 0);
  // curves
  for (std::size_t i = 0; i < curves.size(); ++i) {
    const cv::Scalar col = kColors[i % kColors.size()];
    std::vector<cv::Point> pts;
    for (const auto& p : curves[i].points)
      if (std::isfinite(p.first) && std::isfinite(p.second))
        pts.emplace_back(X(p.first), Y(std::clamp(p.second, 0.0, 100.0)));
    if (pts.size() > 1) cv::polylines(img, pts, false, col, 2, cv::LINE_AA);
    for (const auto& q : pts) cv::circle(img, q, 4, col, cv::FILLED, cv::LINE_AA);
  }
  // legend, bottom right inside the plot (curves sit high at large thresholds)
  if (!curves.empty()) {
    int lw = 0;
    for (const auto& c : curves) {
      int base = 0;
      lw = std::max(lw, cv::getTextSize(c.name, kFont, 0.55, 1, &base).width);
    }
    const int row = 24, bw = lw + 60, bh = row * static_cast<int>(curves.size()) + 12;
    const int bx = left + pw - bw - 12, by = top + ph - bh - 12;
    cv::rectangle(img, {bx, by}, {bx + bw, by + bh}, kWhite, cv::FILLED);
    cv::rectangle(img, {bx, by}, {bx + bw, by + bh}, kBlack, 1);
    for (std::size_t i = 0; i < curves.size(); ++i) {
      const cv::Scalar col = kColors[i % kColors.size()];
      const int y = by + 6 + row * static_cast<int>(i) + row / 2;
      cv::line(img, {bx + 10, y}, {bx + 40, y}, col, 2, cv::LINE_AA);
      cv::circle(img, {bx + 25, y}, 4, col, cv::FILLED, cv::LINE_AA);
      text(img, curves[i].name, {bx + 48, y}, 0.55, 1, -1, true);
    }
  }
  return img;
}

void plot_pck_curves(const std::string& png_path, const std::vector<NamedCurve>& curves, const std::string& title) {
  write_image_atomic(png_path, render_pck_curves(curves, title));
}

cv::Mat render_pck_by_frame(const std::vector<NamedFrameCurve>& curves, const std::string& title, int width,
                            int height) {
  cv::Mat img(height, width, CV_8UC3, kWhite);
  const int left = 80, right = 30, top = 55, bottom = 70;
  const int pw = width - left - right, ph = height - top - bottom;
  std::size_t n = 0;
  double lo = 100.0;
  for (const auto& c : curves) {
    n = std::max(n, c.buckets.size());
    for (const auto& b : c.buckets)
      if (std::isfinite(b.pck.mean_joints)) lo = std::min(lo, b.pck.mean_joints);
  }
  // Differences of a few points matter here: the y axis starts just below the lowest value.
  const double ymin = std::clamp(std::floor((lo - 5.0) / 10.0) * 10.0, 0.0, 90.0);
  auto X = [&](std::size_t i) {
    return left + static_cast<int>(std::lround((static_cast<double>(i) + 0.5) / std::max<std::size_t>(n, 1) * pw));
  };
  auto Y = [&](double v) { return top + static_cast<int>(std::lround((1.0 - (v - ymin) / (100.0 - ymin)) * ph)); };
  for (int v = static_cast<int>(ymin); v <= 100; v += 5) {
    cv::line(img, {left, Y(v)}, {left + pw, Y(v)}, kGrid, 1);
    cv::line(img, {left - 6, Y(v)}, {left, Y(v)}, kBlack, 1);
    text(img, std::to_string(v), {left - 10, Y(v)}, 0.5, 1, 1, true);
  }
  for (std::size_t i = 0; i < n; ++i) {
    cv::line(img, {X(i), top}, {X(i), top + ph}, kGrid, 1);
    const auto& any = std::find_if(curves.begin(), curves.end(), [&](const auto& c) { return i < c.buckets.size(); });
    if (any != curves.end()) text(img, any->buckets[i].label(), {X(i), top + ph + 24}, 0.5, 1, 0);
  }
  cv::rectangle(img, {left, top}, {left + pw, top + ph}, kBlack, 1);
  text(img, "frame index in the video (1 = first frame)", {left + pw / 2, height - 18}, 0.55, 1, 0);
  text(img, "PCK", {30, top + ph / 2}, 0.6, 1, 0);
  text(img, title, {width / 2, 32}, 0.7, 2, 0);
  for (std::size_t k = 0; k < curves.size(); ++k) {
    const cv::Scalar col = kColors[k % kColors.size()];
    std::vector<cv::Point> pts;
    for (std::size_t i = 0; i < curves[k].buckets.size(); ++i) {
      const double v = curves[k].buckets[i].pck.mean_joints;
      if (std::isfinite(v)) pts.emplace_back(X(i), Y(std::clamp(v, ymin, 100.0)));
    }
    if (pts.size() > 1) cv::polylines(img, pts, false, col, 2, cv::LINE_AA);
    for (const auto& q : pts) cv::circle(img, q, 4, col, cv::FILLED, cv::LINE_AA);
    const int y = top + 20 + 24 * static_cast<int>(k);
    cv::line(img, {left + 12, y}, {left + 42, y}, col, 2, cv::LINE_AA);
    text(img, curves[k].name, {left + 50, y}, 0.55, 1, -1, true);
  }
  return img;
}

void plot_pck_by_frame(const std::string& png_path, const std::vector<NamedFrameCurve>& curves,
                       const std::string& title) {
  write_image_atomic(png_path, render_pck_by_frame(curves, title));
}

cv::Mat render_box_drift(const BoxDriftResult& drift, const std::string& title, int width, int height) {
  cv::Mat img(height, width, CV_8UC3, kWhite);
  const int left = 80, right = 30, top = 55, bottom = 70;
  const int pw = width - left - right, ph = height - top - bottom;
  struct Series {
    std::string name;
    double (*value)(const BoxDriftStats&);
  };
  const std::vector<Series> series = {
      {"centre offset, % of GT box", [](const BoxDriftStats& b) { return b.center_offset; }},
      {"|scale error| %", [](const BoxDriftStats& b) { return b.scale_error; }},
      {"GT joints outside the crop %", [](const BoxDriftStats& b) { return 100.0 - b.joints_in_crop; }}};
  const int n = static_cast<int>(drift.by_frame.size());
  double hi = 10.0;
  for (const auto& f : drift.by_frame)
    for (const auto& s : series)
      if (std::isfinite(s.value(f))) hi = std::max(hi, s.value(f));
  const double ymax = std::ceil(hi / 10.0) * 10.0;
  const double ystep = ymax <= 40 ? 5.0 : 10.0;
  auto X = [&](int frame) {  // 1-based frame index
    return left + static_cast<int>(std::lround((frame - 1.0) / std::max(1, n - 1) * pw));
  };
  auto Y = [&](double v) { return top + static_cast<int>(std::lround((1.0 - v / ymax) * ph)); };
  for (double v = 0; v <= ymax + 1e-9; v += ystep) {
    cv::line(img, {left, Y(v)}, {left + pw, Y(v)}, kGrid, 1);
    cv::line(img, {left - 6, Y(v)}, {left, Y(v)}, kBlack, 1);
    text(img, fixed(v, 0), {left - 10, Y(v)}, 0.5, 1, 1, true);
  }
  const int xstep = n <= 20 ? 1 : n <= 50 ? 5 : 10;
  for (int f = 1; f <= n; f += (f == 1 && xstep > 1 ? xstep - 1 : xstep)) {
    cv::line(img, {X(f), top}, {X(f), top + ph}, kGrid, 1);
    text(img, std::to_string(f), {X(f), top + ph + 24}, 0.5, 1, 0);
  }
  cv::rectangle(img, {left, top}, {left + pw, top + ph}, kBlack, 1);
  text(img, "frame index in the video (1 = first frame, cropped with its ground-truth box)",
       {left + pw / 2, height - 18}, 0.55, 1, 0);
  text(img, "%", {30, top + ph / 2}, 0.6, 1, 0);
  text(img, title, {width / 2, 32}, 0.7, 2, 0);
  for (std::size_t k = 0; k < series.size(); ++k) {
    const cv::Scalar col = kColors[k % kColors.size()];
    std::vector<cv::Point> pts;
    for (int f = 1; f <= n; ++f) {
      const double v = series[k].value(drift.by_frame[static_cast<std::size_t>(f - 1)]);
      if (std::isfinite(v)) pts.emplace_back(X(f), Y(std::clamp(v, 0.0, ymax)));
    }
    if (pts.size() > 1) cv::polylines(img, pts, false, col, 2, cv::LINE_AA);
    const int y = top + 20 + 24 * static_cast<int>(k);
    cv::line(img, {left + 12, y}, {left + 42, y}, col, 2, cv::LINE_AA);
    text(img, series[k].name, {left + 50, y}, 0.55, 1, -1, true);
  }
  return img;
}

void plot_box_drift(const std::string& png_path, const BoxDriftResult& drift, const std::string& title) {
  write_image_atomic(png_path, render_box_drift(drift, title));
}

cv::Mat render_smoothness(const SmoothnessResult& s, const std::string& title, int width, int height) {
  cv::Mat img(height, width, CV_8UC3, kWhite);
  std::vector<std::string> names = s.column_names;
  std::vector<double> pred = s.column_pred_px, gt = s.column_gt_px;
  names.push_back("all");
  pred.push_back(s.pred_px);
  gt.push_back(s.gt_px);
  double vmax = 0.0;
  for (double v : pred)
    if (std::isfinite(v)) vmax = std::max(vmax, v);
  for (double v : gt)
    if (std::isfinite(v)) vmax = std::max(vmax, v);
  vmax *= 1.25;  // headroom for the legend
  // nice upper bound: 1, 2 or 5 times a power of ten, in about 5 ticks
  double step = 1.0;
  if (vmax > 0) {
    const double raw = vmax / 5.0, p10 = std::pow(10.0, std::floor(std::log10(raw)));
    step = raw <= p10 ? p10 : raw <= 2 * p10 ? 2 * p10 : raw <= 5 * p10 ? 5 * p10 : 10 * p10;
  }
  const double ymax = step * std::max(1.0, std::ceil(vmax / step - 1e-9));
  const int left = 80, right = 30, top = 55, bottom = 70;
  const int pw = width - left - right, ph = height - top - bottom;
  auto Y = [&](double v) { return top + static_cast<int>(std::lround((1.0 - v / ymax) * ph)); };
  const int prec = step >= 1 ? 0 : step >= 0.1 ? 1 : 2;
  for (double v = 0; v <= ymax + 1e-9; v += step) {
    cv::line(img, {left, Y(v)}, {left + pw, Y(v)}, kGrid, 1);
    cv::line(img, {left - 6, Y(v)}, {left, Y(v)}, kBlack, 1);
    text(img, fixed(v, prec), {left - 10, Y(v)}, 0.5, 1, 1, true);
  }
  cv::rectangle(img, {left, top}, {left + pw, top + ph}, kBlack, 1);
  const int n = static_cast<int>(names.size());
  const double group = static_cast<double>(pw) / std::max(n, 1);
  const int bar = static_cast<int>(group * 0.32);
  const cv::Scalar cp = kColors[0], cg = kColors[1];
  for (int i = 0; i < n; ++i) {
    const int cx = left + static_cast<int>(group * (i + 0.5));
    if (std::isfinite(pred[i])) cv::rectangle(img, {cx - bar, Y(pred[i])}, {cx, Y(0)}, cp, cv::FILLED);
    if (std::isfinite(gt[i])) cv::rectangle(img, {cx, Y(gt[i])}, {cx + bar, Y(0)}, cg, cv::FILLED);
    text(img, names[i], {cx, top + ph + 24}, 0.55, 1, 0);
  }
  text(img, "mean keypoint acceleration |p(t+1) - 2p(t) + p(t-1)|, px/frame^2", {left + pw / 2, height - 18}, 0.5, 1,
       0);
  text(img, title, {width / 2, 32}, 0.7, 2, 0);
  // legend top right
  const int bx = left + pw - 190, by = top + 10;
  cv::rectangle(img, {bx, by}, {bx + 180, by + 58}, kWhite, cv::FILLED);
  cv::rectangle(img, {bx, by}, {bx + 180, by + 58}, kBlack, 1);
  cv::rectangle(img, {bx + 10, by + 10}, {bx + 30, by + 24}, cp, cv::FILLED);
  text(img, "predictions", {bx + 40, by + 17}, 0.55, 1, -1, true);
  cv::rectangle(img, {bx + 10, by + 34}, {bx + 30, by + 48}, cg, cv::FILLED);
  text(img, "ground truth", {bx + 40, by + 41}, 0.55, 1, -1, true);
  return img;
}

void plot_smoothness(const std::string& png_path, const SmoothnessResult& smoothness, const std::string& title) {
  write_image_atomic(png_path, render_smoothness(smoothness, title));
}

}  // namespace dkd
