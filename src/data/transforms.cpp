#include "dkd/data/transforms.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include <opencv2/imgproc.hpp>

#include "dkd/data/skeleton.h"
#include "dkd/util/error.h"

namespace dkd {

CropTransform CropTransform::make(Point2 center, double region_w, double region_h, double rotation_deg, bool flip,
                                  int out_w, int out_h) {
  if (!(region_w > 0) || !(region_h > 0) || out_w <= 0 || out_h <= 0)
    throw Error("CropTransform: region and output size must be positive");
  const double sx = out_w / region_w, sy = out_h / region_h;
  const double th = rotation_deg * M_PI / 180.0;
  const double c = std::cos(th), s = std::sin(th);
  double a = sx * c, b = sx * s, d = -sy * s, e = sy * c;
  const double ox = 0.5 * (out_w - 1), oy = 0.5 * (out_h - 1);
  double tx = ox - (a * center.x + b * center.y);
  double ty = oy - (d * center.x + e * center.y);
  if (flip) {
    a = -a;
    b = -b;
    tx = (out_w - 1) - tx;
  }
  CropTransform t;
  t.m = {a, b, tx, d, e, ty};
  t.out_w = out_w;
  t.out_h = out_h;
  t.flipped = flip;
  return t;
}

Point2 CropTransform::apply(Point2 p) const {
  return {static_cast<float>(m[0] * p.x + m[1] * p.y + m[2]), static_cast<float>(m[3] * p.x + m[4] * p.y + m[5])};
}

CropTransform CropTransform::inverse() const {
  const double det = m[0] * m[4] - m[1] * m[3];
  if (det == 0.0) throw Error("CropTransform: singular transform");
  const double a = m[4] / det, b = -m[1] / det, d = -m[3] / det, e = m[0] / det;
  CropTransform inv;
  inv.m = {a, b, -(a * m[2] + b * m[5]), d, e, -(d * m[2] + e * m[5])};
  inv.flipped = flipped;
  return inv;
}

Point2 CropTransform::apply_inverse(Point2 p) const {
  // Solve in double precision directly (no float round trip of the inverse).
  const double det = m[0] * m[4] - m[1] * m[3];
  const double x = p.x - m[2], y = p.y - m[5];
  return {static_cast<float>((m[4] * x - m[1] * y) / det), static_cast<float>((-m[3] * x + m[0] * y) / det)};
}

CropTransform CropTransform::downscaled(int stride) const {
  if (stride <= 0) throw Error("CropTransform: stride must be positive");
  CropTransform t = *this;
  const double s = 1.0 / stride;
  t.m = {m[0] * s, m[1] * s, (m[2] + 0.5) * s - 0.5, m[3] * s, m[4] * s, (m[5] + 0.5) * s - 0.5};
  t.out_w = out_w / stride;
  t.out_h = out_h / stride;
  return t;
}

cv::Mat CropTransform::to_mat() const {
  cv::Mat mat(2, 3, CV_64F);
  for (int i = 0; i < 6; ++i) mat.at<double>(i / 3, i % 3) = m[i];
  return mat;
}

Region box_region(const Box& box, double scale, double aspect) {
  Region r;
  r.center = {0.5f * (box.x1 + box.x2), 0.5f * (box.y1 + box.y2)};
  double w = std::max(1.0, static_cast<double>(box.x2 - box.x1));
  double h = std::max(1.0, static_cast<double>(box.y2 - box.y1));
  if (w > aspect * h)
    h = w / aspect;
  else
    w = h * aspect;
  r.width = w * scale;
  r.height = h * scale;
  return r;
}

BoxCode box_to_crop_code(const Box& box, const CropTransform& crop) {
  if (crop.out_w <= 0 || crop.out_h <= 0) throw Error("box_to_crop_code: the crop has no size");
  float x1 = std::numeric_limits<float>::max(), y1 = x1, x2 = -x1, y2 = -x1;
  for (const Point2 corner :
       {Point2{box.x1, box.y1}, Point2{box.x2, box.y1}, Point2{box.x1, box.y2}, Point2{box.x2, box.y2}}) {
    const Point2 p = crop.apply(corner);
    x1 = std::min(x1, p.x), y1 = std::min(y1, p.y), x2 = std::max(x2, p.x), y2 = std::max(y2, p.y);
  }
  // Crop pixel i covers [i - 1/2, i + 1/2]: the crop spans [-1/2, out - 1/2], its centre is (out - 1) / 2.
  const double w = crop.out_w, h = crop.out_h;
  return {static_cast<float>((0.5 * (x1 + x2) + 0.5) / w - 0.5), static_cast<float>((0.5 * (y1 + y2) + 0.5) / h - 0.5),
          static_cast<float>(std::log(std::max(1e-3, (x2 - x1) / w))),
          static_cast<float>(std::log(std::max(1e-3, (y2 - y1) / h)))};
}

Box box_from_crop_code(const BoxCode& code, const CropTransform& crop) {
  if (crop.out_w <= 0 || crop.out_h <= 0) throw Error("box_from_crop_code: the crop has no size");
  const double lo = std::log(1.0 / 64), hi = std::log(8.0);
  const auto finite_or = [](float v, double fallback) { return std::isfinite(v) ? static_cast<double>(v) : fallback; };
  const double w = crop.out_w, h = crop.out_h;
  const double cx = (std::clamp(finite_or(code[0], 0.0), -4.0, 4.0) + 0.5) * w - 0.5;
  const double cy = (std::clamp(finite_or(code[1], 0.0), -4.0, 4.0) + 0.5) * h - 0.5;
  const double bw = std::exp(std::clamp(finite_or(code[2], 0.0), lo, hi)) * w;
  const double bh = std::exp(std::clamp(finite_or(code[3], 0.0), lo, hi)) * h;
  float x1 = std::numeric_limits<float>::max(), y1 = x1, x2 = -x1, y2 = -x1;
  for (const double dx : {-0.5, 0.5})
    for (const double dy : {-0.5, 0.5}) {
      const Point2 p = crop.apply_inverse({static_cast<float>(cx + dx * bw), static_cast<float>(cy + dy * bh)});
      x1 = std::min(x1, p.x), y1 = std::min(y1, p.y), x2 = std::max(x2, p.x), y2 = std::max(y2, p.y);
    }
  return {x1, y1, x2, y2};
}

std::vector<Box> boxes_from_crop_codes(const torch::Tensor& codes, const std::vector<CropTransform>& crops) {
  if (codes.dim() != 2 || codes.size(1) != 4 || codes.size(0) != static_cast<int64_t>(crops.size()))
    throw Error("boxes_from_crop_codes: expected codes [" + std::to_string(crops.size()) + ", 4] for as many crops");
  const auto c = codes.detach().to(torch::kCPU, torch::kFloat).contiguous();
  const float* p = c.data_ptr<float>();
  std::vector<Box> out;
  out.reserve(crops.size());
  for (std::size_t i = 0; i < crops.size(); ++i, p += 4)
    out.push_back(box_from_crop_code({p[0], p[1], p[2], p[3]}, crops[i]));
  return out;
}

Box box_union(const std::vector<Box>& boxes) {
  if (boxes.empty()) return {};
  Box u = boxes[0];
  for (const auto& b : boxes) {
    u.x1 = std::min(u.x1, b.x1);
    u.y1 = std::min(u.y1, b.y1);
    u.x2 = std::max(u.x2, b.x2);
    u.y2 = std::max(u.y2, b.y2);
  }
  return u;
}

void warp_image(const cv::Mat& image, const CropTransform& t, cv::Mat& out) {
  cv::warpAffine(image, out, t.to_mat(), cv::Size(t.out_w, t.out_h), cv::INTER_LINEAR, cv::BORDER_CONSTANT,
                 cv::Scalar::all(0));
}

cv::Mat warp_image(const cv::Mat& image, const CropTransform& t) {
  cv::Mat out;
  warp_image(image, t, out);
  return out;
}

void transform_joints(const CropTransform& t, const Skeleton& skeleton, std::vector<Point2>& joints,
                      std::vector<uint8_t>& visible) {
  std::vector<Point2> mapped(joints.size());
  for (std::size_t j = 0; j < joints.size(); ++j) mapped[j] = t.apply(joints[j]);
  if (!t.flipped) {
    joints = std::move(mapped);
    return;
  }
  std::vector<Point2> out(joints.size());
  std::vector<uint8_t> vis(visible.size());
  for (std::size_t j = 0; j < joints.size(); ++j) {
    const std::size_t src = static_cast<std::size_t>(skeleton.flipped(static_cast<int>(j)));
    out[j] = mapped[src];
    if (!visible.empty()) vis[j] = visible[src];
  }
  joints = std::move(out);
  if (!visible.empty()) visible = std::move(vis);
}

std::vector<Point2> flip_joints(const std::vector<Point2>& joints, int width, const Skeleton& skeleton) {
  std::vector<Point2> out(joints.size());
  for (std::size_t j = 0; j < joints.size(); ++j) {
    const Point2& p = joints[static_cast<std::size_t>(skeleton.flipped(static_cast<int>(j)))];
    out[j] = {static_cast<float>(width - 1) - p.x, p.y};
  }
  return out;
}

torch::Tensor swap_joints(const torch::Tensor& t, const Skeleton& skeleton, int64_t joint_dim) {
  const int64_t J = t.size(joint_dim);
  std::vector<int64_t> perm(static_cast<std::size_t>(J));
  for (int64_t j = 0; j < J; ++j) perm[static_cast<std::size_t>(j)] = skeleton.flipped(static_cast<int>(j));
  auto index = torch::tensor(perm, torch::kLong).to(t.device());
  return t.index_select(joint_dim, index);
}

void ColorJitter::apply(cv::Mat& bgr) const {
  if (brightness == 1.0 && contrast == 1.0 && saturation == 1.0) return;
  cv::Mat f;
  bgr.convertTo(f, CV_32FC3, brightness);
  cv::Mat gray;
  cv::cvtColor(f, gray, cv::COLOR_BGR2GRAY);
  if (contrast != 1.0) {
    const double mean = cv::mean(gray)[0];
    f = (f - cv::Scalar::all(mean)) * contrast + cv::Scalar::all(mean);
    gray = (gray - mean) * contrast + mean;
  }
  if (saturation != 1.0) {
    cv::Mat gray3;
    cv::cvtColor(gray, gray3, cv::COLOR_GRAY2BGR);
    f = gray3 + (f - gray3) * saturation;
  }
  f.convertTo(bgr, CV_8UC3);  // saturating cast
}

namespace {

/// (v / 255 - mean) / std for every byte value v and RGB channel, computed with the
/// same float operations as the tensor formulation: a lookup per sample instead of
/// two divisions, bit for bit the same values.
const std::array<std::array<float, 256>, 3>& normalisation_table() {
  static const auto table = [] {
    std::array<std::array<float, 256>, 3> t{};
    for (std::size_t c = 0; c < 3; ++c)
      for (int v = 0; v < 256; ++v)
        t[c][static_cast<std::size_t>(v)] = (static_cast<float>(v) / 255.0f - kImageNetMean[c]) / kImageNetStd[c];
    return t;
  }();
  return table;
}

}  // namespace

void image_to_chw(const cv::Mat& bgr, float* chw) {
  if (bgr.empty() || bgr.type() != CV_8UC3) throw Error("image_to_chw: expected a CV_8UC3 image");
  const auto& table = normalisation_table();
  const int64_t plane = static_cast<int64_t>(bgr.rows) * bgr.cols;
  float* r = chw;
  float* g = chw + plane;
  float* b = chw + 2 * plane;
  for (int y = 0; y < bgr.rows; ++y) {
    const uint8_t* row = bgr.ptr<uint8_t>(y);
    const int64_t base = static_cast<int64_t>(y) * bgr.cols;
    for (int x = 0; x < bgr.cols; ++x) {
      b[base + x] = table[2][row[3 * x]];
      g[base + x] = table[1][row[3 * x + 1]];
      r[base + x] = table[0][row[3 * x + 2]];
    }
  }
}

torch::Tensor image_to_tensor(const cv::Mat& bgr) {
  if (bgr.empty() || bgr.type() != CV_8UC3) throw Error("image_to_tensor: expected a CV_8UC3 image");
  auto t = torch::empty({3, bgr.rows, bgr.cols}, torch::kFloat);
  image_to_chw(bgr, t.data_ptr<float>());
  return t;
}

cv::Mat tensor_to_image(const torch::Tensor& chw) {
  auto mean = torch::tensor({kImageNetMean[0], kImageNetMean[1], kImageNetMean[2]}).view({3, 1, 1});
  auto std = torch::tensor({kImageNetStd[0], kImageNetStd[1], kImageNetStd[2]}).view({3, 1, 1});
  auto t = (chw.detach().to(torch::kCPU, torch::kFloat) * std + mean)
               .mul(255.0f)
               .round()
               .clamp(0, 255)
               .to(torch::kUInt8)
               .permute({1, 2, 0})
               .contiguous();
  cv::Mat rgb(static_cast<int>(t.size(0)), static_cast<int>(t.size(1)), CV_8UC3, t.data_ptr<uint8_t>());
  cv::Mat bgr;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  return bgr;
}

Box next_box_from_keypoints(const std::vector<Point2>& keypoints, const std::vector<float>& confidence,
                            const Box& previous, double min_confidence, double scale, double smoothing,
                            cv::Size image_size) {
  float x1 = 0, y1 = 0, x2 = 0, y2 = 0;
  int n = 0;
  for (std::size_t j = 0; j < keypoints.size(); ++j) {
    const auto& p = keypoints[j];
    if (j < confidence.size() && confidence[j] < min_confidence) continue;
    if (!is_finite(p)) continue;
    if (n == 0) {
      x1 = x2 = p.x;
      y1 = y2 = p.y;
    } else {
      x1 = std::min(x1, p.x);
      x2 = std::max(x2, p.x);
      y1 = std::min(y1, p.y);
      y2 = std::max(y2, p.y);
    }
    ++n;
  }
  if (n < 2) return previous;
  const double cx = 0.5 * (x1 + x2), cy = 0.5 * (y1 + y2);
  // A person does not change size much between two frames: bounding the
  // per-frame change keeps a few low-confidence, clustered peaks from
  // collapsing (or blowing up) the box within a handful of frames.
  const auto bounded = [](double side, double previous_side) {
    return std::clamp(side, std::max(8.0, kMaxBoxShrink * previous_side), std::max(8.0, kMaxBoxGrowth * previous_side));
  };
  const double w = bounded((x2 - x1) * scale, previous.width());
  const double h = bounded((y2 - y1) * scale, previous.height());
  Box extent{static_cast<float>(cx - w / 2), static_cast<float>(cy - h / 2), static_cast<float>(cx + w / 2),
             static_cast<float>(cy + h / 2)};
  const float s = static_cast<float>(smoothing), r = 1.f - s;
  Box out{s * previous.x1 + r * extent.x1, s * previous.y1 + r * extent.y1, s * previous.x2 + r * extent.x2,
          s * previous.y2 + r * extent.y2};
  // Keep it on the image: centre inside, size at most twice the image.
  const float W = static_cast<float>(image_size.width), H = static_cast<float>(image_size.height);
  float bw = std::min(out.width(), 2.f * W), bh = std::min(out.height(), 2.f * H);
  float bcx = std::clamp(0.5f * (out.x1 + out.x2), 0.f, W - 1.f);
  float bcy = std::clamp(0.5f * (out.y1 + out.y2), 0.f, H - 1.f);
  return {bcx - bw / 2, bcy - bh / 2, bcx + bw / 2, bcy + bh / 2};
}

torch::Tensor crop_matrices(const std::vector<CropTransform>& transforms) {
  auto out = torch::empty({static_cast<int64_t>(transforms.size()), 2, 3}, torch::kDouble);
  auto a = out.accessor<double, 3>();
  for (std::size_t i = 0; i < transforms.size(); ++i)
    for (int k = 0; k < 6; ++k) a[static_cast<int64_t>(i)][k / 3][k % 3] = transforms[i].m[static_cast<std::size_t>(k)];
  return out;
}

}  // namespace dkd
