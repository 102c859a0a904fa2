#include "dkd/synth/backgrounds.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>

#include <opencv2/imgproc.hpp>

#include "dkd/data/image_io.h"
#include "dkd/synth/draw.h"
#include "dkd/util/error.h"

namespace fs = std::filesystem;

namespace dkd {

namespace {

/// Regular files (or links to them) in `dir` whose extension `accept`s, sorted.
template <typename Accept>
std::vector<std::string> image_files(const fs::path& dir, Accept accept) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (accept(e.path().extension().string()) && e.is_regular_file(ec)) out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string lowercase(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

std::vector<std::string> background_image_paths(const std::string& backgrounds, const std::string& photo_dir) {
  if (backgrounds == "procedural") return {};
  std::error_code ec;
  if (backgrounds == "photos") {
    std::vector<std::string> paths;
    if (fs::is_directory(photo_dir, ec))
      paths = image_files(photo_dir, [](const std::string& ext) { return ext == ".jpg"; });
    if (paths.empty())
      throw UsageError("--backgrounds photos: no photographs (*.jpg) in " + photo_dir +
                       "; they come with Debian's opencv-doc package (apt-get install opencv-doc, which "
                       "tools/setup.sh does), or choose --backgrounds procedural or --backgrounds DIR");
    return paths;
  }
  if (backgrounds.empty())
    throw UsageError("--backgrounds: expected photos, procedural or a folder of images, got an empty value");
  if (!fs::is_directory(backgrounds, ec))
    throw UsageError("--backgrounds: " + backgrounds +
                     " is not a folder (expected photos, procedural or a folder of *.jpg, *.jpeg or *.png images)");
  std::vector<std::string> paths = image_files(backgrounds, [](const std::string& ext) {
    const std::string e = lowercase(ext);
    return e == ".jpg" || e == ".jpeg" || e == ".png";
  });
  if (paths.empty()) throw UsageError("--backgrounds: no *.jpg, *.jpeg or *.png images in " + backgrounds);
  return paths;
}

BackgroundPhotos load_background_photos(const std::string& backgrounds, const std::string& photo_dir) {
  BackgroundPhotos out;
  const bool opencv_doc = backgrounds == "photos";
  for (const auto& path : background_image_paths(backgrounds, photo_dir)) {
    std::string problem;
    cv::Mat image = try_decode_image(path, &problem, cv::IMREAD_COLOR);
    const bool too_small = !image.empty() && (image.cols < kMinBackgroundWidth || image.rows < kMinBackgroundHeight);
    if (opencv_doc && (image.empty() || too_small)) continue;  // skipped, as the generator always did
    if (image.empty()) throw DataError(path, "cannot decode this background image: " + problem);
    if (too_small)
      throw DataError(path, "background image of " + std::to_string(image.cols) + "x" + std::to_string(image.rows) +
                                " pixels; at least " + std::to_string(kMinBackgroundWidth) + "x" +
                                std::to_string(kMinBackgroundHeight) + " is needed");
    out.paths.push_back(path);
    out.images.push_back(image);
  }
  if (opencv_doc && out.images.empty())
    throw DataError(photo_dir, "--backgrounds photos: none of the photographs could be decoded (at least " +
                                   std::to_string(kMinBackgroundWidth) + "x" + std::to_string(kMinBackgroundHeight) +
                                   "); reinstall opencv-doc or choose --backgrounds procedural");
  return out;
}

namespace {

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

cv::Mat make_background(SynthRng& rng, int width, int height, const SynthDifficulty& difficulty,
                        const std::vector<cv::Mat>& photos) {
  const int cw = width * 2, ch = height * 2;
  cv::Mat canvas(ch, cw, CV_8UC3);
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
