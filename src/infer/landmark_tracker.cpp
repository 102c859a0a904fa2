#include "dkd/infer/landmark_tracker.h"

#include <algorithm>
#include <cmath>

#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>

#include "dkd/util/error.h"

namespace dkd {

namespace {

constexpr int kAuxCentre = 33;     // the hips' centre
constexpr int kAuxExtent = 34;     // half the person's extent from 33, towards the head
constexpr double kRoiScale = 2.5;  // MediaPipe: side = 2 |34 - 33|, enlarged 1.25x
constexpr float kPresent = 0.5f;
constexpr int kCoastFrames = 10;
// Appearance: the torso's colours (HSV histogram, 8 hue x 4 saturation x 4 value
// bins) against the person's running model, Bhattacharyya distance. On vtest.avi
// the followed man's torso stayed within 0.87 of his model over 155 frames, and a
// passer-by in white who took over the crop was at 0.98-1.0 (docs/real-people.md).
constexpr double kMaxAppearanceDistance = 0.92;
constexpr double kAppearanceUpdate = 0.05;  // running model: (1 - a) model + a this frame
constexpr int kMinTorsoPixels = 24;

/// Normalised HSV histogram of the pixels inside `polygon` (image pixels); empty
/// when fewer than kMinTorsoPixels fall inside the frame.
cv::Mat colour_histogram(const cv::Mat& frame, const std::vector<cv::Point>& polygon) {
  const cv::Rect bounds = cv::boundingRect(polygon) & cv::Rect(0, 0, frame.cols, frame.rows);
  if (bounds.area() < kMinTorsoPixels) return {};
  cv::Mat mask = cv::Mat::zeros(bounds.size(), CV_8U);
  std::vector<cv::Point> local;
  for (const cv::Point& p : polygon) local.emplace_back(p.x - bounds.x, p.y - bounds.y);
  cv::fillConvexPoly(mask, local, cv::Scalar(255));
  if (cv::countNonZero(mask) < kMinTorsoPixels) return {};
  cv::Mat bgr = frame(bounds), hsv;
  if (bgr.channels() == 1) cv::cvtColor(bgr, bgr, cv::COLOR_GRAY2BGR);
  cv::cvtColor(bgr, hsv, cv::COLOR_BGR2HSV);
  const int channels[] = {0, 1, 2};
  const int sizes[] = {8, 4, 4};
  const float h_range[] = {0, 180}, s_range[] = {0, 256}, v_range[] = {0, 256};
  const float* ranges[] = {h_range, s_range, v_range};
  cv::Mat hist;
  cv::calcHist(&hsv, 1, channels, mask, hist, 3, sizes, ranges);
  hist /= std::max(1.0, cv::sum(hist)[0]);
  return hist;
}

/// The torso quadrilateral: shoulders (11, 12) and hips (24, 23).
std::vector<cv::Point> torso_polygon(const std::vector<std::array<float, 3>>& landmarks) {
  std::vector<cv::Point> poly;
  for (const int i : {11, 12, 24, 23}) {
    if (!std::isfinite(landmarks[i][0]) || !std::isfinite(landmarks[i][1])) return {};
    poly.emplace_back(static_cast<int>(std::lround(landmarks[i][0])), static_cast<int>(std::lround(landmarks[i][1])));
  }
  return poly;
}

/// The upper body of a detector's box (the middle 40% across, 25-50% down).
std::vector<cv::Point> box_torso(const Box& b) {
  const float x1 = b.x1 + 0.3f * b.width(), x2 = b.x1 + 0.7f * b.width();
  const float y1 = b.y1 + 0.25f * b.height(), y2 = b.y1 + 0.5f * b.height();
  return {cv::Point(static_cast<int>(x1), static_cast<int>(y1)), cv::Point(static_cast<int>(x2), static_cast<int>(y1)),
          cv::Point(static_cast<int>(x2), static_cast<int>(y2)), cv::Point(static_cast<int>(x1), static_cast<int>(y2))};
}

float sigmoid(float x) { return 1.f / (1.f + std::exp(-x)); }

/// Axis-aligned bounds of the crop's square in the image.
Box crop_bounds(const CropTransform& crop) {
  const CropTransform inv = crop.inverse();
  const float lo = -0.5f, hi_x = crop.out_w - 0.5f, hi_y = crop.out_h - 0.5f;
  Box b{1e30f, 1e30f, -1e30f, -1e30f};
  for (const Point2 corner : {Point2{lo, lo}, Point2{hi_x, lo}, Point2{lo, hi_y}, Point2{hi_x, hi_y}}) {
    const Point2 p = inv.apply(corner);
    b.x1 = std::min(b.x1, p.x + 0.5f);
    b.y1 = std::min(b.y1, p.y + 0.5f);
    b.x2 = std::max(b.x2, p.x + 0.5f);
    b.y2 = std::max(b.y2, p.y + 0.5f);
  }
  return b;
}

}  // namespace

LandmarkTracker::LandmarkTracker(BlazePose network, const std::vector<std::string>& joint_names, double box_margin,
                                 const c10::Device& device)
    : network_(std::move(network)), joint_map_(blazepose_joint_map(joint_names)), margin_(box_margin), device_(device) {
  if (!(box_margin >= 0.0) || box_margin > 4.0) {
    throw UsageError("--box-margin " + std::to_string(box_margin) + ": expected a fraction of the box in [0, 4]");
  }
  network_->to(device_);
  network_->eval();
}

CropTransform LandmarkTracker::crop_for_box(const Box& box, double margin) {
  const double w = box.x2 - box.x1, h = box.y2 - box.y1;
  if (!(w > 0) || !(h > 0)) throw UsageError("box has no area");
  const double side = std::max(w, h) * (1.0 + 2.0 * margin);
  // Edge coordinates -> pixel-centre coordinates (CropTransform's convention).
  const Point2 centre{static_cast<float>(0.5 * (box.x1 + box.x2) - 0.5),
                      static_cast<float>(0.5 * (box.y1 + box.y2) - 0.5)};
  return CropTransform::make(centre, side, side, 0.0, false, kBlazePoseInput, kBlazePoseInput);
}

LandmarkResult LandmarkTracker::start(const cv::Mat& frame, const Box& box) {
  check_box_in_frame(box, frame.size());
  started_ = true;
  lost_frames_ = 0;
  has_centre_ = false;
  frames_lost_in_a_row_ = 0;
  velocity_ = {0.f, 0.f};
  appearance_ = cv::Mat();
  return run(frame, crop_for_box(box, margin_), 0.0);
}

LandmarkResult LandmarkTracker::track(const cv::Mat& frame) {
  if (!started_) throw Error("LandmarkTracker::track called before start()");
  return run(frame, next_crop_, next_rotation_);
}

LandmarkResult LandmarkTracker::run(const cv::Mat& frame, const CropTransform& crop, double rotation) {
  cv::Mat rgb;
  cv::cvtColor(warp_image(frame, crop), rgb, frame.channels() == 1 ? cv::COLOR_GRAY2RGB : cv::COLOR_BGR2RGB);
  BlazePoseOutput out;
  {
    torch::InferenceMode guard;
    const torch::Tensor input = torch::from_blob(rgb.data, {1, kBlazePoseInput, kBlazePoseInput, 3}, torch::kUInt8)
                                    .to(device_)
                                    .permute({0, 3, 1, 2})
                                    .to(torch::kFloat)
                                    .div_(255.0);
    out = network_->forward(input);
  }
  const torch::Tensor lm = out.landmarks[0].to(torch::kCPU).contiguous();
  const auto a = lm.accessor<float, 2>();
  const CropTransform inv = crop.inverse();
  // Crop coordinates have 0 at the crop's edge; CropTransform works on pixel centres.
  const auto to_image = [&](int i) { return inv.apply({a[i][0] - 0.5f, a[i][1] - 0.5f}); };

  LandmarkResult r;
  r.pose_flag = out.pose_flag[0].item<float>();
  r.rotation = rotation;
  r.landmarks.reserve(kBlazePoseLandmarks);
  for (int i = 0; i < kBlazePoseLandmarks; ++i) {
    const Point2 p = to_image(i);
    r.landmarks.push_back({p.x, p.y, sigmoid(a[i][3])});
  }
  double sum = 0.0;
  for (const auto& landmarks : joint_map_) {
    Point2 mean{0.f, 0.f};
    float visibility = 0.f;
    for (const int i : landmarks) {
      mean.x += r.landmarks[i][0] / landmarks.size();
      mean.y += r.landmarks[i][1] / landmarks.size();
      visibility += r.landmarks[i][2] / landmarks.size();
    }
    r.track.keypoints.push_back(mean);
    r.track.confidence.push_back(visibility);
    sum += visibility;
  }
  r.track.mean_confidence = static_cast<float>(sum / std::max<size_t>(joint_map_.size(), 1));
  r.track.box = crop_bounds(crop);
  r.track.initializer_ran = true;

  // Is it still the same person? A passer-by who crosses in front takes the crop
  // over with a confident pose; their torso's colours give them away.
  if (r.pose_flag >= kPresent) {
    const cv::Mat hist = colour_histogram(frame, torso_polygon(r.landmarks));
    if (!hist.empty() && !appearance_.empty()) {
      r.appearance_distance = cv::compareHist(appearance_, hist, cv::HISTCMP_BHATTACHARYYA);
      r.same_person = r.appearance_distance <= kMaxAppearanceDistance;
    }
    if (!hist.empty() && r.same_person) {
      if (appearance_.empty())
        appearance_ = hist.clone();
      else
        cv::addWeighted(appearance_, 1.0 - kAppearanceUpdate, hist, kAppearanceUpdate, 0.0, appearance_);
    }
  }

  // The next crop (MediaPipe's rule), or, when the person was not seen (or someone
  // else was), this crop moved by the person's last velocity: a person hidden for a
  // moment (behind a sign, a passer-by) is met again where they walked to.
  if (r.pose_flag >= kPresent && r.same_person) {
    const Point2 c = to_image(kAuxCentre), e = to_image(kAuxExtent);
    const double dx = e.x - c.x, dy = e.y - c.y;
    const double side = kRoiScale * std::hypot(dx, dy);
    // The angle of 33 -> 34 from the image's up, clockwise: rotating the crop by it puts 34 above 33.
    const double angle = std::atan2(dx, -dy) * 180.0 / M_PI;
    frames_lost_in_a_row_ = 0;
    if (side >= 8.0 && std::isfinite(side)) {
      if (has_centre_) velocity_ = {c.x - last_centre_.x, c.y - last_centre_.y};
      last_centre_ = c;
      has_centre_ = true;
      next_crop_ = CropTransform::make(c, side, side, angle, false, kBlazePoseInput, kBlazePoseInput);
      next_rotation_ = angle;
    } else {
      next_crop_ = crop;
    }
  } else {
    ++lost_frames_;
    ++frames_lost_in_a_row_;
    const CropTransform inv_crop = crop.inverse();
    const Point2 centre = inv_crop.apply({0.5f * (kBlazePoseInput - 1), 0.5f * (kBlazePoseInput - 1)});
    const double side = std::hypot(inv_crop.m[0], inv_crop.m[3]) * kBlazePoseInput;
    // Coast for a few frames at the last velocity (at most a tenth of the crop per frame).
    Point2 step = frames_lost_in_a_row_ <= kCoastFrames ? velocity_ : Point2{0.f, 0.f};
    const double speed = std::hypot(step.x, step.y), limit = 0.1 * side;
    if (speed > limit) step = {static_cast<float>(step.x * limit / speed), static_cast<float>(step.y * limit / speed)};
    Point2 moved{centre.x + step.x, centre.y + step.y};
    if (!(moved.x >= 0 && moved.y >= 0 && moved.x < frame.cols && moved.y < frame.rows)) moved = centre;
    next_crop_ = CropTransform::make(moved, side, side, 0.0, false, kBlazePoseInput, kBlazePoseInput);
    next_rotation_ = 0.0;
    // Look for the person again around there (MediaPipe re-runs its detector when
    // the person is lost): the HOG detection nearest the predicted centre, within a crop side.
    const int half = static_cast<int>(std::ceil(1.5 * side));
    const cv::Rect window =
        cv::Rect(static_cast<int>(moved.x) - half, static_cast<int>(moved.y) - half, 2 * half, 2 * half) &
        cv::Rect(0, 0, frame.cols, frame.rows);
    if (window.width >= 64 && window.height >= 128) {
      for (const Box& b : detect_people_hog(frame(window))) {
        const Box in_frame{b.x1 + window.x, b.y1 + window.y, b.x2 + window.x, b.y2 + window.y};
        const Point2 c{0.5f * (in_frame.x1 + in_frame.x2) - 0.5f, 0.5f * (in_frame.y1 + in_frame.y2) - 0.5f};
        if (std::hypot(c.x - moved.x, c.y - moved.y) >= 0.5 * side) continue;
        // Only someone who looks like the person (when their looks are known).
        if (!appearance_.empty()) {
          const cv::Mat hist = colour_histogram(frame, box_torso(in_frame));
          if (hist.empty() || cv::compareHist(appearance_, hist, cv::HISTCMP_BHATTACHARYYA) > kMaxAppearanceDistance)
            continue;
        }
        next_crop_ = crop_for_box(in_frame, margin_);
        break;
      }
    }
  }
  r.track.next_box = crop_bounds(next_crop_);
  return r;
}

std::vector<Box> detect_people_hog(const cv::Mat& frame) {
  static thread_local cv::HOGDescriptor hog = [] {
    cv::HOGDescriptor h;
    h.setSVMDetector(cv::HOGDescriptor::getDefaultPeopleDetector());
    return h;
  }();
  // The detector's window is 64x128 with the person ~96 px tall inside: upscale
  // frames so that people of ~60 px (vtest.avi's far pedestrians) reach that size.
  const double upscale = frame.rows < 720 ? 1.6 : 1.0;
  cv::Mat image;
  if (upscale != 1.0)
    cv::resize(frame, image, cv::Size(), upscale, upscale, cv::INTER_LINEAR);
  else
    image = frame;
  std::vector<cv::Rect> found;
  std::vector<double> weights;
  hog.detectMultiScale(image, found, weights, 0.0, cv::Size(8, 8), cv::Size(16, 16), 1.05, 2.0);
  std::vector<size_t> order(found.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return (a < weights.size() ? weights[a] : 0.0) > (b < weights.size() ? weights[b] : 0.0);
  });
  std::vector<Box> boxes;
  for (const size_t i : order) {
    const cv::Rect& r = found[i];
    // HOG's window has ~16 px of margin above and below a 96 px person in 128: trim it.
    const double x1 = r.x / upscale, y1 = (r.y + 0.1 * r.height) / upscale;
    const double x2 = (r.x + r.width) / upscale, y2 = (r.y + 0.9 * r.height) / upscale;
    boxes.push_back({static_cast<float>(std::max(0.0, x1)), static_cast<float>(std::max(0.0, y1)),
                     static_cast<float>(std::min<double>(frame.cols, x2)),
                     static_cast<float>(std::min<double>(frame.rows, y2))});
  }
  return boxes;
}

std::optional<Box> detect_person_hog(const cv::Mat& frame) {
  const std::vector<Box> boxes = detect_people_hog(frame);
  if (boxes.empty()) return std::nullopt;
  return boxes.front();
}

}  // namespace dkd
