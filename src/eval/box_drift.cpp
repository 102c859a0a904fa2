#include "dkd/eval/box_drift.h"

#include <algorithm>
#include <cmath>

#include "dkd/data/transforms.h"
#include "dkd/eval/numbers.h"
#include "dkd/eval/pck.h"
#include "dkd/util/error.h"

namespace dkd {

BoxDriftCounts::BoxDriftCounts(double crop_scale, double aspect) : crop_scale_(crop_scale), aspect_(aspect) {
  if (!(crop_scale > 0) || !(aspect > 0)) throw Error("BoxDriftCounts: crop scale and aspect must be positive");
  reset();
}

void BoxDriftCounts::reset() { sums_.assign(static_cast<std::size_t>(kBoxDriftFrames + 1) * kSums, 0.0); }

void BoxDriftCounts::add(const VideoRecord& gt, const std::vector<Box>& crop_boxes, bool use_visibility) {
  const int T = gt.num_frames();
  if (crop_boxes.size() != static_cast<std::size_t>(T))
    throw UsageError("video '" + gt.id + "': expected " + std::to_string(T) + " crop boxes, got " +
                     std::to_string(crop_boxes.size()));
  for (int t = 0; t < T; ++t) {
    const Box& g = gt.boxes[static_cast<std::size_t>(t)];
    const Region gr = box_region(g, crop_scale_, aspect_);
    const Region cr = box_region(crop_boxes[static_cast<std::size_t>(t)], crop_scale_, aspect_);
    const double size = std::max(1.0, std::max(static_cast<double>(g.width()), static_cast<double>(g.height())));
    const double offset =
        std::hypot(static_cast<double>(cr.center.x) - gr.center.x, static_cast<double>(cr.center.y) - gr.center.y);
    const double log_ratio = std::log(std::max(1e-6, cr.height) / std::max(1e-6, gr.height));
    if (!std::isfinite(offset) || !std::isfinite(log_ratio)) continue;
    double inside = 0, joints = 0;
    for (int j = 0; j < gt.num_joints; ++j) {
      if (use_visibility && !gt.is_visible(t, j)) continue;
      const Point2& p = gt.joint(t, j);
      joints += 1;
      if (std::abs(p.x - cr.center.x) <= 0.5 * cr.width && std::abs(p.y - cr.center.y) <= 0.5 * cr.height) inside += 1;
    }
    double* s = slot(std::min(t, kBoxDriftFrames));
    s[0] += 1;
    s[1] += 100.0 * offset / size;
    s[2] += log_ratio;
    s[3] += std::abs(log_ratio);
    s[4] += inside;
    s[5] += joints;
  }
}

namespace {

BoxDriftStats stats_of(const double* s) {
  BoxDriftStats b;
  b.frames = s[0];
  if (s[0] <= 0) return BoxDriftStats{0.0, kNaN, kNaN, kNaN, kNaN};
  b.center_offset = s[1] / s[0];
  b.scale_ratio = std::exp(s[2] / s[0]);
  b.scale_error = 100.0 * (std::exp(s[3] / s[0]) - 1.0);
  b.joints_in_crop = s[5] > 0 ? 100.0 * s[4] / s[5] : kNaN;
  return b;
}

}  // namespace

BoxDriftResult BoxDriftCounts::result() const {
  constexpr int K = 6;
  BoxDriftResult r;
  const auto sum_frames = [&](int first, int last, double* out) {  // 0-based frame slots [first, last]
    for (int t = first; t <= last; ++t)
      for (int k = 0; k < K; ++k) out[k] += sums_[static_cast<std::size_t>(t) * kSums + k];
  };
  double all[K] = {};
  sum_frames(1, kBoxDriftFrames, all);
  r.all = stats_of(all);
  for (const auto& b : default_frame_buckets()) {
    FrameBucket fb;
    fb.first = b.first;
    fb.last = b.second;
    r.labels.push_back(fb.label());
    double s[K] = {};
    sum_frames(b.first - 1, b.second == 0 ? kBoxDriftFrames : std::min(b.second - 1, kBoxDriftFrames), s);
    r.buckets.push_back(stats_of(s));
  }
  int last = kBoxDriftFrames - 1;
  while (last >= 0 && sums_[static_cast<std::size_t>(last) * kSums] <= 0) --last;
  for (int t = 0; t <= last; ++t) r.by_frame.push_back(stats_of(&sums_[static_cast<std::size_t>(t) * kSums]));
  return r;
}

void BoxDriftCounts::append_to(std::vector<double>& out) const { out.insert(out.end(), sums_.begin(), sums_.end()); }

void BoxDriftCounts::read_from(const std::vector<double>& counts, std::size_t& pos, bool replace) {
  for (double& x : sums_) {
    x = replace ? counts[pos] : x + counts[pos];
    ++pos;
  }
}

BoxDriftResult average_box_drift(const std::vector<const BoxDriftResult*>& results) {
  if (results.empty()) return {};
  const auto mean_of = [](const std::vector<const BoxDriftStats*>& v) {
    BoxDriftStats m;
    std::vector<double> off, ratio, err, in;
    for (const auto* s : v) {
      m.frames += s->frames;
      off.push_back(s->center_offset);
      ratio.push_back(std::log(s->scale_ratio));
      err.push_back(s->scale_error);
      in.push_back(s->joints_in_crop);
    }
    m.center_offset = nan_mean(off);
    m.scale_ratio = std::exp(nan_mean(ratio));
    m.scale_error = nan_mean(err);
    m.joints_in_crop = nan_mean(in);
    return m;
  };
  BoxDriftResult r;
  std::vector<const BoxDriftStats*> all;
  for (const auto* x : results) all.push_back(&x->all);
  r.all = mean_of(all);
  r.labels = results.front()->labels;
  for (std::size_t b = 0; b < r.labels.size(); ++b) {
    std::vector<const BoxDriftStats*> v;
    for (const auto* x : results)
      if (b < x->buckets.size()) v.push_back(&x->buckets[b]);
    r.buckets.push_back(mean_of(v));
  }
  std::size_t frames = 0;
  for (const auto* x : results) frames = std::max(frames, x->by_frame.size());
  for (std::size_t t = 0; t < frames; ++t) {
    std::vector<const BoxDriftStats*> v;
    for (const auto* x : results)
      if (t < x->by_frame.size() && x->by_frame[t].frames > 0) v.push_back(&x->by_frame[t]);
    r.by_frame.push_back(v.empty() ? BoxDriftStats{} : mean_of(v));
  }
  return r;
}

}  // namespace dkd
