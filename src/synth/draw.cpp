#include "dkd/synth/draw.h"

#include <algorithm>
#include <cmath>

#include <opencv2/imgproc.hpp>

namespace dkd {

cv::Point subpixel_point(double x, double y) {
  return {static_cast<int>(std::lround(x * kSubpixelOne)), static_cast<int>(std::lround(y * kSubpixelOne))};
}

cv::Scalar hsv_to_bgr(double h, double s, double v) {
  // h in [0, 360), s, v in [0, 1]
  const double c = v * s;
  const double hp = std::fmod(h, 360.0) / 60.0;
  const double x = c * (1 - std::abs(std::fmod(hp, 2.0) - 1));
  double r = 0, g = 0, b = 0;
  if (hp < 1) {
    r = c;
    g = x;
  } else if (hp < 2) {
    r = x;
    g = c;
  } else if (hp < 3) {
    g = c;
    b = x;
  } else if (hp < 4) {
    g = x;
    b = c;
  } else if (hp < 5) {
    r = x;
    b = c;
  } else {
    r = c;
    b = x;
  }
  const double m = v - c;
  return {255 * (b + m), 255 * (g + m), 255 * (r + m)};
}

cv::Scalar jitter(SynthRng& rng, cv::Scalar c, double amount) {
  for (int i = 0; i < 3; ++i) c[i] = std::clamp(c[i] + rng.normal() * amount, 0.0, 255.0);
  return c;
}

cv::Scalar shade(const cv::Scalar& c, double s) {
  return {std::clamp(c[0] * s, 0.0, 255.0), std::clamp(c[1] * s, 0.0, 255.0), std::clamp(c[2] * s, 0.0, 255.0)};
}

cv::Scalar random_cloth(SynthRng& rng) {
  const int kind = rng.integer(0, 9);
  if (kind == 0) return hsv_to_bgr(0, 0, rng.uniform(0.08, 0.25));                                        // black
  if (kind == 1) return hsv_to_bgr(0, 0, rng.uniform(0.75, 0.95));                                        // white
  if (kind == 2) return hsv_to_bgr(0, 0, rng.uniform(0.35, 0.6));                                         // grey
  if (kind == 3) return hsv_to_bgr(rng.uniform(205, 225), rng.uniform(0.4, 0.7), rng.uniform(0.3, 0.6));  // denim
  return hsv_to_bgr(rng.uniform(0, 360), rng.uniform(0.3, 0.9), rng.uniform(0.3, 0.95));
}

cv::Scalar random_skin(SynthRng& rng) {
  static const double tones[][3] = {{178, 202, 238}, {150, 178, 222}, {115, 145, 196},
                                    {82, 110, 160},  {58, 78, 118},   {170, 190, 225}};
  const auto& t = tones[rng.integer(0, 5)];
  return jitter(rng, cv::Scalar(t[0], t[1], t[2]), 8);
}

void draw_capsule(cv::Mat& image, cv::Mat& ids, const Projected& a, const Projected& b, double ra, double rb,
                  const cv::Scalar& color, uint8_t id) {
  ra = std::max(ra, 0.8);
  rb = std::max(rb, 0.8);
  const double dx = b.x - a.x, dy = b.y - a.y;
  const double len = std::sqrt(dx * dx + dy * dy);
  const cv::Scalar outline = shade(color, 0.55);
  auto shape = [&](cv::Mat& img, const cv::Scalar& c, double grow, int line_type) {
    if (len > 1e-3) {
      const double nx = -dy / len, ny = dx / len;
      const cv::Point pts[4] = {subpixel_point(a.x + nx * (ra + grow), a.y + ny * (ra + grow)),
                                subpixel_point(b.x + nx * (rb + grow), b.y + ny * (rb + grow)),
                                subpixel_point(b.x - nx * (rb + grow), b.y - ny * (rb + grow)),
                                subpixel_point(a.x - nx * (ra + grow), a.y - ny * (ra + grow))};
      cv::fillConvexPoly(img, pts, 4, c, line_type, kSubpixelBits);
    }
    cv::circle(img, subpixel_point(a.x, a.y), static_cast<int>(std::lround((ra + grow) * kSubpixelOne)), c, cv::FILLED,
               line_type, kSubpixelBits);
    cv::circle(img, subpixel_point(b.x, b.y), static_cast<int>(std::lround((rb + grow) * kSubpixelOne)), c, cv::FILLED,
               line_type, kSubpixelBits);
  };
  shape(image, outline, 1.0, cv::LINE_AA);
  shape(image, color, 0.0, cv::LINE_AA);
  shape(ids, cv::Scalar(id), 1.0, cv::LINE_8);
}

}  // namespace dkd
