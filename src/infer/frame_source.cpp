#include "dkd/infer/frame_source.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <system_error>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>
#include <opencv2/videoio/registry.hpp>
#include <spdlog/spdlog.h>

#include "dkd/data/image_io.h"
#include "dkd/util/error.h"

namespace fs = std::filesystem;

namespace dkd {
namespace {

// A video read fails at its end; before it (by the container's frame count) a
// failure is a broken frame. After this many failures in a row we stop anyway.
constexpr int kMaxConsecutiveFailures = 25;

/// Converts whatever OpenCV decoded to BGR CV_8UC3 (grey and BGRA inputs, 16-bit images).
cv::Mat to_bgr8(const cv::Mat& image) {
  cv::Mat out = image;
  if (out.depth() != CV_8U) {
    double scale = out.depth() == CV_16U ? 1.0 / 257.0 : 1.0;
    out.convertTo(out, CV_8U, scale);
  }
  if (out.channels() == 1) {
    cv::cvtColor(out, out, cv::COLOR_GRAY2BGR);
  } else if (out.channels() == 4) {
    cv::cvtColor(out, out, cv::COLOR_BGRA2BGR);
  }
  return out;
}

bool is_image_file(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  static const char* kExts[] = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm"};
  for (const char* e : kExts) {
    if (ext == e) return true;
  }
  return false;
}

double sane_fps(double fps) { return (fps > 0.5 && fps < 1000.0) ? fps : 25.0; }

}  // namespace

bool natural_less(const std::string& a, const std::string& b) {
  std::size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    const bool da = std::isdigit(static_cast<unsigned char>(a[i])) != 0;
    const bool db = std::isdigit(static_cast<unsigned char>(b[j])) != 0;
    if (da && db) {
      std::size_t ie = i, je = j;
      while (ie < a.size() && std::isdigit(static_cast<unsigned char>(a[ie]))) ++ie;
      while (je < b.size() && std::isdigit(static_cast<unsigned char>(b[je]))) ++je;
      // Compare digit runs as numbers: strip leading zeros, then length, then digits.
      std::size_t is = i, js = j;
      while (is + 1 < ie && a[is] == '0') ++is;
      while (js + 1 < je && b[js] == '0') ++js;
      const std::size_t la = ie - is, lb = je - js;
      if (la != lb) return la < lb;
      const int c = a.compare(is, la, b, js, lb);
      if (c != 0) return c < 0;
      if ((ie - i) != (je - j)) return (ie - i) < (je - j);  // "01" vs "1": fewer zeros first
      i = ie;
      j = je;
    } else {
      if (a[i] != b[j]) return a[i] < b[j];
      ++i;
      ++j;
    }
  }
  return (a.size() - i) < (b.size() - j);
}

bool FrameSource::take_pending(cv::Mat& frame) {
  if (!has_pending_) return false;
  frame = pending_;
  pending_.release();
  has_pending_ = false;
  ++frames_read_;
  return true;
}

// --- VideoFileSource ----------------------------------------------------------

struct VideoFileSource::Capture {
  cv::VideoCapture cap;
};

VideoFileSource::VideoFileSource(const std::string& path) : capture_(std::make_unique<Capture>()), path_(path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw DataError(path, "no such video file");
  if (fs::is_directory(path, ec)) throw DataError(path, "is a folder, not a video file");
  // FFmpeg reads every common container; OpenCV's other backends (GStreamer,
  // image sequences) only add noisy console errors for a file it rejects.
  bool opened = false;
  try {
    if (cv::videoio_registry::hasBackend(cv::CAP_FFMPEG)) {
      opened = capture_->cap.open(path, cv::CAP_FFMPEG) && capture_->cap.isOpened();
    } else {
      opened = capture_->cap.open(path) && capture_->cap.isOpened();
    }
  } catch (const cv::Exception&) {
    opened = false;
  }
  if (!opened) {
    throw DataError(path, "cannot open as a video (unknown format or not a video)");
  }
  const double count = capture_->cap.get(cv::CAP_PROP_FRAME_COUNT);
  frame_count_ = count > 0 ? static_cast<int64_t>(count + 0.5) : -1;
  fps_ = sane_fps(capture_->cap.get(cv::CAP_PROP_FPS));
  // Decode the first frame now: an undecodable file fails here, not mid-run.
  if (!read_decodable(pending_)) {
    throw DataError(path, "no frame of the video could be decoded");
  }
  has_pending_ = true;
  size_ = pending_.size();
}

VideoFileSource::~VideoFileSource() = default;

bool VideoFileSource::read_decodable(cv::Mat& frame) {
  // Failed reads count as skipped frames only when a good frame follows them:
  // a container that overstates its frame count just ends early, silently.
  int failures = 0;
  while (!ended_) {
    cv::Mat raw;
    bool ok = false;
    try {
      ok = capture_->cap.read(raw);
    } catch (const cv::Exception&) {
      ok = false;
    }
    if (ok && !raw.empty()) {
      const int64_t position = frames_read_ + skipped_ + (has_pending_ ? 1 : 0);
      for (int k = 0; k < failures; ++k) {
        spdlog::warn("{}: frame {} could not be decoded; skipped", path_, position + k);
      }
      skipped_ += failures;
      frame = to_bgr8(raw);
      if (size_.area() > 0 && frame.size() != size_) {
        cv::resize(frame, frame, size_, 0, 0, cv::INTER_LINEAR);
      }
      return true;
    }
    const int64_t position = frames_read_ + skipped_ + failures + (has_pending_ ? 1 : 0);
    const bool before_end = frame_count_ > 0 && position < frame_count_;
    if (!before_end || ++failures > kMaxConsecutiveFailures) {
      if (failures > 0 && before_end) {
        spdlog::warn("{}: {} frames in a row could not be decoded; stopping at frame {}", path_, failures, position);
      }
      ended_ = true;
      break;
    }
  }
  return false;
}

bool VideoFileSource::next(cv::Mat& frame) {
  if (take_pending(frame)) return true;
  if (!read_decodable(frame)) return false;
  ++frames_read_;
  return true;
}

std::string VideoFileSource::description() const {
  std::string d = "video " + path_ + " (" + std::to_string(size_.width) + "x" + std::to_string(size_.height);
  if (frame_count_ > 0) d += ", " + std::to_string(frame_count_) + " frames";
  return d + ")";
}

// --- ImageFolderSource --------------------------------------------------------

ImageFolderSource::ImageFolderSource(const std::string& folder, double fps) : folder_(folder), fps_(sane_fps(fps)) {
  std::error_code ec;
  if (!fs::exists(folder, ec)) throw DataError(folder, "no such folder");
  if (!fs::is_directory(folder, ec)) throw DataError(folder, "not a folder");
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(folder, ec)) {
    if (entry.is_regular_file() && is_image_file(entry.path())) {
      names.push_back(entry.path().filename().string());
    }
  }
  if (ec) throw DataError(folder, "cannot list the folder: " + ec.message());
  if (names.empty()) {
    throw DataError(folder, "no images in the folder (jpg, jpeg, png, bmp, tif, tiff, webp, ppm, pgm)");
  }
  std::sort(names.begin(), names.end(), natural_less);
  for (const auto& n : names) files_.push_back((fs::path(folder) / n).string());
  // Decode the first decodable image to fix the frame size.
  while (next_index_ < files_.size()) {
    std::string problem;
    cv::Mat image = try_decode_image(files_[next_index_++], &problem, cv::IMREAD_COLOR);
    if (!image.empty()) {
      pending_ = to_bgr8(image);
      has_pending_ = true;
      size_ = pending_.size();
      break;
    }
    ++skipped_;
    ++skipped_at_open_;
    spdlog::warn("{}: {}; skipped", files_[next_index_ - 1], problem);
  }
  if (!has_pending_)
    throw DataError(folder, "none of the " + std::to_string(files_.size()) + " images could be decoded");
}

bool ImageFolderSource::next(cv::Mat& frame) {
  if (take_pending(frame)) return true;
  while (next_index_ < files_.size()) {
    const std::string& file = files_[next_index_++];
    std::string problem;
    cv::Mat image = try_decode_image(file, &problem, cv::IMREAD_COLOR);
    if (image.empty()) {
      ++skipped_;
      spdlog::warn("{}: {}; skipped", file, problem);
      continue;
    }
    frame = to_bgr8(image);
    if (frame.size() != size_) {
      if (!warned_resize_) {
        spdlog::warn("{}: {}x{} differs from the first image's {}x{}; resized (further ones silently)", file,
                     frame.cols, frame.rows, size_.width, size_.height);
        warned_resize_ = true;
      }
      cv::resize(frame, frame, size_, 0, 0, cv::INTER_LINEAR);
    }
    ++frames_read_;
    return true;
  }
  return false;
}

std::string ImageFolderSource::description() const {
  return "folder " + folder_ + " (" + std::to_string(files_.size()) + " images, " + std::to_string(size_.width) + "x" +
         std::to_string(size_.height) + ")";
}

// --- CameraSource -------------------------------------------------------------

struct CameraSource::Capture {
  cv::VideoCapture cap;
};

CameraSource::CameraSource(int index) : capture_(std::make_unique<Capture>()), index_(index) {
  bool opened = false;
  try {
    opened = capture_->cap.open(index) && capture_->cap.isOpened();
  } catch (const cv::Exception&) {
    opened = false;
  }
  if (!opened) {
    throw DataError("camera:" + std::to_string(index), "cannot open the camera");
  }
  fps_ = sane_fps(capture_->cap.get(cv::CAP_PROP_FPS));
  cv::Mat raw;
  if (!capture_->cap.read(raw) || raw.empty()) {
    throw DataError("camera:" + std::to_string(index), "the camera gives no frames");
  }
  pending_ = to_bgr8(raw);
  has_pending_ = true;
  size_ = pending_.size();
}

CameraSource::~CameraSource() = default;

bool CameraSource::next(cv::Mat& frame) {
  if (take_pending(frame)) return true;
  cv::Mat raw;
  if (!capture_->cap.read(raw) || raw.empty()) return false;
  frame = to_bgr8(raw);
  if (frame.size() != size_) cv::resize(frame, frame, size_);
  ++frames_read_;
  return true;
}

std::string CameraSource::description() const {
  return "camera " + std::to_string(index_) + " (" + std::to_string(size_.width) + "x" + std::to_string(size_.height) +
         ")";
}

// --- factory ------------------------------------------------------------------

std::unique_ptr<FrameSource> open_frame_source(const std::string& spec) {
  if (spec.empty()) throw UsageError("--input is empty: give a video file, a folder of images or camera:N");
  const std::string prefix = "camera:";
  if (spec.compare(0, prefix.size(), prefix) == 0) {
    const std::string num = spec.substr(prefix.size());
    if (num.empty() || !std::all_of(num.begin(), num.end(), [](unsigned char c) { return std::isdigit(c); }) ||
        num.size() > 6) {
      throw UsageError("--input " + spec + ": a camera is camera:N with N a device index (camera:0)");
    }
    return std::make_unique<CameraSource>(std::stoi(num));
  }
  std::error_code ec;
  if (fs::is_directory(spec, ec)) return std::make_unique<ImageFolderSource>(spec);
  return std::make_unique<VideoFileSource>(spec);
}

}  // namespace dkd
