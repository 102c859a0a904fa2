#include "dkd/data/box_tracker.h"

#include <algorithm>
#include <cmath>

#include "dkd/data/transforms.h"
#include "dkd/util/error.h"

namespace dkd {

namespace {
constexpr double kCalibrationRange = 1.5;
constexpr double kMaxCalibrationShift = 0.25;
}  // namespace

int box_network_runs_per_frame(const InferConfig& rule) {
  if (rule.box_rule != BoxRuleKind::network) return 0;
  return (rule.box_network_flip ? 2 : 1) * (rule.box_network_refine > 0.0 ? 2 : 1);
}

BoxTracker::BoxTracker(const InferConfig& rule) : rule_(rule) {}

void BoxTracker::start(const Box& box, cv::Size image_size) {
  if (image_size.width <= 0 || image_size.height <= 0) throw Error("BoxTracker: empty image size");
  image_size_ = image_size;
  box_ = box;
  velocity_ = {0.f, 0.f};
  has_center_ = false;
  calibrated_ = false;
  network_started_ = false;
  network_shift_ = {0.f, 0.f};
  network_scale_ = {1.f, 1.f};
}

void BoxTracker::update(const std::vector<Point2>& keypoints, const std::vector<float>& confidence,
                        const Box* network_box) {
  switch (rule_.box_rule) {
    case BoxRuleKind::extent:
      update_extent(keypoints, confidence);
      return;
    case BoxRuleKind::steady:
      update_steady(keypoints, confidence);
      return;
    case BoxRuleKind::network:
      if (!network_box)
        throw Error("infer.box_rule network: no box from the box network (does the checkpoint have one? stage box)");
      update_network(keypoints, confidence, *network_box);
      return;
  }
}

bool BoxTracker::usable(const Box& seen) const {
  const float W = static_cast<float>(image_size_.width), H = static_cast<float>(image_size_.height);
  return std::isfinite(seen.x1) && std::isfinite(seen.y1) && std::isfinite(seen.x2) && std::isfinite(seen.y2) &&
         seen.width() > 0 && seen.height() > 0 && seen.x2 > 0 && seen.y2 > 0 && seen.x1 < W && seen.y1 < H;
}

BoxTracker::Measurement BoxTracker::calibrated(const Box& seen) const {
  Measurement m;
  const double side = std::max(1.0f, std::max(seen.width(), seen.height()));
  m.cx = 0.5 * (seen.x1 + seen.x2) + network_shift_.x * side;
  m.cy = 0.5 * (seen.y1 + seen.y2) + network_shift_.y * side;
  m.w = seen.width() * network_scale_.x;
  m.h = seen.height() * network_scale_.y;
  return m;
}

void BoxTracker::refine(const Box& network_box) {
  if (!refines() || !usable(network_box)) return;
  move_toward(calibrated(network_box), 1.0 - rule_.box_network_refine);
}

void BoxTracker::move_toward(const Measurement& m, double keep) {
  // The first answer places the person (the given box may be loose): taken as it is.
  double w = std::max(8.0, m.w), h = std::max(8.0, m.h), cx = m.cx, cy = m.cy;
  if (!m.first) {
    const double prev_w = std::max(1.0f, box_.width()), prev_h = std::max(1.0f, box_.height());
    const double change = rule_.box_max_size_change;
    w = keep * prev_w + (1 - keep) * std::clamp(w, prev_w / (1.0 + change), prev_w * (1.0 + change));
    h = keep * prev_h + (1 - keep) * std::clamp(h, prev_h / (1.0 + change), prev_h * (1.0 + change));
    cx = keep * 0.5 * (box_.x1 + box_.x2) + (1 - keep) * m.cx;
    cy = keep * 0.5 * (box_.y1 + box_.y2) + (1 - keep) * m.cy;
  }
  box_ = on_image(Box{static_cast<float>(cx - w / 2), static_cast<float>(cy - h / 2), static_cast<float>(cx + w / 2),
                      static_cast<float>(cy + h / 2)});
}

void BoxTracker::update_network(const std::vector<Point2>& keypoints, const std::vector<float>& confidence,
                                const Box& seen) {
  const bool usable_box = usable(seen);
  // The joints' box (steady's measure, calibrated on the first frame) where
  // infer.box_network_weight < 1: precise from frame to frame, but it keeps
  // the pose network's errors; the box network's is coarser but does not.
  Measurement joints;
  const double wn = rule_.box_network_weight;
  const bool has_joints = wn < 1.0 && measure(keypoints, confidence, joints);
  if (!usable_box && !has_joints) return;  // nothing the box can follow: it stays where it is
  // The network's box, in the first box's relation to the network's first answer
  // (infer.box_calibrate): its error on a person is much the same from frame to
  // frame, and the first frame's box says what it is.
  if (usable_box && !network_started_ && rule_.box_calibrate) {
    const double nw = seen.width(), nh = seen.height();
    const double side = std::max(1.0, std::max(nw, nh));
    const auto shift = [&](double box_center, double center) {
      return static_cast<float>(std::clamp((box_center - center) / side, -kMaxCalibrationShift, kMaxCalibrationShift));
    };
    network_shift_ = {shift(0.5 * (box_.x1 + box_.x2), 0.5 * (seen.x1 + seen.x2)),
                      shift(0.5 * (box_.y1 + box_.y2), 0.5 * (seen.y1 + seen.y2))};
    network_scale_ = {
        static_cast<float>(std::clamp(box_.width() / std::max(1.0, nw), 1 / kCalibrationRange, kCalibrationRange)),
        static_cast<float>(std::clamp(box_.height() / std::max(1.0, nh), 1 / kCalibrationRange, kCalibrationRange))};
  }
  const Measurement net = usable_box ? calibrated(seen) : Measurement{};
  const double ncx = net.cx, ncy = net.cy, nw = net.w, nh = net.h;
  Measurement m;
  const double a = !usable_box ? 0.0 : has_joints ? wn : 1.0;  // the network's share
  const auto mix = [&](double net, double joint) { return a * net + (1 - a) * (has_joints ? joint : 0.0); };
  m.cx = mix(ncx, joints.cx);
  m.cy = mix(ncy, joints.cy);
  m.w = std::max(8.0, mix(nw, joints.w));
  m.h = std::max(8.0, mix(nh, joints.h));
  m.first = !network_started_;
  network_started_ = true;
  move_toward(m, rule_.box_network_smoothing);
}

void BoxTracker::update_extent(const std::vector<Point2>& keypoints, const std::vector<float>& confidence) {
  box_ = next_box_from_keypoints(keypoints, confidence, box_, rule_.box_min_confidence, rule_.box_scale,
                                 rule_.box_smoothing, image_size_);
}

bool BoxTracker::measure(const std::vector<Point2>& keypoints, const std::vector<float>& confidence, Measurement& m) {
  // The extent of the joints the network is sure of.
  float x1 = 0, y1 = 0, x2 = 0, y2 = 0;
  int n = 0;
  for (std::size_t j = 0; j < keypoints.size(); ++j) {
    const Point2& p = keypoints[j];
    if (!is_finite(p) || (j < confidence.size() && confidence[j] < rule_.box_min_confidence)) continue;
    x1 = n == 0 ? p.x : std::min(x1, p.x);
    x2 = n == 0 ? p.x : std::max(x2, p.x);
    y1 = n == 0 ? p.y : std::min(y1, p.y);
    y2 = n == 0 ? p.y : std::max(y2, p.y);
    ++n;
  }
  if (n < 2) return false;  // the person is lost for now
  m.cx = 0.5 * (x1 + x2);
  m.cy = 0.5 * (y1 + y2);
  // The first frame's box says how the person's box relates to their joints
  // (its margin, where its centre sits): later boxes keep that relation
  // instead of a fixed margin that the joints' extent (smaller than the person)
  // makes too small, frame after frame.
  const double side = std::max(1.0, static_cast<double>(std::max(x2 - x1, y2 - y1)));
  // A first box far from the person's (dkd_infer's default is the whole frame)
  // is held to kCalibrationRange times infer.box_scale and a shift of at most
  // kMaxCalibrationShift of the extent.
  m.first = !calibrated_;
  if (m.first) {
    calibrated_ = true;
    scale_ = rule_.box_scale;
    shift_ = {0.f, 0.f};
    if (rule_.box_calibrate) {
      const double box_side = std::max(box_.width(), box_.height());
      scale_ = std::clamp(box_side / side, rule_.box_scale / kCalibrationRange, rule_.box_scale * kCalibrationRange);
      const auto shift = [&](double box_center, double center) {
        return static_cast<float>(
            std::clamp((box_center - center) / side, -kMaxCalibrationShift, kMaxCalibrationShift));
      };
      shift_ = {shift(0.5 * (box_.x1 + box_.x2), m.cx), shift(0.5 * (box_.y1 + box_.y2), m.cy)};
    }
  }
  m.cx += shift_.x * side;
  m.cy += shift_.y * side;
  m.w = std::max(8.0, (x2 - x1) * scale_);
  m.h = std::max(8.0, (y2 - y1) * scale_);
  return true;
}

void BoxTracker::next_size(const Measurement& m, double& w, double& h) const {
  // A person's size changes slowly: a bounded, smoothed size cannot collapse
  // onto a few mislocated joints or blow up on a far one. The first
  // prediction places the person: its box is taken as it is.
  if (m.first) {
    w = m.w;
    h = m.h;
    return;
  }
  const double prev_w = std::max(1.0f, box_.width()), prev_h = std::max(1.0f, box_.height());
  const double change = rule_.box_max_size_change;
  const auto bounded = [&](double value, double previous) {
    return std::clamp(value, std::max(8.0, previous / (1.0 + change)), std::max(8.0, previous * (1.0 + change)));
  };
  const double s = rule_.box_smoothing;
  w = s * prev_w + (1 - s) * bounded(m.w, prev_w);
  h = s * prev_h + (1 - s) * bounded(m.h, prev_h);
}

void BoxTracker::update_steady(const std::vector<Point2>& keypoints, const std::vector<float>& confidence) {
  Measurement m;
  if (!measure(keypoints, confidence, m)) {  // the person is lost for now: the box stays where it is
    velocity_ = {0.f, 0.f};
    return;
  }
  double w = 0, h = 0;
  next_size(m, w, h);
  // The centre: the joints' (no lag), optionally carried ahead by the recent motion.
  const Point2 center{static_cast<float>(m.cx), static_cast<float>(m.cy)};
  if (has_center_) {
    const float a = 0.5f;
    velocity_ = {a * velocity_.x + (1 - a) * (center.x - last_center_.x),
                 a * velocity_.y + (1 - a) * (center.y - last_center_.y)};
  }
  last_center_ = center;
  has_center_ = true;
  // The first prediction places the person (dkd_infer may start from the
  // whole frame): its centre is taken as it is, later ones smoothed.
  const double v = rule_.box_velocity, cs = m.first ? 0.0 : rule_.box_center_smoothing;
  const double ncx = cs * 0.5 * (box_.x1 + box_.x2) + (1 - cs) * (m.cx + v * velocity_.x);
  const double ncy = cs * 0.5 * (box_.y1 + box_.y2) + (1 - cs) * (m.cy + v * velocity_.y);
  box_ = on_image(Box{static_cast<float>(ncx - w / 2), static_cast<float>(ncy - h / 2), static_cast<float>(ncx + w / 2),
                      static_cast<float>(ncy + h / 2)});
}

Box BoxTracker::on_image(const Box& b) const {
  const float W = static_cast<float>(image_size_.width), H = static_cast<float>(image_size_.height);
  const float bw = std::min(b.width(), 2.f * W), bh = std::min(b.height(), 2.f * H);
  const float cx = std::clamp(0.5f * (b.x1 + b.x2), 0.f, W - 1.f);
  const float cy = std::clamp(0.5f * (b.y1 + b.y2), 0.f, H - 1.f);
  return {cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2};
}

}  // namespace dkd
