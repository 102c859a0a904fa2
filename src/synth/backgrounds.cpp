#include "dkd/synth/backgrounds.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <mutex>

#include <opencv2/imgproc.hpp>

#include "dkd/data/image_io.h"
#include "dkd/synth/draw.h"

namespace dkd {

const std::vector<std::string>& background_photo_paths() {
  static const std::vector<std::string> paths = [] {
    std::vector<std::string> out;
    const std::filesystem::path dir = "/usr/share/doc/opencv-doc/examples/data";
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec)) return out;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
      if (e.path().extension() == ".jpg" && e.is_regular_file(ec)) out.push_back(e.path().string());
    }
    std::sort(out.begin(), out.end());
    return out;
  }();
  return paths;
}

namespace {

/// Photographs decoded once (shared, read-only after loading). Small or
/// unreadable ones are skipped.
const std::vector<cv::Mat>& background_photos() {
  static std::once_flag once;
  static std::vector<cv::Mat> photos;
  std::call_once(once, [] {
    for (const auto& p : background_photo_paths()) {
      cv::Mat img = try_decode_image(p, nullptr, cv::IMREAD_COLOR);
      if (img.empty() || img.cols < 160 || img.rows < 120) continue;
      photos.push_back(img);
    }
  });
  return photos;
}

void draw_distractor(SynthRng& rng, cv::Mat& canvas, double unit) {
  const bool skin_like = rng.chance(0.4);
  const cv::Scalar c = skin_like ? random_skin(rng) : random_cloth(rng);
  double x = rng.uniform(0, canvas.cols), y = rng.uniform(0, canvas.rows);
  double angle = rng.uniform(0, 6.2831853);
  const int segments = rng.integer(1, 3);
  double r = unit * rng.uniform(0.025, 0.05);
  cv::Mat dummy(canvas.size(), CV_8UC1);
  for (int s = 0; s < segments; ++s) {
    const double len = unit * rng.uniform(0.12, 0.3);
    Projected a, b;
    a.x = x;
    a.y = y;
    b.x = x + std::cos(angle) * len;
    b.y = y + std::sin(angle) * len;
    draw_capsule(canvas, dummy, a, b, r, r * 0.8, c, 1);
    x = b.x;
    y = b.y;
    r *= 0.8;
    angle += rng.uniform(-1.6, 1.6);
  }
}

}  // namespace

cv::Mat make_background(SynthRng& rng, int width, int height, const SynthDifficulty& difficulty) {
  const int cw = width * 2, ch = height * 2;
  cv::Mat canvas(ch, cw, CV_8UC3);
  const auto& photos = background_photos();
  const bool photo = !photos.empty() && rng.chance(difficulty.photo_probability);
  if (photo) {
    const cv::Mat& src = photos[rng.integer(0, static_cast<int>(photos.size()) - 1)];
    const double sc = std::max(double(cw) / src.cols, double(ch) / src.rows) * rng.uniform(1.0, 1.4);
    cv::Mat big;
    cv::resize(src, big, cv::Size(), sc, sc, cv::INTER_LINEAR);
    const int ox = rng.integer(0, std::max(0, big.cols - cw)), oy = rng.integer(0, std::max(0, big.rows - ch));
    big(cv::Rect(ox, oy, cw, ch)).copyTo(canvas);
    if (rng.chance(0.5)) cv::flip(canvas, canvas, 1);
    const double gain = rng.uniform(0.7, 1.1);
    canvas.convertTo(canvas, -1, gain, rng.uniform(-15, 15));
  } else {
    // Wall / sky gradient above a floor, with low-frequency texture.
    const cv::Scalar top = hsv_to_bgr(rng.uniform(0, 360), rng.uniform(0.05, 0.5), rng.uniform(0.4, 0.95));
    const cv::Scalar bottom = jitter(rng, top, 35);
    const cv::Scalar floor_a = hsv_to_bgr(rng.uniform(0, 360), rng.uniform(0.1, 0.6), rng.uniform(0.25, 0.8));
    const cv::Scalar floor_b = jitter(rng, floor_a, 30);
    const int horizon = static_cast<int>(ch * rng.uniform(0.45, 0.7));
    for (int y = 0; y < ch; ++y) {
      cv::Scalar c;
      if (y < horizon) {
        const double a = double(y) / horizon;
        c = top * (1 - a) + bottom * a;
      } else {
        const double a = double(y - horizon) / std::max(1, ch - horizon);
        c = floor_a * (1 - a) + floor_b * a;
      }
      canvas.row(y).setTo(c);
    }
    cv::Mat dummy(canvas.size(), CV_8UC1);
    const int shapes = rng.integer(3, 10);
    for (int i = 0; i < shapes; ++i) {
      const cv::Scalar c = hsv_to_bgr(rng.uniform(0, 360), rng.uniform(0.05, 0.7), rng.uniform(0.15, 0.95));
      const int kind = rng.integer(0, 3);
      const cv::Point p(rng.integer(0, cw), rng.integer(0, horizon + ch / 8));
      const int w = rng.integer(cw / 20, cw / 4), h = rng.integer(ch / 20, ch / 3);
      if (kind == 0) {
        cv::rectangle(canvas, cv::Rect(p.x, p.y, w, h), c, cv::FILLED, cv::LINE_AA);
      } else if (kind == 1) {
        cv::rectangle(canvas, cv::Rect(p.x, p.y, w, h), c, rng.integer(2, 6), cv::LINE_AA);
      } else if (kind == 2) {
        cv::ellipse(canvas, p, cv::Size(w / 2, h / 2), rng.uniform(0, 180), 0, 360, c, cv::FILLED, cv::LINE_AA);
      } else {
        cv::line(canvas, cv::Point(rng.integer(0, cw), rng.integer(horizon, ch)),
                 cv::Point(rng.integer(0, cw), rng.integer(horizon, ch)), c, rng.integer(1, 4), cv::LINE_AA);
      }
    }
    // Floor tiles or stripes.
    if (rng.chance(0.4)) {
      const cv::Scalar c = jitter(rng, floor_a, 40);
      const int step = rng.integer(20, 60);
      for (int x = -ch; x < cw + ch; x += step)
        cv::line(canvas, cv::Point(x, ch), cv::Point(cw / 2 + (x - cw / 2) / 3, horizon), c, 1, cv::LINE_AA);
    }
    // Texture: smoothed noise.
    const int gh = std::max(2, ch / rng.integer(8, 32)), gw = std::max(2, cw * gh / ch);
    cv::Mat noise(gh, gw, CV_32FC3);
    for (int y = 0; y < gh; ++y)
      for (int x = 0; x < gw; ++x)
        noise.at<cv::Vec3f>(y, x) = cv::Vec3f(float(rng.normal()), float(rng.normal()), float(rng.normal()));
    cv::resize(noise, noise, canvas.size(), 0, 0, cv::INTER_CUBIC);
    cv::Mat f;
    canvas.convertTo(f, CV_32FC3);
    f += noise * rng.uniform(4, 18);
    f.convertTo(canvas, CV_8UC3);
  }
  const int n = rng.integer(difficulty.distractors_min, difficulty.distractors_max);
  for (int i = 0; i < n; ++i) draw_distractor(rng, canvas, height);
  return canvas;
}

void background_view(const cv::Mat& canvas, double zoom, double shift_x, double shift_y, cv::Mat& frame) {
  const double iz = 1.0 / std::max(0.1, zoom);
  const double ccx = canvas.cols / 2.0, ccy = canvas.rows / 2.0;
  const double fcx = frame.cols / 2.0, fcy = frame.rows / 2.0;
  cv::Mat M = (cv::Mat_<double>(2, 3) << iz, 0, ccx - fcx * iz + shift_x, 0, iz, ccy - fcy * iz + shift_y);
  cv::warpAffine(canvas, frame, M, frame.size(), cv::INTER_LINEAR | cv::WARP_INVERSE_MAP, cv::BORDER_REFLECT_101);
}

}  // namespace dkd
